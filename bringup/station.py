"""Station file: which instruments and ports this bench has, and the limits it judges against. YAML validated
by pydantic models when loaded (bringup/README.md, "Station file"); a malformed file raises
:class:`StationError` naming the file and the key. A loaded station is frozen: the simulated bench and the
command line make wired copies. ``kind: sim`` leaves the instruments and ports to :mod:`bringup.sim`.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from firmware import p1frame
from hwtools.facts import load_facts
from meter.flavours import PROFILES
from meter.lines import P1_BAUD, S1_BAUD, S1_LINE_FRAMES_PER_S

from .sim.faults import FAULTS
from .errors import BringupError
from .instruments import DRIVERS, Multimeter, PowerSupply

# The P1 port's supply folds back between 260 and 300 mA (parts.toml [p1_port]): the bench supply's current
# limit must sit at or below the lower end so the board never sees more than a real meter would give it.
_P1_PORT = load_facts()["p1_port"]
TEST_POINTS = load_facts()["test_points"]["points"]  # the board's test points: {ref: net}, printed beside each
P1_TRIP_POINT_A = _P1_PORT["supply_trip_min_ma"] / 1000
P1_FOLDBACK_A = _P1_PORT["supply_trip_max_ma"] / 1000  # the upper end: no current above it flows from a P1 port
S1_MAX_FRAMES = 1_000_000  # the S1 step's stream is built in memory (see S1Config.frames)
# The rates Linux's termios names (B300 … B4000000), which every USB-UART driver maps: a rate off this
# list is nearly always a typo (11520, 92160), and one beyond it no adapter on a bench runs.
UART_RATES = (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000,
              921600, 1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000)
MAX_STATION_BYTES = 1 << 20  # a station file is a few kB: anything near a megabyte is not one


class StationError(BringupError):
    """A station file (or the built-in sim station) is unusable; names the file and key."""

    def __init__(self, message: str, file: str | Path | None = None, key: str | None = None):
        self.file, self.key = file, key
        where = ", ".join(p for p in (f"file {file}" if file else "", f"key '{key}'" if key else "") if p)
        super().__init__(f"{where}: {message}" if where else message)


def _one_of(allowed, message: str) -> AfterValidator:
    """A value from `allowed` (None passes: an optional key not given), else `message` with the value as
    ``{v}`` and the allowed ones as ``{known}``."""

    def check(v):
        if v is not None and v not in allowed:
            raise ValueError(message.format(v=v, known=", ".join(map(str, allowed))))
        return v

    return AfterValidator(check)


def _drivers(kind: type) -> list[str]:
    """The registered drivers of one kind (supply or multimeter)."""
    return [n for n, cls in DRIVERS.items() if issubclass(cls, kind)]


# Every number has a floor and a ceiling. A ceiling bounds what one key can cost (the run's time, the
# memory it takes) or says what the instrument can do; the plan (bringup/plan.py) bounds them together.
UartRate = Annotated[int, _one_of(UART_RATES, "must be a UART rate ({known})")]
# Any wait or timeout: a minute is the longest anything on a bench needs to answer, settle or drain;
# longer is a dead instrument or a stuck adapter, and the run should say so instead of waiting.
Seconds = Annotated[float, Field(gt=0, le=60)]


class _Section(BaseModel):
    # strict: no "5" for 5, no true for 1; finite: .nan / .inf refused; unknown keys refused
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class InstrumentConfig(_Section):
    driver: str = ""
    resource: str = ""
    # pyvisa backend: "@py" (pyvisa-py), "" (NI/Keysight VISA), "<file.yaml>@sim" (pyvisa-sim)
    visa_library: str = "@py"
    read_termination: str = "\n"
    write_termination: str = "\n"
    timeout_ms: Annotated[int, Field(gt=0, le=60_000)] = 2000  # a minute, as Seconds (pyvisa counts ms)


class SupplyConfig(InstrumentConfig):
    driver: Annotated[str, _one_of(_drivers(PowerSupply), "unknown supply driver {v!r} (known: {known})")] = "scpi-psu"
    voltage_v: Annotated[float, Field(ge=4.75, le=5.5)] = 5.00  # the P1 supply range
    current_limit_a: Annotated[float, Field(gt=0)] = 0.250
    # Optional peak-hold query (e.g. "MEAS:CURR:MAX?"); without it the inrush is the highest of
    # `inrush_samples` MEAS:CURR? readings taken right after the output turns on.
    peak_current_query: str | None = None
    # The inrush is over within milliseconds and each sample is a query (~10 ms): by 100 the samples
    # read the idle current.
    inrush_samples: Annotated[int, Field(gt=0, le=100)] = 5
    settle_s: Annotated[float, Field(ge=0, le=60)] = 0.5  # before the idle current; as Seconds

    @field_validator("current_limit_a")
    @classmethod
    def _below_trip_point(cls, v: float) -> float:
        if v > P1_TRIP_POINT_A + 1e-9:
            raise ValueError(f"{v} A is above the P1 port's trip point ({P1_TRIP_POINT_A} A); the board must "
                             f"never get more than a meter gives")
        return v


def _probe_on(net: str) -> AfterValidator:
    """A test point of the board (parts.toml [test_points]) on `net`."""

    def check(ref):
        if TEST_POINTS.get(ref) != net:
            on = [r for r, n in TEST_POINTS.items() if n == net]
            raise ValueError(f"{ref!r} is not the board's test point on {net} ({', '.join(on) or 'none'}; the board's "
                             f"test points: {', '.join(f'{r} {n}' for r, n in TEST_POINTS.items())})")
        return ref

    return AfterValidator(check)


class MultimeterConfig(InstrumentConfig):
    driver: Annotated[str, _one_of(_drivers(Multimeter), "unknown dmm driver {v!r} (known: {known})")] = "scpi-dmm"
    # Channel (scanner card) for each measurement; None = the meter's front input (single-input DMM:
    # the operator moves the probe; prompts are out of scope, use a scanner).
    rail_channel: str | None = None
    drq_channel: str | None = None
    # The board's test point each measurement probes (its ref as printed beside it): the operator's probe or the
    # scanner's wire lands there, and the measurement's note names it.
    rail_probe: Annotated[str, _probe_on("+3V3")] = "TP3"
    drq_probe: Annotated[str, _probe_on("P1_DRQ")] = "TP7"


class MeterPortConfig(_Section):
    """The USB-TTL adapter that plays the meter (its TX → RJ12 pin 5)."""

    url: str = ""
    baud: UartRate = P1_BAUD
    # How Data Request (pin 2) is watched: "dmm" (voltage via drq_channel), "cts" (logic level on the
    # adapter's CTS) or "none".
    drq_via: Literal["dmm", "cts", "none"] = "dmm"
    write_timeout_s: Seconds = 2.0
    line_state: str | None = None  # simulated bench only (set by it): see bringup/sim/line_state.py


class ConsoleConfig(_Section):
    """The D32's own USB serial: frames echoed back, status lines, commands."""

    url: str = ""
    # Faster than the P1 line: the console carries every frame plus its status line.
    baud: UartRate = 921600
    timeout_s: Seconds = 3.0


