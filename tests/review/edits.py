"""Scripted single edits of a generated KiCad project (the staged fixture: a copy of a variant's kicad/ folder),
made the way each tool would make it: the netlist and schematic as the generate step writes them (s-expressions
and the schematic's own text), the board with KiCad's pcbnew. Each edit says what a review must list: a set of
(kind, ref or net) — exactly those, nothing more (precision and recall 1.0)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import sexpdata
from sexpdata import Symbol

NAME = "p1reader"


# --- the netlist (what `kicad-cli sch export netlist` writes; read by the review as s-expressions) ---------

def _load_net(kicad: Path):
    return sexpdata.loads((kicad / f"{NAME}.net").read_text(encoding="utf-8"))


def _save_net(kicad: Path, tree):
    (kicad / f"{NAME}.net").write_text(sexpdata.dumps(tree), encoding="utf-8")


def _section(tree, head: str):
    return next(x for x in tree if isinstance(x, list) and x and x[0] == Symbol(head))


def _items(node, head: str):
    return [x for x in node if isinstance(x, list) and x and x[0] == Symbol(head)]


def _comp(tree, ref: str):
    return next(c for c in _items(_section(tree, "components"), "comp") if _items(c, "ref")[0][1] == ref)


def _net(tree, name: str):
    return next(n for n in _items(_section(tree, "nets"), "net") if _items(n, "name")[0][1] == name)


def net_set(kicad: Path, ref: str, key: str, value: str):
    """A part's value or footprint in the netlist."""
    tree = _load_net(kicad)
    _items(_comp(tree, ref), key)[0][1] = value
    _save_net(kicad, tree)


def net_field(kicad: Path, ref: str, field: str, value: str):
    tree = _load_net(kicad)
    for f in _items(_items(_comp(tree, ref), "fields")[0], "field"):
        if _items(f, "name")[0][1] == field:
            f[2] = value
    _save_net(kicad, tree)


def net_pins(kicad: Path, moves: dict[tuple[str, str], str]):
    """Move pins ((ref, pin) → net name) between nets (made if missing); a net left without pins is removed."""
    tree = _load_net(kicad)
    nets = _section(tree, "nets")
    for (ref, pin), target in moves.items():
        for n in _items(nets, "net"):
            for node in _items(n, "node"):
                if _items(node, "ref")[0][1] == ref and _items(node, "pin")[0][1] == pin:
                    n.remove(node)
                    node_moved = node
        names = [_items(n, "name")[0][1] for n in _items(nets, "net")]
        if target not in names:
            nets.append([Symbol("net"), [Symbol("code"), str(len(names) + 1)], [Symbol("name"), target],
                         [Symbol("class"), "Default"]])
        _net(tree, target).append(node_moved)
    for n in _items(nets, "net"):
        if not _items(n, "node"):
            nets.remove(n)
    _save_net(kicad, tree)


def net_add_part(kicad: Path, like: str, ref: str, pins: dict[str, str]):
    """A copy of part `like` as `ref`, its pins on the nets given."""
    tree = _load_net(kicad)
    comp = sexpdata.loads(sexpdata.dumps(_comp(tree, like)))
    _items(comp, "ref")[0][1] = ref
    _section(tree, "components").append(comp)
    for pin, net in pins.items():
        _net(tree, net).append([Symbol("node"), [Symbol("ref"), ref], [Symbol("pin"), pin]])
    _save_net(kicad, tree)


def rename_everywhere(kicad: Path, old: str, new: str, quoted=True):
    """A name replaced in the netlist, schematic and board text (a net or a reference)."""
    for suffix in ("net", "kicad_sch", "kicad_pcb"):
        f = kicad / f"{NAME}.{suffix}"
        f.write_text(f.read_text(encoding="utf-8").replace(f'"{old}"', f'"{new}"'), encoding="utf-8")


# --- the schematic's text ----------------------------------------------------------------------------------

def sch_property(kicad: Path, ref: str, name: str, value: str):
    f = kicad / f"{NAME}.kicad_sch"
    text = f.read_text(encoding="utf-8")
    at = text.index(f'(property "Reference" "{ref}"')
    start = text.rindex("\n\t(symbol (lib_id", 0, at)
    end = text.index("\n\t)\n", at)
    block = re.sub(rf'\(property "{name}" "[^"]*"', f'(property "{name}" "{value}"', text[start:end], count=1)
    f.write_text(text[:start] + block + text[end:], encoding="utf-8")


