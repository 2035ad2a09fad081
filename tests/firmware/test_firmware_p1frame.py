"""Framing and CRC of firmware/p1frame.py under CPython."""

import pathlib
import re
import tracemalloc

import crcmod.predefined
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import p1frame as pf
TELEGRAM_DIR = pathlib.Path(__file__).resolve().parents[1] / "data" / "telegrams"  # real Fluvius telegrams

ARC = crcmod.predefined.mkCrcFun("crc-16")  # crcmod's 'crc-16' is CRC-16/ARC


def make_telegram(lines, lower=False):
    """A valid telegram with the given data lines (header included), CRC computed independently."""
    body = b"/FLU5\\253769484_A\r\n\r\n" + b"".join(l + b"\r\n" for l in lines) + b"!"
    crc = b"%04x" % ARC(body) if lower else b"%04X" % ARC(body)
    return body + crc + b"\r\n"


SHORT = make_telegram([b"1-0:1.8.1(001311.025*kWh)"])


def feed_all(framer, *chunks):
    reports = []
    for c in chunks:
        reports += framer.feed(c)
    return reports


# --- CRC -----------------------------------------------------------------------------------------

def test_crc_check_value():
    # The catalogue check value of CRC-16/ARC.
    assert pf.crc16_arc(b"123456789") == 0xBB3D


@given(st.binary(max_size=300), st.binary(max_size=300))
def test_crc_matches_crcmod_and_chains(a, b):
    assert pf.crc16_arc(a + b) == ARC(a + b)
    assert pf.crc16_arc(b, pf.crc16_arc(a)) == ARC(a + b)


# --- real telegrams ------------------------------------------------------------------------------

def test_shared_telegrams_are_crlf(telegrams):
    for name, data in telegrams.items():
        assert data.startswith(b"/") and data.endswith(b"\r\n"), name
        assert data.count(b"\n") == data.count(b"\r\n"), name + " has a bare LF"
        assert data.count(b"/") == 1, name  # the fuzz oracle below relies on this


def test_shared_telegrams_verify_ok(telegrams):
    for name, data in telegrams.items():
        framer = pf.Framer()
        (report,) = framer.feed(data)
        assert report.verdict == "ok", (name, report)
        assert report.telegram == data
        assert report.length == len(data)
        assert report.crc_sent == data[-6:-2].decode()
        assert report.crc_calc == ARC(data[:-6])
        assert report.lowercase == name.endswith("50217-a.txt")
        assert framer.counters["ok"] == 1 and framer.counters["garbage_bytes"] == 0


def test_split_at_every_byte(telegrams):
    data = telegrams["fluvius-3ph-peak-history-50217.txt"]
    for i in range(len(data) + 1):
        framer = pf.Framer()
        reports = feed_all(framer, data[:i], data[i:])
        assert [r.verdict for r in reports] == ["ok"], i
        assert reports[0].telegram == data


def test_byte_by_byte_and_memoryview(telegrams):
    data = telegrams["fluvius-1ph-gas-50217.txt"]
    framer = pf.Framer()
    reports = feed_all(framer, *[data[i:i + 1] for i in range(len(data))])
    assert [r.telegram for r in reports] == [data]
    assert [r.verdict for r in pf.Framer().feed(memoryview(bytearray(data)))] == ["ok"]


def test_back_to_back(telegrams):
    stream = b"".join(telegrams.values())
    reports = pf.Framer().feed(stream)
    assert [r.telegram for r in reports] == list(telegrams.values())
    assert [r.seq for r in reports] == [1, 2, 3, 4, 5]
    assert all(r.verdict == "ok" for r in reports)


def test_garbage_between_telegrams_is_counted_not_reported():
    framer = pf.Framer()
    reports = framer.feed(b"\x00\xffnoise\r\n" + SHORT + b"!1234\r\n" + SHORT)
    assert [r.verdict for r in reports] == ["ok", "ok"]
    assert framer.counters["garbage_bytes"] == 9 + 7


