"""The generated board is connection-equivalent to the proven v1.1 board (seed-board-v1.1-pads.csv).

Read from KiCad's own netlist export of the generated schematic — an independent reader of what was written.
"""

import csv
from collections import defaultdict

import sexpdata

from design_paths import KICAD

# Footprints whose KiCad library name changed since the KiCad 5 original, the D32 that moved from
# "Paul's 3D Things" into the project library, and Q1's one deliberate change: the wide TO-92 variant,
# whose annular ring meets AISLER's 0.30 mm (the original's 0.15 mm does not). Same pads, same pinout.
RENAMED = {
    "Connector_RJ:RJ12_Amphenol_54601": "Connector_RJ:RJ12_Amphenol_54601-x06_Horizontal",
    "Paul's 3D Things:LolinD32": "p1reader:LolinD32",
    "Package_TO_SOT_THT:TO-92_Inline": "Package_TO_SOT_THT:TO-92_Inline_Wide",
}


def _children(node, head):
    return [x for x in node if isinstance(x, list) and x and x[0] == sexpdata.Symbol(head)]


def _field(node, head):
    found = _children(node, head)
    return found[0][1] if found else None


def load_generated(netlist=KICAD / "p1reader.net"):
    """Parts and net pad groups from a KiCad netlist export."""
    tree = sexpdata.loads(netlist.read_text(encoding="utf-8"))
    parts = {}
    for comp in _children(_children(tree, "components")[0], "comp"):
        parts[_field(comp, "ref")] = (_field(comp, "value"), _field(comp, "footprint"))
    groups = []
    for net in _children(_children(tree, "nets")[0], "net"):
        pads = frozenset((_field(n, "ref"), str(_field(n, "pin"))) for n in _children(net, "node"))
        groups.append(pads)
    return parts, groups


def load_reference(reference_dir):
    parts, nets = {}, defaultdict(set)
    with open(reference_dir / "seed-board-v1.1-pads.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            parts[row["ref"]] = (row["value"], RENAMED.get(row["footprint"], row["footprint"]))
            if row["net"]:
                nets[row["net"]].add((row["ref"], row["pad"]))
    return parts, [frozenset(p) for p in nets.values()]


def joined(groups):
    """Only groups that join two or more pads say something about connectivity."""
    return {g for g in groups if len(g) > 1}


def test_same_parts_values_and_footprints(reference_dir):
    generated, _ = load_generated()
    reference, _ = load_reference(reference_dir)
    assert generated == reference


def test_same_pads_joined(reference_dir):
    _, generated = load_generated()
    _, reference = load_reference(reference_dir)
    assert joined(generated) == joined(reference)


def test_equivalence_check_notices_a_swapped_pad(reference_dir):
    _, generated = load_generated()
    _, reference = load_reference(reference_dir)
    swapped = [g - {("R2", "2")} | {("R2", "1")} if ("R2", "2") in g else g - {("R2", "1")} | {("R2", "2")}
               if ("R2", "1") in g else g for g in generated]
    assert joined(swapped) != joined(reference)
