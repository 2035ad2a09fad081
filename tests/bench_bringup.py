"""Bring-up benchmark (`make bench`, not collected by pytest).

Against the simulated board paced at 115200 8N1:
  * N telegrams (default 1,000) back to back: byte errors (must be 0) and throughput as a ratio to the
    line's 11,520 bytes/s (must be ≥ 97 %);
  * CPU time per telegram: simulated board (framing + CRC + console) and harness (send + parse);
  * a full simulated bring-up (`--station sim`) in under 60 s.
Run: .venv/bin/python -m tests.bench_bringup [--count N]; exit status 1 if a figure misses its target.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bringup import runner, station  # noqa: E402
from meter import telegrams as tg  # noqa: E402
from bringup.console import BoardConsole
from meter.simulator import MeterPort  # noqa: E402
from bringup.sim.bench import SimBench, cpu_seconds  # noqa: E402
from bringup.sim.line_state import LineState  # noqa: E402
from meter.lines import LINE_BYTES_PER_S  # noqa: E402

TARGET_RATIO = 0.97
TARGET_BRINGUP_S = 60.0
TARGET_BOARD_CPU_MS = 10.0  # per telegram; a meter sends one a second


def loopback_run(count: int) -> dict:
    st = station.resolve("sim")
    pool = [tg.build(s) for s in tg.standard_set()]
    seq = [pool[i % len(pool)] for i in range(count)]
    with SimBench(st) as sim:
        wired = sim.station
        meter = MeterPort(wired.meter.url, wired.meter.baud, on_burst=LineState(wired.meter.line_state).mark)
        con = BoardConsole(wired.console.url, wired.console.baud, timeout_s=5.0, log_limit=0)
        try:
            con.command("VERSION", "VERSION", retry_s=0.5)
            board_cpu0 = cpu_seconds(sim.board.pid) or 0.0
            host_cpu0 = time.process_time()
            n0 = con.report_count()
            t0 = time.monotonic()
            for data in seq:
                meter.send(data)
            reports = con.wait_reports(n0, count, timeout=10.0)
            t_end = reports[-1].received_at
            host_cpu = time.process_time() - host_cpu0
            board_cpu = (cpu_seconds(sim.board.pid) or 0.0) - board_cpu0
        finally:
            con.close()
            meter.close()
    byte_errors = 0
    good = 0
    for data, r in zip(seq, reports):
        if r.echo == data and r.verdict == "ok":
            good += len(data)
        else:
            byte_errors += sum(a != b for a, b in zip(r.echo, data)) + abs(len(r.echo) - len(data))
    rate = good / (t_end - t0)
    return {
        "telegrams": count, "bytes": sum(map(len, seq)), "byte_errors": byte_errors,
        "seconds": t_end - t0, "bytes_per_s": rate, "ratio": rate / LINE_BYTES_PER_S,
        "board_cpu_ms_per_telegram": 1000 * board_cpu / count,
        "host_cpu_ms_per_telegram": 1000 * host_cpu / count,
    }


def decode_cpu(count: int = 200) -> float:
    specs = tg.standard_set()
    t0 = time.process_time()
    for i in range(count):
        s = specs[i % len(specs)]
        tg.compare(tg.expected_fields(s), tg.decoded_fields(tg.decode(tg.build(s))))
    return 1000 * (time.process_time() - t0) / count


def full_bringup() -> tuple[float, bool, str]:
    with tempfile.TemporaryDirectory() as d:
        t0 = time.monotonic()
        res = runner.run(station.resolve("sim"), "BENCH-0001", d)
        return time.monotonic() - t0, res.passed, res.supply_output_after


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=1000)
    a = ap.parse_args(argv if argv is not None else [])  # tests/bench.py calls main() bare
    ok = True
    print(f"bring-up bench: {a.count} telegrams through the simulated board at 115200 8N1 …", flush=True)
    r = loopback_run(a.count)
    print(f"  telegrams            {r['telegrams']} ({r['bytes']} bytes in {r['seconds']:.2f} s)")
    print(f"  byte errors          {r['byte_errors']}  (target 0)")
    print(f"  throughput           {r['bytes_per_s']:.0f} bytes/s of {LINE_BYTES_PER_S:.0f}")
    print(f"  ratio to line rate   {100 * r['ratio']:.2f} %  (target ≥ {100 * TARGET_RATIO:.0f} %)")
    print(f"  CPU per telegram     board {r['board_cpu_ms_per_telegram']:.3f} ms (target ≤ {TARGET_BOARD_CPU_MS:g} ms), "
          f"harness {r['host_cpu_ms_per_telegram']:.3f} ms")
    dec = decode_cpu()
    print(f"  build+decode+compare {dec:.2f} ms CPU per telegram (dsmr_parser)")
    ok &= r["byte_errors"] == 0 and r["ratio"] >= TARGET_RATIO and r["board_cpu_ms_per_telegram"] <= TARGET_BOARD_CPU_MS
    secs, passed, supply = full_bringup()
    print(f"  full sim bring-up    {secs:.1f} s, {'PASS' if passed else 'FAIL'}, supply {supply} "
          f"(target < {TARGET_BRINGUP_S:g} s, PASS, OFF)")
    ok &= passed and secs < TARGET_BRINGUP_S and supply == "OFF"
    print("bench:", "OK" if ok else "MISSED A TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