# --- errors --------------------------------------------------------------------------------------

def test_crc_error_reports_both_values():
    bad = SHORT.replace(b"1311", b"1312")
    (report,) = pf.Framer().feed(bad)
    assert report.verdict == "crc-error"
    assert report.crc_sent == SHORT[-6:-2].decode()
    assert report.crc_calc == ARC(bad[:-6]) != int(report.crc_sent, 16)


def test_lowercase_crc_is_ok_but_flagged():
    lower = make_telegram([b"1-0:1.7.0(00.433*kW)"], lower=True)
    assert lower[-6:-2] != lower[-6:-2].upper()  # the test needs a hex letter in the CRC
    (report,) = pf.Framer().feed(lower)
    assert report.verdict == "ok" and report.lowercase
    assert pf.status_line(report).endswith(" verdict=ok case=lower flag=- reason=-")


def test_non_hex_crc_and_missing_crlf_are_framing_errors_with_a_reason():
    framer = pf.Framer()
    reports = framer.feed(SHORT[:-6] + b"12G4\r\n" + SHORT[:-2] + b"\n\n" + SHORT[:-2] + b"\r\r" + SHORT)
    assert [(r.verdict, r.reason) for r in reports] == [
        ("framing-error", "bad-crc-format"), ("framing-error", "bad-crc-format"), ("framing-error", "no-lf"),
        ("ok", None)]
    assert reports[0].telegram == SHORT[:-6] + b"12G"
    assert reports[0].crc_sent is None  # the digits never ended
    assert reports[1].crc_sent == reports[2].crc_sent == SHORT[-6:-2].decode()


def test_no_crc_is_ok_nocrc():
    """DSMR 2.2/3 meters end a telegram with '!' CR LF: a verdict of its own, no CRC compared."""
    body = SHORT[:-6]
    framer = pf.Framer()
    (r,) = framer.feed(body + b"\r\n")
    assert (r.verdict, r.crc_sent, r.flag, r.reason, r.telegram) == ("ok-nocrc", None, None, None, body + b"\r\n")
    assert r.crc_calc == ARC(body)
    assert pf.status_line(r).endswith(" crc_sent=- crc_calc=%04X verdict=ok-nocrc case=- flag=- reason=-" % ARC(body))
    assert framer.counters["ok_nocrc"] == 1 and framer.counters["ok"] == 0


@pytest.mark.parametrize("digits", [1, 2, 3])
def test_unpadded_crc_compared_as_if_zero_padded(digits):
    """A CRC sent with fewer than four digits (one real meter drops leading zeros): a match is ok,
    flagged crc-unpadded; a mismatch is crc-error."""
    for n in range(3000):  # find a body whose CRC needs exactly `digits` digits
        body = make_telegram([b"1-0:1.8.1(%010.3f*kWh)" % (n / 7)])[:-6]
        crc = ARC(body)
        if len("%X" % crc) == digits:
            break
    sent = (b"%X" % crc)
    (ok,) = pf.Framer().feed(body + sent + b"\r\n")
    assert (ok.verdict, ok.flag, ok.crc_sent, ok.crc_calc) == ("ok", "crc-unpadded", sent.decode(), crc)
    assert pf.status_line(ok).endswith(" verdict=ok case=upper flag=crc-unpadded reason=-")
    wrong = b"%X" % ((crc + 1) % (16 ** digits) or 1)
    (bad,) = pf.Framer().feed(body + wrong + b"\r\n")
    assert (bad.verdict, bad.flag) == ("crc-error", None)
    (padded,) = pf.Framer().feed(body + b"%04X\r\n" % crc)
    assert (padded.verdict, padded.flag) == ("ok", None)


def test_five_crc_digits_are_a_bad_crc_format():
    (r,) = pf.Framer().feed(SHORT[:-2] + b"0\r\n")
    assert (r.verdict, r.reason) == ("framing-error", "bad-crc-format")


