"""Station file: which instruments and ports this bench has, and the limits it judges against.

The file is YAML, validated when loaded: every field is typed, unknown keys are reported, and a
malformed file raises :class:`StationError` naming the key and the file. ``kind: sim`` stations leave
the instruments and ports to :mod:`bringup.sim`, which fills them with pyvisa-sim resources and pty
pairs; everything else (limits, loopback settings) means the same on the bench and in simulation.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

# The P1 port's supply folds back between 260 and 300 mA: the bench supply's current limit must sit at
# or below the lower end so the board never sees more than a real meter would give it.
P1_TRIP_POINT_A = 0.260
LINE_BYTES_PER_S = 115200 / 10  # 8N1 = 10 bits a byte
S1_BAUD = 2_000_000  # the S1 port's fixed rate (e-MUCS H 1.3 §4); the firmware's UART1 runs at it
S1_FRAME_LEN = 45
S1_LINE_FRAMES_PER_S = S1_BAUD / 10 / S1_FRAME_LEN  # 4,444 frames/s back to back, 8N1


class StationError(Exception):
    """A station file (or the built-in sim station) is unusable; names the file and key."""

    def __init__(self, message: str, file: str | Path | None = None, key: str | None = None):
        self.file, self.key = file, key
        where = ", ".join(p for p in (f"file {file}" if file else "", f"key '{key}'" if key else "") if p)
        super().__init__(f"{where}: {message}" if where else message)


@dataclass
class InstrumentConfig:
    driver: str = ""
    resource: str = ""
    # pyvisa backend: "@py" (pyvisa-py), "" (NI/Keysight VISA), "<file.yaml>@sim" (pyvisa-sim)
    visa_library: str = "@py"
    read_termination: str = "\n"
    write_termination: str = "\n"
    timeout_ms: int = 2000


@dataclass
class SupplyConfig(InstrumentConfig):
    driver: str = "scpi-psu"
    voltage_v: float = 5.00
    current_limit_a: float = 0.250
    # Optional peak-hold query (e.g. "MEAS:CURR:MAX?"); without it the inrush is the highest of
    # `inrush_samples` MEAS:CURR? readings taken right after the output turns on.
    peak_current_query: str | None = None
    inrush_samples: int = 5
    settle_s: float = 0.5


@dataclass
class MultimeterConfig(InstrumentConfig):
    driver: str = "scpi-dmm"
    # Channel (scanner card) for each measurement; None = the meter's front input (single-input DMM:
    # the operator moves the probe; prompts are out of scope, use a scanner).
    rail_channel: str | None = None
    drq_channel: str | None = None


@dataclass
class MeterPortConfig:
    """The USB-TTL adapter that plays the meter (its TX → RJ12 pin 5)."""

    url: str = ""
    baud: int = 115200
    # How Data Request (pin 2) is watched: "dmm" (voltage via drq_channel), "cts" (logic level on the
    # adapter's CTS) or "none".
    drq_via: str = "dmm"
    write_timeout_s: float = 2.0


@dataclass
class ConsoleConfig:
    """The D32's own USB serial: frames echoed back, status lines, commands."""

    url: str = ""
    # Faster than the P1 line: the console carries every frame plus its status line.
    baud: int = 921600
    timeout_s: float = 3.0


@dataclass
class S1Config:
    """The S1 jig: a USB-TTL adapter at 2 Mbaud whose TX drives an RS-422 driver into the board's
    S1 RJ12 (pins 5 +, 4 −, GND 3; see bringup/README.md). Absent from a station: no S1 step."""

    url: str = ""
    baud: int = S1_BAUD
    write_timeout_s: float = 2.0
    frames: int = 2000  # synthetic frames sent, with a few known faults
    # 0: back to back at the line rate (4,444 frames/s); a real meter sends 2,600-4,200 frames/s.
    frame_rate_hz: float = 0.0
    settle_s: float = 0.3  # the board's byte counter must stay still this long before judging


@dataclass
class Limits:
    supply_voltage_v: list[float] = field(default_factory=lambda: [4.90, 5.10])
    inrush_current_a: list[float] = field(default_factory=lambda: [0.0, 0.250])
    idle_current_a: list[float] = field(default_factory=lambda: [0.020, 0.150])
    rail_3v3_v: list[float] = field(default_factory=lambda: [3.20, 3.40])
    drq_v: list[float] = field(default_factory=lambda: [4.0, 5.5])
    throughput_ratio: list[float] = field(default_factory=lambda: [0.97, 1.02])
    # Width of the MARGINAL band just inside each limit, as a fraction of the limit span.
    marginal_fraction: float = 0.05


@dataclass
class LoopbackConfig:
    line_rate_rounds: int = 1  # times the whole telegram set is sent back to back
    slow_count: int = 3  # telegrams sent one a second
    slow_interval_s: float = 1.0  # shorten in sim stations to keep CI fast
    throughput_count: int = 30  # telegrams sent back to back for step 6
    include_shared: list[str] = field(default_factory=list)  # extra telegram files (paths)
    builder_set: str = "full"  # "full" or "small" (fewer telegrams, for fast tests)
    idle_s: float = 0.1  # line quiet time after a truncated frame before expecting its verdict


@dataclass
class SimConfig:
    """Only for ``kind: sim``: how the simulated bench behaves."""

    fault: str | None = None
    heartbeat_s: float = 1.0
    instruments_yaml: str | None = None  # default: bringup/sim/instruments.yaml


