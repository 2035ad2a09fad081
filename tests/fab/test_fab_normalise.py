"""Each normaliser on real tool output: the raw file carries a date, the normalised one does not, the rest
is untouched and normalising twice changes nothing."""

import io
import os
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from hwtools import fab, kicad_cli, outputs, project

KICAD_DIR = Path(os.environ.get("P1READER_FAB_KICAD_DIR", project.KICAD_DIR))
N = project.NAME
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    """Bare kicad-cli / InteractiveHtmlBom output of the committed board, not normalised."""
    tmp = tmp_path_factory.mktemp("raw")
    src = tmp / "src"
    shutil.copytree(KICAD_DIR, src)
    pcb, out = src / f"{N}.kicad_pcb", tmp / "out"
    out.mkdir()
    kicad_cli.export_gerbers(pcb, out, ["F.Cu", "Edge.Cuts"])
    kicad_cli.export_drill(pcb, out)
    kicad_cli.export_ipcd356(pcb, out / f"{N}.d356")
    kicad_cli.export_odb(pcb, out / f"{N}-odb.zip")
    kicad_cli.export_sch_pdf(src / f"{N}.kicad_sch", out / f"{N}-schematic.pdf")
    fab._ibom(pcb, out, f"{N}-ibom")
    return out


def test_gerber(raw):
    text = (raw / f"{N}-F_Cu.gtl").read_text()
    assert "%TF.CreationDate," in text and ISO_DATE.search(text)
    clean = outputs.normalise_gerber(text)
    assert "CreationDate" not in clean and not ISO_DATE.search(clean)
    assert "%TF.FileFunction,Copper,L1,Top*%" in clean and "G04 Created by KiCad" in clean
    assert len(text.splitlines()) - len(clean.splitlines()) == 1, "only the CreationDate line goes"
    assert outputs.normalise_gerber(clean) == clean


def test_drill(raw):
    text = (raw / f"{N}-PTH.drl").read_text()
    assert "TF.CreationDate" in text and re.search(r"; DRILL file \{.*\} date \d{4}-", text)
    clean = outputs.normalise_drill(text)
    assert "CreationDate" not in clean and " date " not in clean and not ISO_DATE.search(clean)
    assert clean.startswith("M48\n; DRILL file {KiCad") and "TF.FileFunction,Plated" in clean
    assert outputs.normalise_drill(clean) == clean


def test_gerber_job(raw):
    text = (raw / f"{N}-job.gbrjob").read_text()
    assert '"CreationDate"' in text and ISO_DATE.search(text)
    clean = outputs.normalise_gerber_job(text)
    assert "CreationDate" not in clean and not ISO_DATE.search(clean)
    assert '"FilesAttributes"' in clean
    assert outputs.normalise_gerber_job(clean) == clean


def test_ipcd356_has_no_date_from_kicad_9_and_a_dated_comment_is_removed(raw):
    text = (raw / f"{N}.d356").read_text()
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text), "KiCad 9 writes no date; if this fails, look at the header"
    assert outputs.normalise_ipcd356(text) == text
    dated = "C  IPC-D-356 netlist generated 2024-05-01 10:00\n" + text
    assert outputs.normalise_ipcd356(dated) == text


def test_pdf_dates_are_fixed_without_moving_any_byte(raw):
    data = (raw / f"{N}-schematic.pdf").read_bytes()
    stamp = re.search(rb"/CreationDate\s*\(D:(\d{14})", data)
    assert stamp and stamp.group(1) != outputs.FIXED_PDF_DATE
    clean = outputs.normalise_pdf(data)
    assert len(clean) == len(data), "the xref table holds byte offsets"
    assert re.findall(rb"/(?:CreationDate|ModDate)\s*\(D:(\d{14})", clean) == \
        [outputs.FIXED_PDF_DATE] * len(re.findall(rb"/(?:CreationDate|ModDate)", clean))
    assert sum(a != b for a, b in zip(data, clean)) <= 14 * 2
    assert outputs.normalise_pdf(clean) == clean


def _odb_members(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: (i.date_time, z.read(i)) for i in z.infolist()}


