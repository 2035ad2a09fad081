"""The firmware's pure modules and main.Board under the unix MicroPython, compared with CPython."""

import os
import pathlib
import subprocess
import sys

from bringup.firmware import p1frame as pf

HERE = pathlib.Path(__file__).resolve().parent
FIRMWARE_DIR = HERE.parents[1] / "bringup" / "firmware"
MP_DIR = HERE / "mp"  # scripts that run under both interpreters (not collected: no test_ prefix)
TELEGRAM_DIR = HERE.parents[2] / "shared" / "telegrams"


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


def mixed_stream(telegrams):
    t = list(telegrams.values())
    long_line = b"/X\r\n0-0:96.13.0(" + b"4" * 1100 + b")\r\n!0000\r\n"
    return (b"\xff\x00boot noise" + t[0] + t[1][:300] + t[2] + t[3].replace(b"(", b"[", 1) + long_line
            + t[4][:-4] + b"zz\r\n" + t[0] + t[4] + t[1][:123])


def test_framer_output_identical_under_micropython(micropython, telegrams):
    stream = mixed_stream(telegrams)
    mp, cpy = both(micropython, "frame_stream.py", stream)
    assert mp == cpy
    status = [l for l in cpy.split(b"\r\n") if l.startswith(b"@T ")]
    verdicts = [l.split(b"verdict=")[1].split()[0].decode() for l in status]
    assert verdicts == ["ok", "truncated", "ok", "crc-error", "framing-error", "framing-error", "ok", "ok",
                        "truncated"]
    t = list(telegrams.values())
    for ok in (t[0], t[2], t[4]):
        assert ok + b"@T " in cpy  # ok telegrams are echoed verbatim
    # Garbage: the noise, the rest of the long line after its 1025th character, "z\r\n" after "!C4z".
    garbage = len(b"\xff\x00boot noise") + (1100 - 1013 + len(b")\r\n!0000\r\n")) + 3
    assert cpy.endswith(b"garbage=%d uart_errors=5\r\n" % garbage)


def test_overflow_identical_under_micropython(micropython, telegrams):
    stream = b"".join(telegrams.values())
    assert [len(t) for t in telegrams.values()] == [562, 660, 938, 1059, 1100]
    mp, cpy = both(micropython, "frame_stream.py", stream, "600")
    assert mp == cpy
    assert cpy.count(b"verdict=overflow") == 4 and cpy.count(b"verdict=ok") == 1


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
    assert lines[0].startswith(b"@H fw=%s proto=1 uptime_ms=0 " % pf.FIRMWARE_VERSION.encode())
    for t in telegrams.values():
        assert t + b"@T " in cpy
    assert b"@R VERSION fw=1.0.0 proto=1" in lines and b"@R DRQ 1" in lines and b"@R DRQ 0" in lines
    assert b"@R ERR unknown-command bogus" in lines
    # The cut-off last telegram is reported after 200 ms of silence, not before.
    assert cpy.count(b"verdict=truncated") == 1 and cpy.count(b"verdict=ok") == 5
    # 400 passes of 10 ms: a heartbeat at boot, at every second, and one for STATUS.
    heartbeats = [l for l in lines if l.startswith(b"@H ")]
    assert len(heartbeats) == 1 + 4 + 1
    assert heartbeats[-1].startswith(b"@H fw=1.0.0 proto=1 uptime_ms=4000 telegrams=6 ok=5 ")
    assert cpy.endswith(b"pin=0,1,0\n")


def test_main_runs_under_micropython_with_fake_machine(micropython, telegrams):
    name, data = next(iter(telegrams.items()))
    out = run([micropython, str(MP_DIR / "run_main.py"), str(TELEGRAM_DIR / name), "20"],
              b"VERSION\n", mp_env(FIRMWARE_DIR, MP_DIR / "fake", MP_DIR))
    assert out.startswith(b"@H fw=1.0.0 proto=1 ")
    assert data + b"@T seq=1 len=%d " % len(data) in out
    assert b"\r\n@R VERSION fw=1.0.0 proto=1\r\n" in out
    created = out.split(b"CREATED ")[1]
    assert b"('Pin', 12, 3, 0)" in created
    assert (b"('UART', 2, [('baudrate', 115200), ('bits', 8), ('parity', None), ('rx', 16), "
            b"('rxbuf', 4096), ('stop', 1), ('timeout', 0), ('tx', 17)])") in created
