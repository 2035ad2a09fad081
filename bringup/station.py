"""Station file: which instruments and ports this bench has, and the limits it judges against.

The file is YAML, validated when loaded by pydantic models (strict types, finite numbers, ranges,
driver names from the instrument registry, unknown keys refused); a malformed file raises
:class:`StationError` naming the key and the file. A loaded station is frozen: the simulated bench
and the command line make wired copies, never change the one they were given. ``kind: sim`` stations leave
the instruments and ports to :mod:`bringup.sim`, which fills them with pyvisa-sim resources and pty
pairs; everything else (limits, loopback settings) means the same on the bench and in simulation.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .meters import PROFILES

# The P1 port's supply folds back between 260 and 300 mA: the bench supply's current limit must sit at
# or below the lower end so the board never sees more than a real meter would give it.
P1_TRIP_POINT_A = 0.260
P1_BAUD = 115200  # the P1 line (the firmware's UART2 runs at it: main.BAUD, held equal by a test)
LINE_BYTES_PER_S = P1_BAUD / 10  # 8N1 = 10 bits a byte
S1_BAUD = 2_000_000  # the S1 port's fixed rate (e-MUCS H 1.3 §4); the firmware's UART1 runs at it
S1_FRAME_LEN = 45  # bytes, flag to flag (the firmware's s1frame.FRAME_LEN, held equal by a test)
S1_LINE_FRAMES_PER_S = S1_BAUD / 10 / S1_FRAME_LEN  # 4,444 frames/s back to back, 8N1


class StationError(Exception):
    """A station file (or the built-in sim station) is unusable; names the file and key."""

    def __init__(self, message: str, file: str | Path | None = None, key: str | None = None):
        self.file, self.key = file, key
        where = ", ".join(p for p in (f"file {file}" if file else "", f"key '{key}'" if key else "") if p)
        super().__init__(f"{where}: {message}" if where else message)


Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class _Section(BaseModel):
    # strict: no "5" for 5, no true for 1; finite: .nan / .inf refused; unknown keys refused
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


def _driver_for(role: str, name: str) -> str:
    from .instruments import DRIVERS, Multimeter, PowerSupply  # the registry (instruments imports us)

    want = PowerSupply if role == "supply" else Multimeter
    known = [n for n, cls in DRIVERS.items() if issubclass(cls, want)]
    if name not in known:
        raise ValueError(f"unknown {role} driver {name!r} (known: {', '.join(known)})")
    return name


class InstrumentConfig(_Section):
    driver: str = ""
    resource: str = ""
    # pyvisa backend: "@py" (pyvisa-py), "" (NI/Keysight VISA), "<file.yaml>@sim" (pyvisa-sim)
    visa_library: str = "@py"
    read_termination: str = "\n"
    write_termination: str = "\n"
    timeout_ms: PositiveInt = 2000


class SupplyConfig(InstrumentConfig):
    driver: str = "scpi-psu"
    voltage_v: Annotated[float, Field(ge=4.75, le=5.5)] = 5.00  # the P1 supply range
    current_limit_a: float = 0.250
    # Optional peak-hold query (e.g. "MEAS:CURR:MAX?"); without it the inrush is the highest of
    # `inrush_samples` MEAS:CURR? readings taken right after the output turns on.
    peak_current_query: str | None = None
    inrush_samples: PositiveInt = 5
    settle_s: NonNegative = 0.5

    @field_validator("driver")
    @classmethod
    def _registered(cls, v: str) -> str:
        return _driver_for("supply", v)

    @field_validator("current_limit_a")
    @classmethod
    def _below_trip_point(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be > 0")
        if v > P1_TRIP_POINT_A + 1e-9:
            raise ValueError(f"{v} A is above the P1 port's trip point ({P1_TRIP_POINT_A} A); the board must "
                             f"never get more than a meter gives")
        return v


class MultimeterConfig(InstrumentConfig):
    driver: str = "scpi-dmm"
    # Channel (scanner card) for each measurement; None = the meter's front input (single-input DMM:
    # the operator moves the probe; prompts are out of scope, use a scanner).
    rail_channel: str | None = None
    drq_channel: str | None = None

    @field_validator("driver")
    @classmethod
    def _registered(cls, v: str) -> str:
        return _driver_for("dmm", v)


class MeterPortConfig(_Section):
    """The USB-TTL adapter that plays the meter (its TX → RJ12 pin 5)."""

    url: str = ""
    baud: PositiveInt = P1_BAUD
    # How Data Request (pin 2) is watched: "dmm" (voltage via drq_channel), "cts" (logic level on the
    # adapter's CTS) or "none".
    drq_via: Literal["dmm", "cts", "none"] = "dmm"
    write_timeout_s: Positive = 2.0
    line_state: str | None = None  # simulated bench only (set by it): see ports.LineState


class ConsoleConfig(_Section):
    """The D32's own USB serial: frames echoed back, status lines, commands."""

    url: str = ""
    # Faster than the P1 line: the console carries every frame plus its status line.
    baud: PositiveInt = 921600
    timeout_s: Positive = 3.0