def test_odb_archive(raw):
    data = (raw / f"{N}-odb.zip").read_bytes()
    members = _odb_members(data)
    info = members[next(n for n in members if n.endswith("misc/info"))][1].decode()
    assert re.search(r"CREATION_DATE=\d{8}\.\d{6}", info) and "20000101" not in info
    assert any(t != outputs.ZIP_TIME for t, _ in members.values())
    clean = outputs.normalise_odb(data)
    cleaned = _odb_members(clean)
    assert sorted(cleaned) == sorted(members) and list(cleaned) == sorted(cleaned)
    assert {t for t, _ in cleaned.values()} == {outputs.ZIP_TIME}
    for name, (_t, body) in cleaned.items():
        assert not ISO_DATE.search(body.decode("latin-1")), name
        assert not re.search(rb"_DATE=(?!20000101\.000000)", body), name
    assert outputs.normalise_odb(clean) == clean


def test_ibom_date(raw):
    text = (raw / f"{N}-ibom.html").read_text(encoding="utf-8")
    meta = re.search(r'"metadata": \{[^{}]*\}', text).group(0)
    assert re.search(r'"date": "\d{4}-\d{2}-\d{2}', meta), meta
    clean = outputs.normalise_ibom(text)
    assert '"date": ""' in re.search(r'"metadata": \{[^{}]*\}', clean).group(0)
    assert len(text) - len(clean) == len(re.search(r'"date": "([^"]*)"', meta).group(1))
    assert outputs.normalise_ibom(clean) == clean


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", 2, 1, 8, 0, 0, 0, 0)  # 2×1 greyscale
    pixels = zlib.compress(b"\x00\x10\xf0")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + b"".join(chunk(k, b) for k, b in chunks) + \
        chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def test_png_time_and_text_chunks_go_pixels_stay():
    stamped = _png([(b"tIME", struct.pack(">HBBBBB", 2024, 5, 1, 10, 0, 0)),
                    (b"tEXt", b"Creation Time\x002024-05-01 10:00"), (b"sBIT", b"\x08")])
    clean = outputs.normalise_png(stamped)
    assert b"tIME" in stamped and b"tIME" not in clean and b"tEXt" not in clean
    assert clean == _png([(b"sBIT", b"\x08")])
    assert outputs.normalise_png(clean) == clean
    with pytest.raises(outputs.FormatError):
        outputs.normalise_png(b"GIF89a")


def test_kicad_render_is_byte_reproducible_without_chunks_to_strip(tmp_path):
    """`pcb render` writes no time chunk: two renders are the same bytes and normalising changes nothing."""
    pcb = KICAD_DIR / f"{N}.kicad_pcb"
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    kicad_cli.render(pcb, a, "top", width=320, height=180)
    kicad_cli.render(pcb, b, "top", width=320, height=180)
    assert a.read_bytes() == b.read_bytes()
    assert outputs.normalise_png(a.read_bytes()) == a.read_bytes()


def test_delivery_zip_is_deterministic(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, order in ((one, ["b.txt", "a.txt"]), (two, ["a.txt", "b.txt"])):
        folder.mkdir()
        for name in order:  # written in another order, at other times, with other permissions
            (folder / name).write_text(f"content of {name}\n")
        os.chmod(folder / "a.txt", 0o600 if folder is one else 0o664)
    outputs.write_zip(tmp_path / "1.zip", {p.name: p.read_bytes() for p in one.iterdir()})
    outputs.write_zip(tmp_path / "2.zip", {p.name: p.read_bytes() for p in two.iterdir()})
    assert (tmp_path / "1.zip").read_bytes() == (tmp_path / "2.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "1.zip") as z:
        assert z.namelist() == ["a.txt", "b.txt"]
        assert {i.external_attr >> 16 for i in z.infolist()} == {0o100644}


def test_odb_completeness_check_finds_what_a_truncated_package_lacks():
    """The committed ODB++ packages are complete; drop members as the truncated kicad-cli zip did and the
    check names them."""
    import io
    import zipfile

    from hwtools import fab, project

    for folder in (project.FAB_DIR, project.FAB_DIR / "p1s1"):
        data = (folder / f"{project.NAME}-odb.zip").read_bytes()
        assert fab.odb_missing(data) == []
        buf = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as dst:
            for info in src.infolist():
                if not info.filename.startswith(("fonts/", "steps/pcb/layers/b.cu/")):
                    dst.writestr(info, src.read(info))
        assert fab.odb_missing(buf.getvalue()) == ["fonts/standard", "steps/pcb/layers/b.cu/features"]
