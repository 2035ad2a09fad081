"""Parts of the board for ordering and assembly: the BOM CSV grouped by part and AISLER's components.json.

Read from the footprints of the `.kicad_pcb` (kiutils, read only): each carries the hidden fields `MPN` and
`Manufacturer`. A part in the BOM without a real MPN is an error that names its references; parts marked
"exclude from BOM" (the mounting holes) are skipped everywhere. `order_csv` adds the parts a maker buys
that have no footprint (the D32's sockets and header pins: `[[bom_only]]` in parts.toml); `check_fit` proves each through-hole
MPN fits its footprint (pins, pitch, body: `[[tht_part]]` in parts.toml).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import HwtoolsError
from .facts import load_facts

# Field values that mean "nobody chose a part yet"; compared lower-case.
PLACEHOLDERS = {"", "~", "-", "?", "tbd", "todo", "n/a", "na", "none", "xxx"}


class BomError(HwtoolsError, ValueError):
    """The board cannot be ordered as it is (e.g. a part without an MPN)."""


@dataclass(frozen=True)
class Part:
    ref: str
    value: str
    footprint: str        # "Library:Name"
    mpn: str
    manufacturer: str
    description: str
    side: str             # "top" | "bottom"
    x_mm: float           # from the aux origin, Y up (AISLER / KiCad position-file convention)
    y_mm: float
    rotation: float       # degrees, counter-clockwise, in (-180, 180]
    mount_type: str       # "smt" | "tht"
    in_bom: bool
    place: bool = True    # False for a footprint marked Do-Not-Place (KiCad's `dnp` attribute)

    @property
    def pack(self) -> str:
        return self.footprint.split(":", 1)[-1]


def _natural(ref: str):
    """R2 before R10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", ref)]


def _rotation(angle) -> float:
    a = float(angle or 0.0) % 360.0
    a = a - 360.0 if a > 180.0 else a
    return round(a, 4) + 0.0  # + 0.0 turns -0.0 into 0.0


def _mount_type(fp) -> str:
    kind = fp.attributes.type if fp.attributes else None
    if kind == "smd":
        return "smt"
    if kind == "through_hole":
        return "tht"
    # no attribute set: decide by the pads
    return "tht" if any(p.type in ("thru_hole", "np_thru_hole") for p in fp.pads) else "smt"


def _description(fp) -> str:
    text = (fp.properties.get("Description") or "").strip()
    if not text:  # fall back to the footprint's own description, without its datasheet links
        text = re.sub(r",?\s*(see\s+)?https?://\S+", "", fp.description or "").strip(" ,")
    return " ".join(text.split())


def _do_not_place(board_text: str) -> set:
    """References of footprints with KiCad's `dnp` attribute (kiutils 1.4 drops that flag when it reads)."""
    refs = set()
    for block in board_text.split("\n\t(footprint ")[1:]:
        attr = re.search(r"^\t\t\(attr ([^)]*)\)", block, flags=re.M)
        ref = re.search(r'\(property "Reference" "([^"]*)"', block)
        if attr and ref and "dnp" in attr.group(1).split():
            refs.add(ref.group(1))
    return refs


_COPPER_ITEMS = re.compile(r"\n\t\((segment|arc|via|zone)\s")
# a footprint's drawing or 3D model, as KiCad writes it: its first line two tabs in, its inner lines deeper, its
# closing parenthesis alone on a line two tabs in (only footprints have items of these names)
_FOOTPRINT_DRAWING = re.compile(r"\n\t\t\((?:fp_line|fp_arc|fp_circle|fp_poly|fp_rect|fp_curve|fp_text|model)\b[^\n]*"
                                r"(?:\n\t\t\t[^\n]*)*\n\t\t\)(?=\n)")


def _parts_only(board_text: str) -> str:
    """The board file's text without its tracks, vias and zones, nor its footprints' drawings and 3D models: a
    third of the file, and nothing here reads them (kiutils parses s-expressions in Python). KiCad writes each
    item from a new line, indented by its depth in tabs; text laid out otherwise comes back whole."""
    body, closing, end = board_text.rstrip().rpartition("\n)")
    if not closing:
        return board_text
    items = re.split(r"(?=\n\t\()", body)
    body = "".join(i for i in items if not _COPPER_ITEMS.match(i))
    return _FOOTPRINT_DRAWING.sub("", body) + closing + end + "\n"


