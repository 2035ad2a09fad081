"""The firmware's pure modules and main.Board under the unix MicroPython, compared with CPython."""

import os
import pathlib
import subprocess
import sys

import pytest

TELEGRAM_DIR = pathlib.Path(__file__).resolve().parents[1] / "data" / "telegrams"  # real Fluvius telegrams

from firmware import p1frame as pf
from meter.s1 import decode_bytes
from meter.s1.synth import SynthConfig, synth_stream

HERE = pathlib.Path(__file__).resolve().parent
FIRMWARE_DIR = HERE.parents[1] / "firmware"
MP_DIR = HERE / "mp"  # scripts that run under both interpreters (not collected: no test_ prefix)


def mp_env(*dirs):
    """Environment whose MICROPYPATH (and PYTHONPATH for CPython) holds `dirs` only."""
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join(str(d) for d in dirs)
    env["PYTHONPATH"] = ":".join(str(d) for d in dirs)
    return env


def run(argv, stdin, env):
    done = subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


def both(micropython, script, stdin, *args, extra_dirs=()):
    """Run an mp/ script under MicroPython and CPython; return both outputs."""
    dirs = [FIRMWARE_DIR, MP_DIR] + list(extra_dirs)
    mp = run([micropython, str(MP_DIR / script)] + list(args), stdin, mp_env(*dirs))
    cpy = run([sys.executable, str(MP_DIR / script)] + list(args), stdin, mp_env(*dirs))
    return mp, cpy


OTHER_METERS = TELEGRAM_DIR / "other-meters"
_Q3D = (OTHER_METERS / "dsmr_parser-esy5q3da1004_v304.txt").read_bytes()
NOCRC = _Q3D[:_Q3D.index(b"!") + 3]  # DSMR 3: '!' CR LF (the meter's two lines after it left out)
UNPADDED = (OTHER_METERS / "dsmr_parser-unpadded_crc.txt").read_bytes()  # a 3-digit CRC


def long_line_telegram(chars):
    """A valid telegram holding one text line of `chars` characters (CR LF not counted)."""
    body = b"/X\r\n\r\n0-0:96.13.0(" + b"4" * (chars - 13) + b")\r\n!"
    return body + b"%04X\r\n" % pf.crc16_arc(body)


def mixed_stream(telegrams):
    t = list(telegrams.values())
    return (b"\xff\x00boot noise" + t[0] + t[1][:300] + t[2] + t[3].replace(b"(", b"[", 1)
            + long_line_telegram(3000) + t[4][:-4] + b"zz\r\n" + NOCRC + UNPADDED
            + UNPADDED.replace(b"\r\n!", b"\r\n!12345", 1)[:-len(UNPADDED.split(b"!")[1])] + b"\r\n"
            + t[0] + t[4] + t[1][:123])


def test_framer_output_identical_under_micropython(micropython, telegrams):
    stream = mixed_stream(telegrams)
    mp, cpy = both(micropython, "frame_stream.py", stream)
    assert mp == cpy
    status = [l for l in cpy.split(b"\r\n") if l.startswith(b"@T ")]
    verdicts = [l.split(b"verdict=")[1].split()[0].decode() for l in status]
    assert verdicts == ["ok", "truncated", "ok", "crc-error", "ok", "framing-error", "ok-nocrc", "ok",
                        "framing-error", "ok", "ok", "truncated"]
    assert status[4].endswith(b" flag=- reason=-")  # a 3000-character line is fine
    assert status[5].endswith(b" flag=- reason=bad-crc-format")  # "!C4zz"
    assert status[6].endswith(b"crc_sent=- crc_calc=%04X verdict=ok-nocrc case=- flag=- reason=-"
                              % pf.crc16_arc(NOCRC[:-2]))  # CRC over '/'..'!' still shown
    assert status[7].endswith(b" verdict=ok case=upper flag=crc-unpadded reason=-")
    assert status[8].endswith(b"crc_sent=1234 crc_calc=0B9F verdict=framing-error case=upper flag=- reason=bad-crc-format")
    t = list(telegrams.values())
    for ok in (t[0], t[2], t[4], NOCRC, UNPADDED, long_line_telegram(3000)):
        assert ok + b"@T " in cpy  # ok telegrams are echoed verbatim
    # Garbage: the noise, "z\r\n" after "!C4z", "\r\n" after the fifth CRC digit.
    garbage = len(b"\xff\x00boot noise") + 3 + 2
    assert cpy.endswith(b"garbage=%d uart_errors=5 ok_nocrc=1\r\n" % garbage)


