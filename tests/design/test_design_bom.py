"""A BOM a maker can order whole: sockets, headers and shunts as BOM-only lines (never in components.json), and
every through-hole MPN checked against its footprint — pins, lead pitch, body — from parts.toml."""

import csv
import io
import json
import re

import pytest

from hwtools import bom, project
from design_paths import KICAD, REPO

LIBS = {project.NAME: KICAD / "lib" / f"{project.NAME}.pretty"}


@pytest.fixture(scope="module")
def parts():
    return bom.read_parts(KICAD / f"{project.NAME}.kicad_pcb")


def test_every_through_hole_part_fits_its_footprint(parts):
    tht = [p for p in bom.bom_parts(parts) if p.mount_type == "tht"]
    assert len(tht) >= 25
    assert bom.fit_problems(parts, LIBS) == []


def _with(parts, ref, **change):
    from dataclasses import replace

    return [replace(p, **change) if p.ref == ref else p for p in parts]


# (ref, change, words): the rev 1.2 C2/C4 question first — a 5 mm can with 2.0 mm leads on a 2.5 mm footprint
BAD = [
    ("C2", dict(footprint="Capacitor_THT:CP_Radial_D7.5mm_P2.50mm"), ["C2 UVR1H010MDD", "lead pitch 2 mm", "2.5 mm"]),
    ("C4", dict(footprint="Capacitor_THT:CP_Radial_D5.0mm_P2.50mm"), ["C4 UVR1H2R2MDD", "lead pitch 2 mm"]),
    # rev 1.4's ø16 mm C1 (7.5 mm leads) on rev 1.3's ø8 mm / 3.5 mm footprint
    ("C1", dict(footprint="Capacitor_THT:CP_Radial_D8.0mm_P3.50mm"),
     ["C1 RGA472M1ABK-1625G", "lead pitch 7.5 mm", "3.5 mm", "body 16 × 16 mm"]),
    ("Q1", dict(footprint="Resistor_THT:R_Axial_DIN0309_L9.0mm_D3.2mm_P12.70mm_Horizontal"), ["Q1 BC547BTA: 3 pins"]),
    ("R1", dict(footprint="Resistor_THT:R_Axial_DIN0309_L9.0mm_D3.2mm_P5.08mm_Vertical"), ["needs ≥ 11.5 mm lead spacing"]),
    ("R1", dict(mpn="CFR-25JB-52-6K8"), ["R1 CFR-25JB-52-6K8: no [[tht_part]] row"]),
    # the decoupling ceramics' 2.54 mm leads on the 5 mm disc footprint rev 1.3 first had
    ("C8", dict(footprint="Capacitor_THT:C_Disc_D5.0mm_W2.5mm_P5.00mm"), ["C8 C315C104K5R5TA: lead pitch 2.54 mm", "5 mm"]),
]


@pytest.mark.parametrize("ref, change, words", BAD, ids=[f"{b[0]}-{next(iter(b[1]))}" for b in BAD])
def test_a_part_that_cannot_fit_fails_by_name(parts, ref, change, words):
    problems = " ".join(bom.fit_problems(_with(parts, ref, **change), LIBS))
    for word in words:
        assert word in problems, (word, problems)
    with pytest.raises(bom.BomError, match=ref):
        bom.check_fit(_with(parts, ref, **change), LIBS)


def test_sockets_and_headers_are_bom_lines_but_not_components(parts):
    rows = list(csv.DictReader(io.StringIO(bom.order_csv(parts))))
    extra = {r["MPN"]: r for r in rows if not r["Footprint"]}
    assert set(extra) == {"SSW-116-01-T-S", "TSW-116-07-T-S"}  # rev 1.4: no J3, no shunts
    assert all(int(r["Qty"]) == 2 for r in extra.values())
    placed = {c["mpn"] for c in json.loads(bom.components_json(parts))}
    assert not placed & set(extra)


