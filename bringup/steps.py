"""The seven bring-up steps (:data:`STEPS`), each a :class:`Step`: ``run`` measures on the :class:`Bench`,
making every measurement from a declaration (``bench.measure``); ``declares`` lists those declarations for a
station and the captures it replays, before anything is powered (a family by its name template, e.g. the
five counts of each loopback sub-step). :class:`StepFailure` (or a port or instrument error) is a FAIL naming
the step, :class:`StepSkipped` a step the station has nothing for; only the bench turns the supply off.
"""
from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from typing import Callable

from firmware import p1frame
from meter import capture, telegrams as tg
from meter.capture import Capture
from meter.lines import LINE_BYTES_PER_S, S1_FRAME_LEN, S1_LINE_FRAMES_PER_S

from . import replay
from .bench import Bench
from .console import ConsoleTimeout, Heartbeat, S1Status
from .measurement import Measurement, Spec
from .plan import Sent, human, s1_stream, telegram_set
from .station import P1_TRIP_POINT_A, LoopbackConfig, Station


class StepFailure(Exception):
    """A step cannot continue; the message says what was seen."""


class Ticker:
    """A long send's progress for the operator: a line every ``every_s`` with the share done and the
    time left at the pace so far (a send shorter than that prints nothing)."""

    def __init__(self, note: Callable[[str], None], what: str, total: int, unit: str = "bytes",
                 every_s: float = 10.0):
        self.note, self.what, self.total, self.unit, self.every_s = note, what, total, unit, every_s
        self.t0 = self.last = time.monotonic()

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every_s or not 0 < done < self.total:
            return
        self.last = now
        left = (now - self.t0) * (self.total - done) / done
        self.note(f"{self.what}: {done:,} of {self.total:,} {self.unit} sent ({100 * done // self.total} %), "
                  f"about {human(left)} left")


class StepSkipped(Exception):
    """The station has nothing for this step to test (recorded SKIPPED, not a failure)."""


def window(st: Station, key: str, unit: str, note: str, name: str = "", marginal_scale: float = 1.0) -> Spec:
    """A measurement judged against the station's ``limits.<key>`` window (named after the key unless
    told), MARGINAL within ``limits.marginal_fraction`` of the window's span from either limit."""
    lo, hi = getattr(st.limits, key)
    return Spec(name or key, unit, lo, hi, marginal=(hi - lo) * st.limits.marginal_fraction * marginal_scale, note=note)


# ---------------------------------------------------------------- 1. station self-check
def self_check_specs(st: Station, captures: Capture | None) -> list[Spec]:
    return [
        Spec("supply identifies", expect=True, note="*IDN? answered"),
        Spec("dmm identifies", expect=True, note="*IDN? answered"),
        Spec("meter port opens", expect=True),
        Spec("console port opens", expect=True),
        Spec("firmware version", expect=p1frame.FIRMWARE_VERSION),
        Spec("console protocol", expect=str(p1frame.PROTOCOL_VERSION)),
    ]


def self_check(bench: Bench) -> list[Measurement]:
    st = bench.station
    ms = []
    # Safety first: whatever state the supply was left in, open_supply() turns the output off.
    ms.append(bench.measure("self_check", "supply identifies", bool(idn := bench.open_supply().identify()), note=idn))
    ms.append(bench.measure("self_check", "dmm identifies", bool(idn := bench.open_dmm().identify()), note=idn))
    bench.open_meter()
    ms.append(bench.measure("self_check", "meter port opens", True, note=st.meter.url))
    bench.open_console()
    ms.append(bench.measure("self_check", "console port opens", True, note=st.console.url))
    reply = bench.console.command("VERSION", "VERSION", retry_s=0.5)
    fields = dict(w.split("=", 1) for w in reply.split()[1:] if "=" in w)
    bench.firmware = fields.get("fw", "")
    ms.append(bench.measure("self_check", "firmware version", bench.firmware, note=reply))
    ms.append(bench.measure("self_check", "console protocol", fields.get("proto", "")))
    return ms


