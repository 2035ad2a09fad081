"""The files `make fab` writes into a variant's gerbers/ folder: one record per kind of file (`Output`).

A normaliser removes what differs between two runs of the same input (dates, machine paths). The variant's fixed
list of outputs (the only files a step may replace or remove), the zip's contents and the normalising derive
from the records: a new kind of output (a report that is not uploaded, an enclosure's STEP) is one more record.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from dataclasses import dataclass
from typing import Callable

from . import project
from .errors import HwtoolsError

EXPORT, SI, CHECKS = "export", "si", "checks"  # the `make fab` steps that write into gerbers/ (hwtools/pipeline.py)
ENCLOSURE = "enclosure"  # the step that writes the case into mech/ (hwtools/enclosure): never in the upload
MANIFEST = "SHA256SUMS"  # the sha256 of every exported file, for the reviewer (never trusted for deletion)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can store
FIXED_PDF_DATE = b"20000101000000"


class FormatError(HwtoolsError):
    """A file is not of the format its record says."""


# --- normalisers: one per format, each removes what changes between two runs of the same input ---------

def normalise_gerber(text: str) -> str:
    """Gerber X2: drop the `%TF.CreationDate` attribute (optional in X2) and the date of the G04 banner."""
    text = re.sub(r"^%TF\.CreationDate,[^*]*\*%\n", "", text, flags=re.M)
    return re.sub(r"^(G04 Created by KiCad \([^)]*\)) date [^*]*\*", r"\1*", text, flags=re.M)


def normalise_drill(text: str) -> str:
    """Excellon: the header's `date …` and the X2-style `TF.CreationDate` comment."""
    text = re.sub(r"^(; DRILL file \{[^}]*\}) date .*$", r"\1", text, flags=re.M)
    return re.sub(r"^; #@! TF\.CreationDate,.*\n", "", text, flags=re.M)


def normalise_gerber_job(text: str) -> str:
    """Gerber job file (JSON): drop Header.CreationDate."""
    job = json.loads(text)
    job.get("Header", {}).pop("CreationDate", None)
    return json.dumps(job, indent=2, ensure_ascii=False) + "\n"


def normalise_ipcd356(text: str) -> str:
    """IPC-D-356: KiCad 9 writes no date, but the format allows `C` comment lines that may carry one."""
    return re.sub(r"^C .*\b\d{4}-?\d{2}-?\d{2}\b.*\n", "", text, flags=re.M)


def normalise_pdf(data: bytes) -> bytes:
    """PDF: CreationDate/ModDate set to a fixed date of the same length, so the xref offsets stay right."""
    return re.sub(rb"(/(?:CreationDate|ModDate)\s*\(D:)\d{14}", rb"\g<1>" + FIXED_PDF_DATE, data)


def normalise_png(data: bytes) -> bytes:
    """PNG: drop the time and text chunks (tIME, tEXt, zTXt, iTXt); pixels untouched."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise FormatError("not a PNG file")
    out, i = [data[:8]], 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i:i + 4])
        chunk = data[i:i + 12 + length]
        if chunk[4:8] not in (b"tIME", b"tEXt", b"zTXt", b"iTXt"):
            out.append(chunk)
        i += 12 + length
    return b"".join(out)


def normalise_ibom(text: str) -> str:
    """InteractiveHtmlBom: its metadata date is the board file's modification time; blank it."""
    return re.sub(r'("metadata": \{[^{}]*"date": )"[^"]*"', r'\1""', text)


def _normalise_odb_member(name: str, data: bytes) -> bytes:
    if name.endswith("misc/info"):
        return re.sub(rb"^((?:CREATION|SAVE)_DATE=).*$", rb"\g<1>20000101.000000", data, flags=re.M)
    if name.endswith("eda/data"):
        return re.sub(rb"^# \d{4}-\d{2}-\d{2}T[\d:]+\s*\n", b"", data, flags=re.M)
    return data


def normalise_odb(data: bytes) -> bytes:
    """ODB++ zip: dates inside misc/info and eda/data, then repacked like write_zip (fixed times, sorted)."""
    members = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            members[info.filename] = None if info.is_dir() else _normalise_odb_member(info.filename, z.read(info))
    buf = io.BytesIO()
    write_zip(buf, members)
    return buf.getvalue()