class S1Config(_Section):
    """The S1 jig: a USB-TTL adapter at 2 Mbaud whose TX drives an RS-422 driver into the board's
    S1 RJ12 (pins 5 +, 4 −, GND 3; see bringup/README.md). Absent from a station: no S1 step."""

    url: str = ""
    baud: Annotated[int, _one_of((S1_BAUD,), "must be {known} (the S1 line rate), not {v}")] = S1_BAUD
    write_timeout_s: Seconds = 2.0
    # ≥ 100: the known faults sit at fixed fractions of the run. ≤ 1,000,000: the stream is built in
    # memory, ~180 bytes a frame at its peak (bringup/plan.py), so 180 MB; 225 s at the line rate.
    frames: Annotated[int, Field(ge=100, le=S1_MAX_FRAMES)] = 2000
    # 0: back to back at the line rate (4,444 frames/s, also the ceiling: the line carries no more);
    # a real meter sends 2,600-4,200 frames/s.
    frame_rate_hz: Annotated[float, Field(ge=0, le=S1_LINE_FRAMES_PER_S)] = 0.0
    settle_s: Seconds = 0.3  # the board's byte counter must stay still this long before judging
    line_state: str | None = None  # simulated bench only (set by it): see bringup/sim/line_state.py


def _low_le_high(v: list[float]) -> list[float]:
    if v[0] > v[1]:
        raise ValueError("must be [low, high] with low ≤ high")
    return v


