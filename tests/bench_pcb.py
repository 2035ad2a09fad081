"""The board's router: CPU seconds to route each variant (target: at most half the previous router's) and
what a reviewer checks on the committed boards (hwtools/board_review.py).

The baseline is the grid router of rev 1.2 as first committed (8-way maze, pad centres joined by short jogs,
GND routed as tracks), measured on this circuit with the same build (`pcb.build` + `pcb.route`, CPU time
of this process). Not a pytest test: run `python -m tests.bench_pcb`.
"""

import json
import tempfile
import time
from pathlib import Path

# rev 1.2's first router on the same circuit (per board revision): CPU s to route, segments, non-GND and GND
# track length (mm). The rev 1.3 figures: that router on the rev 1.3 circuit and placement before the merge.
BASELINES = {
    "1.2": {
        "p1": {"route_cpu_s": 5.04, "segments": 159, "non_gnd_length_mm": 460.6, "gnd_track_length_mm": 202.5,
               "footprint_load_cpu_s": 1.71},
        "p1s1": {"route_cpu_s": 9.84, "segments": 225, "non_gnd_length_mm": 661.3, "gnd_track_length_mm": 250.9,
                 "footprint_load_cpu_s": 1.94},
    },
    "1.3": {
        "p1": {"route_cpu_s": 8.13, "segments": 240, "non_gnd_length_mm": 716.0, "gnd_track_length_mm": 281.6,
               "footprint_load_cpu_s": 2.32},
        "p1s1": {"route_cpu_s": 16.11, "segments": 310, "non_gnd_length_mm": 923.2, "gnd_track_length_mm": 330.9,
                 "footprint_load_cpu_s": 3.12},
    },
}


def baseline(revision: str) -> dict:
    """The first router's figures for this revision, or for the newest one before it (a later revision that
    changed a few parts is compared against its predecessor's circuit)."""
    known = [r for r in BASELINES if tuple(map(int, r.split("."))) <= tuple(map(int, revision.split(".")))]
    return BASELINES[max(known, key=lambda r: tuple(map(int, r.split("."))))]


V11_NON_GND_MM = 738.0  # the hand-routed v1.1, which had no S1 port: a bound for p1 only


def measure(variant: str) -> dict:
    from hwtools import layout, pcb, project
    from hwtools.variant import get as get_variant

    kicad_dir = get_variant(variant).kicad_dir
    lay = layout.for_variant(get_variant(variant))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.process_time()
        board = pcb.build(kicad_dir / f"{project.NAME}.net", kicad_dir / "lib", Path(tmp) / "b.kicad_pcb", lay)
        built = time.process_time() - start
        pcb.add_silkscreen(board, lay)  # as the board job does: vias keep off the silkscreen
        start = time.process_time()
        pcb.route(board, lay)
        routed = time.process_time() - start
    return {"footprint_load_cpu_s": round(built, 2), "route_cpu_s": round(routed, 2)}


def main() -> dict:
    from hwtools import board_review, layout, project
    from hwtools.variant import get as get_variant

    result = {}
    ok = True
    for variant in ("p1", "p1s1"):
        kicad_dir = get_variant(variant).kicad_dir
        figures = measure(variant)
        review = board_review.review(kicad_dir / f"{project.NAME}.kicad_pcb", layout.d32_pin_labels(get_variant(variant)))
        base = baseline(project.REVISION)[variant]
        figures.update({k: v for k, v in review.items() if k not in ("track_widths_mm",)})
        figures["d32_pins_labelled"] = len(review["d32_pins_labelled"])
        fab_dir = get_variant(variant).gerbers_dir
        figures["silk_coverage_top"] = round(board_review.silk_coverage(fab_dir / f"{project.NAME}-F_Silkscreen.gto",
                                                                        fab_dir / f"{project.NAME}-Edge_Cuts.gm1"), 3)
        figures["route_cpu_vs_baseline"] = round(figures["route_cpu_s"] / base["route_cpu_s"], 2)
        figures["baseline"] = base  # (rev 1.4 and later: rev 1.3's, the newest measured)
        longest = base["non_gnd_length_mm"] if get_variant(variant).has_s1 else min(base["non_gnd_length_mm"], V11_NON_GND_MM)
        good = (figures["route_cpu_s"] <= base["route_cpu_s"] / 2
                and review["non_gnd_length_mm"] <= longest
                and review["off_45_segments"] == review["short_jogs"] == review["overlapping_pairs"] == 0
                and review["vias_in_courtyards"] == review["vias_under_silk"] == 0
                and review["fcu_under_foreign_bodies_mm"] == 0 and figures["d32_pins_labelled"] == 32
                and figures["silk_coverage_top"] < 0.25)
        figures["meets_target"] = good
        ok = ok and good
        result[variant] = figures
    result["meets_target"] = ok
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    raise SystemExit(0 if main()["meets_target"] else 1)
