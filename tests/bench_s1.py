"""S1 streaming figures (not a pytest test: run `python -m tests.bench_s1`, or `make bench`).

Each figure comes from `p1reader-s1` run as its own process, as a user runs it:

* decode (table and summary) of a 2 GB capture: throughput and the process's peak RSS (targets >= 100 MB/s,
  <= 64 MB). The capture is one pre-generated block repeated, so the bench times the decoder, not synth;
* `decode --json` of a smaller capture read through a pipe: throughput (>= 20 MB/s), time to the first line
  (<= 0.1 s once the interpreter has started and imported numpy, which alone takes 0.15 s or more: both
  figures are given), peak RSS;
* live: frames per second through a socat pty pair, unpaced, and frames lost when paced at the S1 rate
  (2600 frames/s; target 0).

Throughput is wall time on a shared machine; the CPU time the decoder used is given too, as MB per CPU
second, which depends less on what else runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "p1reader", "s1"]
S1_RATE = 2600  # frames per second of a real meter: 52 samples per 50 Hz period


def _block(frames: int) -> bytes:
    from meter.s1.synth import SynthConfig, synth_stream

    # 256 x k frames, so the repeats join without a sequence gap; a few faults so no path is skipped.
    return synth_stream(SynthConfig(frames=frames, v_harmonics={3: 0.03, 5: 0.02}, i_harmonics={3: 0.2},
                                    v_noise=0.2, i_noise=0.01, seed=1, corrupt_fcs=tuple(range(1000, frames, 50000)),
                                    garbage={k: 13 for k in range(777, frames, 70000)}))


def _capture(path: Path, size: int, block: bytes) -> int:
    with open(path, "wb") as fh:
        for _ in range(max(1, size // len(block))):
            fh.write(block)
    return path.stat().st_size


# A child's peak RSS (ru_maxrss) starts from its parent's at the fork, so the measured command is started
# by this small interpreter, not by the bench with its capture block in memory; it reports wait4's figures.
_RUSAGE = ("import os, sys; pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ); "
           "_, st, ru = os.wait4(pid, 0); open(sys.argv[1], 'w').write(f'{ru.ru_maxrss} {ru.ru_utime + ru.ru_stime}'); "
           "sys.exit(os.waitstatus_to_exitcode(st))")


def _run(args: list[str], stdout=subprocess.DEVNULL, on_start=None) -> dict:
    """Run the CLI; wall time, CPU time and peak RSS of that process alone."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage") as figures:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", _RUSAGE, figures.name] + CLI + args, cwd=ROOT, stdout=stdout,
                                stderr=subprocess.PIPE)
        extra = on_start(proc, t0) if on_start else {}
        err = proc.stderr.read().decode()
        proc.wait()
        wall = time.perf_counter() - t0
        rss_kb, cpu_s = figures.read().split()
    return {"wall_s": wall, "cpu_s": float(cpu_s), "rss_mb": int(rss_kb) / 1024, "exit": proc.returncode,
            "stderr": err, **extra}


def _first_line_then_drain(proc, t0) -> dict:
    first = proc.stdout.readline()
    t_first = time.perf_counter() - t0
    lines = 1 if first else 0
    while chunk := proc.stdout.read(1 << 20):
        lines += chunk.count(b"\n")
    return {"first_line_s": t_first, "lines": lines}


