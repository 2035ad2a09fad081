"""The AISLER-ready manufacturing package: every export of the board into `gerbers/`, byte-reproducible.

`export()` copies the project into a staging folder (kicad-cli never touches kicad/), runs the bare
kicad-cli exports in parallel, adds the BOM, components.json and the interactive BOM, strips what differs
between runs (dates, absolute paths), zips it all deterministically and only then replaces the generated
files in `gerbers/` all or nothing (hwtools/staging.py), rewriting a file only when its bytes changed. It only
ever writes or removes the files of the variant's fixed list (`Variant.export_files`); other files stay
(README.md, the signal-integrity plot). The zip holds only what AISLER's own plugin uploads (UPLOAD_*).
The checks (ERC, DRC, P1 rules) run before, in hwtools/pipeline.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import bom, kicad_cli, procs, project
from .errors import HwtoolsError
from .variant import GERBER_FILES, MANIFEST, Variant, get as get_variant

# The Gerber layers AISLER's own KiCad plugin sends, in KiCad's layer names.
LAYERS = ("F.Cu", "B.Cu", "F.Mask", "B.Mask", "F.SilkS", "B.SilkS", "F.Paste", "B.Paste", "Edge.Cuts")
# Written by other steps into the output folder: kept beside the package (never zipped).
KEEP = ("README.md", "p1-input-si.png", "p1-input-si.md")
# What goes into the upload zip: exactly what AISLER's own KiCad push plugin sends (Gerber X2 per layer, PTH and
# NPTH drills, IPC-D-356, ODB++, components.json). The job file, BOM, placement, PDF, renders, iBoM and
# README stay beside it in gerbers/.
UPLOAD_SUFFIXES = (".gtl", ".gbl", ".gts", ".gbs", ".gto", ".gbo", ".gtp", ".gbp", ".gm1", "-PTH.drl", "-NPTH.drl",
                   ".d356", "-odb.zip")
UPLOAD_NAMES = ("components.json",)


def in_upload(name: str) -> bool:
    return name in UPLOAD_NAMES or name.endswith(UPLOAD_SUFFIXES)


ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can store
FIXED_PDF_DATE = b"20000101000000"
TEXT_SUFFIXES = {".gtl", ".gbl", ".gts", ".gbs", ".gto", ".gbo", ".gtp", ".gbp", ".gm1", ".gbrjob", ".drl", ".d356",
                 ".csv", ".json", ".html"}


class FabError(HwtoolsError):
    pass


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
        raise FabError("not a PNG file")
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
    import io

    members = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            members[info.filename] = None if info.is_dir() else _normalise_odb_member(info.filename,
                                                                                      z.read(info))
    buf = io.BytesIO()
    _write_zip(buf, members)
    return buf.getvalue()


ODB_REQUIRED = ("matrix/matrix", "misc/info", "fonts/standard", "steps/pcb/eda/data", "steps/pcb/profile")


def odb_missing(data: bytes) -> list[str]:
    """What an ODB++ zip lacks: the fixed files, and the features of every layer its matrix lists.

    kicad-cli 9.0.x once wrote, on a heavily loaded machine, a zip without matrix/, fonts/, input/ and half
    the layers, and exited 0; this is the check that catches such a package before it is committed.
    """
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        missing = [n for n in ODB_REQUIRED if n not in names]
        if "matrix/matrix" in names:
            layers = re.findall(r"^\s*NAME=(.+)$", z.read("matrix/matrix").decode(errors="replace"), flags=re.M)
            missing += [f for layer in layers if layer.strip() != "PCB"
                        for f in [f"steps/pcb/layers/{layer.strip().lower()}/features"] if f not in names]
    return missing


def _odb(pcb: Path, out: Path):
    """ODB++ export, checked for completeness; one retry when kicad-cli left it incomplete."""
    for attempt in (1, 2):
        kicad_cli.export_odb(pcb, out)
        missing = odb_missing(out.read_bytes())
        if not missing:
            return
    raise FabError(f"kicad-cli wrote an incomplete ODB++ package {out.name} twice; missing: {', '.join(missing[:8])}")


def _write_zip(target, members: dict[str, bytes | None]):
    """Sorted entries, fixed time and permissions, deflate: same bytes for the same members."""
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


def write_zip(dest: Path, files: dict[str, Path]):
    """The delivery zip: `files` maps the name inside the zip to the file to store."""
    _write_zip(dest, {name: path.read_bytes() for name, path in files.items()})


def _strip_paths(data: bytes, paths: list[str]) -> bytes:
    for p in paths:
        data = data.replace(p.encode(), b".")
    return data


def normalise_file(path: Path, machine_paths: list[str]):
    """Apply the normaliser that fits the file's kind, in place; remove machine paths from every file."""
    data = path.read_bytes()
    name = path.name
    if name.endswith(".gbrjob"):
        data = normalise_gerber_job(data.decode()).encode()
    elif path.suffix in (".gtl", ".gbl", ".gts", ".gbs", ".gto", ".gbo", ".gtp", ".gbp", ".gm1", ".gbr"):
        data = normalise_gerber(data.decode()).encode()
    elif path.suffix == ".drl":
        data = normalise_drill(data.decode()).encode()
    elif path.suffix == ".d356":
        data = normalise_ipcd356(data.decode()).encode()
    elif path.suffix == ".pdf":
        data = normalise_pdf(data)
    elif path.suffix == ".png":
        data = normalise_png(data)
    elif path.suffix == ".html":
        data = normalise_ibom(data.decode()).encode()
    elif name.endswith("-odb.zip"):
        data = normalise_odb(data)
    if path.suffix in TEXT_SUFFIXES:  # binary formats keep offsets (PDF xref): the test checks them instead
        data = _strip_paths(data, machine_paths)
    path.write_bytes(data)