class S1Config(_Section):
    """The S1 jig: a USB-TTL adapter at 2 Mbaud whose TX drives an RS-422 driver into the board's
    S1 RJ12 (pins 5 +, 4 −, GND 3; see bringup/README.md). Absent from a station: no S1 step."""

    url: str = ""
    baud: int = S1_BAUD
    write_timeout_s: Positive = 2.0
    # ≥ 100: the known faults sit at fixed fractions of the run
    frames: Annotated[int, Field(ge=100)] = 2000
    # 0: back to back at the line rate (4,444 frames/s); a real meter sends 2,600-4,200 frames/s.
    frame_rate_hz: NonNegative = 0.0
    settle_s: Positive = 0.3  # the board's byte counter must stay still this long before judging
    line_state: str | None = None  # simulated bench only (set by it): see ports.LineState

    @field_validator("baud")
    @classmethod
    def _line_rate(cls, v: int) -> int:
        if v != S1_BAUD:
            raise ValueError(f"must be {S1_BAUD} (the S1 line rate), not {v}")
        return v


Window = Annotated[list[float], Field(min_length=2, max_length=2)]


class Limits(_Section):
    supply_voltage_v: Window = [4.90, 5.10]
    inrush_current_a: Window = [0.0, 0.250]
    idle_current_a: Window = [0.020, 0.150]
    rail_3v3_v: Window = [3.20, 3.40]
    drq_v: Window = [4.0, 5.5]
    throughput_ratio: Window = [0.97, 1.02]
    # Width of the MARGINAL band just inside each limit, as a fraction of the limit span.
    marginal_fraction: Annotated[float, Field(ge=0, lt=0.5)] = 0.05

    @field_validator("*")
    @classmethod
    def _low_le_high(cls, v):
        if isinstance(v, list) and v[0] > v[1]:
            raise ValueError("must be [low, high] with low ≤ high")
        return v


class LoopbackConfig(_Section):
    line_rate_rounds: Annotated[int, Field(ge=0)] = 1  # times the whole telegram set is sent back to back
    slow_count: Annotated[int, Field(ge=0)] = 3  # telegrams sent one a second
    slow_interval_s: Positive = 1.0  # shorten in sim stations to keep CI fast
    throughput_count: Annotated[int, Field(ge=2)] = 30  # telegrams sent back to back for step 6
    builder_set: Literal["full", "small"] = "full"  # "small": fewer telegrams, for fast tests
    idle_s: Positive = 0.1  # line quiet time after a truncated frame before expecting its verdict


class SimConfig(_Section):
    """Only for ``kind: sim``: how the simulated bench behaves."""

    fault: str | None = None
    heartbeat_s: Positive = 1.0
    instruments_yaml: str | None = None  # default: bringup/sim/instruments.yaml

    @field_validator("fault")
    @classmethod
    def _known_fault(cls, v: str | None) -> str | None:
        from .sim import FAULTS  # local: sim pulls in subprocess management

        if v is not None and v not in FAULTS:
            raise ValueError(f"unknown fault {v!r}; one of {', '.join(FAULTS)}")
        return v