def test_real_meters_of_other_flavours(other_meters):
    """Every real telegram of other meters gets the verdict its SOURCES note gives it."""
    want = {"dsmr_parser-esy5q3da1004_v304.txt": ("ok-nocrc", None),
            "arduino-dsmr-dsmr-nocrc-kamstrup-4mbus-rawnocrc.txt": ("ok-nocrc", None),
            "dsmr_parser-unpadded_crc.txt": ("ok", "crc-unpadded")}
    assert len(other_meters) == 14
    for name, data in other_meters.items():
        framer = pf.Framer()
        reports = framer.feed(data) + framer.idle()
        if name == "dsmr-reader-error-TestDataloggerError.txt":  # a capture that starts mid-telegram
            assert framer.counters["garbage_bytes"] == data.index(b"/")
        assert [(r.verdict, r.flag) for r in reports] == [want.get(name, ("ok", None))], name
        start = data.index(b"/")
        assert reports[0].telegram == data[start:data.index(b"\r\n", data.index(b"!", start)) + 2], name


def test_line_as_long_as_the_telegram_limit():
    """A line may be as long as a telegram (MAX_LINE = MAX_TELEGRAM): a 4000-character text message
    is ok; with a buffer larger than that, one character more is a framing-error (line-too-long)."""
    assert pf.MAX_LINE == pf.MAX_TELEGRAM == 4096
    long_ok = make_telegram([b"0-0:96.13.0(" + b"4" * 3987 + b")"])
    assert max(len(l) for l in long_ok.split(b"\r\n")) == 4000 and len(long_ok) <= pf.MAX_TELEGRAM
    assert [r.verdict for r in pf.Framer().feed(long_ok)] == ["ok"]
    at_limit = make_telegram([b"0-0:96.13.0(" + b"4" * (pf.MAX_LINE - 13) + b")"])
    too_long = make_telegram([b"0-0:96.13.0(" + b"4" * (pf.MAX_LINE - 12) + b")"])
    framer = pf.Framer(max_telegram=2 * pf.MAX_LINE)
    reports = framer.feed(at_limit + too_long + SHORT)
    assert [(r.verdict, r.reason) for r in reports] == [("ok", None), ("framing-error", "line-too-long"), ("ok", None)]
    # The error is reported at the offending character; the rest of that frame is garbage.
    assert reports[1].telegram.endswith(b"4" * (pf.MAX_LINE - 12) + b")")
    assert framer.counters["garbage_bytes"] == len(too_long) - reports[1].length


def test_slash_inside_frame_truncates_and_restarts():
    framer = pf.Framer()
    reports = framer.feed(SHORT[:40] + SHORT)
    assert [(r.verdict, r.telegram) for r in reports] == [("truncated", SHORT[:40]), ("ok", SHORT)]


def test_idle_reports_unfinished_frame_as_truncated():
    framer = pf.Framer()
    assert framer.idle() == []
    assert framer.feed(SHORT[:-1]) == []  # the final LF never comes
    assert framer.in_frame
    (report,) = framer.idle()
    assert (report.verdict, report.telegram, report.length) == ("truncated", SHORT[:-1], len(SHORT) - 1)
    assert report.crc_sent == SHORT[-6:-2].decode()  # all four digits had arrived
    assert not framer.in_frame and framer.idle() == []
    assert [r.verdict for r in framer.feed(SHORT)] == ["ok"]


def test_overflow_drops_buffer_keeps_counting_and_recovers():
    big = make_telegram([b"0-0:98.1.0(" + b"7" * 1000 + b")"] * 5)
    assert len(big) > pf.MAX_TELEGRAM
    framer = pf.Framer()
    reports = framer.feed(big + SHORT)
    assert [r.verdict for r in reports] == ["overflow", "ok"]
    over = reports[0]
    assert over.telegram == b"" and over.length == len(big)
    # The CRC is still computed over the whole frame, folded in as the buffer refilled.
    assert over.crc_sent == big[-6:-2].decode() and over.crc_calc == ARC(big[:-6])
    assert framer.counters["overflow"] == 1 and framer.counters["ok"] == 1


