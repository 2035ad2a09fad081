"""Replaying real captures: splitting by the firmware's rules, aligning reports by content, meter
profiles, byte-exact and quiet decoding; and the whole replay through the CLI on the simulated bench."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from bringup import cli, plan, replay
from meter import capture, flavours as meters
from firmware import p1frame
from bringup.console import TelegramReport
from meter.simulator import MeterPort
from bringup.station import StationError, from_dict
from bringup.steps import Ticker
from bringup_helpers import TELEGRAM_DATA, fast_station_dict, last_line, load_record, run_cli

FLUVIUS = sorted(TELEGRAM_DATA.glob("*.txt"))
OTHER = TELEGRAM_DATA / "other-meters"

# One real telegram per flavour, and the profile its identification line / version object gives.
SIX_FLAVOURS = {
    "fluvius-3ph-gas-water-50217-b.txt": "BELGIUM_FLUVIUS",
    "other-meters/avans-nl-dsmr42-kaifa.txt": "V4",
    "other-meters/dsmr_parser-v5_two_mbus.txt": "V5",
    "other-meters/arduino-dsmr-dsmr-nocrc-kamstrup-4mbus-rawnocrc.txt": "V2_2",
    "other-meters/dsmr_parser-esy5q3da1004_v304.txt": "Q3D",
    "other-meters/dsmr_parser-v5_eon_hu.txt": "EON_HUNGARY",
}


def raw_capture(n: int = 20) -> bytes:
    """A raw capture as a serial logger writes it: it starts inside a telegram (its last 300 bytes),
    holds `n` whole real Fluvius telegrams with line noise between some, and ends inside one."""
    real = [f.read_bytes() for f in FLUVIUS]
    parts = [real[4][-300:]]
    for i in range(n):
        parts.append(real[i % len(real)])
        if i % 7 == 3:
            parts.append(b"\x00\xff\x7f")
    parts.append(real[2][:200])
    return b"".join(parts)


def framed(data: bytes) -> bytes:
    start = data.index(b"/")
    return data[start:data.index(b"\r\n", data.index(b"!", start)) + 2]


def reports_for(expected: list[capture.Expected]) -> list[TelegramReport]:
    """What a correct board reports for `expected` (the console parser's own report type)."""
    return [TelegramReport(i + 1, len(e.echo), None, "0000", e.verdict, "-", e.echo, 0.0, e.flag, e.reason)
            for i, e in enumerate(expected)]


# ------------------------------------------------------------------ splitting
def test_capture_is_split_by_the_firmware_rules(tmp_path):
    cap = tmp_path / "capture.raw"
    data = raw_capture()
    cap.write_bytes(data)
    c = capture.load([cap])
    assert c.stream == data  # every byte sent as captured
    assert [e.verdict for e in c.expected] == ["ok"] * 20 + ["truncated"]
    real = [f.read_bytes() for f in FLUVIUS]
    assert [e.echo for e in c.expected[:20]] == [real[i % 5] for i in range(20)]
    assert c.expected[0].offset == 300 and c.expected[0].source == "capture.raw"
    for e in c.expected:
        assert data[e.offset:e.offset + len(e.echo)] == e.echo
    assert c.garbage == 300 + 3 * 3  # the cut telegram at the start, the line noise


def test_folder_of_files_keeps_names_and_offsets(tmp_path):
    for name in SIX_FLAVOURS:
        shutil.copy(TELEGRAM_DATA / name, tmp_path / Path(name).name)
    (tmp_path / "NOTES.md").write_text("not a telegram\n")
    c = capture.load([tmp_path])
    assert sorted(e.source for e in c.expected) == sorted(Path(n).name for n in SIX_FLAVOURS)
    assert all(e.offset == 0 and e.complete for e in c.expected)


@pytest.mark.parametrize("make, text", [
    (lambda p: p / "missing.raw", "no such file or folder"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no telegram files"),
])
def test_bad_telegram_paths_are_named(tmp_path, make, text):
    path = make(tmp_path)
    with pytest.raises(capture.CaptureError, match=text) as e:
        capture.files([path])
    assert str(path) in str(e.value)


# ------------------------------------------------------------------ alignment
def _capture(tmp_path) -> capture.Capture:
    cap = tmp_path / "capture.raw"
    cap.write_bytes(raw_capture())
    return capture.load([cap])


def test_all_reported_is_no_error(tmp_path):
    c = _capture(tmp_path)
    rows = replay.align(c.expected, reports_for(c.expected))
    assert len(rows) == 21 and not [r for r in rows if r.problem]


@pytest.mark.parametrize("where", [0, 7, 19])
def test_one_dropped_telegram_is_exactly_one_error(tmp_path, where):
    c = _capture(tmp_path)
    got = reports_for(c.expected)
    del got[where]
    rows = replay.align(c.expected, got)
    bad = [r for r in rows if r.problem]
    assert len(bad) == 1 and bad[0].problem == "no report from the board"
    assert bad[0].expected is c.expected[where]


def test_one_extra_and_one_corrupted_report_are_one_error_each(tmp_path):
    c = _capture(tmp_path)
    got = reports_for(c.expected)
    got.insert(5, reports_for([c.expected[2]])[0])
    rows = replay.align(c.expected, got)
    assert [r.problem.split(" (")[0] for r in rows if r.problem] == ["unexpected report"]
    got = reports_for(c.expected)
    echo = bytearray(got[9].echo)
    echo[40] ^= 0x04
    got[9].echo = bytes(echo)
    rows = replay.align(c.expected, got)
    assert [r.problem for r in rows if r.problem] == ["echo differs in 1 byte(s); board ok"]


# ------------------------------------------------------------------ profiles and decoding
@pytest.mark.parametrize("name, profile", sorted(SIX_FLAVOURS.items()))
def test_flavour_detected_and_decoded(name, profile):
    telegram = framed((TELEGRAM_DATA / name).read_bytes())
    flavour = meters.detect(telegram)
    assert flavour.profile == profile and not flavour.generic, flavour
    decoded = meters.decode(telegram, profile)
    assert decoded.objects >= 8 and not decoded.limitation, decoded.describe()


def test_dsmr_2_2_and_3_are_ok_nocrc_and_decode():
    for name in ("arduino-dsmr-dsmr-nocrc-kamstrup-4mbus-rawnocrc.txt", "dsmr_parser-esy5q3da1004_v304.txt"):
        data = (OTHER / name).read_bytes()
        (report,) = p1frame.Framer().feed(data)
        assert report.verdict == "ok-nocrc", name
        profile = meters.detect(report.telegram).profile
        assert meters.decode(report.telegram, profile).objects > 0 and meters.decode(report.telegram, "V3").objects > 0


def test_unknown_flavour_is_decoded_as_generic_dsmr_with_a_note():
    body = b"/ABC5 MYSTERY-METER\r\n\r\n1-0:1.8.1(000123.456*kWh)\r\n1-0:1.7.0(00.321*kW)\r\n!"
    telegram = body + b"%04X\r\n" % p1frame.crc16_arc(body)
    flavour = meters.detect(telegram)
    assert flavour.generic and flavour.profile == "V5" and "unknown flavour" in flavour.why
    assert meters.decode(telegram, flavour.profile).objects == 2


def test_bytes_above_0x7f_are_decoded_exactly_not_blamed_on_the_crc():
    """A text message with 'é' (0xE9, latin-1 as meters send it): the CRC is over the bytes, so the
    decode must see the same bytes (no U+FFFD) and the checksum must match."""
    base = (TELEGRAM_DATA / "fluvius-1ph-gas-50217.txt").read_bytes()
    body = base[:base.rindex(b"!") + 1].replace(b"0-0:96.13.0()", b"0-0:96.13.0(caf\xe9)")
    telegram = body + b"%04X\r\n" % p1frame.crc16_arc(body)
    parsed, decoded = meters.parse(telegram, "BELGIUM_FLUVIUS")
    assert not decoded.error, decoded.describe()  # the CRC matched: dsmr_parser saw the bytes sent
    assert str(parsed.ELECTRICITY_USED_TARIFF_1.value) == "3457.591"
    # dsmr_parser itself skips a text line with a non-ASCII character: said as a decoder limitation
    assert decoded.limitation and "96\\.13\\.0" in decoded.describe() and "caf\xe9" in decoded.describe()
    assert "\ufffd" not in decoded.describe()


def test_dsmr_parser_failure_is_a_decoder_limitation_kept_off_the_console(capfd):
    """Forced onto the wrong specification, dsmr_parser fails on a value of the Hungarian telegram:
    the table says 'decoder limitation', the board's report still PASSes, nothing reaches stderr."""
    telegram = framed((OTHER / "dsmr_parser-v5_eon_hu.txt").read_bytes())
    expected = [capture.Expected("hu.txt", 0, telegram, "ok", None, None)]
    rows = replay.align(expected, reports_for(expected))
    (row,) = replay.table(rows, "BELGIUM_FLUVIUS")
    assert row.outcome == "PASS" and row.flavour == "BELGIUM_FLUVIUS (forced; detected EON_HUNGARY)"
    assert row.decode.startswith("decoder limitation: dsmr_parser BELGIUM_FLUVIUS raised ValueError")
    assert row.decoder_limitation  # a field, not a reading of the text
    out, err = capfd.readouterr()
    assert out == "" and err == ""


# ------------------------------------------------------------------ station keys
def test_old_include_shared_key_names_its_replacement():
    with pytest.raises(StationError) as e:
        from_dict({"kind": "sim", "loopback": {"include_shared": ["x"]}}, "st.yaml")
    assert "loopback.include_shared" in str(e.value) and "telegrams:" in str(e.value)
    assert "--telegrams" in str(e.value) and "st.yaml" in str(e.value)


def test_station_telegram_paths_are_relative_to_the_station_file(tmp_path):
    st = from_dict({"kind": "sim", "telegrams": ["caps/a.raw", "/abs/b.raw"]}, str(tmp_path / "st.yaml"))
    assert st.telegrams == [str(tmp_path / "caps" / "a.raw"), "/abs/b.raw"]


# ------------------------------------------------------------------ through the CLI
def _replay_station(fast_station):
    # the replay alone in step 4 (no builder rounds), no S1: the shortest run that still replays
    return fast_station(s1=None, loopback={"line_rate_rounds": 0, "slow_count": 0})


def test_capture_and_six_flavours_replay_pass(tmp_path, fast_station):
    cap = tmp_path / "capture.raw"
    cap.write_bytes(raw_capture())
    folder = tmp_path / "six"
    folder.mkdir()
    for name in SIX_FLAVOURS:
        shutil.copy(TELEGRAM_DATA / name, folder / Path(name).name)
    rc, out, err = run_cli(["run", "--station", str(_replay_station(fast_station)), "--board-serial", "RP1",
                            "--records", str(tmp_path / "rec"), "--telegrams", str(cap), "--telegrams", str(folder)])
    assert rc == 0, out + err
    assert "Traceback" not in out + err and "dsmr_parser" not in err
    rec = load_record(last_line(out))
    lb = {m["name"]: m for m in rec["steps"][3]["measurements"]}
    assert lb["replay: complete telegrams reported as expected"]["value"] == 26
    assert lb["replay: errors (missing, extra or different reports)"]["value"] == 0
    rows = rec["telegrams"]
    assert len(rows) == 27 and all(r["outcome"] == "PASS" for r in rows)
    first = {k: rows[0][k] for k in ("source", "offset", "flavour", "expected", "board_verdict", "outcome")}
    assert first == {"source": "capture.raw", "offset": 300, "flavour": "BELGIUM_FLUVIUS", "expected": "ok",
                     "board_verdict": "ok", "outcome": "PASS"}
    assert rows[0]["decode"].endswith(" objects (BELGIUM_FLUVIUS)") and rows[20]["expected"] == "truncated"
    assert {r["flavour"] for r in rows[21:]} == set(SIX_FLAVOURS.values())
    assert [r["board_verdict"] for r in rows if r["flavour"] == "V2_2"] == ["ok-nocrc"]
    html = Path(last_line(out).split()[2]).with_suffix(".html").read_text(encoding="utf-8")
    assert "Telegrams replayed" in html and "EON_HUNGARY" in html


def test_capture_with_one_telegram_lost_reports_exactly_one_error(tmp_path, fast_station):
    """The line loses one whole telegram of the 20 (the simulated board's drop-telegram fault): one
    error naming that telegram, not thousands of byte errors."""
    cap = tmp_path / "capture.raw"
    cap.write_bytes(raw_capture())
    rc, out, err = run_cli(["run", "--station", str(_replay_station(fast_station)), "--board-serial", "RP2",
                            "--records", str(tmp_path / "rec"), "--telegrams", str(cap), "--inject", "drop-telegram"])
    assert rc == 1, out + err
    final = last_line(out)
    assert final.startswith("FAIL RP2 ") and "step 4 loopback" in final
    rec = load_record(final)
    lb = {m["name"]: m for m in rec["steps"][3]["measurements"]}
    assert lb["replay: errors (missing, extra or different reports)"]["value"] == 1
    assert lb["replay: complete telegrams reported as expected"]["value"] == 19
    bad = [r for r in rec["telegrams"] if r["outcome"] != "PASS"]
    assert len(bad) == 1 and bad[0]["problem"] == "no report from the board"
    assert bad[0]["source"] == "capture.raw" and bad[0]["offset"] == raw_capture().index(
        [f.read_bytes() for f in FLUVIUS][0], 300 + 1)  # the 6th telegram: the second round's first


def test_missing_telegram_path_is_a_usage_error(tmp_path):
    rc, out, err = run_cli(["run", "--station", "sim", "--board-serial", "X", "--records", str(tmp_path),
                            "--telegrams", str(tmp_path / "nope.raw")])
    assert rc == 2 and "nope.raw" in err and "no such file or folder" in err


# ------------------------------------------------------------------ replay inputs checked before the run
def _loop(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    return tmp_path / "a"


def _folder_with_a_loop(tmp_path):
    shutil.copy(FLUVIUS[0], tmp_path / "good.txt")
    _loop(tmp_path)
    return tmp_path


def _fifo(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    return tmp_path / "fifo"


def _file(name: str, data: bytes):
    def make(tmp_path):
        (tmp_path / name).write_bytes(data)
        return tmp_path / name

    return make


@pytest.mark.parametrize("make, text", [
    (lambda p: Path("/dev/zero"), "/dev/zero: is a character device, not a capture file"),
    (_fifo, "fifo: is a named pipe, not a capture file"),  # never opened: no hang
    (_loop, "a: symlink loop"),
    (_folder_with_a_loop, "a: symlink loop"),
    (_file("empty.raw", b""), "empty.raw: empty (0 bytes)"),
    (_file("noise.raw", b"\x00\xff" * 500), "noise.raw: no complete telegram"),
    (_file("cut.raw", FLUVIUS[0].read_bytes()[:-10]), "cut.raw: no complete telegram"),
], ids=["char-device", "fifo", "symlink-loop", "loop-in-folder", "empty", "noise", "cut-telegram"])
def test_unusable_replay_inputs_are_named_before_the_run(tmp_path, capsys, make, text):
    path = make(tmp_path)
    with pytest.raises(capture.CaptureError, match=re.escape(text)):
        plan.check(from_dict(fast_station_dict(telegrams=[str(path)]), str(tmp_path / "st.yaml")))
    rec = tmp_path / "records"
    rc = cli.main(["run", "--station", "sim", "--board-serial", "R", "--records", str(rec), "--telegrams", str(path)])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert rc == 2 and len(err) == 1 and err[0].startswith("station error: ") and text in err[0], err
    assert not rec.exists()  # before the database and the record: nothing was powered


def test_replay_size_is_limited_by_stat_before_anything_is_read(tmp_path):
    """An 8 GiB sparse capture: refused from its size, naming the option that raises the limit (reading
    it would take minutes and all the memory there is)."""
    big = tmp_path / "huge.raw"
    with open(big, "wb") as f:
        f.truncate(8 << 30)
    with pytest.raises(capture.CaptureError, match=r"huge\.raw, 8,589,934,592\).*--max-telegram-bytes"):
        capture.check([big])
    small = tmp_path / "one.txt"
    shutil.copy(FLUVIUS[0], small)
    size = small.stat().st_size
    assert capture.check([small]) == size  # the default limit takes a real capture
    with pytest.raises(capture.CaptureError, match=f"{size:,} bytes in all"):
        capture.check([small], max_bytes=size - 1)


def test_replay_limit_is_an_option_of_run(tmp_path, capsys):
    rc = cli.main(["run", "--station", "sim", "--board-serial", "R", "--records", str(tmp_path / "r"),
                   "--telegrams", str(FLUVIUS[0]), "--max-telegram-bytes", "100"])
    err = capsys.readouterr().err
    assert rc == 2 and "over the limit of 100 bytes" in err and "--max-telegram-bytes" in err


def test_a_long_send_reports_progress_with_the_time_left():
    """The replay, throughput and S1 sends report through a Ticker: here one that speaks at every chunk
    (on the bench every 10 s), over a real pyserial loop:// port paced at the line rate."""
    lines: list[str] = []
    mp = MeterPort("loop://", 115200)
    try:
        mp.send(b"x" * 1024, progress=Ticker(lines.append, "replay", 1024, every_s=0.0))
    finally:
        mp.close()
    assert len(lines) == 1024 // 64 - 1  # one per 64-byte chunk but the last (the step's own line says done)
    assert lines[0].startswith("replay: 64 of 1,024 bytes sent (6 %), about ") and lines[0].endswith(" left")
    assert lines[-1].startswith("replay: 960 of 1,024 bytes sent (93 %)")