def test_line_too_long_identical_under_micropython(micropython):
    """With a buffer larger than MAX_LINE the line check itself is reached (same output in both)."""
    stream = long_line_telegram(pf.MAX_LINE) + long_line_telegram(pf.MAX_LINE + 1)
    mp, cpy = both(micropython, "frame_stream.py", stream, str(2 * pf.MAX_LINE))
    assert mp == cpy
    status = [l for l in cpy.split(b"\r\n") if l.startswith(b"@T ")]
    assert [l.split(b" verdict=")[1] for l in status] == [b"ok case=upper flag=- reason=-",
                                                          b"framing-error case=- flag=- reason=line-too-long"]


def test_firmware_buffers_fit_the_d32_heap(micropython):
    """What the firmware allocates at start (P1 framer, S1 counter, console), measured by MicroPython's
    own gc: far below the ~100 KB a D32 (ESP32, no PSRAM) has free under MicroPython after boot."""
    out = run([micropython, str(MP_DIR / "heap_use.py")], b"", mp_env(FIRMWARE_DIR, MP_DIR))
    used = int(out.split()[-1])
    assert pf.MAX_TELEGRAM <= used < 16 * 1024, used


def test_overflow_identical_under_micropython(micropython, telegrams):
    stream = b"".join(telegrams.values())
    assert [len(t) for t in telegrams.values()] == [562, 660, 938, 1059, 1100]
    mp, cpy = both(micropython, "frame_stream.py", stream, "600")
    assert mp == cpy
    assert cpy.count(b"verdict=overflow") == 4 and cpy.count(b"verdict=ok ") == 1


def test_console_identical_under_micropython(micropython):
    commands = b"VERSION\r\nDRQ 1\r\nDRQ 0\nSTATUS\r\nnope\r\n" + b"Z" * 200 + b"\n"
    mp, cpy = both(micropython, "console_script.py", commands)
    assert mp == cpy
    assert cpy.split(b"\n")[:-1] == [b"@R VERSION fw=9.9.9 proto=7", b"drq->1", b"@R DRQ 1", b"drq->0",
                                     b"@R DRQ 0", b"@H stub", b"@R ERR unknown-command nope",
                                     b"@R ERR line-too-long"]


def test_board_identical_under_micropython(micropython, telegrams):
    stream = b"".join(telegrams.values()) + list(telegrams.values())[0][:200]
    mp, cpy = both(micropython, "board_script.py", stream)
    assert mp == cpy
    lines = cpy.split(b"\r\n")
    assert lines[0].startswith(b"@H fw=%s proto=3 uptime_ms=0 " % pf.FIRMWARE_VERSION.encode())
    for t in telegrams.values():
        assert t + b"@T " in cpy
    assert b"@R VERSION fw=1.2.0 proto=3" in lines and b"@R DRQ 1" in lines and b"@R DRQ 0" in lines
    assert b"@R ERR unknown-command bogus" in lines
    # The cut-off last telegram is reported after 200 ms of silence, not before.
    assert cpy.count(b"verdict=truncated") == 1 and cpy.count(b"verdict=ok") == 5
    # 400 passes of 10 ms: a heartbeat at boot, at every second, and one for STATUS.
    heartbeats = [l for l in lines if l.startswith(b"@H ")]
    assert len(heartbeats) == 1 + 4 + 1
    assert heartbeats[-1].startswith(b"@H fw=1.2.0 proto=3 uptime_ms=4000 telegrams=6 ok=5 ")
    assert cpy.endswith(b"pin=0,1,0\n")


def test_main_runs_under_micropython_with_fake_machine(micropython, telegrams):
    name, data = next(iter(telegrams.items()))
    out = run([micropython, str(MP_DIR / "run_main.py"), str(TELEGRAM_DIR / name), "20"],
              b"VERSION\n", mp_env(FIRMWARE_DIR, MP_DIR / "fake", MP_DIR))
    assert out.startswith(b"@H fw=1.2.0 proto=3 ")
    assert data + b"@T seq=1 len=%d " % len(data) in out
    assert b"\r\n@R VERSION fw=1.2.0 proto=3\r\n" in out
    created = out.split(b"CREATED ")[1]
    assert b"('Pin', 12, 3, 0)" in created
    assert (b"('UART', 2, [('baudrate', 115200), ('bits', 8), ('parity', None), ('rx', 16), "
            b"('rxbuf', 4096), ('stop', 1), ('timeout', 0), ('tx', 17)])") in created
    assert S1_UART in created  # S1 is on by default; with nothing on the line it counts nothing
    assert b"\r\n@S frames=0 fcs_errors=0 seq_gaps=0 skipped=0 bytes=0 uart_errors=0\r\n" in out


# UART1 at 2 Mbit/s, RX on GPIO4; TX moved off GPIO10 (flash) to a pad the board leaves open.
S1_UART = (b"('UART', 1, [('baudrate', 2000000), ('bits', 8), ('parity', None), ('rx', 4), "
           b"('rxbuf', 8192), ('stop', 1), ('timeout', 0), ('tx', 25)])")