def _window(high: float):
    """[low, high] limits, each between 0 and `high` (beyond what can be measured judges nothing)."""
    return Annotated[list[Annotated[float, Field(ge=0, le=high)]], Field(min_length=2, max_length=2),
                     AfterValidator(_low_le_high)]


VoltWindow = _window(6.0)  # above the P1 supply's 5.5 V maximum nothing on the board can read
AmpWindow = _window(P1_FOLDBACK_A)  # the P1 port folds back by 300 mA: no more can flow
RatioWindow = _window(2.0)  # a line carries no more than its rate (clock error is a few %)


class LimitWindows(_Section):
    """The windows the station judges a board's analogue values against ([low, high] each), and the MARGINAL band."""

    supply_voltage_v: VoltWindow = [4.90, 5.10]
    inrush_current_a: AmpWindow = [0.0, 0.250]
    idle_current_a: AmpWindow = [0.020, 0.150]
    rail_3v3_v: VoltWindow = [3.20, 3.40]
    drq_v: VoltWindow = [4.0, 5.5]
    throughput_ratio: RatioWindow = [0.97, 1.02]
    # Width of the MARGINAL band just inside each limit, as a fraction of the limit span.
    marginal_fraction: Annotated[float, Field(ge=0, lt=0.5)] = 0.05


class LoopbackConfig(_Section):
    # Times the whole telegram set is sent back to back; a round is under half a second at line rate,
    # and 100 of them prove nothing a few do not.
    line_rate_rounds: Annotated[int, Field(ge=0, le=100)] = 1
    # Telegrams sent one every slow_interval_s: 1,800 is the 30 minutes a run may take at one a second.
    slow_count: Annotated[int, Field(ge=0, le=1800)] = 3
    # A meter sends one a second (DSMR 5) or every 10 s (DSMR 4); shorten in sim stations to keep CI fast.
    slow_interval_s: Seconds = 1.0
    # Telegrams sent back to back for step 6: 10,000 of the full set's (~870 bytes on average) are
    # 13 minutes at line rate.
    throughput_count: Annotated[int, Field(ge=2, le=10_000)] = 30
    builder_set: Literal["full", "small"] = "full"  # "small": fewer telegrams, for fast tests
    # Line quiet time after a truncated frame before expecting its verdict: longer than the firmware's own
    # (p1frame.IDLE_MS, after which it reports the frame), with half of it again as margin.
    idle_s: Annotated[float, Field(gt=0, le=10)] = 1.5 * p1frame.IDLE_MS / 1000


class SimConfig(_Section):
    """Only for ``kind: sim``: how the simulated bench behaves."""

    fault: Annotated[str | None, _one_of(FAULTS, "unknown fault {v!r}; one of {known}")] = None
    heartbeat_s: Seconds = 1.0  # the firmware beats once a second
    instruments_yaml: str | None = None  # default: bringup/sim/instruments.yaml


class Station(_Section):
    name: str = "station"
    kind: Literal["bench", "sim"] = "bench"
    supply: SupplyConfig = SupplyConfig()
    dmm: MultimeterConfig = MultimeterConfig()
    meter: MeterPortConfig = MeterPortConfig()
    console: ConsoleConfig = ConsoleConfig()
    limits: LimitWindows = LimitWindows()
    loopback: LoopbackConfig = LoopbackConfig()
    sim: SimConfig = SimConfig()
    s1: S1Config | None = None
    # Real telegrams to replay in step 4: files (one telegram or a raw capture) or folders, relative
    # to the station file; `--telegrams PATH` adds more.
    telegrams: list[str] = []
    # force a dsmr_parser specification (default: detected per telegram)
    profile: Annotated[str | None, _one_of(PROFILES, "unknown profile {v!r}; one of {known}")] = None
    source: str = Field(default="", exclude=True)  # where the station came from (file path or "sim")



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
        got = repr(err["input"])
        msg += f" (got {got if len(got) <= 40 else got[:37] + '…'})" if not isinstance(err["input"], dict) else ""
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
    if station.kind == "bench":  # what only a real bench needs: every instrument and port named
        for key in ("supply.resource", "dmm.resource", "meter.url", "console.url"):
            sect, attr = key.split(".")
            if not getattr(getattr(station, sect), attr):
                raise StationError("is required for a bench station", source, key)
        if station.s1 is not None and not station.s1.url:
            raise StationError("is required for a bench station with an s1: section", source, "s1.url")
        if station.loopback.idle_s <= p1frame.IDLE_MS / 1000:  # the simulated board idles sooner (bringup.sim)
            raise StationError(f"must be longer than the firmware's {p1frame.IDLE_MS} ms of silence that ends a "
                               "frame", source, "loopback.idle_s")
    return station


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, key: str, line: int, first: int):
        self.key, self.line, self.first = key, line, first