@pytest.mark.parametrize("extra", [0, 1, 2, 5, 6, 7])
def test_overflow_boundary(extra):
    # A frame of exactly max_telegram bytes fits; one more byte overflows, wherever it falls
    # (before '!', inside the CRC digits or the CR LF).
    size = len(SHORT)
    framer = pf.Framer(max_telegram=size - extra)
    (report,) = framer.feed(SHORT)
    assert report.verdict == ("ok" if extra == 0 else "overflow")
    assert report.crc_calc == ARC(SHORT[:-6]) and report.length == size


def test_too_small_buffer_is_refused():
    with pytest.raises(ValueError):
        pf.Framer(max_telegram=7)


# --- lines ---------------------------------------------------------------------------------------

def test_status_and_heartbeat_lines_exact():
    framer = pf.Framer()
    (ok,) = framer.feed(SHORT)
    framer.feed(b"zz/abc")
    (trunc,) = framer.idle()
    crc = SHORT[-6:-2].decode()
    assert pf.status_line(ok) == "@T seq=1 len=%d crc_sent=%s crc_calc=%s verdict=ok case=upper flag=- reason=-" % (
        len(SHORT), crc, crc)
    assert pf.status_line(trunc) == ("@T seq=2 len=4 crc_sent=- crc_calc=%04X verdict=truncated case=- flag=- "
                                     "reason=-" % ARC(b"/abc"))
    assert pf.heartbeat_line(framer, 42, 3) == (
        "@H fw=1.2.0 proto=3 uptime_ms=42 telegrams=2 ok=1 crc_errors=0 truncated=1 framing=0 "
        "overflow=0 garbage=2 uart_errors=3 ok_nocrc=0")


def test_console_bytes_keep_status_line_at_line_start():
    framer = pf.Framer(max_telegram=16)
    reports = framer.feed(SHORT + b"/abc") + framer.idle() + pf.Framer().feed(SHORT)
    over, trunc, ok = [pf.console_bytes(r) for r in reports]
    assert over.startswith(b"@T ") and b"verdict=overflow" in over  # nothing echoed
    assert trunc.startswith(b"/abc\r\n@T ")  # CR LF added after a partial echo
    assert ok.startswith(SHORT + b"@T ") and ok.endswith(b"case=upper flag=- reason=-\r\n")


# --- memory --------------------------------------------------------------------------------------

def test_memory_does_not_grow_over_10000_telegrams():
    cycle = [SHORT, SHORT[:-6] + b"0000\r\n", SHORT[:30], b"junk", SHORT[:-6] + b"XYZ",
             make_telegram([b"9" * 300]), SHORT[:-6] + b"\r\n"]
    # ok, crc-error, truncated, garbage, framing, overflow, ok-nocrc
    framer = pf.Framer(max_telegram=200)
    verdicts = set()

    def run(n):
        for _ in range(n):
            for chunk in cycle:
                for r in framer.feed(chunk):
                    verdicts.add(r.verdict)

    run(200)  # warm-up: let caches and the interpreter settle
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        run(2000)  # 6 reports a cycle -> 12,000 reports
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert framer.counters["telegrams"] == 2200 * 6
    assert verdicts == set(pf.VERDICTS)
    growth = sum(s.size_diff for s in after.compare_to(before, "filename")
                 if s.traceback[0].filename.endswith("p1frame.py"))
    assert growth < 1024, "p1frame.py grew by %d bytes over 10,000 telegrams" % growth


# --- fuzz ----------------------------------------------------------------------------------------

FRAME_RE = re.compile(rb"/[^!]*!([0-9A-Fa-f]{0,4})\r\n")
GOOD = ("ok", "ok-nocrc")