# ---------------------------------------------------------------- 2. power
def power_specs(st: Station, captures: Capture | None) -> list[Spec]:
    return [
        Spec("current limit", "A", 0.0, P1_TRIP_POINT_A, note="supply limit set before output on"),
        window(st, "inrush_current_a", "A", "peak after turn-on"),
        window(st, "idle_current_a", "A", "mean of 3 readings"),
        window(st, "supply_voltage_v", "V", "at the supply"),
    ]


def power(bench: Bench) -> list[Measurement]:
    cfg, psu = bench.station.supply, bench.supply
    ms = [bench.measure("power", "current limit", cfg.current_limit_a,
                        note=f"set before the output turns on; P1 trip point {P1_TRIP_POINT_A * 1000:.0f} mA")]
    bench.power_on()  # limit and voltage set and read back first (checks SYST:ERR?)
    peak = psu.peak_current()
    samples = [psu.measure_current() for _ in range(max(1, cfg.inrush_samples))]
    inrush = max([peak] + samples) if peak is not None else max(samples)
    how = "peak-hold query" if peak is not None else f"max of {len(samples)} samples after turn-on"
    ms.append(bench.measure("power", "inrush_current_a", inrush, how))
    time.sleep(cfg.settle_s)
    idle = statistics.fmean(psu.measure_current() for _ in range(3))
    volts = psu.measure_voltage()
    note = ""
    if idle >= 0.95 * cfg.current_limit_a:
        note = f"supply in current limit ({cfg.current_limit_a} A): over-current, short on +5 V?"
    ms.append(bench.measure("power", "idle_current_a", round(idle, 5), note))
    ms.append(bench.measure("power", "supply_voltage_v", volts, note))
    return ms


# ---------------------------------------------------------------- 3. rails and Data Request
def drq_spec(st: Station) -> Spec:
    """What Data Request is judged by: the DMM's window, the adapter's CTS, or nothing (``meter.drq_via``)."""
    if st.meter.drq_via == "dmm":
        return window(st, "drq_v", "V", f"DMM on {st.dmm.drq_probe} (P1_DRQ, RJ12 pin 2) under 1 kΩ")
    if st.meter.drq_via == "cts":
        return Spec("Data Request high (adapter CTS)", expect=True, note="logic level only")
    return Spec("Data Request voltage", expect="not measured")


def rails_specs(st: Station, captures: Capture | None) -> list[Spec]:
    return [
        window(st, "rail_3v3_v", "V", f"DMM on {st.dmm.rail_probe} (+3V3)"),
        Spec("firmware asserts Data Request", expect="DRQ 1"),
        drq_spec(st),
    ]


def rails(bench: Bench) -> list[Measurement]:
    st = bench.station
    ms = [bench.measure("rails", "rail_3v3_v", bench.dmm.measure_dc_voltage(st.dmm.rail_channel))]
    reply = bench.console.command("DRQ 1", "DRQ")
    ms.append(bench.measure("rails", "firmware asserts Data Request", reply))
    time.sleep(0.05)
    drq = drq_spec(st).name
    if st.meter.drq_via == "dmm":
        ms.append(bench.measure("rails", drq, bench.dmm.measure_dc_voltage(st.dmm.drq_channel)))
    elif st.meter.drq_via == "cts":
        ms.append(bench.measure("rails", drq, bench.meter.cts(),
                                note="logic level only; the 4.0–5.5 V window needs the DMM"))
    else:
        ms.append(bench.measure("rails", drq, "not measured", note="station has drq_via: none"))
    return ms


# ---------------------------------------------------------------- 4. telegram loopback
# The family each loopback sub-step records: five counts named "<label>: <count>", with their unit. Each
# must equal the sub-step's telegram count, but byte errors, which must be 0.
LOOPBACK_COUNTS = {"reports": "telegrams", "echo byte-identical": "telegrams", "board CRC verdict ok": "telegrams",
                   "dsmr_parser fields match": "telegrams", "byte errors": "bytes"}


