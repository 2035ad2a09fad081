"""Bench instruments: small protocols the steps use, and SCPI drivers over pyvisa.

The simulated instruments are these same drivers pointed at pyvisa-sim resources (the station's
``visa_library`` ends in ``@sim``; see ``bringup/sim/instruments.yaml``). Drivers are registered by
name so a station file can pick one (``driver: scpi-psu``).
"""
from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

from .errors import BringupError


class InstrumentSettings(Protocol):
    """What a driver reads of its station section (bringup/station.py's InstrumentConfig and its kin): the
    registry below must not import the station schema, which validates driver names against it."""

    driver: str
    resource: str
    visa_library: str
    read_termination: str
    write_termination: str
    timeout_ms: int


class InstrumentError(BringupError):
    """An instrument did not answer, answered nonsense, or reported an error."""


@runtime_checkable
class PowerSupply(Protocol):
    def identify(self) -> str: ...
    def configure(self, voltage_v: float, current_limit_a: float) -> None: ...
    def output(self, on: bool) -> None: ...
    def output_state(self) -> bool: ...
    def measure_voltage(self) -> float: ...
    def measure_current(self) -> float: ...
    def peak_current(self) -> float | None: ...  # peak-hold reading, None when the supply has none
    def close(self) -> None: ...


@runtime_checkable
class Multimeter(Protocol):
    def identify(self) -> str: ...
    def measure_dc_voltage(self, channel: str | None = None) -> float: ...
    def close(self) -> None: ...


_resource_managers: dict[str, object] = {}


def _resource_manager(visa_library: str):
    # One ResourceManager per backend per process: pyvisa-sim keeps instrument state in it, so the
    # supply's output state stays queryable after a step fails.
    import pyvisa

    if visa_library not in _resource_managers:
        _resource_managers[visa_library] = pyvisa.ResourceManager(visa_library)
    return _resource_managers[visa_library]


class ScpiInstrument:
    """Common SCPI plumbing: explicit terminations and timeout, errors with context."""

    role = "instrument"  # how messages name it: each driver says what it is

    def __init__(self, cfg: InstrumentSettings):
        self.cfg = cfg
        try:
            rm = _resource_manager(cfg.visa_library)
            self._res = rm.open_resource(cfg.resource, open_timeout=cfg.timeout_ms)
        except Exception as e:
            raise InstrumentError(f"{self.role} {cfg.resource}: cannot open ({e})") from e
        self._res.read_termination = cfg.read_termination
        self._res.write_termination = cfg.write_termination
        self._res.timeout = cfg.timeout_ms

    def _where(self) -> str:
        return f"{self.role} {self.cfg.resource}"

    def write(self, cmd: str) -> None:
        try:
            self._res.write(cmd)
        except Exception as e:
            raise InstrumentError(f"{self._where()}: write {cmd!r} failed: {e}") from e

    def query(self, cmd: str) -> str:
        try:
            return self._res.query(cmd).strip()
        except Exception as e:
            kind = "no answer within " + f"{self.cfg.timeout_ms} ms" if "TMO" in str(e) or "imeout" in str(e) else str(e)
            raise InstrumentError(f"{self._where()}: {cmd!r}: {kind} (check termination and timeout)") from e

    def query_float(self, cmd: str) -> float:
        text = self.query(cmd)
        try:
            return float(text.split(",")[0])
        except ValueError as e:
            raise InstrumentError(f"{self._where()}: {cmd!r} answered {text!r}, not a number") from e

    def check_errors(self) -> None:
        """Read SYST:ERR? (which takes the error off the queue, so it cannot pose as the answer to a later
        query); an error raises."""
        text = self.query("SYST:ERR?")
        if text.split(",")[0].strip() not in ("0", "+0"):
            raise InstrumentError(f"{self._where()}: instrument reports error {text!r}")

    def identify(self) -> str:
        return self.query("*IDN?")

    def close(self) -> None:
        try:
            self._res.close()
        except Exception:
            pass


class ScpiPowerSupply(ScpiInstrument):
    """SCPI bench supply (VOLT/CURR/OUTP/MEAS), e.g. Rigol DP800, Keysight E36xx, R&S HMP."""

    role = "supply"

    def configure(self, voltage_v: float, current_limit_a: float) -> None:
        self.write(f"VOLT {voltage_v:.3f}")
        self.write(f"CURR {current_limit_a:.3f}")
        self.check_errors()
        v = self.query_float("VOLT?")
        i = self.query_float("CURR?")
        if abs(v - voltage_v) > 0.01 or abs(i - current_limit_a) > 0.002:
            raise InstrumentError(f"{self._where()}: set {voltage_v} V / {current_limit_a} A but reads back {v} V / {i} A")

    def output(self, on: bool) -> None:
        self.write("OUTP ON" if on else "OUTP OFF")

    def output_state(self) -> bool:
        text = self.query("OUTP?").upper()
        return text in ("1", "ON")

    def measure_voltage(self) -> float:
        return self.query_float("MEAS:VOLT?")

    def measure_current(self) -> float:
        return self.query_float("MEAS:CURR?")

    def peak_current(self) -> float | None:
        q = self.cfg.peak_current_query
        return self.query_float(q) if q else None


class ScpiMultimeter(ScpiInstrument):
    """SCPI DMM; with a channel, measures through the scanner: ``MEAS:VOLT:DC? (@<channel>)``."""

    role = "dmm"

    def measure_dc_voltage(self, channel: str | None = None) -> float:
        return self.query_float(f"MEAS:VOLT:DC? (@{channel})" if channel else "MEAS:VOLT:DC?")


DRIVERS: dict[str, Callable] = {
    "scpi-psu": ScpiPowerSupply,
    "scpi-dmm": ScpiMultimeter,
}


def open_instrument(cfg: InstrumentSettings):
    try:
        factory = DRIVERS[cfg.driver]
    except KeyError as e:
        raise InstrumentError(f"unknown driver {cfg.driver!r} (known: {', '.join(DRIVERS)})") from e
    return factory(cfg)