def write_zip(target, members: dict[str, bytes | None]):
    """Sorted entries, fixed time and permissions, deflate: the same bytes for the same members (None: a folder)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in sorted(members):
            data = members[name]
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = 3  # unix, so the permission bits below are read
            if data is None:  # directory
                info.external_attr = (0o40755 << 16) | 0x10
                z.writestr(info, b"")
            else:
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)


def _text(normalise: Callable[[str], str]) -> Callable[[bytes], bytes]:
    return lambda data: normalise(data.decode()).encode()


# --- the records ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Output:
    """One kind of file in a variant's gerbers/ folder."""

    name: str  # "{n}": the project's name; "{zip}": the variant's upload zip (Variant.zip_name)
    producer: str  # the fab.EXPORTS entry that writes it ("" for the export's own zip and manifest, or another step)
    normalise: Callable[[bytes], bytes] | None = None
    upload: bool = False  # in the zip for AISLER
    text: bool = False  # a text format: machine paths are stripped too (binary ones keep their offsets)
    layer: str = ""  # a Gerber: the KiCad layer it is plotted from
    step: str = EXPORT  # the `make fab` step that writes it

    def file(self, variant=None) -> str:
        return self.name.format(n=project.NAME, zip=variant.zip_name if variant else "")


def _gerber(layer: str, name: str) -> Output:
    return Output(f"{{n}}-{name}", "Gerber X2", _text(normalise_gerber), upload=True, text=True, layer=layer)


# What the upload zip holds is exactly what AISLER's own KiCad push plugin sends: Gerber X2 per layer, PTH and NPTH
# drills, IPC-D-356, ODB++ and components.json. The job file, BOM, placement, PDF, renders and iBoM stay beside it.
SI_PLOT = Output("p1-input-si.png", "", step=SI)  # written reproducibly by hwtools/si/report.py itself
SI_TABLE = Output("p1-input-si.md", "", step=SI)
SI_FIGURES = Output("p1-input-si.json", "", step=SI)  # the figures, for the checks step
CHECKS_RECORD = Output("checks.json", "", step=CHECKS)  # every check's figures, read by the revision review
OUTPUTS = (
    _gerber("F.Cu", "F_Cu.gtl"), _gerber("B.Cu", "B_Cu.gbl"), _gerber("F.Mask", "F_Mask.gts"),
    _gerber("B.Mask", "B_Mask.gbs"), _gerber("F.SilkS", "F_Silkscreen.gto"), _gerber("B.SilkS", "B_Silkscreen.gbo"),
    _gerber("F.Paste", "F_Paste.gtp"), _gerber("B.Paste", "B_Paste.gbp"), _gerber("Edge.Cuts", "Edge_Cuts.gm1"),
    Output("{n}-job.gbrjob", "Gerber X2", _text(normalise_gerber_job), text=True),
    Output("{n}-PTH.drl", "Excellon drill", _text(normalise_drill), upload=True, text=True),
    Output("{n}-NPTH.drl", "Excellon drill", _text(normalise_drill), upload=True, text=True),
    Output("{n}.d356", "IPC-D-356", _text(normalise_ipcd356), upload=True, text=True),
    Output("{n}-odb.zip", "ODB++", normalise_odb, upload=True),
    Output("{n}-placement.csv", "placement CSV", text=True),
    Output("{n}-schematic.pdf", "schematic PDF", normalise_pdf),
    Output("{n}-top.png", "render top", normalise_png),
    Output("{n}-bottom.png", "render bottom", normalise_png),
    Output("{n}-ibom.html", "interactive BOM", _text(normalise_ibom), text=True),
    Output("{n}-bom.csv", "BOM, components.json", text=True),
    Output("components.json", "BOM, components.json", upload=True, text=True),
    Output("{zip}", ""),  # written by the export from the files marked upload
    Output(MANIFEST, ""),  # written last, over every file the export wrote
    SI_PLOT, SI_TABLE, SI_FIGURES, CHECKS_RECORD,
)
# The case, in the variant's mech/ folder (Variant.mech_rel): written reproducibly by hwtools/enclosure itself
# (STEP header normalised, STL meshed single-threaded, PNG without dates); the names are enclosure.build.files.
ENCLOSURE_OUTPUTS = tuple(Output(name, "", step=ENCLOSURE) for name in (
    "{n}-base.step", "{n}-base.stl", "{n}-lid.step", "{n}-lid.stl", "{n}-assembly.png", "{n}-exploded.png",
    "{n}-fit.md", "{n}-fit.json", MANIFEST))
OUTPUTS += ENCLOSURE_OUTPUTS
GERBER_LAYERS = tuple(o.layer for o in OUTPUTS if o.layer)  # plotted in this order


def files(variant, step: str = EXPORT) -> tuple[str, ...]:
    """The fixed list of files `step` writes into the variant's gerbers/ folder: the only ones it may replace."""
    return tuple(o.file(variant) for o in OUTPUTS if o.step == step)


def normalise(data: bytes, name: str, machine_paths: list[str]) -> bytes:
    """A produced file's bytes made reproducible by its record: its normaliser, then (text formats) every machine
    path replaced by "."."""
    record = next(o for o in OUTPUTS if o.producer and o.file() == name)
    if record.normalise is not None:
        data = record.normalise(data)
    if record.text:
        for path in machine_paths:
            data = data.replace(path.encode(), b".")
    return data
