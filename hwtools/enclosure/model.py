"""The board as the case sees it: parts as prisms, plugs with their insertion axes, mounting holes (pure Python).

Input: the JSON that `board_read` prints (KiCad coordinates: mm, y down). Output: `Board`, in the case's
right-handed frame: x = KiCad x, y = -KiCad y, z up, z = 0 the board's underside. Every footprint needs a
`[[body]]` row in parts.toml (`EnclosureError` naming ref and footprint otherwise): the F.Fab outline extruded to
the datasheet's maximum height, + UNVERIFIED_MARGIN where the height has no citable source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import HwtoolsError
from ..facts import load_facts

UNVERIFIED_MARGIN = 1.0  # mm added to a height found in no reachable drawing
MOUNTING_HOLE = "MountingHole:"  # footprints the posts stand under


class EnclosureError(HwtoolsError):
    """Bad input for the case: a footprint without a body row, a board the case cannot be built around."""


@dataclass(frozen=True)
class Prism:
    points: tuple  # ((x, y), …) counter-clockwise, case frame
    z0: float
    z1: float


@dataclass(frozen=True)
class Part:
    ref: str
    footprint: str
    prisms: tuple  # of Prism: the body above, solder joints below
    source: str

    @property
    def top(self) -> float:
        return max(p.z1 for p in self.prisms)


@dataclass(frozen=True)
class Plug:
    """A plug swept along its insertion axis: seated at `mouth` (the opening of the part it mates), drawn out."""

    name: str
    ref: str
    axis: tuple  # insertion direction (unit, case frame xy)
    mouth: tuple  # (x, y) of the profile's centre where it meets the part
    z: float  # the axis' height
    width: float
    height: float
    length: float
    latch: dict | None


@dataclass(frozen=True)
class Hole:
    ref: str
    x: float
    y: float
    keepout: float  # radius of the footprint's courtyard: the post stays inside it


@dataclass(frozen=True)
class Board:
    outline: tuple  # ((x, y), …) counter-clockwise
    thickness: float
    parts: tuple
    plugs: tuple
    holes: tuple
    reach: tuple  # ((name, polygon), …): reachable from above with the lid off
    window: tuple  # polygon of the power LED, for the lid's light window
    config: dict = field(repr=False, compare=False, default_factory=dict)

    def part(self, ref: str) -> Part:
        return next(p for p in self.parts if p.ref == ref)


def to_case(p) -> tuple:
    return (float(p[0]), -float(p[1]))


def placed(fp: dict, local) -> tuple:
    """A point in a footprint's own coordinates → the case frame (KiCad: rotation counter-clockwise, y down)."""
    a = math.radians(fp["rotation"])
    x = fp["x"] + local[0] * math.cos(a) + local[1] * math.sin(a)
    y = fp["y"] - local[0] * math.sin(a) + local[1] * math.cos(a)
    return to_case((x, y))


def ccw(points) -> tuple:
    pts = [tuple(map(float, p)) for p in points]
    area = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(pts, pts[1:] + pts[:1]))
    return tuple(pts if area > 0 else pts[::-1])


def box_prism(fp: dict, box, z0: float, z1: float) -> Prism:
    x0, y0, x1, y1 = box
    return Prism(ccw([placed(fp, c) for c in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]), z0, z1)


def height(row: dict, key="height_mm") -> float:
    return row[key] + (0.0 if row.get("verified", False) else UNVERIFIED_MARGIN)


def joints(fp: dict, protrusion: float) -> list[Prism]:
    """The solder joints and lead ends below the board: a pad-sized square under every plated hole."""
    out = []
    for pad in fp["pads"]:
        if pad["plated"]:
            x, y, r = pad["x"], pad["y"], pad["size"] / 2
            out.append(Prism(ccw([to_case(c) for c in ((x - r, y - r), (x + r, y - r), (x + r, y + r),
                                                       (x - r, y + r))]), -protrusion, 0.0))
    return out


def d32_prisms(fp: dict, d32: dict, t: float) -> list[Prism]:
    """The socketed D32: socket strips on the footprint's pad rows, spacers, the module, its parts and boxes."""
    local = [((p["x"] - fp["x"]), (p["y"] - fp["y"])) for p in fp["pads"]]
    a = math.radians(-fp["rotation"])  # board offsets back into the footprint's frame
    local = [(dx * math.cos(a) + dy * math.sin(a), -dx * math.sin(a) + dy * math.cos(a)) for dx, dy in local]
    rows: dict[float, list] = {}
    for lx, ly in local:
        rows.setdefault(round(ly, 1), []).append(lx)
    half, pitch = d32["socket_width_mm"] / 2, 1.27
    socket_top = t + d32["socket_mm"] + d32["spacer_mm"]
    out = [box_prism(fp, (min(xs) - pitch, ly - half, max(xs) + pitch, ly + half), t, socket_top)
           for ly, xs in sorted(rows.items())]
    outline = ccw([to_case(p) for p in fp["outline"]])
    board_top = socket_top + d32["module_board_mm"]
    out.append(Prism(outline, socket_top, board_top + (0 if d32["module_board_verified"] else UNVERIFIED_MARGIN)))
    out.append(Prism(outline, board_top, board_top + height(d32["parts"])))
    out += [box_prism(fp, d32[k]["box"], board_top, board_top + height(d32[k])) for k in ("usb", "battery", "reset")]
    return out