# --- the export steps --------------------------------------------------------------------------------

def _ibom(pcb: Path, out_dir: Path, name: str, bom_only: list[dict] = ()):
    """InteractiveHtmlBom, headless, in this interpreter (it imports pcbnew), with bom.csv's BOM-only lines
    (hwtools/ibom.py)."""
    # GIT_DIR: InteractiveHtmlBom 2.12 stamps `git describe` of the folder it is installed in; inside a
    # checkout (.venv/) that is this repository's commit, which would change the file on every commit
    env = dict(os.environ, INTERACTIVE_HTML_BOM_NO_DISPLAY="1", INTERACTIVE_HTML_BOM_CLI_MODE="1", GIT_DIR=os.devnull)
    lines = pcb.parent / f"{name}-bom-only.json"
    lines.write_text(json.dumps(list(bom_only), ensure_ascii=False), encoding="utf-8")
    cmd = [sys.executable, "-m", "hwtools.ibom", "--bom-only", str(lines), "--no-browser",
           "--dest-dir", str(out_dir), "--name-format", name, "--extra-fields", "MPN,Manufacturer",
           "--include-tracks", "--include-nets", "--no-compression", str(pcb.name)]
    proc = procs.run(cmd, capture_output=True, text=True, env=env, cwd=pcb.parent)
    if proc.returncode != 0 or not (out_dir / f"{name}.html").is_file():
        detail = (proc.stderr.strip() or proc.stdout.strip())[-2000:]
        raise FabError(f"InteractiveHtmlBom failed (exit {proc.returncode}): {detail}")


@dataclass(frozen=True)
class Export:
    """One export: what it runs, the files it writes into the package, what it reads (for its input hash)."""

    title: str
    run: Callable[[], None]
    outputs: tuple[str, ...]
    reads: tuple[str, ...]       # project files, relative to the KiCad folder
    modules: tuple[str, ...]     # hwtools modules it runs besides this one (normalisers, zip)
    tool: str = "kicad-cli"      # the external tool whose version counts ("" for none)
    facts: bool = False          # reads hwtools/parts.toml (the BOM-only lines)