BOM_ONLY_MPNS = {"SSW-116-01-T-S": 2, "TSW-116-07-T-S": 2}


def _ibom_quantities(html: str) -> dict:
    """{MPN: quantity} as the interactive BOM's table shows it: its pcbdata (written uncompressed) read back."""
    data = json.loads(re.search(r"^var pcbdata = (\{.*\})$", html, flags=re.M).group(1))
    mpn_column = 2  # the table's fields: Value, Footprint, then --extra-fields MPN,Manufacturer
    qty = {}
    for row in data["bom"]["both"]:
        mpn = data["bom"]["fields"][str(row[0][1])][mpn_column]
        qty[mpn] = qty.get(mpn, 0) + len(row)
    return qty


@pytest.mark.parametrize("out", [REPO / "gerbers", REPO / "gerbers" / "p1s1"], ids=["p1", "p1s1"])
def test_committed_ibom_has_the_bom_only_lines_with_their_quantities(out):
    html = (out / f"{project.NAME}-ibom.html").read_text(encoding="utf-8")
    shown = _ibom_quantities(html)
    assert {mpn: shown.get(mpn) for mpn in BOM_ONLY_MPNS} == BOM_ONLY_MPNS
    assert shown["LOLIN D32"] == 1  # the board's own parts are still there
    placed = {c["mpn"] for c in json.loads((out / "components.json").read_text(encoding="utf-8"))}
    assert "LOLIN D32" in placed and not placed & set(BOM_ONLY_MPNS)


def test_bom_only_pieces_take_their_parts_outline_and_no_pads():
    from hwtools.ibom import add_bom_only

    bbox = {"pos": [10, 20], "relpos": [-1, -1], "size": [2, 2], "angle": 0}
    pcbdata = {"footprints": [{"ref": "J3", "bbox": bbox, "pads": [{"pin1": 1}], "drawings": [], "layer": "F"}]}
    components = []
    line = {"for_ref": "J3", "qty": 2, "designators": "J3 shunt", "value": "shunt", "manufacturer": "Sullins",
            "mpn": "QPC02SXGN-RC"}
    add_bom_only(pcbdata, components, [line], {"MPN": "MPN", "Manufacturer": "Manufacturer"})
    assert [c.ref for c in components] == ["J3 shunt 1", "J3 shunt 2"]
    assert components[0].extra_fields == {"MPN": "QPC02SXGN-RC", "Manufacturer": "Sullins"}
    assert [(f["ref"], f["bbox"], f["pads"]) for f in pcbdata["footprints"][1:]] == [
        ("J3 shunt 1", bbox, []), ("J3 shunt 2", bbox, [])]
    with pytest.raises(ValueError, match="QPC02SXGN-RC belongs to M9"):
        add_bom_only(pcbdata, components, [dict(line, for_ref="M9")], {})


def test_committed_bom_has_the_bom_only_lines():
    for out in (REPO / "gerbers", REPO / "gerbers" / "p1s1"):
        text = (out / f"{project.NAME}-bom.csv").read_text(encoding="utf-8")
        assert "SSW-116-01-T-S" in text and "TSW-116-07-T-S" in text
        assert "SSW-116" not in (out / "components.json").read_text(encoding="utf-8")


def test_bom_only_lines_need_their_part():
    assert bom.bom_only_rows([]) == []


@pytest.mark.parametrize("out", [REPO / "gerbers", REPO / "gerbers" / "p1s1"], ids=["p1", "p1s1"])
def test_the_d32_line_rules_out_the_pro(out):
    """The D32 Pro's WROVER module uses GPIO16 (its PSRAM), the board's P1 RX pin: the BOM line says so."""
    rows = csv.DictReader(io.StringIO((out / f"{project.NAME}-bom.csv").read_text(encoding="utf-8")))
    (m1,) = [r for r in rows if r["MPN"] == "LOLIN D32"]
    assert "not the D32 Pro" in m1["Description"] and "GPIO16" in m1["Description"]