@dataclass
class Station:
    name: str = "station"
    kind: str = "bench"  # "bench" or "sim"
    supply: SupplyConfig = field(default_factory=SupplyConfig)
    dmm: MultimeterConfig = field(default_factory=MultimeterConfig)
    meter: MeterPortConfig = field(default_factory=MeterPortConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    limits: Limits = field(default_factory=Limits)
    loopback: LoopbackConfig = field(default_factory=LoopbackConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    s1: S1Config | None = None
    source: str = ""  # where the station came from (file path or "sim")

    def validate(self) -> None:
        f = self.source or None
        if self.kind not in ("bench", "sim"):
            raise StationError(f"must be 'bench' or 'sim', not {self.kind!r}", f, "kind")
        if self.supply.current_limit_a > P1_TRIP_POINT_A + 1e-9:
            raise StationError(
                f"{self.supply.current_limit_a} A is above the P1 port's trip point "
                f"({P1_TRIP_POINT_A} A); the board must never get more than a meter gives",
                f, "supply.current_limit_a")
        if self.supply.current_limit_a <= 0:
            raise StationError("must be > 0", f, "supply.current_limit_a")
        if not 4.75 <= self.supply.voltage_v <= 5.5:
            raise StationError("must be within 4.75–5.5 V (the P1 supply range)", f, "supply.voltage_v")
        if self.meter.drq_via not in ("dmm", "cts", "none"):
            raise StationError("must be 'dmm', 'cts' or 'none'", f, "meter.drq_via")
        if self.loopback.builder_set not in ("full", "small"):
            raise StationError("must be 'full' or 'small'", f, "loopback.builder_set")
        for name in ("line_rate_rounds", "slow_count", "throughput_count"):
            if getattr(self.loopback, name) < (2 if name == "throughput_count" else 0):
                raise StationError("too small", f, f"loopback.{name}")
        for lf in dataclasses.fields(Limits):
            v = getattr(self.limits, lf.name)
            if isinstance(v, list) and (len(v) != 2 or v[0] > v[1]):
                raise StationError("must be [low, high] with low ≤ high", f, f"limits.{lf.name}")
        if self.kind == "bench":
            for key in ("supply.resource", "dmm.resource", "meter.url", "console.url"):
                sect, attr = key.split(".")
                if not getattr(getattr(self, sect), attr):
                    raise StationError("is required for a bench station", f, key)
        if self.sim.fault is not None:
            from .sim import FAULTS  # local: sim pulls in subprocess management

            if self.sim.fault not in FAULTS:
                raise StationError(f"unknown fault {self.sim.fault!r}; one of {', '.join(FAULTS)}", f, "sim.fault")
        if self.s1 is not None:
            if self.s1.baud != S1_BAUD:
                raise StationError(f"must be {S1_BAUD} (the S1 line rate), not {self.s1.baud}", f, "s1.baud")
            if self.s1.frames < 100:
                raise StationError("must be ≥ 100 (the known faults sit at fixed fractions of the run)", f,
                                   "s1.frames")
            if self.s1.frame_rate_hz < 0:
                raise StationError("must be ≥ 0 (0 = back to back)", f, "s1.frame_rate_hz")
            if self.kind == "bench" and not self.s1.url:
                raise StationError("is required for a bench station with an s1: section", f, "s1.url")
        for inst in ("supply", "dmm"):
            if getattr(self, inst).timeout_ms <= 0:
                raise StationError("must be > 0", f, f"{inst}.timeout_ms")


def _convert(value: Any, tp: Any, file: str, key: str) -> Any:
    """Check/convert one YAML value against a dataclass field type."""
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise StationError(f"must be a mapping, got {type(value).__name__}", file, key)
        return _build(tp, value, file, key)
    if origin is list:
        (inner,) = get_args(tp)
        if not isinstance(value, list):
            raise StationError(f"must be a list, got {type(value).__name__}", file, key)
        return [_convert(v, inner, file, f"{key}[{i}]") for i, v in enumerate(value)]
    args = get_args(tp)
    if args and type(None) in args:  # Optional[X]
        if value is None:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(value, inner, file, key)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StationError(f"must be a number, got {value!r}", file, key)
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise StationError(f"must be an integer, got {value!r}", file, key)
        return value
    if tp is str:
        if not isinstance(value, str):
            raise StationError(f"must be a string, got {value!r}", file, key)
        return value
    return value


def _build(cls: type, data: dict, file: str, prefix: str = "") -> Any:
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    unknown = sorted(set(data) - names)
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else str(unknown[0])
        raise StationError(f"unknown key (known: {', '.join(sorted(names))})", file, key)
    kwargs = {}
    for k, v in data.items():
        kwargs[k] = _convert(v, hints[k], file, f"{prefix}.{k}" if prefix else k)
    return cls(**kwargs)


def from_dict(data: dict, source: str = "<dict>") -> Station:
    if not isinstance(data, dict):
        raise StationError("top level must be a mapping", source)
    station = _build(Station, data, source)
    station.source = source
    station.validate()
    return station


def load(path: str | Path) -> Station:
    """Load and validate a station file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise StationError(f"cannot read: {e.strerror}", p) from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise StationError(f"not valid YAML: {e}", p) from e
    return from_dict(data or {}, str(p))


SIM_STATION = Path(__file__).with_name("stations") / "sim.yaml"


def resolve(spec: str) -> Station:
    """``sim`` → the built-in simulated station; anything else is a station file path."""
    return load(SIM_STATION if spec == "sim" else spec)
