"""CPU seconds of the case step (hwtools/enclosure) for both variants — target < 30 s in all.

Runs what `make fab`'s enclosure steps run (the pcbnew child, the CAD child: solids, fit check, STEP/STL,
printability, pictures) into a temp folder, with --force semantics: the committed mech/ is not touched. CPU time
(this process and its children) rather than wall time: a shared machine's neighbours do not count. `make fab`
skips the step like every other when its inputs did not change (tests/fab/test_fab_cli.py). Not a pytest test.
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path

TARGET_CPU_S = 30.0


def cpu() -> float:
    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))


def main() -> dict:
    from hwtools import enclosure, project
    from hwtools.variant import VARIANTS

    per_variant = {}
    with tempfile.TemporaryDirectory(prefix="p1reader-bench-enclosure-") as tmp:
        for v in VARIANTS.values():
            t0, c0 = time.perf_counter(), cpu()
            enclosure.make(v.kicad_dir / f"{project.NAME}.kicad_pcb", Path(tmp) / v.name, project.NAME, v.title,
                           log=lambda m: None)
            per_variant[v.name] = {"wall_s": round(time.perf_counter() - t0, 1), "cpu_s": round(cpu() - c0, 1)}
    total = sum(f["cpu_s"] for f in per_variant.values())
    result = {"variants": per_variant, "cpu_s": round(total, 1), "target_cpu_s": TARGET_CPU_S,
              "meets_target": total < TARGET_CPU_S}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