class _StationLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader, but a key given twice in one mapping is an error naming it (PyYAML keeps
    the last one silently: a station with two ``timeout_ms:`` lines runs with whichever came second).
    Keys merged in with ``<<: *anchor`` may still be overridden, as YAML intends."""

    def __init__(self, stream):
        super().__init__(stream)
        self._path: list[str] = []  # the dotted key of the node being composed, for the message

    def compose_node(self, parent, index):
        if isinstance(index, yaml.ScalarNode):  # a mapping's value: index is its key
            step = index.value
        elif isinstance(index, int):  # a sequence's item
            step = f"[{index}]"
        else:  # a key, or the document itself
            return super().compose_node(parent, index)
        self._path.append(step)
        try:
            return super().compose_node(parent, index)
        finally:
            self._path.pop()

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            line = key.start_mark.line + 1
            if (key.tag, key.value) in seen:
                dotted = ".".join(self._path + [key.value]).replace(".[", "[")
                raise _DuplicateKey(dotted, line, seen[(key.tag, key.value)])
            seen[(key.tag, key.value)] = line
        return node


def _read_text(p: Path) -> str:
    """The station file's text: a regular file of at most MAX_STATION_BYTES, UTF-8 (stat first, so a
    device or a pipe is never opened, nor a huge file read)."""
    try:
        st = os.stat(p)
        if not stat.S_ISREG(st.st_mode):
            what = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise StationError(f"is {what}, not a station file", p)
        if st.st_size > MAX_STATION_BYTES:
            raise StationError(f"{st.st_size:,} bytes: too big for a station file (at most {MAX_STATION_BYTES:,})", p)
        data = p.read_bytes()
    except OSError as e:
        why = "symlink loop" if e.errno == errno.ELOOP else e.strerror
        raise StationError(f"cannot read: {why}", p) from e
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise StationError(f"not a text file: byte 0x{data[e.start]:02x} at offset {e.start} is not UTF-8 "
                           f"(a station file is YAML text)", p) from None


def _yaml_problem(e: Exception) -> str:
    """A YAML error in one line: where and what (PyYAML's own text spans several lines)."""
    if isinstance(e, yaml.MarkedYAMLError) and e.problem_mark is not None:
        m = e.problem_mark
        return f"line {m.line + 1}, column {m.column + 1}: {e.problem}"
    if isinstance(e, RecursionError):
        return "nested too deeply"
    return " ".join(str(e).split())


def load(path: str | Path) -> Station:
    """Load and validate a station file."""
    p = Path(path)
    text = _read_text(p)
    try:
        data = yaml.load(text, Loader=_StationLoader)
    except _DuplicateKey as e:
        raise StationError(f"given twice (line {e.first} and line {e.line}); keep one", p, e.key) from None
    except (yaml.YAMLError, ValueError, RecursionError) as e:  # ValueError: e.g. an integer of 5,000 digits
        raise StationError(f"not valid YAML: {_yaml_problem(e)}", p) from None
    return from_dict(data if data is not None else {}, str(p))


SIM_STATION = Path(__file__).with_name("stations") / "sim.yaml"


def resolve(spec: str) -> Station:
    """``sim`` → the built-in simulated station; anything else is a station file path."""
    return load(SIM_STATION if spec == "sim" else spec)