# --- the board, with pcbnew --------------------------------------------------------------------------------

def board(kicad: Path, edit):
    import pcbnew

    path = kicad / f"{NAME}.kicad_pcb"
    b = pcbnew.LoadBoard(str(path))
    edit(b, pcbnew)
    assert b.Save(str(path)) is not False


def _move(fp, pcbnew, dx_nm=0, dy_nm=0):
    p = fp.GetPosition()
    fp.SetPosition(pcbnew.VECTOR2I(p.x + dx_nm, p.y + dy_nm))


def _pad(b, ref, number):
    return next(p for p in b.FindFootprintByReference(ref).Pads() if p.GetNumber() == number)


def _net_of_pad(b, ref, number) -> str:
    return _pad(b, ref, number).GetNetname()


# --- the edits ---------------------------------------------------------------------------------------------

def value(k: Path):
    net_set(k, "R3", "value", "2.0 kOhm")
    sch_property(k, "R3", "Value", "2.0 kOhm")
    board(k, lambda b, pn: b.FindFootprintByReference("R3").SetValue("2.0 kOhm"))
    return {("value", "R3")}


def footprint(k: Path):
    fp = "Resistor_THT:R_Axial_DIN0207_L6.3mm_D2.5mm_P10.16mm_Horizontal"
    net_set(k, "R3", "footprint", fp)
    sch_property(k, "R3", "Footprint", fp)
    return {("footprint", "R3")}


def mpn(k: Path):
    net_field(k, "R3", "MPN", "MFR-50FBF52-2K0")
    return {("field", "R3")}


def pins_swapped(k: Path):
    """R3's two pins change nets with each other: both nets are rewired."""
    tree = _load_net(k)
    on = {_items(n, "name")[0][1]: n for n in _items(_section(tree, "nets"), "net")}
    nets = {pin: name for name, n in on.items() for node in _items(n, "node")
            if _items(node, "ref")[0][1] == "R3" for pin in [_items(node, "pin")[0][1]]}
    net_pins(k, {("R3", "1"): nets["2"], ("R3", "2"): nets["1"]})

    def swap(b, pn):
        p1, p2 = _pad(b, "R3", "1"), _pad(b, "R3", "2")
        n1, n2 = p1.GetNet(), p2.GetNet()
        p1.SetNet(n2)
        p2.SetNet(n1)
    board(k, swap)
    return {("net-rewired", nets["1"]), ("net-rewired", nets["2"])}


def moved(k: Path):
    board(k, lambda b, pn: _move(b.FindFootprintByReference("R1"), pn, dx_nm=500_000))
    return {("moved", "R1")}


def rotated(k: Path):
    board(k, lambda b, pn: b.FindFootprintByReference("R1").SetOrientationDegrees(
        b.FindFootprintByReference("R1").GetOrientationDegrees() + 90))
    return {("rotated", "R1")}


def net_renamed(k: Path):
    rename_everywhere(k, "/I2C_SCL", "/I2C_CLK")
    return {("net-renamed", "/I2C_CLK")}


def part_renamed(k: Path):
    rename_everywhere(k, "R3", "R30")
    return {("renamed", "R30")}


def part_added(k: Path):
    """R99, a copy of R3 beside it, between +3V3 and GND."""
    net_add_part(k, "R3", "R99", {"1": "+3V3", "2": "GND"})

    def add(b, pn):
        src = b.FindFootprintByReference("R3")
        fp = pn.FOOTPRINT(src)
        fp.SetReference("R99")
        _move(fp, pn, dy_nm=4_000_000)
        for pad, net in (("1", "+3V3"), ("2", "GND")):
            next(p for p in fp.Pads() if p.GetNumber() == pad).SetNet(b.FindNet(net))
        b.Add(fp)
    board(k, add)
    return {("part-added", "R99")}


def silkscreen_text(k: Path):
    def add(b, pn):
        t = pn.PCB_TEXT(b)
        t.SetText("REV X")
        t.SetLayer(pn.F_SilkS)
        box = b.GetBoardEdgesBoundingBox()
        t.SetPosition(pn.VECTOR2I(box.GetCenter().x, box.GetTop() + 3_000_000))
        b.Add(t)
    board(k, add)
    return {("silkscreen", None)}