def read_parts(pcb: Path) -> list[Part]:
    """Every footprint of the board as a Part, sorted by reference (natural order)."""
    from kiutils.board import Board
    from kiutils.utils.sexpr import parse_sexp

    text = pcb.read_text(encoding="utf-8")
    board = Board.from_sexpr(parse_sexp(_parts_only(text)))
    dnp = _do_not_place(text)
    origin = board.setup.auxAxisOrigin if board.setup else None
    ox, oy = (origin.X, origin.Y) if origin else (0.0, 0.0)
    parts = []
    for fp in board.footprints:
        props = fp.properties
        attrs = fp.attributes
        parts.append(Part(
            ref=props.get("Reference", "").strip(),
            value=props.get("Value", "").strip(),
            footprint=fp.libId,
            mpn=(props.get("MPN") or "").strip(),
            manufacturer=(props.get("Manufacturer") or "").strip(),
            description=_description(fp),
            side="bottom" if fp.layer == "B.Cu" else "top",
            x_mm=round(fp.position.X - ox, 4) + 0.0,
            y_mm=round(-(fp.position.Y - oy), 4) + 0.0,
            rotation=_rotation(fp.position.angle),
            mount_type=_mount_type(fp),
            in_bom=not (attrs and attrs.excludeFromBom),
            place=props.get("Reference", "").strip() not in dnp,
        ))
    return sorted(parts, key=lambda p: _natural(p.ref))


def bom_parts(parts: list[Part]) -> list[Part]:
    """The parts to buy. Raises BomError naming every BOM part whose MPN is missing or a placeholder."""
    wanted = [p for p in parts if p.in_bom]
    missing = [p.ref or "(no reference)" for p in wanted if p.mpn.strip().lower() in PLACEHOLDERS]
    if missing:
        raise BomError(f"{len(missing)} part(s) without an orderable MPN: {', '.join(missing)} — set the `MPN` "
                       "field (hwtools/circuit.py) or mark the footprint 'exclude from BOM'")
    return wanted


def bom_rows(parts: list[Part]) -> list[dict]:
    """One row per distinct (value, footprint, MPN), designators in natural order, rows sorted by first ref."""
    groups: dict[tuple, list[Part]] = {}
    for p in bom_parts(parts):
        groups.setdefault((p.value, p.footprint, p.mpn), []).append(p)
    rows = []
    for (value, footprint, mpn), members in groups.items():
        members.sort(key=lambda p: _natural(p.ref))
        rows.append({
            "Qty": len(members),
            "Designators": " ".join(p.ref for p in members),
            "Value": value,
            "Footprint": footprint,
            "Manufacturer": members[0].manufacturer,
            "MPN": mpn,
            "Description": members[0].description,
        })
    rows.sort(key=lambda r: _natural(r["Designators"].split()[0]))
    return rows


def components(parts: list[Part]) -> list[dict]:
    """AISLER's components.json entries (the shape their KiCad push plugin uploads)."""
    return [{
        "designator": p.ref,
        "mpn": p.mpn,
        "pack": p.pack,
        "value": p.value,
        "side": p.side,
        "pos_x": p.x_mm,
        "pos_y": p.y_mm,
        "rotation": p.rotation,
        "mount_type": p.mount_type,
        "place": p.place,
    } for p in bom_parts(parts)]


def components_json(parts: list[Part]) -> str:
    return json.dumps(components(parts), indent=2, ensure_ascii=False) + "\n"


# --- what the board alone does not show ---------------------------------------------------------------------

BOM_ONLY_KEYS = ("for_ref", "qty", "designators", "value", "manufacturer", "mpn", "description")


def bom_only_items(parts: list[Part], facts: dict | None = None) -> list[dict]:
    """Parts to buy without a footprint of their own (D32 sockets and headers), for a board that has
    the part they belong to. They go into bom.csv and the iBoM (hwtools.ibom), never into components.json:
    AISLER would try to place them."""
    refs = {p.ref for p in parts}
    return [{k: item[k] for k in BOM_ONLY_KEYS} for item in (facts or load_facts()).get("bom_only", [])
            if item["for_ref"] in refs]


def bom_only_rows(parts: list[Part], facts: dict | None = None) -> list[dict]:
    """bom.csv's lines for the BOM-only parts (no footprint)."""
    return [{"Qty": item["qty"], "Designators": item["designators"], "Value": item["value"], "Footprint": "",
             "Manufacturer": item["manufacturer"], "MPN": item["mpn"], "Description": item["description"]}
            for item in bom_only_items(parts, facts)]