def count_name(label: str, count: str) -> str:
    return f"{label}: {count}"


def count_specs(label: str, n: int, counts: tuple[str, ...] = tuple(LOOPBACK_COUNTS)) -> list[Spec]:
    """The family's declarations for a sub-step of `n` telegrams (those of `counts`)."""
    return [Spec(count_name(label, c), LOOPBACK_COUNTS[c], *((0, 0) if c == "byte errors" else (n, n)))
            for c in counts]


def line_rate_labels(lb: LoopbackConfig) -> list[str]:
    """One sub-step a round of the builder's set at line rate: 'line rate', or 'line rate #k' of several."""
    return [f"line rate #{k + 1}" if lb.line_rate_rounds > 1 else "line rate" for k in range(lb.line_rate_rounds)]


def slow_label(lb: LoopbackConfig) -> str:
    return f"one every {lb.slow_interval_s:g} s"


def loopback_specs(st: Station, captures: Capture | None) -> list[Spec]:
    """In the order of the sub-steps: the line-rate rounds, the replay of the station's real telegram captures
    (``telegrams:``, ``--telegrams``), the slow telegrams."""
    lb = st.loopback
    n = len(telegram_set(st))
    specs = [s for label in line_rate_labels(lb) for s in count_specs(label, n)]
    if captures is not None:
        complete = sum(e.complete for e in captures.expected)
        specs += [
            Spec("replay: complete telegrams reported as expected", "telegrams", complete, complete),
            Spec("replay: errors (missing, extra or different reports)", "reports", 0, 0),
            Spec("replay: decoder limitations", "telegrams", note="recorded; not a board fault"),
        ]
    if lb.slow_count:
        specs += count_specs(slow_label(lb), lb.slow_count)
    return specs


def diagnose_silence(bench: Bench, before: Heartbeat, sent_bytes: int) -> str:
    """Why did no @T come? Ask the board's counters (against `before`) instead of reporting a bare timeout."""
    hb = bench.console.status()
    garbage_before = before.counters["garbage"]
    g = hb.counters["garbage"] - garbage_before
    t = hb.counters["telegrams"] - before.counters["telegrams"]
    if t == 0 and g >= sent_bytes // 2:
        return (f"polarity looks wrong: the board received {g} of {sent_bytes} bytes but never a '/' "
                f"(garbage counter {garbage_before}→{hb.counters['garbage']}); the meter line is not "
                f"inverted — check the open-collector stage or the adapter's TXD-inverted setting")
    if t == 0 and g == 0:
        return ("the board received nothing on the meter line: check RJ12 pin 5 wiring, the pull-up "
                "and that the adapter's TX is connected")
    return f"board counted {t} frame(s) and {g} garbage byte(s) but sent no status line for them"


def exchange(bench: Bench, items: list[Sent], interval_s: float = 0.0, what: str = "telegrams") -> tuple[list, float]:
    """Send telegrams (back to back, or one every `interval_s`) and collect the board's reports.

    Returns the reports and the monotonic time the first byte was sent."""
    con, meter = bench.console, bench.meter
    hb = con.status()
    n0 = con.report_count()
    t0 = time.monotonic()  # same clock as TelegramReport.received_at
    total = sum(len(it.data) for it in items)
    if interval_s:
        ticker = Ticker(bench.note, what, len(items), "telegrams")
        for i, it in enumerate(items):
            if i:
                time.sleep(max(0.0, t0 + i * interval_s - time.monotonic()))
            meter.send(it.data)
            ticker(i + 1)
    else:  # back to back: one burst, as a meter's UART would clock it out
        meter.send(b"".join(it.data for it in items), progress=Ticker(bench.note, what, total))
    try:
        reports = con.wait_reports(n0, len(items), timeout=bench.station.console.timeout_s)
    except ConsoleTimeout:
        reports = con.reports_since(n0)
        if not reports:
            raise StepFailure("no @T status line: " + diagnose_silence(bench, hb, total)) from None
        # let an unfinished frame time out on the board, then take what came
        time.sleep(bench.station.loopback.idle_s)
        reports = con.reports_since(n0)
    return reports, t0


