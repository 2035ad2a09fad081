"""The `checks.json` record `make fab` writes per variant (hwtools/pipeline.py's checks step; not uploaded): every
figure of the design rules (`check --json`'s lines), the ERC and DRC counts kicad-cli reports on the project, and
the P1 input's signal-integrity figures (simulated once, on the variant that simulates it; the others carry the
same figures). The revision review reads it from both sides (hwtools/review/checks.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .. import kicad_cli, project
from ..variant import SUBFOLDERS

FILE = "checks.json"
NOT_AVAILABLE = "not available"
RECORD_VERSION = 1



def si_figures(report) -> dict:
    """The SI step's figures as JSON: the summary and each checked figure with its limit and verdict."""
    return {"summary": report.summary(),
            "figures": [{"key": r.key, "name": r.name, "value": round(r.value, 6), "unit": r.unit,
                         "limit": r.limit, "pass": bool(r.passed)} for r in report.results]}


def kicad_counts(kicad_dir: Path, tmp: Path) -> dict:
    """ERC and DRC counts of the project in `kicad_dir`, run on a copy (kicad-cli writes beside its input)."""
    copy = tmp / "kicad"
    shutil.copytree(kicad_dir, copy, ignore=shutil.ignore_patterns(*SUBFOLDERS, "*.json"))
    erc = kicad_cli.erc(copy / f"{project.NAME}.kicad_sch", tmp / "erc.json")
    drc = kicad_cli.drc(copy / f"{project.NAME}.kicad_pcb", tmp / "drc.json")
    return counts_of(erc, drc)


def counts_of(erc: dict, drc: dict) -> dict:
    """The counts checks.json records, from kicad-cli's ERC and DRC reports."""
    every = [v for s in erc.get("sheets", []) for v in s.get("violations", [])]
    count = lambda vs, sev: sum(1 for v in vs if v.get("severity") == sev and not v.get("excluded", False))
    return {"erc": {"errors": count(every, "error"), "warnings": count(every, "warning"),
                    "excluded": sum(1 for v in every if v.get("excluded", False))},
            "drc": {"errors": count(drc.get("violations", []), "error"),
                    "warnings": count(drc.get("violations", []), "warning"),
                    "unconnected": len(drc.get("unconnected_items", [])),
                    "parity": len(drc.get("schematic_parity", []))}}


def record(variant, rule_results, counts: dict, si: dict | None) -> str:
    """The text of a variant's checks.json."""
    data = {"record_version": RECORD_VERSION, "variant": variant.name,
            "rules": [r.as_json(variant.name) for r in rule_results], **counts,
            "si": si if si is not None else NOT_AVAILABLE}
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
