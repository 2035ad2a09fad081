"""The run's plan: how long a station's run takes and how much memory it needs, worked out before a board is
powered. Keys within their ceilings can still add up to an absurd run: :func:`check` adds up what the steps
will do (the time a good board takes, not the timeouts a failing one may add) and refuses a run over
:data:`MAX_RUN_S` or :data:`MAX_MEMORY_BYTES` with a station error naming the key that costs the most.
What the steps send is made here too (:func:`telegram_set`, :func:`s1_stream`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from meter import capture, telegrams as tg
from meter.lines import S1_FRAME_LEN, S1_LINE_FRAMES_PER_S

from .station import Station, StationError

MAX_RUN_S = 30 * 60  # a bring-up takes minutes per board: a plan of half an hour is a mistake in the station
MAX_MEMORY_BYTES = 256 << 20  # for the S1 stream and the replay, on a bench PC that runs other things too
# Peak memory per S1 frame while the step's stream is made and its expected counts decoded
# (hwtools.s1.synth + hwtools.s1.frames), measured: 175 B at 10^6 frames, 164 B at 3·10^6.
S1_BYTES_PER_FRAME = 180
# A replayed capture is held as its files, the joined stream, the expected frames and the board's echoes.
REPLAY_BYTES_PER_BYTE = 4
NEGATIVE_IDLE_WAITS = 6  # the negative cases wait loopback.idle_s after each of their six frames
REPLAY_IDLE_WAITS = 2  # and the replay twice (after the capture, then for anything late)


@dataclass(frozen=True)
class Part:
    """One thing the run does: the station key that sets it, what it is, its time and memory."""

    key: str
    what: str
    seconds: float = 0.0
    memory: int = 0


@dataclass(frozen=True)
class Plan:
    parts: list[Part]
    captures: capture.Capture | None = None  # the replay's captures, read and framed once (by check)

    @property
    def duration_s(self) -> float:
        return sum(p.seconds for p in self.parts)

    @property
    def memory_bytes(self) -> int:
        return sum(p.memory for p in self.parts)

    def summary(self) -> str:
        return f"about {human(self.duration_s)}"


def human(seconds: float) -> str:
    """A duration as an operator reads it: '8 s', '6 min 10 s', '1 h 12 min'."""
    s = round(seconds)
    if s < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min" if s % 3600 // 60 else f"{s // 3600} h"


def estimate(st: Station, replay_bytes: int = 0) -> Plan:
    """The plan of a station's run, `replay_bytes` of captures included."""
    lb = st.loopback
    # Every frame the board gets is echoed on its console: the slower of the two links sets the pace.
    rate = min(st.meter.baud, st.console.baud) / 10  # bytes/s, 8N1
    builder = [len(tg.build(s)) for s in tg.standard_set(small=lb.builder_set == "small")]
    thru = sum(builder[i % len(builder)] for i in range(lb.throughput_count))
    parts = [
        Part("supply.settle_s", "power: settling before the idle current", st.supply.settle_s),
        Part("loopback.line_rate_rounds", f"loopback: {lb.line_rate_rounds} round(s) of {len(builder)} telegrams",
             lb.line_rate_rounds * sum(builder) / rate),
        Part("loopback.slow_count", f"loopback: {lb.slow_count} telegrams one every {lb.slow_interval_s:g} s",
             lb.slow_count * lb.slow_interval_s),
        Part("loopback.idle_s", "quiet line after each negative case" + (" and the replay" if replay_bytes else ""),
             (NEGATIVE_IDLE_WAITS + (REPLAY_IDLE_WAITS if replay_bytes else 0)) * lb.idle_s),
        Part("loopback.throughput_count", f"throughput: {lb.throughput_count} telegrams back to back", thru / rate),
    ]
    if replay_bytes:
        parts.append(Part("telegrams", f"replay: {replay_bytes:,} bytes of captures (telegrams:, --telegrams)",
                          replay_bytes / rate, replay_bytes * REPLAY_BYTES_PER_BYTE))
    if st.s1 is not None:
        fps = st.s1.frame_rate_hz or S1_LINE_FRAMES_PER_S
        parts.append(Part("s1.frames", f"S1: {st.s1.frames:,} frames at {fps:,.0f} frames/s",
                          st.s1.frames / fps + st.s1.settle_s, st.s1.frames * S1_BYTES_PER_FRAME))
    return Plan(parts)


def check(st: Station, max_telegram_bytes: int = capture.DEFAULT_MAX_BYTES) -> Plan:
    """The plan of `st` with its captures framed; a station error when the run would take longer than
    MAX_RUN_S or more memory than MAX_MEMORY_BYTES (judged from the files' sizes, before reading them)."""
    p = estimate(st, capture.check(st.telegrams, max_telegram_bytes))
    if p.duration_s > MAX_RUN_S:
        worst = max(p.parts, key=lambda part: part.seconds)
        raise StationError(f"the run would take {p.summary()}, over the {human(MAX_RUN_S)} a bring-up may take; "
                           f"the most of it: {worst.what} ({human(worst.seconds)})", st.source, worst.key)
    if p.memory_bytes > MAX_MEMORY_BYTES:
        worst = max(p.parts, key=lambda part: part.memory)
        raise StationError(f"the run would hold about {p.memory_bytes >> 20} MB, over the {MAX_MEMORY_BYTES >> 20} MB "
                           f"a bring-up may take; the most of it: {worst.what} ({worst.memory >> 20} MB)",
                           st.source, worst.key)
    if st.telegrams:  # read and framed here, once a run: a file without a complete telegram is named
        p = replace(p, captures=capture.load(st.telegrams))
    return p


# ---------------------------------------------------------------- what the steps send
@dataclass
class Sent:
    name: str
    data: bytes
    expected: dict | None  # dsmr_parser fields (None: compare with decoding the sent bytes)
    lowercase: bool = False

def telegram_set(st: Station) -> list[Sent]:
    """The builder's deterministic set (real captures are replayed separately: ``steps.replay_captures``)."""
    return [Sent(s.name, tg.build(s), tg.expected_fields(s)) for s in tg.standard_set(small=st.loopback.builder_set == "small")]

@dataclass
class S1Stream:
    """A deterministic synthetic S1 stream and what a correct receiver must count in it."""

    data: bytes
    frames: int
    fcs_errors: int
    seq_gaps: int
    skipped: int
    last: list[bytes]  # the last three frames on the line

@lru_cache(maxsize=4)
def s1_stream(n: int) -> S1Stream:
    """`n` frames from ``meter.s1.synth`` with known faults: two broken FCS, one dropped frame,
    17 garbage bytes. The expected counts come from the host decoder ``meter.s1.frames`` (an
    implementation independent of the firmware's counter). Cached: the S1 step's declarations and
    its run use the same stream."""
    from meter.s1 import decode_bytes
    from meter.s1.synth import SynthConfig, synth_stream

    cfg = SynthConfig(frames=n, seed=9, v_noise=0.3, i_noise=0.01, corrupt_fcs=(n // 4, n * 3 // 5),
                      drop=(n * 2 // 5,), garbage={n * 3 // 4: 17})
    data = synth_stream(cfg)
    stats = decode_bytes(data).stats
    tail = [data[k:k + S1_FRAME_LEN] for k in range(len(data) - 3 * S1_FRAME_LEN, len(data), S1_FRAME_LEN)]
    return S1Stream(data, stats.frames, stats.fcs_errors, stats.seq_gaps, stats.bytes_skipped, tail)