def judge_loopback(bench: Bench, step: str, label: str, items: list[Sent], reports: list,
                   counts: tuple[str, ...] = tuple(LOOPBACK_COUNTS)) -> list[Measurement]:
    """The loopback counts of a sub-step (all five, or those of `counts`)."""
    n = len(items)
    identical = verdict_ok = decoded_ok = byte_errors = 0
    problems: list[str] = []
    for it, r in zip(items, reports):
        if r.echo == it.data:
            identical += 1
        else:
            diff = sum(a != b for a, b in zip(r.echo, it.data)) + abs(len(r.echo) - len(it.data))
            byte_errors += diff
            problems.append(f"{it.name}: echo differs in {diff} byte(s)")
        want_case = "lower" if it.lowercase else "upper"
        if r.verdict == "ok" and r.case == want_case:
            verdict_ok += 1
        else:
            problems.append(f"{it.name}: board verdict {r.describe()} case={r.case}")
        try:
            if r.verdict != "ok":  # the board's own verdict says why; dsmr_parser would only mislead
                raise ValueError(f"not decoded: board verdict {r.describe()}")
            expected = it.expected or tg.decoded_fields(tg.decode(it.data))
            diffs = tg.compare(expected, tg.decoded_fields(tg.decode(r.echo)))
        except Exception as e:  # dsmr_parser raises its own ParseError / InvalidChecksumError
            diffs = [str(e) if str(e).startswith("not decoded") else f"dsmr_parser: {type(e).__name__}: {e}"]
        if diffs:
            problems.append(f"{it.name}: " + "; ".join(diffs[:2]))
        else:
            decoded_ok += 1
    missing = n - len(reports)
    if missing > 0:
        problems.insert(0, f"{missing} telegram(s) got no report")
        byte_errors += sum(len(it.data) for it in items[len(reports):])
    note = "; ".join(problems[:3])
    found = {"reports": (len(reports), note if missing else ""), "echo byte-identical": (identical, note),
             "board CRC verdict ok": (verdict_ok, note), "dsmr_parser fields match": (decoded_ok, note),
             "byte errors": (byte_errors, "")}
    return [bench.measure(step, count_name(label, c), *found[c]) for c in counts]


def replay_captures(bench: Bench) -> list[Measurement]:
    """Send the station's telegram files as captured and judge the board's reports, aligned by
    content with what the firmware's framer finds in the same bytes. The per-telegram table goes
    into the record and the database (``bench.telegrams``)."""
    st, con, cap = bench.station, bench.console, bench.captures
    hb = con.status()
    n0 = con.report_count()
    bench.meter.send(cap.stream, progress=Ticker(bench.note, "replay", len(cap.stream)))
    time.sleep(st.loopback.idle_s)  # a capture that ends inside a frame: the board reports it after silence
    want = len(cap.expected)
    try:
        reports = con.wait_reports(n0, want, timeout=st.console.timeout_s)
    except ConsoleTimeout:
        reports = con.reports_since(n0)
        if not reports and want:
            raise StepFailure("no @T status line for the replayed telegrams: "
                              + diagnose_silence(bench, hb, len(cap.stream))) from None
    time.sleep(st.loopback.idle_s)  # anything extra the board still had to say
    reports = con.reports_since(n0)
    rows = replay.align(cap.expected, reports)
    bench.telegrams = replay.table(rows, st.profile)
    errors = [r for r in rows if r.problem]
    good = sum(1 for r in rows if not r.problem and r.expected is not None and r.expected.complete)
    limitations = [t for t in bench.telegrams if t.decoder_limitation]
    first = "; ".join(f"{t.source}@{t.offset}: {t.problem}" for t in bench.telegrams if t.problem)[:300]
    return [
        bench.measure("loopback", "replay: complete telegrams reported as expected", good,
                      note=f"{len(capture.files(st.telegrams))} file(s), {len(cap.stream)} bytes, "
                           f"{cap.garbage} outside frames"),
        bench.measure("loopback", "replay: errors (missing, extra or different reports)", len(errors), note=first),
        bench.measure("loopback", "replay: decoder limitations", len(limitations),
                      note="dsmr_parser could not decode a telegram the board framed right (not a board fault)"
                    + (f": {limitations[0].source}: {limitations[0].decode}" if limitations else "")),
    ]