S1_FAULTS = SynthConfig(frames=2000, corrupt_fcs=(5, 700, 701), drop=(40, 41, 900),
                        garbage={100: 13, 1500: 200}, trailing_bytes=20, seed=3)


def test_s1_counter_identical_under_micropython(micropython):
    stream = synth_stream(S1_FAULTS)
    mp, cpy = both(micropython, "s1_stream.py", stream)
    assert mp == cpy
    lines = cpy.split(b"\r\n")
    host = decode_bytes(stream).stats
    assert host.frames == 1994 and host.fcs_errors == 3 and host.seq_gaps == 4 and host.bytes_skipped == 233
    assert lines[-2] == b"@S frames=1994 fcs_errors=3 seq_gaps=4 skipped=233 bytes=%d uart_errors=3" % len(stream)
    frames = [l[3:] for l in lines if l.startswith(b"@F ")]
    assert len(frames) == 8  # KEEP_FRAMES, asked for 20
    assert bytes.fromhex(frames[-1].decode()) == stream[-20 - 45:-20]  # the last whole frame sent
    assert len([l for l in lines if l.startswith(b"@S ")]) > 10  # counters also checked mid-stream


def test_board_with_s1_identical_under_micropython(micropython):
    stream = synth_stream(S1_FAULTS)
    mp, cpy = both(micropython, "board_s1_script.py", stream)
    assert mp == cpy
    lines = cpy.split(b"\r\n")
    assert lines[0].startswith(b"@H fw=1.2.0 proto=3 ")
    assert lines[1] == b"@S frames=0 fcs_errors=0 seq_gaps=0 skipped=0 bytes=0 uart_errors=0"
    # S1 STATUS at 60 ms answers at once, mid-stream (2000 bytes a 10 ms pass).
    assert lines[2] == b"@S frames=220 fcs_errors=1 seq_gaps=2 skipped=13 bytes=10000 uart_errors=0"
    i = lines.index(b"@R S1 FRAMES 3")
    assert [bytes.fromhex(l[3:].decode()) for l in lines[i - 3:i]] == [
        stream[k:k + 45] for k in range(len(stream) - 20 - 3 * 45, len(stream) - 20, 45)]
    assert lines[i + 1:i + 4] == [b"@R S1 FRAMES 0", b"@R ERR unknown-command S1 FRAMES x",
                                  b"@R VERSION fw=1.2.0 proto=3"]
    # Every heartbeat is followed by an @S line; after 100 ms of silence the cut-off frame is skipped.
    beats = [j for j, l in enumerate(lines) if l.startswith(b"@H ")]
    assert len(beats) == 3 and all(lines[j + 1].startswith(b"@S ") for j in beats)
    assert lines[beats[-1] + 1] == (b"@S frames=1994 fcs_errors=3 seq_gaps=4 skipped=233 bytes=%d uart_errors=0"
                                    % len(stream))
    assert lines[-3:-1] == [b"@R S1 RESET", b"@S frames=0 fcs_errors=0 seq_gaps=0 skipped=0 bytes=0 uart_errors=0"]
    assert cpy.endswith(b"read=%d\n" % len(stream))


def test_main_runs_s1_under_micropython_with_fake_machine(micropython, telegrams, tmp_path):
    name = next(iter(telegrams))
    s1 = tmp_path / "s1.bin"
    s1.write_bytes(synth_stream(SynthConfig(frames=100, corrupt_fcs=(50,), seed=2)))
    env = mp_env(FIRMWARE_DIR, MP_DIR / "fake", MP_DIR)
    out = run([micropython, str(MP_DIR / "run_main.py"), str(TELEGRAM_DIR / name), "40", str(s1)],
              b"S1 STATUS\nS1 FRAMES 1\n", env)
    assert b"\r\n@S frames=99 fcs_errors=1 seq_gaps=1 skipped=0 bytes=4500 uart_errors=0\r\n" in out
    assert b"\r\n@F " + s1.read_bytes()[-45:].hex().upper().encode() + b"\r\n@R S1 FRAMES 1\r\n" in out


@pytest.mark.parametrize("mode", ["fail-s1", "no-s1"])
def test_main_runs_p1_only_when_s1_is_off_or_missing(micropython, telegrams, mode):
    name, data = next(iter(telegrams.items()))
    out = run([micropython, str(MP_DIR / "run_main.py"), str(TELEGRAM_DIR / name), "20", "-", mode],
              b"S1 STATUS\n", mp_env(FIRMWARE_DIR, MP_DIR / "fake", MP_DIR))
    assert data + b"@T seq=1 len=%d " % len(data) in out  # P1 as ever
    assert b"\r\n@R ERR s1-disabled\r\n" in out and b"@S " not in out
    created = out.split(b"CREATED ")[1]
    assert (S1_UART in created) == (mode == "fail-s1")  # tried and refused / never touched
