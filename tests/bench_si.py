"""Time of the full SI sweep — 256 corners + 200 Monte Carlo runs of ngspice on 2 cores (target < 60 s).

Also its CPU seconds (this process, the workers and every ngspice they ran): on a shared machine the wall
time says more about the neighbours than about the sweep. Not a pytest test: run `python -m tests.bench_si`.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

TARGET_S = 60.0


def main(argv: list[str] | None = None) -> dict:
    from hwtools.circuit import build_board
    from hwtools.si.sweep import analyse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mc", type=int, default=None, help="Monte Carlo runs (default from parts.toml: 200)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    board = build_board()
    t_board = time.perf_counter() - t0
    cpu = (lambda: sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                       for f in ("ru_utime", "ru_stime")))
    t0, c0 = time.perf_counter(), cpu()
    report = analyse(board, mc_runs=args.mc, workers=args.workers)
    t_sweep, c_sweep = time.perf_counter() - t0, cpu() - c0
    sims = len(report.runs) + len(report.drq) + sum(len(v) for k, v in report.baud_runs.items() if k != 115200)
    result = {"cases": len(report.runs), "simulations": sims, "workers": args.workers,
              "board_s": round(t_board, 1), "sweep_s": round(t_sweep, 1), "sweep_cpu_s": round(c_sweep, 1),
              "per_simulation_ms": round(t_sweep / sims * 1e3 * args.workers, 1),
              "target_s": TARGET_S, "meets_target": t_sweep < TARGET_S, "pass": report.passed}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