def _exports(src: Path, out: Path, bom_text: str, components_text: str, bom_only: list[dict]) -> list[Export]:
    n = project.NAME
    pcb, sch = src / f"{n}.kicad_pcb", src / f"{n}.kicad_sch"
    board = (f"{n}.kicad_pcb", f"{n}.kicad_pro")
    cli = ("hwtools.kicad_cli",)
    gerbers = tuple(f"{n}-{GERBER_FILES[layer]}" for layer in LAYERS) + (f"{n}-job.gbrjob",)

    def write_bom():
        (out / f"{n}-bom.csv").write_text(bom_text, encoding="utf-8")
        (out / "components.json").write_text(components_text, encoding="utf-8")

    return [  # slowest first, so the pool finishes early
        Export("render top", lambda: kicad_cli.render(pcb, out / f"{n}-top.png", "top"), (f"{n}-top.png",),
               board, cli),
        Export("render bottom", lambda: kicad_cli.render(pcb, out / f"{n}-bottom.png", "bottom"),
               (f"{n}-bottom.png",), board, cli),
        Export("ODB++", lambda: _odb(pcb, out / f"{n}-odb.zip"), (f"{n}-odb.zip",), board, cli),
        Export("Gerber X2", lambda: kicad_cli.export_gerbers(pcb, out, LAYERS), gerbers, board, cli),
        Export("interactive BOM", lambda: _ibom(pcb, out, f"{n}-ibom", bom_only), (f"{n}-ibom.html",), board,
               ("hwtools.procs", "hwtools.ibom", "hwtools.bom"), "InteractiveHtmlBom", facts=True),  # bom: its lines
        Export("Excellon drill", lambda: kicad_cli.export_drill(pcb, out), (f"{n}-PTH.drl", f"{n}-NPTH.drl"),
               board, cli),
        Export("placement CSV", lambda: kicad_cli.export_pos(pcb, out / f"{n}-placement.csv"),
               (f"{n}-placement.csv",), board, cli),
        Export("IPC-D-356", lambda: kicad_cli.export_ipcd356(pcb, out / f"{n}.d356"), (f"{n}.d356",), board, cli),
        Export("schematic PDF", lambda: kicad_cli.export_sch_pdf(sch, out / f"{n}-schematic.pdf"),
               (f"{n}-schematic.pdf",), (f"{n}.kicad_sch", f"{n}.kicad_pro"), cli),
        Export("BOM, components.json", write_bom, (f"{n}-bom.csv", "components.json"), board, ("hwtools.bom",), "",
               facts=True),
    ]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_manifest(out_dir: Path) -> dict[str, str]:
    """The manifest's {file name: sha256}. Only for reading: nothing is ever deleted because it is listed.

    An entry that is not a plain file name inside the folder (`../x`, `/etc/x`, `sub/x`) is a FabError naming it.
    """
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return {}
    entries = {}
    for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise FabError(f"{path}:{n}: not a '<sha256>  <file name>' line: {line!r}")
        if name in ("", ".", "..") or "/" in name or "\\" in name or name != name.strip():
            raise FabError(f"{path}:{n}: {name!r} is not a plain file name inside {out_dir}")
        entries[name] = digest
    return entries