class Station(_Section):
    name: str = "station"
    kind: Literal["bench", "sim"] = "bench"
    supply: SupplyConfig = SupplyConfig()
    dmm: MultimeterConfig = MultimeterConfig()
    meter: MeterPortConfig = MeterPortConfig()
    console: ConsoleConfig = ConsoleConfig()
    limits: Limits = Limits()
    loopback: LoopbackConfig = LoopbackConfig()
    sim: SimConfig = SimConfig()
    s1: S1Config | None = None
    # Real telegrams to replay in step 4: files (one telegram or a raw capture) or folders, relative
    # to the station file; `--telegrams PATH` adds more.
    telegrams: list[str] = []
    profile: str | None = None  # force a dsmr_parser specification (default: detected per telegram)
    source: str = Field(default="", exclude=True)  # where the station came from (file path or "sim")

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, v: str | None) -> str | None:
        if v is not None and v not in PROFILES:
            raise ValueError(f"unknown profile {v!r}; one of {', '.join(PROFILES)}")
        return v

    def with_replay(self, telegrams: list[str], profile: str | None) -> "Station":
        """A copy with more telegram paths to replay and, if given, a forced profile (this one unchanged)."""
        return self.model_copy(update={"telegrams": self.telegrams + telegrams, "profile": profile or self.profile})

    def check_bench(self) -> None:
        """What only a real bench needs: every instrument and port named."""
        if self.kind != "bench":
            return
        for key in ("supply.resource", "dmm.resource", "meter.url", "console.url"):
            sect, attr = key.split(".")
            if not getattr(getattr(self, sect), attr):
                raise StationError("is required for a bench station", self.source, key)
        if self.s1 is not None and not self.s1.url:
            raise StationError("is required for a bench station with an s1: section", self.source, "s1.url")


def _error(e: ValidationError, source: str) -> StationError:
    """The first pydantic error as a StationError naming the file and the dotted key."""
    err = e.errors()[0]
    key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]).replace(".[", "[")
    msg = err["msg"].removeprefix("Value error, ")
    for long, short in (("Input should be greater than or equal to", "must be ≥"),
                        ("Input should be greater than", "must be >"),
                        ("Input should be less than or equal to", "must be ≤"),
                        ("Input should be less than", "must be <"), ("Input should be", "must be")):
        msg = msg.replace(long, short)
    if err["type"] == "extra_forbidden":
        model = Station
        for part in err["loc"][:-1]:
            model = getattr(model.model_fields[part].annotation, "__args__", (model.model_fields[part].annotation,))[0]
        msg = f"unknown key (known: {', '.join(k for k in model.model_fields if k != 'source')})"
    elif err["type"] == "model_type":
        msg = f"must be a mapping, got {type(err['input']).__name__}"
    else:
        msg += f" (got {err['input']!r})" if not isinstance(err["input"], dict) else ""
    return StationError(msg, source, key)


def from_dict(data: dict, source: str = "<dict>") -> Station:
    if not isinstance(data, dict):
        raise StationError("top level must be a mapping", source)
    if isinstance(data.get("loopback"), dict) and "include_shared" in data["loopback"]:
        raise StationError("was replaced by the top-level key 'telegrams:' (a list of files or folders, "
                           "relative to the station file; raw captures welcome) or by --telegrams PATH",
                           source, "loopback.include_shared")
    if "source" in data:
        raise StationError("unknown key", source, "source")
    try:
        station = Station.model_validate(data)
    except ValidationError as e:
        raise _error(e, source) from None
    base = Path(source).parent if source not in ("<dict>", "") else Path.cwd()
    station = station.model_copy(update={"source": source,
                                         "telegrams": [str(base / t) for t in station.telegrams]})
    station.check_bench()
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
    return from_dict(data if data is not None else {}, str(p))


SIM_STATION = Path(__file__).with_name("stations") / "sim.yaml"


def resolve(spec: str) -> Station:
    """``sim`` → the built-in simulated station; anything else is a station file path."""
    return load(SIM_STATION if spec == "sim" else spec)
