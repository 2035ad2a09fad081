"""Live input: the synthetic stream through a socat pty pair (a real serial port to pyserial; ptys ignore the
baud rate and never drop bytes, so the run is loss-free however busy the machine is). The decoder reads one
end while the test writes the other; Ctrl-C (SIGINT) ends the run with the summary.

Nothing here depends on timing: the test waits for the decoder to say it has opened the port, counts every
frame it prints, and only then stops it.
"""

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import serial

import required
from meter.s1.synth import SynthConfig, synth_stream

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 300  # only against hanging forever; never reached on a working run


@pytest.fixture()
def pty_pair(tmp_path):
    """Two linked ptys: bytes written to ``meter`` come out of ``port``."""
    meter, port = tmp_path / "meter", tmp_path / "port"
    proc = subprocess.Popen([required.program("socat"), f"pty,rawer,link={meter}", f"pty,rawer,link={port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + DEADLINE_S
    while not (meter.exists() and port.exists()):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "socat made no ptys"
        time.sleep(0.02)
    yield meter, port
    proc.terminate()
    proc.wait(timeout=DEADLINE_S)


def start(*args):
    """p1reader-s1 on a port; returns once it has said the port is open."""
    proc = subprocess.Popen([sys.executable, "-m", "p1reader", "s1", *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    banner = proc.stderr.readline()
    assert "Ctrl-C stops" in banner, banner + proc.stderr.read()
    return proc


def send(meter: Path, data: bytes) -> threading.Thread:
    """Write ``data`` to the meter end in a thread (the writes block while the reader catches up)."""
    def write():
        with serial.Serial(str(meter), 2_000_000) as s:
            s.write(data)
            s.flush()
            done.wait(DEADLINE_S)  # keep the pty open until the reader has everything

    done = threading.Event()
    t = threading.Thread(target=write, daemon=True)
    t.done = done
    t.start()
    return t


def stop(proc, writer):
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=DEADLINE_S)
    writer.done.set()
    assert "Traceback" not in err, err
    return out, err


def test_live_decode_gets_every_frame_and_ctrl_c_gives_the_summary(pty_pair, tmp_path):
    meter, port = pty_pair
    cfg = SynthConfig(frames=12000, seq_start=100, v_harmonics={3: 0.04}, i_noise=0.05, seed=4)
    data = synth_stream(cfg)
    saved = tmp_path / "saved.bin"
    proc = start("decode", port, "--json", "--stall-timeout", DEADLINE_S, "--save", saved)
    writer = send(meter, data)
    seqs = []
    while len(seqs) < cfg.frames:
        line = proc.stdout.readline()
        assert line, "decoder ended early: " + proc.stderr.read()
        seqs.append(json.loads(line)["seq"])
    out, err = stop(proc, writer)
    assert proc.returncode == 0, err
    assert seqs == [(cfg.seq_start + k) % 256 for k in range(cfg.frames)]
    assert json.loads(out.splitlines()[-1]) == {"frames": cfg.frames, "fcs_errors": 0, "seq_gaps": 0,
                                                 "bytes_skipped": 0}
    assert "stopped (Ctrl-C)" in err
    assert saved.read_bytes() == data  # --save kept every byte read


def wait_until_read(saved: Path, size: int):
    """Until the reader has taken ``size`` bytes off the port (``--save`` writes each read through), so that
    Ctrl-C comes after the last byte however slowly the machine runs."""
    deadline = time.monotonic() + DEADLINE_S
    while not (saved.exists() and saved.stat().st_size >= size):
        assert time.monotonic() < deadline, f"the reader took {saved.stat().st_size} of {size} bytes"
        time.sleep(0.02)


def test_live_analyze_one_line_per_window(pty_pair, tmp_path):
    meter, port = pty_pair
    cfg = SynthConfig(frames=52 * 50 * 3 + 52 * 10, freq_hz=50.0, v_harmonics={5: 0.03}, i_harmonics={3: 0.2},
                      corrupt_fcs=(3000,))
    data = synth_stream(cfg)
    saved = tmp_path / "saved.bin"
    proc = start("analyze", port, "--stall-timeout", DEADLINE_S, "--save", saved)
    writer = send(meter, data)
    windows = [json.loads(proc.stdout.readline()) for _ in range(3)]  # the 4th, partial, comes at the end
    wait_until_read(saved, len(data))
    out, err = stop(proc, writer)
    assert proc.returncode == 0, err
    assert [w["frames"] for w in windows] == [2600, 2599, 2600]  # window 1 lost frame 3000 to its FCS
    assert [w["fcs_errors"] for w in windows] == [0, 1, 0]
    w = windows[0]
    assert abs(w["phases"][0]["v_thd"] - 0.03) < 1e-4 and abs(w["phases"][0]["i_thd"] - 0.2) < 1e-4
    assert w["freq_hz"] == 50.0 and abs(w["freq_measured_hz"] - 50.0) < 1e-4
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["partial"] and lines[0]["frames"] == 52 * 10
    assert lines[-1] == {"frames": cfg.frames - 1, "fcs_errors": 1, "seq_gaps": 1, "bytes_skipped": 0, "windows": 4}


def test_stalled_port_ends_with_the_summary_and_exit_1(pty_pair):
    _, port = pty_pair
    proc = start("decode", port, "--stall-timeout", "0.3")
    out, err = proc.communicate(timeout=DEADLINE_S)
    assert proc.returncode == 1
    assert f"no data from port {port} for 0.3 s" in err and "Traceback" not in err
    assert f"{port}: 0 frames" in out


def test_port_that_cannot_be_opened():
    proc = subprocess.run([sys.executable, "-m", "p1reader", "s1", "decode", "socket://127.0.0.1:1"], cwd=ROOT,
                          capture_output=True, text=True, timeout=DEADLINE_S)
    assert proc.returncode == 2 and "cannot open port socket://127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_pyserial_url_socket():
    """A ``socket://`` URL: a TCP server plays the meter, sending the stream over and over (pyserial drops what
    was waiting when it opens the port, so the decoder joins a running stream, as on a real line)."""
    import socket

    cfg = SynthConfig(frames=2560)  # ten turns of the sequence number: the repeats join without a gap
    data = synth_stream(cfg)
    server = socket.create_server(("127.0.0.1", 0))
    host, port = server.getsockname()
    done = threading.Event()

    def serve():
        conn, _ = server.accept()
        with conn, contextlib.suppress(OSError):  # the decoder hangs up when stopped
            while not done.is_set():
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    proc = start("decode", f"socket://{host}:{port}", "--json", "--stall-timeout", DEADLINE_S)
    for _ in range(3 * cfg.frames):
        assert proc.stdout.readline(), proc.stderr.read()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=DEADLINE_S)
    done.set()
    server.close()
    assert proc.returncode == 0 and "Traceback" not in err, err
    summary = json.loads(out.splitlines()[-1])
    assert summary["frames"] >= 3 * cfg.frames and summary["seq_gaps"] == 0 and summary["fcs_errors"] == 0


def test_loop_url_is_read_through_pyserial():
    """``loop://`` has no file descriptor: it is read with pyserial's read(); nothing comes, so it stalls."""
    proc = subprocess.run([sys.executable, "-m", "p1reader", "s1", "analyze", "loop://", "--stall-timeout", "0.2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=DEADLINE_S)
    assert proc.returncode == 1 and "no data from port loop:// for 0.2 s" in proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == {"frames": 0, "fcs_errors": 0, "seq_gaps": 0,
                                                        "bytes_skipped": 0, "windows": 0}