def _startup_s() -> float:
    """Interpreter start and the command's imports alone (best of three)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import meter.s1.cli, meter.s1.jsonl"], cwd=ROOT, check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def _live(tmp: Path, frames: int, paced: bool) -> dict:
    """Frames through a socat pty pair into `decode PORT --json`; counts the lines that come out."""
    import serial

    from meter.s1.synth import SynthConfig, synth_stream

    a, b = tmp / f"meter{paced}", tmp / f"port{paced}"
    socat = subprocess.Popen(["socat", f"pty,rawer,link={a}", f"pty,rawer,link={b}"], stderr=subprocess.DEVNULL)
    try:
        while not (a.exists() and b.exists()):
            time.sleep(0.01)
        data = synth_stream(SynthConfig(frames=frames, shared_flags=False))
        proc = subprocess.Popen(CLI + ["decode", str(b), "--json", "--stall-timeout", "600"], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stderr.readline()  # the port is open
        finished = threading.Event()

        def write():
            with serial.Serial(str(a), 2_000_000) as s:
                if paced:  # 10 ms bursts on the S1 schedule
                    per, t0 = S1_RATE // 100, time.perf_counter()
                    for k, o in enumerate(range(0, frames, per)):
                        delay = t0 + k / 100 - time.perf_counter()
                        if delay > 0:
                            time.sleep(delay)
                        s.write(data[o * 45:(o + per) * 45])
                else:
                    s.write(data)
                s.flush()
                finished.wait(600)  # keep the meter end open until the decoder is done

        writer = threading.Thread(target=write, daemon=True)
        t0 = time.perf_counter()
        writer.start()
        lines = 0
        while lines < frames:
            chunk = os.read(proc.stdout.fileno(), 1 << 20)
            if not chunk:
                break
            lines += chunk.count(b"\n")
        dt = time.perf_counter() - t0
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=600)
        finished.set()
        lines += out.count(b"\n") - 1  # the last line is the summary
        return {"frames_sent": frames, "frames_received": lines, "frames_lost": frames - lines,
                "frames_per_s": lines / dt, "exit": proc.returncode}
    finally:
        socat.terminate()
        socat.wait()


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=2.0, help="size of the big capture (default 2 GB)")
    ap.add_argument("--json-mb", type=float, default=200.0, help="size of the --json capture (default 200 MB)")
    ap.add_argument("--live-seconds", type=float, default=10.0, help="paced live run at the S1 rate (default 10 s)")
    args = ap.parse_args(argv)

    fig: dict = {}
    block = _block(256 * 1000)  # 11.5 MB
    with tempfile.TemporaryDirectory(prefix="bench_s1_") as tmp_name:
        tmp = Path(tmp_name)
        big = tmp / "big.bin"
        size = _capture(big, int(args.gb * 1e9), block)
        r = _run(["decode", str(big), "-q"])
        fig["decode"] = {"bytes": size, "wall_s": r["wall_s"], "mb_per_s": size / r["wall_s"] / 1e6,
                         "mb_per_cpu_s": size / r["cpu_s"] / 1e6, "peak_rss_mb": r["rss_mb"], "exit": r["exit"]}
        r = _run(["analyze", str(big), "-q"])
        fig["analyze"] = {"wall_s": r["wall_s"], "mb_per_s": size / r["wall_s"] / 1e6, "peak_rss_mb": r["rss_mb"],
                          "exit": r["exit"]}
        big.unlink()

        mid = tmp / "mid.bin"
        size = _capture(mid, int(args.json_mb * 1e6), block)
        r = _run(["decode", str(mid), "--json", "-q"], stdout=subprocess.PIPE, on_start=_first_line_then_drain)
        fig["json"] = {"bytes": size, "wall_s": r["wall_s"], "mb_per_s": size / r["wall_s"] / 1e6,
                       "mb_per_cpu_s": size / r["cpu_s"] / 1e6, "first_line_s": r["first_line_s"],
                       "startup_s": _startup_s(), "peak_rss_mb": r["rss_mb"], "lines": r["lines"], "exit": r["exit"]}
        fig["json"]["first_line_after_startup_s"] = fig["json"]["first_line_s"] - fig["json"]["startup_s"]

        fig["live_unpaced"] = _live(tmp, 256 * 400, paced=False)
        fig["live_paced"] = _live(tmp, int(args.live_seconds * S1_RATE), paced=True)

    d, j, lu, lp = fig["decode"], fig["json"], fig["live_unpaced"], fig["live_paced"]
    fig["meets_target"] = bool(d["mb_per_s"] >= 100 and d["peak_rss_mb"] <= 64 and j["mb_per_s"] >= 20
                               and j["first_line_after_startup_s"] <= 0.1 and j["peak_rss_mb"] <= 64
                               and fig["analyze"]["peak_rss_mb"] <= 64 and lp["frames_lost"] == 0
                               and lu["frames_lost"] == 0)
    print(f"S1 decode, {d['bytes'] / 1e9:.2f} GB capture: {d['mb_per_s']:.0f} MB/s ({d['mb_per_cpu_s']:.0f} MB per CPU s), "
          f"peak RSS {d['peak_rss_mb']:.1f} MB  (targets >= 100 MB/s, <= 64 MB)")
    print(f"S1 analyze, same capture: {fig['analyze']['mb_per_s']:.0f} MB/s, peak RSS {fig['analyze']['peak_rss_mb']:.1f} MB")
    print(f"S1 decode --json, {j['bytes'] / 1e6:.0f} MB: {j['mb_per_s']:.1f} MB/s ({j['mb_per_cpu_s']:.1f} MB per CPU s), "
          f"first line {j['first_line_after_startup_s']:.3f} s after start-up ({j['first_line_s']:.3f} s from the "
          f"process start, of which interpreter and imports {j['startup_s']:.3f} s), "
          f"peak RSS {j['peak_rss_mb']:.1f} MB  (targets >= 20 MB/s, first line <= 0.1 s)")
    print(f"S1 live through a socat pty pair: unpaced {lu['frames_per_s']:.0f} frames/s "
          f"({lu['frames_lost']} of {lu['frames_sent']} lost); paced at {S1_RATE} frames/s: "
          f"{lp['frames_lost']} of {lp['frames_sent']} lost (target 0)")
    print("S1 targets " + ("met" if fig["meets_target"] else "MISSED"))
    return fig


if __name__ == "__main__":
    main()