def loopback(bench: Bench) -> list[Measurement]:
    lb = bench.station.loopback
    items = telegram_set(bench.station)
    ms: list[Measurement] = []
    for label in line_rate_labels(lb):
        reports, _ = exchange(bench, items)
        ms += judge_loopback(bench, "loopback", label, items, reports)
    if bench.captures is not None:
        ms += replay_captures(bench)
    if lb.slow_count:
        slow = [items[i % len(items)] for i in range(lb.slow_count)]
        reports, _ = exchange(bench, slow, interval_s=lb.slow_interval_s, what="slow telegrams")
        ms += judge_loopback(bench, "loopback", slow_label(lb), slow, reports)
    return ms


# ---------------------------------------------------------------- 5. negative cases
GARBAGE_BYTES = 256  # sent between two telegrams; the board must count every one


def negatives_specs(st: Station, captures: Capture | None) -> list[Spec]:
    return [
        Spec("wrong CRC flagged", expect="crc-error"),
        Spec("truncated telegram flagged", expect="truncated"),
        Spec("garbage bytes counted", "bytes", GARBAGE_BYTES, GARBAGE_BYTES),
        Spec("telegram after garbage", expect="ok"),
        Spec("lower-case CRC accepted and reported", expect="ok/case=lower"),
        Spec("over-long frame flagged", expect="overflow"),
        Spec("non-inverted input diagnosed", expect=True, note="'polarity looks wrong'"),
    ]


def _one(bench: Bench, data: bytes, timeout: float | None = None):
    """Send one frame, wait for its single report (a truncated one after the line goes quiet)."""
    con = bench.console
    n0 = con.report_count()
    bench.meter.send(data)
    time.sleep(bench.station.loopback.idle_s)
    return con.wait_reports(n0, 1, timeout)[0]