def export(kicad_dir: Path = project.KICAD_DIR, out_dir: Path = project.FAB_DIR, log=print,
           jobs: int | None = None, variant: Variant | str = "p1", stage=None, reuse=None) -> list[str]:
    """Write the manufacturing package into out_dir; return the names of files that changed.

    `jobs`: how many exports run at once (default: CPU count); 1 runs them one after the other.
    `reuse`: decides per Export whether the committed outputs in out_dir are current (`current(export, src)`)
    and records what ran (`done(export, folder)`); see pipeline.ExportReuse. None: everything runs.
    `stage`: a staging.Stage to add the files to (committed by the caller with everything else); without
    one, export() commits them itself, all or nothing.
    Raises FabError (missing input, a tool failed, a bad manifest) or bom.BomError (a part without MPN)
    before touching out_dir.
    """
    from .staging import Stage

    variant = get_variant(variant)
    kicad_dir, out_dir = Path(kicad_dir).resolve(), Path(out_dir).resolve()
    read_manifest(out_dir)  # a doctored manifest stops here, naming the entry
    pcb = kicad_dir / f"{project.NAME}.kicad_pcb"
    for needed in (pcb, kicad_dir / f"{project.NAME}.kicad_sch", kicad_dir / f"{project.NAME}.kicad_pro"):
        if not needed.is_file():
            raise FabError(f"{needed} missing: run `python -m hwtools generate` first")
    t0 = time.monotonic()
    parts = bom.read_parts(pcb)
    if not parts:
        raise FabError(f"{pcb} has no footprints: nothing to manufacture")
    # BomError before any export: a part without MPN, or a through-hole part that cannot fit its footprint
    bom.check_fit(parts, {project.NAME: kicad_dir / "lib" / f"{project.NAME}.pretty"})
    bom_text, components_text = bom.order_csv(parts), bom.components_json(parts)
    bom_only = bom.bom_only_items(parts)
    log(f"  parts: {len(parts)} footprints, {len(bom.bom_parts(parts))} in the BOM ({time.monotonic() - t0:.2f} s)")

    own_stage = stage is None
    stage = stage or Stage.for_folder(out_dir)
    try:
        with procs.temp_dir("fab") as tmp:
            # a private copy: kicad-cli may write project/cache files beside the board, and parallel runs must
            # not race on them; also keeps kicad/ exactly as generated
            src = tmp / "src"
            shutil.copytree(kicad_dir, src, ignore=shutil.ignore_patterns(
                "*-backups", "*.kicad_prl", "*.lck", "fp-info-cache", "_autosave-*", "p1s1", "*.json"))
            out = stage.path("export", variant.name)
            fresh = []
            with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
                started = {}
                for e in _exports(src, out, bom_text, components_text, bom_only):
                    if reuse is not None and reuse.current(e, src):
                        for name in e.outputs:  # committed, already normalised
                            shutil.copyfile(out_dir / name, out / name)
                        log(f"  {e.title}: reused (inputs unchanged)")
                    else:
                        started[pool.submit(_timed, e.run)] = e
                for fut in as_completed(started):
                    log(f"  {started[fut].title}: {fut.result():.1f} s")  # re-raises a failed step
                    fresh.append(started[fut])

            t = time.monotonic()
            machine_paths = sorted({str(src), str(out), str(tmp), str(kicad_dir), str(project.ROOT)},
                                   key=len, reverse=True)
            for e in fresh:
                for name in e.outputs:
                    normalise_file(out / name, machine_paths)
                if reuse is not None:
                    reuse.done(e, out)
        files = {p.name: p for p in sorted(out.iterdir()) if in_upload(p.name)}
        write_zip(out / variant.zip_name, files)
        generated = sorted(p for p in out.iterdir() if p.is_file())
        (out / MANIFEST).write_text("".join(f"{_sha256(p)}  {p.name}\n" for p in generated))
        unexpected = sorted({p.name for p in out.iterdir()} - set(variant.export_files))
        if unexpected:  # the fixed list is what may be replaced: a new export must be added there first
            raise FabError(f"export wrote {', '.join(unexpected)}, not in the {variant} variant's list of outputs "
                           "(hwtools/variant.py)")
        log(f"  normalise, zip: {time.monotonic() - t:.1f} s")
        stage.add_tree(out, out_dir, variant.export_files)
        if not own_stage:
            return sorted(variant.export_files)
        changed = [p.name for p in stage.commit(allowed=[out_dir])]
    finally:
        if own_stage:
            stage.discard()
    log(f"  {len(changed)} file(s) changed" + (": " + ", ".join(changed) if changed else ""))
    return changed


def _timed(func) -> float:
    start = time.monotonic()
    func()
    return time.monotonic() - start
