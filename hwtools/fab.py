"""The AISLER-ready manufacturing package: every export of the board, byte-reproducible.

`export()` writes a variant's package into the folder it is given (the pipeline decides what is current, stages,
commits and runs the checks before). It works on a private copy of the project (kicad-cli never touches kicad/),
runs the exports in parallel, normalises each file by its record (hwtools/outputs.py), zips what AISLER's own
plugin uploads and writes the manifest.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import bom, kicad_cli, outputs, procs, project
from .errors import HwtoolsError
from .fab_cache import sha256_file
from .variant import P1, SUBFOLDERS, Variant


class FabError(HwtoolsError):
    pass


ODB_REQUIRED = ("matrix/matrix", "misc/info", "fonts/standard", "steps/pcb/eda/data", "steps/pcb/profile")


def odb_missing(data: bytes) -> list[str]:
    """What an ODB++ zip lacks: the fixed files, and the features of every layer its matrix lists.

    kicad-cli 9.0.x once wrote, on a heavily loaded machine, a zip without matrix/, fonts/, input/ and half
    the layers, and exited 0; this is the check that catches such a package before it is committed.
    """
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
    for _ in range(2):
        kicad_cli.export_odb(pcb, out)
        missing = odb_missing(out.read_bytes())
        if not missing:
            return
    raise FabError(f"kicad-cli wrote an incomplete ODB++ package {out.name} twice; missing: {', '.join(missing[:8])}")


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
class Job:
    """What every export of one run reads: the private copy of the project, the folder to write, the BOM."""

    src: Path
    out: Path
    bom_text: str
    components_text: str
    bom_only: list

    @property
    def pcb(self) -> Path:
        return self.src / f"{project.NAME}.kicad_pcb"

    def file(self, name: str) -> Path:
        return self.out / name.format(n=project.NAME)


def _write_bom(job: Job):
    job.file("{n}-bom.csv").write_text(job.bom_text, encoding="utf-8")
    job.file("components.json").write_text(job.components_text, encoding="utf-8")


@dataclass(frozen=True)
class Export:
    """One export: what it runs, what it reads (for its input hash); the files it writes are its records in
    hwtools/outputs.py (`producer=title`)."""

    title: str
    run: Callable[[Job], None]
    reads: tuple[str, ...]       # project files, relative to the KiCad folder
    modules: tuple[str, ...]     # hwtools modules it runs besides this one (normalisers, zip)
    tool: str = "kicad-cli"      # the external tool whose version counts ("" for none)
    facts: bool = False          # reads hwtools/parts.toml (the BOM-only lines)

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(o.file() for o in outputs.OUTPUTS if o.producer == self.title)


_BOARD = (f"{project.NAME}.kicad_pcb", f"{project.NAME}.kicad_pro")
_CLI = ("hwtools.kicad_cli", "hwtools.outputs")
EXPORTS = (  # slowest first, so the pool finishes early
    Export("render top", lambda j: kicad_cli.render(j.pcb, j.file("{n}-top.png"), "top"), _BOARD, _CLI),
    Export("render bottom", lambda j: kicad_cli.render(j.pcb, j.file("{n}-bottom.png"), "bottom"), _BOARD, _CLI),
    Export("ODB++", lambda j: _odb(j.pcb, j.file("{n}-odb.zip")), _BOARD, _CLI),
    Export("Gerber X2", lambda j: kicad_cli.export_gerbers(j.pcb, j.out, outputs.GERBER_LAYERS), _BOARD, _CLI),
    Export("interactive BOM", lambda j: _ibom(j.pcb, j.out, j.file("{n}-ibom.html").stem, j.bom_only), _BOARD,
           ("hwtools.procs", "hwtools.ibom", "hwtools.bom", "hwtools.outputs"), "InteractiveHtmlBom",
           facts=True),  # bom: its lines
    Export("Excellon drill", lambda j: kicad_cli.export_drill(j.pcb, j.out), _BOARD, _CLI),
    Export("placement CSV", lambda j: kicad_cli.export_pos(j.pcb, j.file("{n}-placement.csv")), _BOARD, _CLI),
    Export("IPC-D-356", lambda j: kicad_cli.export_ipcd356(j.pcb, j.file("{n}.d356")), _BOARD, _CLI),
    Export("schematic PDF", lambda j: kicad_cli.export_sch_pdf(j.src / f"{project.NAME}.kicad_sch",
                                                               j.file("{n}-schematic.pdf")),
           (f"{project.NAME}.kicad_sch", f"{project.NAME}.kicad_pro"), _CLI),
    Export("BOM, components.json", _write_bom, _BOARD, ("hwtools.bom", "hwtools.outputs"), "", facts=True),
)


def read_manifest(out_dir: Path) -> dict[str, str]:
    """The manifest's {file name: sha256}. Only for reading: nothing is ever deleted because it is listed.

    An entry that is not a plain file name inside the folder (`../x`, `/etc/x`, `sub/x`) is a FabError naming it.
    """
    path = Path(out_dir) / outputs.MANIFEST
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


def _read_board(kicad_dir: Path, log) -> tuple[str, str, list]:
    """The BOM texts of the project in `kicad_dir`; FabError or bom.BomError (a part without MPN, a through-hole
    part that cannot fit its footprint) before any export runs."""
    pcb = kicad_dir / f"{project.NAME}.kicad_pcb"
    for needed in (pcb, kicad_dir / f"{project.NAME}.kicad_sch", kicad_dir / f"{project.NAME}.kicad_pro"):
        if not needed.is_file():
            raise FabError(f"{needed} missing: run `p1reader generate` first")
    t0 = time.monotonic()
    parts = bom.read_parts(pcb)
    if not parts:
        raise FabError(f"{pcb} has no footprints: nothing to manufacture")
    bom.check_fit(parts, {project.NAME: kicad_dir / "lib" / f"{project.NAME}.pretty"})
    texts = bom.order_csv(parts), bom.components_json(parts), bom.bom_only_items(parts)
    log(f"  parts: {len(parts)} footprints, {len(bom.bom_parts(parts))} in the BOM ({time.monotonic() - t0:.2f} s)")
    return texts


def export(kicad_dir: Path, out: Path, variant: Variant = P1, log=print, jobs: int | None = None,
           skip=()) -> list[Export]:
    """Write the variant's manufacturing package into the folder `out` (made if missing); return the exports run.

    `skip`: titles of exports whose files the caller has put into `out` already (current, normalised: see
    pipeline.export_step); the zip and the manifest cover them too. `jobs`: how many exports run at once (default:
    the CPU count). Raises FabError (missing input, a tool failed) or bom.BomError before anything is written.
    """
    kicad_dir, out = Path(kicad_dir).resolve(), Path(out).resolve()
    job_texts = _read_board(kicad_dir, log)
    out.mkdir(parents=True, exist_ok=True)
    todo = [e for e in EXPORTS if e.title not in skip]
    with procs.temp_dir("fab") as tmp:
        # a private copy: kicad-cli may write project/cache files beside the board, and parallel runs must not
        # race on them; also keeps kicad/ exactly as generated
        src = tmp / "src"
        shutil.copytree(kicad_dir, src, ignore=shutil.ignore_patterns(
            "*-backups", "*.kicad_prl", "*.lck", "fp-info-cache", "_autosave-*", "*.json", *SUBFOLDERS))
        job = Job(src, out, *job_texts)
        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
            started = {pool.submit(_timed, e.run, job): e for e in todo}
            for fut in as_completed(started):
                log(f"  {started[fut].title}: {fut.result():.1f} s")  # re-raises a failed export
        t = time.monotonic()
        machine_paths = sorted({str(src), str(out), str(tmp), str(kicad_dir), str(project.ROOT)}, key=len,
                               reverse=True)
        for name in (name for e in todo for name in e.outputs):
            (out / name).write_bytes(outputs.normalise((out / name).read_bytes(), name, machine_paths))
    _package(out, variant)
    log(f"  normalise, zip: {time.monotonic() - t:.1f} s")
    return todo


def _package(out: Path, variant: Variant):
    """The upload zip and the manifest; every file in `out` must be on the variant's fixed list."""
    upload = [o.file(variant) for o in outputs.OUTPUTS if o.upload]
    outputs.write_zip(out / variant.zip_name, {name: (out / name).read_bytes() for name in upload})
    made = sorted(p for p in out.iterdir() if p.is_file() and p.name != outputs.MANIFEST)
    (out / outputs.MANIFEST).write_text("".join(f"{sha256_file(p)}  {p.name}\n" for p in made))
    unexpected = sorted({p.name for p in out.iterdir()} - set(outputs.files(variant)))
    if unexpected:  # the fixed list is what may be replaced: a new export must be added there first
        raise FabError(f"export wrote {', '.join(unexpected)}, not in the {variant} variant's list of outputs "
                       "(hwtools/outputs.py)")


def _timed(func, *args) -> float:
    start = time.monotonic()
    func(*args)
    return time.monotonic() - start
