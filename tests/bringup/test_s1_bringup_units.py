"""The S1 parts of the harness without a bench: station section, the test stream and its expected
counts, console parsing of @S / @F lines, and a board that refuses S1 commands."""
from __future__ import annotations

from pathlib import Path

import pytest

from bringup import station
from firmware import s1frame
from bringup.console import BoardConsole, BoardRefused
from meter.simulator import MeterPort
from bringup.plan import s1_stream
from bringup_helpers import fast_station_dict


# ------------------------------------------------------------------ station
def test_s1_section_is_optional_and_typed():
    assert station.from_dict(fast_station_dict(s1=None), "t").s1 is None
    st = station.from_dict(fast_station_dict(s1={"frames": 500, "frame_rate_hz": 2600}), "t")
    assert st.s1.baud == 2_000_000 and st.s1.frames == 500 and st.s1.frame_rate_hz == 2600.0
    assert station.resolve("sim").s1.frames == 2000  # the built-in sim station has the S1 link
    example = station.load(Path(station.__file__).with_name("stations") / "example.yaml")
    assert example.s1 is None  # a bench without the S1 jig: the step is skipped


@pytest.mark.parametrize("s1, key, text", [
    ({"baud": 115200}, "s1.baud", "2000000"),
    ({"frames": 10}, "s1.frames", "≥ 100"),
    ({"frame_rate_hz": -1}, "s1.frame_rate_hz", "≥ 0"),
    ({"bauds": 2000000}, "s1.bauds", "unknown key"),
    ({"frames": "many"}, "s1.frames", "integer"),
])
def test_s1_section_errors_name_the_key(s1, key, text):
    with pytest.raises(station.StationError) as e:
        station.from_dict(fast_station_dict(s1=s1), "st.yaml")
    assert e.value.key == key and text in str(e.value)


def test_bench_station_with_s1_needs_its_url():
    d = {"kind": "bench", "supply": {"resource": "A"}, "dmm": {"resource": "B"}, "meter": {"url": "loop://"},
         "console": {"url": "loop://"}, "s1": {"baud": 2000000}}
    with pytest.raises(station.StationError) as e:
        station.from_dict(d, "st.yaml")
    assert e.value.key == "s1.url"
    d["s1"]["url"] = "/dev/ttyUSB3"
    assert station.from_dict(d, "st.yaml").s1.url == "/dev/ttyUSB3"


# ------------------------------------------------------------------ the test stream
@pytest.mark.parametrize("n", [2000, 100, 777])
def test_stream_expectations_are_the_faults_put_in(n):
    s = s1_stream(n)
    # Host decoder (expected values) = construction = the firmware's own counter.
    assert (s.frames, s.fcs_errors, s.seq_gaps, s.skipped) == (n - 3, 2, 3, 17)
    c = s1frame.Counter()
    for i in range(0, len(s.data), 1000):
        c.feed(s.data[i:i + 1000])
    c.flush()
    assert (c.frames, c.fcs_errors, c.seq_gaps, c.skipped) == (n - 3, 2, 3, 17)
    assert c.last_frames(3) == s.last and all(len(f) == 45 for f in s.last)
    assert s1_stream.__wrapped__(n).data == s.data  # deterministic (made again, not the cached one)


# ------------------------------------------------------------------ console (loop://)
def _answering(con: BoardConsole, answers: dict[str, bytes]) -> None:
    """Make the loop:// console answer commands as a board would (the answer is what reads back)."""
    con.send_command = lambda cmd: con._ser.write(answers[cmd])


def test_console_parses_s1_status_and_frames():
    con = BoardConsole("loop://", 115200, timeout_s=2)
    frames = s1_stream(100).last
    try:
        _answering(con, {
            "S1 STATUS": b"@S frames=97 fcs_errors=2 seq_gaps=3 skipped=17 bytes=4517 uart_errors=1\r\n",
            "S1 FRAMES 2": b"".join(b"@F " + f.hex().upper().encode() + b"\r\n" for f in frames[1:])
                           + b"@R S1 FRAMES 2\r\n",
        })
        st = con.s1_status()
        assert (st.frames, st.fcs_errors, st.seq_gaps, st.skipped, st.bytes, st.uart_errors) == (97, 2, 3, 17, 4517, 1)
        assert con.s1_frames(2) == frames[1:]
    finally:
        con.close()


@pytest.mark.parametrize("answer", [b"@R ERR s1-disabled\r\n", b"@R ERR unknown-command S1 STATUS\r\n"])
def test_board_without_s1_is_named_not_a_timeout(answer):
    con = BoardConsole("loop://", 115200, timeout_s=2)
    try:
        _answering(con, {"S1 STATUS": answer})
        with pytest.raises(BoardRefused, match="answered 'S1 STATUS' with '@R ERR"):
            con.s1_status()
    finally:
        con.close()


def test_s1_port_paces_to_2_mbaud_or_the_frame_rate():
    line = MeterPort("loop://", 2_000_000, label="S1 port")
    assert line.bytes_per_s == 200_000
    slow = MeterPort("loop://", 2_000_000, bytes_per_s=2600 * 45)
    assert slow.bytes_per_s == 117_000
    took = slow.send(b"\x7e" * 3510)  # 30 ms at 2,600 frames/s (loop:// holds 4096 bytes)
    assert took >= 0.0299  # never faster than asked (lower bound only)
    line.close()
    slow.close()