def order_csv(parts: list[Part], facts: dict | None = None) -> str:
    """bom.csv as a maker orders it: the board's parts, then the BOM-only lines."""
    out = io.StringIO()
    rows = bom_rows(parts) + bom_only_rows(parts, facts)
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["Qty"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@dataclass(frozen=True)
class Footprint:
    """What a footprint offers a through-hole part: pins, pad 1 to pad 2 distance, courtyard size (mm)."""

    pins: int
    pitch_mm: float
    courtyard_mm: tuple


def footprint_shape(lib_id: str, project_libs: dict | None = None) -> Footprint:
    import math

    from kiutils.footprint import Footprint as KiFootprint

    from .kicadlibs import footprint_file

    fp = KiFootprint.from_file(str(footprint_file(lib_id, project_libs)))
    pads = {}
    for pad in fp.pads:
        if pad.type == "thru_hole" and str(pad.number):
            pads.setdefault(str(pad.number), (pad.position.X, pad.position.Y))
    pitch = math.dist(pads["1"], pads["2"]) if {"1", "2"} <= set(pads) else 0.0
    xs, ys = [], []
    for g in fp.graphicItems:
        if getattr(g, "layer", None) != "F.CrtYd":
            continue
        kind = type(g).__name__
        if kind in ("FpLine", "FpRect"):
            xs += [g.start.X, g.end.X]
            ys += [g.start.Y, g.end.Y]
        elif kind == "FpCircle":
            r = math.dist((g.center.X, g.center.Y), (g.end.X, g.end.Y))
            xs += [g.center.X - r, g.center.X + r]
            ys += [g.center.Y - r, g.center.Y + r]
        elif kind == "FpPoly":
            xs += [p.X for p in g.coordinates]
            ys += [p.Y for p in g.coordinates]
    court = (round(max(xs) - min(xs), 3), round(max(ys) - min(ys), 3)) if xs else (0.0, 0.0)
    return Footprint(len(pads), round(pitch, 3), court)


LEAD_BEND_MM = 1.0  # an axial lead needs this much straight lead out of the body before its bend
PITCH_TOLERANCE_MM = 0.1  # 2.54 mm parts on 2.50 mm footprints bend that much without stress


def fit_problems(parts: list[Part], project_libs: dict | None = None, facts: dict | None = None) -> list[str]:
    """Each through-hole part in the BOM against its footprint, from the [[tht_part]] table in parts.toml."""
    table = (facts or load_facts()).get("tht_part", [])
    problems = []
    for p in bom_parts(parts):
        if p.mount_type != "tht":
            continue
        rows = [r for r in table if p.mpn.startswith(r["mpn_prefix"])]
        row = max(rows, key=lambda r: len(r["mpn_prefix"]), default=None)  # EEU-FR1A102L before EEU-FR1A102
        if row is None:
            problems.append(f"{p.ref} {p.mpn}: no [[tht_part]] row in parts.toml (pins, pitch, body with a source)")
            continue
        fp = footprint_shape(p.footprint, project_libs)
        if fp.pins != row["pins"]:
            problems.append(f"{p.ref} {p.mpn}: {row['pins']} pins, footprint {p.pack} has {fp.pins}")
        if row["kind"] == "axial":
            need = row["body_mm"][0] + 2 * LEAD_BEND_MM
            if fp.pitch_mm < need:
                problems.append(f"{p.ref} {p.mpn}: body {row['body_mm'][0]} mm needs ≥ {need:g} mm lead spacing, "
                                f"footprint {p.pack} has {fp.pitch_mm:g} mm")
        elif abs(fp.pitch_mm - row["pitch_mm"]) > PITCH_TOLERANCE_MM:
            problems.append(f"{p.ref} {p.mpn}: lead pitch {row['pitch_mm']:g} mm, footprint {p.pack} has "
                            f"{fp.pitch_mm:g} mm")
        if "body_mm" in row and any(b > c for b, c in zip(sorted(row["body_mm"]), sorted(fp.courtyard_mm))):
            problems.append(f"{p.ref} {p.mpn}: body {row['body_mm'][0]:g} × {row['body_mm'][1]:g} mm does not fit "
                            f"the courtyard of {p.pack} ({fp.courtyard_mm[0]:g} × {fp.courtyard_mm[1]:g} mm)")
    return problems


def check_fit(parts: list[Part], project_libs: dict | None = None, facts: dict | None = None):
    """Raise BomError naming every through-hole part that cannot fit its footprint."""
    problems = fit_problems(parts, project_libs, facts)
    if problems:
        raise BomError("part(s) that do not fit their footprint: " + "; ".join(problems))