def negatives(bench: Bench) -> list[Measurement]:
    spec = tg.standard_set(small=True)[1]
    good = tg.build(spec)
    body = tg.body(spec)
    crc = p1frame.crc16_arc(body)
    ms = []

    r = _one(bench, body + f"{crc ^ 0x0F0F:04X}\r\n".encode())
    ms.append(bench.measure("negatives", "wrong CRC flagged", r.verdict,
                            note=f"crc_sent={r.crc_sent} crc_calc={r.crc_calc}"))

    r = _one(bench, good[: len(good) * 6 // 10])
    ms.append(bench.measure("negatives", "truncated telegram flagged", r.verdict, note=f"len={r.length}"))

    rng = random.Random(17)
    garbage = bytes(rng.choice([b for b in range(256) if b != 0x2F]) for _ in range(GARBAGE_BYTES))
    g0 = bench.console.status().counters["garbage"]
    bench.meter.send(garbage)
    r = _one(bench, good)
    g1 = bench.console.status().counters["garbage"]
    ms.append(bench.measure("negatives", "garbage bytes counted", g1 - g0))
    ms.append(bench.measure("negatives", "telegram after garbage", r.verdict))

    spec_lc = tg.standard_set(small=True)[0]
    spec_lc.lowercase_crc = True
    r = _one(bench, tg.build(spec_lc))
    ms.append(bench.measure("negatives", "lower-case CRC accepted and reported", f"{r.verdict}/case={r.case}",
                            note="accepted; the board says case=lower"))

    big = body.replace(b"\r\n!", b"\r\n" + b"0-0:96.13.0()\r\n" * 400 + b"!")
    big += f"{p1frame.crc16_arc(big):04X}\r\n".encode()
    r = _one(bench, big)
    ms.append(bench.measure("negatives", "over-long frame flagged", r.verdict, note=f"len={r.length}"))

    # Non-inverted input: the bytes as a UART sees them when the inverter is missing.
    inverted = bytes(b ^ 0xFF for b in good)
    hb = bench.console.status()
    try:
        _one(bench, inverted, timeout=min(1.0, bench.station.console.timeout_s))
        diagnosis = "board produced a status line for non-inverted input"
    except ConsoleTimeout:
        diagnosis = diagnose_silence(bench, hb, len(inverted))
    ms.append(bench.measure("negatives", "non-inverted input diagnosed", diagnosis.startswith("polarity looks wrong"),
                            note=diagnosis))
    return ms


# ---------------------------------------------------------------- 6. throughput
THROUGHPUT_LABEL, THROUGHPUT_COUNTS = "throughput run", ("reports", "byte errors")


def throughput_specs(st: Station, captures: Capture | None) -> list[Spec]:
    return count_specs(THROUGHPUT_LABEL, st.loopback.throughput_count, THROUGHPUT_COUNTS) + [
        Spec("throughput", "bytes/s", note=f"recorded; line {LINE_BYTES_PER_S:.0f} bytes/s"),
        window(st, "throughput_ratio", "", f"to {LINE_BYTES_PER_S:,.0f} bytes/s", name="ratio to line rate",
               marginal_scale=0.5),
    ]


def throughput(bench: Bench) -> list[Measurement]:
    st = bench.station
    items = [it for it in telegram_set(st) if not it.lowercase]
    seq = [items[i % len(items)] for i in range(st.loopback.throughput_count)]
    reports, t0 = exchange(bench, seq, what="throughput")
    keep = judge_loopback(bench, "throughput", THROUGHPUT_LABEL, seq, reports, THROUGHPUT_COUNTS)
    # End to end: bytes that came back byte-identical, from the first byte sent to the last @T line
    # received (so the board's and the console's latency count against it).
    good = sum(len(it.data) for it, r in zip(seq, reports) if r.echo == it.data)
    span = reports[-1].received_at - t0 if reports else 0.0
    rate = good / span if span > 0 else 0.0
    keep.append(bench.measure("throughput", "throughput", round(rate, 1), note=f"line: {LINE_BYTES_PER_S:.0f} bytes/s"))
    keep.append(bench.measure("throughput", "ratio to line rate", round(rate / LINE_BYTES_PER_S, 4)))
    return keep


# ---------------------------------------------------------------- 7. S1 port
def s1_specs(st: Station, captures: Capture | None) -> list[Spec]:
    """Exact counts: those of the host decoder for the stream the step sends (only with an S1 jig)."""
    if st.s1 is None:
        return []
    s = s1_stream(st.s1.frames)
    sent = len(s.data)
    return [
        Spec("S1 bytes received", "bytes", sent, sent),
        Spec("S1 frames", "frames", s.frames, s.frames, note="host decoder's count"),
        Spec("S1 FCS errors", "frames", s.fcs_errors, s.fcs_errors),
        Spec("S1 sequence gaps", "gaps", s.seq_gaps, s.seq_gaps),
        Spec("S1 bytes skipped", "bytes", s.skipped, s.skipped),
        Spec("S1 UART errors", "", 0, 0),
        Spec("S1 last 3 frames byte-identical", "frames", 3, 3),
        Spec("S1 send rate", "frames/s", note=f"recorded; line rate {S1_LINE_FRAMES_PER_S:,.0f}"),
    ]


def _s1_settled(bench: Bench, sent: int) -> S1Status:
    """Ask ``S1 STATUS`` until the board has counted every byte sent, or its byte count has stood
    still for ``settle_s`` (bytes lost on the way), or the console timeout has passed."""
    cfg, con = bench.station.s1, bench.console
    deadline = time.monotonic() + bench.station.console.timeout_s
    st = con.s1_status()
    still_since, last = time.monotonic(), st.bytes
    while st.bytes < sent and time.monotonic() < deadline:
        time.sleep(0.02)
        st = con.s1_status()
        if st.bytes != last:
            still_since, last = time.monotonic(), st.bytes
        elif time.monotonic() - still_since >= cfg.settle_s:
            break
    return st


def s1_port(bench: Bench) -> list[Measurement]:
    cfg = bench.station.s1
    if cfg is None:
        raise StepSkipped("station has no s1: section (no S1 jig on this bench)")
    con = bench.console
    bench.open_s1(bytes_per_s=cfg.frame_rate_hz * S1_FRAME_LEN or None)
    reply = con.command("S1 RESET", "S1 RESET")
    if reply != "S1 RESET":
        raise StepFailure(f"board answered 'S1 RESET' with '@R {reply}': firmware without the S1 port "
                          f"(protocol < 2) or its S1 UART could not be opened")
    stream = s1_stream(cfg.frames)  # the stream s1_specs declared the counts for
    took = bench.s1.send(stream.data, progress=Ticker(bench.note, "S1 stream", len(stream.data)))
    st = _s1_settled(bench, len(stream.data))
    note = f"board: {st.frames} frames, {st.fcs_errors} FCS errors, {st.seq_gaps} gaps, {st.skipped} skipped"
    if st.bytes == 0:
        note = ("the board received nothing on S1: check the RS-422 driver (DE high, powered), the "
                "twisted pair to RJ12 pins 5 (+) / 4 (−) and that the adapter runs at 2 Mbaud")
    elif st.frames == 0 and st.fcs_errors == 0:
        note = (f"{st.bytes} bytes but no frame shape: wrong baud, or A/B swapped (every bit inverted)")
    rate = cfg.frames / took if took > 0 else 0.0
    ms = [
        bench.measure("s1", "S1 bytes received", st.bytes, note=note),
        bench.measure("s1", "S1 frames", st.frames, note=note),
        bench.measure("s1", "S1 FCS errors", st.fcs_errors, note="2 sent with a broken FCS"),
        bench.measure("s1", "S1 sequence gaps", st.seq_gaps, note="1 dropped frame + 2 broken ones"),
        bench.measure("s1", "S1 bytes skipped", st.skipped, note="17 garbage bytes sent"),
        bench.measure("s1", "S1 UART errors", st.uart_errors),
    ]
    got = con.s1_frames(3)
    same = sum(a == b for a, b in zip(got, stream.last))
    diff = "" if same == 3 else "board: " + " ".join(f.hex() for f in got)[:200]
    ms.append(bench.measure("s1", "S1 last 3 frames byte-identical", same, note=diff))
    ms.append(bench.measure("s1", "S1 send rate", round(rate, 1),
                            note=f"line rate {S1_LINE_FRAMES_PER_S:,.0f} frames/s; a meter sends ≤ 4,200"))
    return ms


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[[Bench], list[Measurement]]
    declares: Callable[[Station, Capture | None], list[Spec]]  # what `run` measures, for a station and its captures
    checks_station: bool = False  # a failure here is the station's (it could not test), not the board's


STEPS = [
    Step("self_check", "Station self-check", self_check, self_check_specs, checks_station=True),
    Step("power", "Power", power, power_specs),
    Step("rails", "3V3 rail and Data Request", rails, rails_specs),
    Step("loopback", "Telegram loopback", loopback, loopback_specs),
    Step("negatives", "Negative cases", negatives, negatives_specs),
    Step("throughput", "Throughput", throughput, throughput_specs),
    Step("s1", "S1 port", s1_port, s1_specs),
]