def reference_ok_frames(stream, max_telegram=pf.MAX_TELEGRAM):
    """Independent oracle: the frames a correct framer must call ok, found with a regex.

    Every '/' starts a candidate that runs to the next '/'; it is good when it starts with a complete
    '/...!XXXX CR LF', fits the buffer, has no line over MAX_LINE and its CRC (crcmod) matches,
    compared as a number (1-3 digits: unpadded); '/...! CR LF' (no CRC) is good too.
    """
    found = []
    starts = [m.start() for m in re.finditer(rb"/", stream)] + [len(stream)]
    for a, b in zip(starts, starts[1:]):
        m = FRAME_RE.match(stream, a, b)
        if not m:
            continue
        frame = m.group(0)
        data = frame[:frame.index(b"!")]
        if (len(frame) <= max_telegram
                and all(len(l.replace(b"\r", b"")) <= pf.MAX_LINE for l in data.split(b"\n"))
                and (not m.group(1) or int(m.group(1), 16) == ARC(data + b"!"))):
            found.append(frame)
    return found


@st.composite
def corrupted_stream(draw, pool):
    """Valid telegrams, some corrupted, with garbage between; returns (stream, intact telegrams)."""
    parts, intact = [], []
    for _ in range(draw(st.integers(1, 6))):
        t = draw(st.sampled_from(pool))
        how = draw(st.sampled_from(["keep", "keep", "flip", "cut", "insert", "drop"]))
        if how == "keep":
            intact.append(t)
        else:
            i = draw(st.integers(0, len(t) - 1))
            if how == "flip":
                t = t[:i] + bytes([t[i] ^ draw(st.integers(1, 255))]) + t[i + 1:]
            elif how == "cut":
                t = t[:i]
            elif how == "insert":
                t = t[:i] + draw(st.binary(min_size=1, max_size=3)) + t[i:]
            else:
                t = t[:i] + t[i + 1:]
        parts.append(draw(st.binary(max_size=8)))
        parts.append(t)
    return b"".join(parts), intact


def _pool():
    # Module-level (hypothesis strategies are built at import), so read the files directly.
    real = [f.read_bytes() for f in sorted(TELEGRAM_DIR.glob("*.txt"))]
    assert len(real) == 5
    # other meters: no CRC (DSMR 3), an unpadded 3-digit CRC, a DSMR 5 one
    for name in ("dsmr_parser-esy5q3da1004_v304.txt", "dsmr_parser-unpadded_crc.txt", "dsmr_parser-v5_eon_hu.txt"):
        data = (TELEGRAM_DIR / "other-meters" / name).read_bytes()
        real.append(data[:data.index(b"!")] + data[data.index(b"!"):].split(b"\r\n")[0] + b"\r\n")
    return real + [SHORT, make_telegram([b"1-0:1.7.0(00.433*kW)"], lower=True)]


POOL = _pool()


@settings(max_examples=150, deadline=None)
@given(corrupted_stream(POOL), st.lists(st.integers(1, 400), max_size=20))
def test_fuzz_every_intact_telegram_ok_once_nothing_else(case, cuts):
    stream, intact = case
    framer = pf.Framer()
    reports, pos = [], 0
    for n in cuts:
        reports += framer.feed(stream[pos:pos + n])
        pos += n
    reports += framer.feed(stream[pos:]) + framer.idle()

    ok = [r.telegram for r in reports if r.verdict in GOOD]
    assert all((r.flag == "crc-unpadded") == (r.verdict == "ok" and len(r.crc_sent) < 4) for r in reports)
    assert all((r.reason is not None) == (r.verdict == "framing-error") for r in reports)
    assert ok == reference_ok_frames(stream)
    remaining = list(ok)  # every intact telegram appears among the ok ones, in order
    for t in intact:
        assert t in remaining
        remaining = remaining[remaining.index(t) + 1:]
    # Every byte is accounted for: inside a reported frame or counted as garbage.
    c = framer.counters
    assert sum(r.length for r in reports) + c["garbage_bytes"] == len(stream)
    assert c["telegrams"] == len(reports) == sum(c[k] for k in
                                                 ("ok", "ok_nocrc", "crc_error", "truncated", "framing_error", "overflow"))
    assert [r.seq for r in reports] == list(range(1, len(reports) + 1))
