"""`make bench`: every benchmark module's figures, one after the other.

Benchmarks measure speed and memory targets; tests never time anything. Each `tests/bench_*.py` has a
`main()` that prints its figures.
"""

import importlib
import pathlib
import sys
import time


def main() -> int:
    here = pathlib.Path(__file__).parent
    failures = 0
    for path in sorted(here.glob("bench_*.py")):
        name = f"tests.{path.stem}"
        print(f"== {name}", flush=True)
        start = time.monotonic()
        try:
            result = importlib.import_module(name).main()
        except SystemExit as e:
            result = e.code
        # a bench reports a miss by exiting non-zero, or by returning figures with meets_target false
        missed = result.get("meets_target") is False if isinstance(result, dict) else result not in (None, 0)
        if missed:
            failures += 1
            print(f"   {name} missed its target")
        print(f"   ({time.monotonic() - start:.1f} s)\n", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