def nets_merged(k: Path):
    """I2C_SDA joined to I2C_SCL: its pins, pads and tracks."""
    tree = _load_net(k)
    sda = [(_items(n, "ref")[0][1], _items(n, "pin")[0][1]) for n in _items(_net(tree, "/I2C_SDA"), "node")]
    net_pins(k, {pin: "/I2C_SCL" for pin in sda})

    def merge(b, pn):
        scl = b.FindNet("/I2C_SCL")
        for fp in b.GetFootprints():
            for pad in fp.Pads():
                if pad.GetNetname() == "/I2C_SDA":
                    pad.SetNet(scl)
        for t in b.GetTracks():
            if t.GetNetname() == "/I2C_SDA":
                t.SetNet(scl)
    board(k, merge)
    return {("net-merged", "/I2C_SCL")}


def net_split(k: Path):
    """One end of I2C_SCL (the header's pin) on a net of its own."""
    tree = _load_net(k)
    pins = [(_items(n, "ref")[0][1], _items(n, "pin")[0][1]) for n in _items(_net(tree, "/I2C_SCL"), "node")]
    header = next(p for p in sorted(pins) if p[0].startswith("J"))
    net_pins(k, {header: "/I2C_SCL_HDR"})
    return {("net-split", "/I2C_SCL")}


def via_removed(k: Path):
    """Edited on the generated board with pcbnew: no design change, a routing change of its own."""
    found = {}

    def remove(b, pn):
        via = next(t for t in b.GetTracks() if t.GetClass() == "PCB_VIA")
        found["net"] = via.GetNetname()
        b.Remove(via)
    board(k, remove)
    return {("routing", found["net"])}


def track_moved(k: Path):
    """Edited on the generated board with pcbnew: one segment shifted 0.5 mm."""
    found = {}

    def shift(b, pn):
        seg = next(t for t in b.GetTracks() if t.GetClass() == "PCB_TRACK" and t.GetNetname())
        found["net"] = seg.GetNetname()
        seg.Move(pn.VECTOR2I(0, 500_000))
    board(k, shift)
    return {("routing", found["net"])}


def outline(k: Path):
    def grow(b, pn):
        edges = [d for d in b.GetDrawings() if d.GetLayerName() == "Edge.Cuts"]
        right = max(edges, key=lambda d: min(d.GetStart().x, d.GetEnd().x))
        right.Move(pn.VECTOR2I(1_000_000, 0))
    board(k, grow)
    return {("outline", None)}


def keepout(k: Path):
    def add(b, pn):
        z = pn.ZONE(b)
        z.SetIsRuleArea(True)
        z.SetDoNotAllowVias(True)
        z.SetLayer(pn.F_Cu)
        box = b.GetBoardEdgesBoundingBox()
        x, y = box.GetLeft() + 2_000_000, box.GetTop() + 2_000_000
        for dx, dy in ((0, 0), (3_000_000, 0), (3_000_000, 3_000_000), (0, 3_000_000)):
            z.AppendCorner(pn.VECTOR2I(x + dx, y + dy), -1)
        b.Add(z)
    board(k, add)
    return {("keepout", None)}


def hole(k: Path):
    board(k, lambda b, pn: next(iter(b.FindFootprintByReference("H1").Pads())).SetDrillSize(
        pn.VECTOR2I(3_000_000, 3_000_000)))
    return {("holes", "H1")}


def reordered(k: Path):
    """The board's footprints and the netlist's parts in another order: nothing changed."""
    f = k / f"{NAME}.net"
    tree = _load_net(k)
    comps = _section(tree, "components")
    items = comps[1:]
    random.Random(28).shuffle(items)
    comps[1:] = items
    _save_net(k, tree)
    text = (k / f"{NAME}.kicad_pcb").read_text(encoding="utf-8")
    blocks = re.findall(r"\n\t\(footprint .*?\n\t\)(?=\n)", text, flags=re.S)
    body = text
    for blk in blocks:
        body = body.replace(blk, "", 1)
    shuffled = blocks[:]
    random.Random(28).shuffle(shuffled)
    at = body.index("\n\t(footprint") if "\n\t(footprint" in body else body.rindex("\n)")
    at = body.index("\n\t(gr_") if "\n\t(gr_" in body else body.rindex("\n)")
    (k / f"{NAME}.kicad_pcb").write_text(body[:at] + "".join(shuffled) + body[at:], encoding="utf-8")
    assert f.is_file()
    return set()


EDITS = {f.__name__: f for f in (value, footprint, mpn, pins_swapped, moved, rotated, net_renamed, part_renamed,
                                 part_added, silkscreen_text, nets_merged, net_split, via_removed, track_moved,
                                 outline, keepout, hole, reordered)}
