"""Writing the schematic: stable UUIDs, KiCad's text effects and an indented s-expression layout."""

import functools
import uuid

import sexpdata
from sexpdata import Symbol as S

_NS = uuid.UUID("5d1b7a4e-3c1f-4a53-9f62-7c1a50d3e0b1")


def stable_uuid(*key):
    """The same item gets the same UUID on every run, so the file is reproducible byte for byte."""
    return str(uuid.uuid5(_NS, "/".join(map(str, key))))


def r4(v):
    return round(v, 4)


def effects(size=1.27, hide=False, justify=None, bold=False):
    font = [S("font"), [S("size"), size, size]]
    if bold:
        font.append([S("bold"), S("yes")])
    node = [S("effects"), font]
    if justify:
        node.append([S("justify")] + [S(j) for j in justify])
    if hide:
        node.append([S("hide"), S("yes")])
    return node


# Lists with these heads start on their own line; everything else stays inline (KiCad's own style, roughly).
_BLOCKS = {"kicad_sch", "lib_symbols", "symbol", "property", "pin", "instances", "project", "path", "wire", "label",
           "no_connect", "text", "title_block", "sheet_instances", "rectangle", "polyline", "circle", "arc",
           "effects", "stroke", "fill", "pts", "uuid", "at", "lib_id", "unit", "in_bom", "on_board", "dnp",
           "exclude_from_sim", "version", "generator", "generator_version", "paper", "embedded_fonts",
           "pin_names", "pin_numbers", "name", "number", "length", "reference", "page", "comment", "rev", "title",
           "company", "fields_autoplaced", "text_box", "junction", "mirror"}


# An atom's text, remembered: a schematic writes the same few thousand atoms tens of thousands of times.
# typed: 1 and 1.0 (and a Symbol and a str of the same letters) are different atoms.
_atom = functools.lru_cache(maxsize=None, typed=True)(sexpdata.dumps)


def format_sexpr(node, indent=0):
    """Indented s-expression text: one structural item per line so diffs of the file stay readable."""
    if not isinstance(node, list):
        return _atom(node)
    head, *rest = node
    parts = [_atom(head)]
    inline = []
    lines = []
    for item in rest:
        # a child list of a block head starts a line of its own when it is a 'big' item (it has list children)
        if isinstance(item, list) and item and isinstance(item[0], S) and item[0].value() in _BLOCKS \
                and any(isinstance(x, list) for x in item[1:]):
            lines.append("\t" * (indent + 1) + format_sexpr(item, indent + 1))
        else:
            inline.append(format_sexpr(item, indent + 1) if isinstance(item, list) else _atom(item))
    text = "(" + " ".join(parts + inline)
    if lines:
        text += "\n" + "\n".join(lines) + "\n" + "\t" * indent
    return text + ")"


KICAD_SCH_VERSION = 20250114  # KiCad 9.0


def _xy(p):
    return [S("xy"), r4(p[0] * 1.27), r4(p[1] * 1.27)]


def _at_grid(p, angle=None):
    node = [S("at"), r4(p[0] * 1.27), r4(p[1] * 1.27)]
    return node + [angle] if angle is not None else node


def _property(key, value, at, angle, hide):
    return [S("property"), key, value, [S("at"), r4(at[0]), r4(at[1]), angle], effects(hide=hide)]


def _symbol(drawing, s, project):
    """One placed symbol with its fields (visible ones where the drawing put them, hidden ones at its origin)."""
    angle = s.orient.upright_field_angle
    node = [S("symbol"), [S("lib_id"), s.lib_id], [S("at"), r4(s.at[0]), r4(s.at[1]), s.orient.angle]]
    if s.orient.mirror:
        node.append([S("mirror"), S(s.orient.mirror)])
    virtual = s.kind != "part"
    part = None if virtual else drawing.board.parts[s.ref]
    node += [[S("unit"), 1], [S("exclude_from_sim"), S("no")],
             [S("in_bom"), S("no" if virtual or part.fields.get("exclude_from_bom") == "yes" else "yes")],
             [S("on_board"), S("no" if virtual else "yes")], [S("dnp"), S("no")], [S("uuid"), stable_uuid("symbol", s.ref)]]
    for name, value, at in s.fields:
        node.append(_property(name, value, at if at else s.at, angle, at is None))
    if not virtual:
        hidden = [("Footprint", part.footprint), ("Datasheet", part.datasheet or "~"),
                  ("Description", part.description or "")]
        hidden += [(k, v) for k, v in sorted(part.fields.items())
                   if k not in ("Footprint", "Datasheet", "Description", "exclude_from_bom")]
    else:
        hidden = [("Footprint", ""), ("Datasheet", "~")]
    for key, value in hidden:
        node.append(_property(key, value, s.at, 0, True))
    for number in sorted(s.pins, key=lambda n: (len(n), n)):
        node.append([S("pin"), number, [S("uuid"), stable_uuid("pin", s.ref, number)]])
    node.append([S("instances"), [S("project"), project, [S("path"), "/" + stable_uuid("root"),
                                                          [S("reference"), s.ref], [S("unit"), 1]]]])
    return node


def emit(drawing, revision, project):
    """The `.kicad_sch` text of a finished drawing."""
    items = []
    for (x, y), words in drawing.titles:
        items.append([S("text"), words, [S("exclude_from_sim"), S("no")], [S("at"), r4(x), r4(y), 0],
                      effects(size=2.0, bold=True, justify=["left", "bottom"]), [S("uuid"), stable_uuid("text", words)]])
    for i, (net, path, _) in enumerate(drawing.wires):
        for j, (a, b) in enumerate(zip(path, path[1:])):
            items.append([S("wire"), [S("pts"), _xy(a), _xy(b)], [S("stroke"), [S("width"), 0], [S("type"), S("default")]],
                          [S("uuid"), stable_uuid("wire", net, i, j)]])
    for p in drawing.junctions:
        items.append([S("junction"), _at_grid(p), [S("diameter"), 0], [S("color"), 0, 0, 0, 0],
                      [S("uuid"), stable_uuid("junction", *p)]])
    for p in sorted(drawing.no_connects):
        items.append([S("no_connect"), _at_grid(p), [S("uuid"), stable_uuid("nc", *p)]])
    for net, p, angle, block in drawing.labels:
        justify = ["left", "bottom"] if angle == 0 else ["right", "bottom"]
        items.append([S("label"), net, _at_grid(p, angle), [S("fields_autoplaced"), S("yes")], effects(justify=justify),
                      [S("uuid"), stable_uuid("label", net, block)]])
    used = set()
    for ref in sorted(drawing.symbols, key=lambda r: (r.rstrip("0123456789"), len(r), r)):
        s = drawing.symbols[ref]
        used.add(s.lib_id)
        items.append(_symbol(drawing, s, project))
    root = [S("kicad_sch"), [S("version"), KICAD_SCH_VERSION], [S("generator"), "p1reader"],
            [S("generator_version"), "9.0"], [S("uuid"), stable_uuid("root")], [S("paper"), "A3"],
            [S("title_block"), [S("title"), "p1reader — P1 readout board"], [S("rev"), revision],
             [S("company"), "p1reader"],
             [S("comment"), 1, "Generated by hwtools from hwtools/circuit.py — do not edit"]],
            [S("lib_symbols")] + [drawing.libs.get(lib_id) for lib_id in sorted(used)]]
    root += items
    root += [[S("sheet_instances"), [S("path"), "/", [S("page"), "1"]]], [S("embedded_fonts"), S("no")]]
    return format_sexpr(root) + "\n"