def module_top(d32: dict, t: float) -> float:
    """The D32 module board's top face (nominal: what a plug's axis is measured from)."""
    return t + d32["socket_mm"] + d32["spacer_mm"] + d32["module_board_mm"]


def part_of(fp: dict, facts: dict, t: float) -> Part:
    rows = {r["footprint"]: r for r in facts.get("body", [])}
    row = rows.get(fp["footprint"])
    if row is None:
        raise EnclosureError(f"{fp['ref']} ({fp['footprint']}): no [[body]] row in hwtools/parts.toml — add its "
                             "datasheet height with the source")
    below = joints(fp, facts["enclosure"]["lead_protrusion_mm"] + UNVERIFIED_MARGIN
                   * (not facts["enclosure"].get("lead_protrusion_verified", False)))
    if fp["side"] != "top":
        raise EnclosureError(f"{fp['ref']} ({fp['footprint']}): parts on the board's underside are not supported")
    if row.get("model") == "d32":
        return Part(fp["ref"], fp["footprint"], tuple(d32_prisms(fp, facts["d32_model"], t) + below),
                    facts["d32_model"]["source"])
    if len(fp["outline"]) < 3:
        raise EnclosureError(f"{fp['ref']} ({fp['footprint']}): no F.Fab outline and no courtyard to extrude")
    body = Prism(ccw([to_case(p) for p in fp["outline"]]), t, t + height(row))
    return Part(fp["ref"], fp["footprint"], (body, *below), row["source"])


def plug_of(row: dict, fp: dict, facts: dict, t: float) -> Plug:
    """Where `row`'s plug meets `fp`: the profile centred on the mating outline (or the D32's USB box), at the
    outline's end facing the plug."""
    a = math.radians(fp["rotation"])
    ax, ay = row["axis"]
    axis = (ax * math.cos(a) + ay * math.sin(a), ax * math.sin(a) - ay * math.cos(a))  # placed() without offset
    if row.get("mates_box"):
        x0, y0, x1, y1 = facts["d32_model"][row["mates_box"]]["box"]
        pts = [placed(fp, c) for c in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
        base = module_top(facts["d32_model"], t)
    else:
        pts, base = [to_case(p) for p in fp["outline"]], t
    along = [p[0] * axis[0] + p[1] * axis[1] for p in pts]
    across = [-p[0] * axis[1] + p[1] * axis[0] for p in pts]
    s, c = min(along), (min(across) + max(across)) / 2
    mouth = (s * axis[0] - c * axis[1], s * axis[1] + c * axis[0])
    return Plug(row["name"], fp["ref"], axis, mouth, base + row["axis_height_mm"], row["width_mm"], row["height_mm"],
                row["length_mm"], row.get("latch"))


def load(data: dict, facts: dict | None = None) -> Board:
    """The Board of `board_read`'s JSON; EnclosureError for a footprint without a row (nothing is built)."""
    facts = facts or load_facts()
    t = float(data["thickness"])
    fps = data["footprints"]
    parts = tuple(part_of(fp, facts, t) for fp in fps)
    plugs = tuple(plug_of(row, fp, facts, t) for row in facts.get("plug", []) for fp in fps
                  if fp["footprint"] == row["mates"])
    # keep-out: the courtyard's inscribed radius (board_read gives a mounting hole's courtyard as its box's corners)
    holes = tuple(Hole(fp["ref"], *to_case((fp["x"], fp["y"])),
                       min(math.dist(to_case((fp["x"], fp["y"])), to_case(p)) for p in fp["outline"]) / math.sqrt(2))
                  for fp in fps if fp["footprint"].startswith(MOUNTING_HOLE))
    cfg = facts["enclosure"]
    by_ref = {fp["ref"]: fp for fp in fps}
    reach = [(ref, ccw([to_case(p) for p in by_ref[ref]["outline"]])) for ref in cfg["reach_lid_off"] if ref in by_ref]
    reach += [(f"{fp['ref']} reset button", box_prism(fp, facts["d32_model"]["reset"]["box"], 0, 0).points)
              for fp in fps if by_ref and _row(facts, fp).get("model") == "d32"]
    window = ccw([to_case(p) for p in by_ref[cfg["window_ref"]]["outline"]]) if cfg["window_ref"] in by_ref else ()
    return Board(ccw([to_case(p) for p in data["outline"]]), t, parts, plugs, holes, tuple(reach), window, facts)


def _row(facts: dict, fp: dict) -> dict:
    return next((r for r in facts.get("body", []) if r["footprint"] == fp["footprint"]), {})
