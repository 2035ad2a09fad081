"""Time of the manufacturing export from clean vs the sum of the bare kicad-cli calls it makes (goal ≤ 1.3×).

The bare figure is the time of each kicad-cli call, one after the other (export with jobs=1, every
`kicad_cli.run` timed). The export figure is a real `fab.export()` into an empty folder with its default
parallelism: kicad-cli calls plus reading the board, the BOM, InteractiveHtmlBom, normalising and zipping.
Not a pytest test: run `python -m tests.bench_fab`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

TARGET_RATIO = 1.3


def _instrumented(real, calls: list):
    """kicad_cli.run, timing every call into `calls` as (command, seconds)."""
    lock = threading.Lock()

    def run(*args, **kw):
        start = time.perf_counter()
        try:
            return real(*args, **kw)
        finally:
            with lock:
                calls.append((" ".join(map(str, args[:3])), time.perf_counter() - start))
    return run


def main(argv: list[str] | None = None) -> dict:
    from hwtools import fab, kicad_cli, project

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kicad-dir", type=Path, default=project.KICAD_DIR)
    ap.add_argument("--jobs", type=int, default=None, help="parallel exports (default: CPU count)")
    ap.add_argument("--repeat", type=int, default=2, help="alternate both measurements, keep the fastest "
                                                          "(the machine is shared: the minimum is the figure)")
    args = ap.parse_args(argv)

    real = kicad_cli.run
    runs = []
    try:
        for _ in range(max(1, args.repeat)):
            calls: list = []
            kicad_cli.run = _instrumented(real, calls)
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                fab.export(args.kicad_dir, Path(tmp) / "seq", log=lambda _m: None, jobs=1)
                sequential = time.perf_counter() - t0
            kicad_cli.run = real
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                fab.export(args.kicad_dir, Path(tmp) / "clean", log=lambda _m: None, jobs=args.jobs)
                export = time.perf_counter() - t0
            runs.append((sum(t for _, t in calls), calls, sequential, export))
    finally:
        kicad_cli.run = real
    bare_sum, bare = min(r[:2] for r in runs)
    sequential = min(r[2] for r in runs)
    export = min(r[3] for r in runs)
    result = {
        "kicad_cli_calls": len(bare),
        "repeats": len(runs),
        "per_call_s": [[name, round(t, 2)] for name, t in bare],
        "bare_kicad_cli_sum_s": round(bare_sum, 2),
        "export_sequential_s": round(sequential, 2),
        "export_from_clean_s": round(export, 2),
        "ratio": round(export / bare_sum, 2),
        "ratio_sequential": round(sequential / bare_sum, 2),
        "target_ratio": TARGET_RATIO,
        "meets_target": export / bare_sum <= TARGET_RATIO,
    }
    print(json.dumps(result, indent=2))
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
