"""One review from start to end, one progress line per phase with its time: the sides, their staleness, each
variant's models (cached by the sha256 of the side's files and the review code's version), the change list, the
checks and the package before and after, the pictures, and the three output files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import sys
import time
import zipfile
from pathlib import Path

from .. import procs, project
from ..fab_cache import sha256_file
from ..staging import atomic_write
from ..variant import VARIANTS
from . import SCHEMA_VERSION, ReviewError, checks, diff, model, record, report, sides

CODE_DIR = Path(__file__).parent


def code_version() -> str:
    """The sha256 of the review's own code: a new version recomputes what the cache holds."""
    h = hashlib.sha256()
    for f in sorted(CODE_DIR.rglob("*.py")) + sorted((CODE_DIR / "templates").glob("*")):
        h.update(f"{f.relative_to(CODE_DIR)} {sha256_file(f)}\n".encode())
    return h.hexdigest()


class Phase:
    """`with Phase(log, "…"):` logs the phase's name, then its time."""

    def __init__(self, log, title: str):
        self.log, self.title = log, title

    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.log(f"{self.title}: {time.monotonic() - self.start:.1f} s")


def _variant_dirs(root: Path) -> dict[str, tuple[Path, Path]]:
    """{variant: (kicad folder, gerbers folder)} of the variants a side has."""
    return {name: (root / v.kicad_rel, root / v.gerbers_rel) for name, v in VARIANTS.items()
            if (root / v.kicad_rel / f"{project.NAME}.kicad_pcb").is_file()}


def cached_model(kicad_dir: Path, cache: Path | None) -> dict:
    files = sorted(p for p in kicad_dir.glob(f"{project.NAME}.*") if p.is_file())
    key = hashlib.sha256((code_version() + "".join(f"{p.name}:{sha256_file(p)}" for p in files)).encode())
    path = cache / f"model-{key.hexdigest()[:32]}.json" if cache else None
    if path is not None and path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    data = model.read(kicad_dir)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(data), durable=False)
    return data


def review(base: str, head: str | None, out: Path, repo: Path, force=None, allow_stale=False, pictures=True,
           cache: Path | None = None, log=print) -> dict:
    with sides.opened(base, head, repo, force) as (old, new):
        with Phase(log, "sides and their staleness"):
            stale = [sides.judge(s, allow_stale, log) for s in (old, new)]
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ReviewError(f"-o {out}: {e.strerror or e}") from e
        result = {"schema_version": SCHEMA_VERSION, "review_version": code_version()[:16],
                  "base": _side(old, stale[0]), "head": _side(new, stale[1]), "variants": []}
        a, b = _variant_dirs(old.root), _variant_dirs(new.root)
        for name in VARIANTS:
            if name in a or name in b:
                result["variants"].append(_variant(name, a.get(name), b.get(name), old, new, pictures, cache, out,
                                                   log))
    with Phase(log, "review.json, review.md, index.html"):
        report.write(result, Path(out))
    return result


def _side(s: sides.Side, stale: list[str]) -> dict:
    return {"label": s.label, "revision": s.revision, "stale": stale}


def _variant(name, a, b, old, new, pictures, cache, out, log) -> dict:
    if a is None or b is None:
        kind = "variant-added" if a is None else "variant-removed"
        return {"variant": name, "changes": [{"kind": kind, "variant": name, "id": f"{name}-1", "ref": None,
                                              "net": None, "before": None if a is None else name,
                                              "after": None if b is None else name}],
                "routing": [], "checks": [], "package": {}}
    key = _variant_key(a, b, pictures) if cache else None
    done = cache / f"variant-{key}" if cache else None
    if done is not None and (done / "variant.json").is_file():
        with Phase(log, f"{name}: both sides as reviewed before (.review-cache)"):
            return _restore(done, Path(out) / "pictures" / name)
    v = _compare(name, a, b, old, new, pictures, cache, out, log)
    if done is not None:
        _store(v, done, Path(out) / "pictures" / name)
    return v


def _compare(name, a, b, old, new, pictures, cache, out, log) -> dict:
    with Phase(log, f"{name}: read both sides (netlist, board with pcbnew, schematic)"):
        before, after = cached_model(a[0], cache), cached_model(b[0], cache)
    v = {"variant": name}
    with Phase(log, f"{name}: change list"):
        v["changes"], v["routing"] = diff.changes(before, after, name)
    with Phase(log, f"{name}: checks and package before and after"):
        v["checks"] = [{**e, "variant": name} for e in checks.compare(side_checks(old.root, a[1], name),
                                                                      side_checks(new.root, b[1], name))]
        v["package"] = package(a[1], b[1])
    if pictures:
        from . import pictures as pics

        with Phase(log, f"{name}: pictures (kicad-cli SVG, rasterised in headless Chromium)"):
            v["pictures"] = pics.crops((a[0], b[0]), (before, after), v["changes"], v["routing"],
                                       Path(out) / "pictures" / name, cache)
    return v


def _variant_key(a, b, pictures: bool) -> str:
    """The sha256 of both sides' outputs (every file of kicad/ and gerbers/ of the variant), the review's code
    and, with pictures, Chromium's version."""
    from .pictures import CHROMIUM
    from ..fab_cache import tool_version

    h = hashlib.sha256(f"{code_version()} pictures={pictures}".encode())
    if pictures:
        h.update(tool_version(CHROMIUM).encode())
    for side in (a, b):
        for folder in side:
            for f in sorted(p for p in folder.glob("*") if p.is_file() and p.suffix != ".kicad_prl"):
                h.update(f"{f.name} {sha256_file(f)}\n".encode())
            h.update(b"--\n")
    return h.hexdigest()[:32]


def _store(v: dict, done: Path, pictures: Path):
    done.mkdir(parents=True, exist_ok=True)
    if pictures.is_dir():
        shutil.copytree(pictures, done / "pictures", dirs_exist_ok=True)
    atomic_write(done / "variant.json", json.dumps(v), durable=False)


def _restore(done: Path, pictures: Path) -> dict:
    if pictures.exists():
        shutil.rmtree(pictures)
    if (done / "pictures").is_dir():
        shutil.copytree(done / "pictures", pictures)
    return json.loads((done / "variant.json").read_text(encoding="utf-8"))


def side_checks(root: Path, gerbers: Path, variant: str):
    """A side's checks.json; for a revision older than it, its own `check --json` (rules only), else None."""
    f = gerbers / record.FILE
    if f.is_file():
        return json.loads(f.read_text(encoding="utf-8"))
    if not (root / "hwtools").is_dir():
        return None
    proc = procs.run([sys.executable, "-m", "hwtools", "check", "--json", "--variant", variant],
                     capture_output=True, text=True, cwd=root, env={**sides.clean_env(), "PYTHONPATH": str(root)})
    lines = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    if not lines:
        return None
    return {"rules": lines, "erc": record.NOT_AVAILABLE, "drc": record.NOT_AVAILABLE, "si": record.NOT_AVAILABLE}


def package(a: Path, b: Path) -> dict:
    """The BOM lines, components.json entries and the upload zip's file list, before and after."""
    def bom(g: Path) -> set:
        files = list(g.glob(f"{project.NAME}-bom.csv"))
        return {",".join(r) for r in csv.reader(io.StringIO(files[0].read_text(encoding="utf-8")))} if files else set()

    def components(g: Path) -> dict:
        f = g / "components.json"
        return {c["designator"]: c for c in json.loads(f.read_text(encoding="utf-8"))} if f.is_file() else {}

    def upload(g: Path) -> set:
        zips = sorted(g.glob("*-aisler.zip"))
        return set(zipfile.ZipFile(zips[0]).namelist()) if zips else set()

    ca, cb = components(a), components(b)
    return {"bom": {"removed": sorted(bom(a) - bom(b)), "added": sorted(bom(b) - bom(a))},
            "components": {"removed": sorted(set(ca) - set(cb)), "added": sorted(set(cb) - set(ca)),
                           "changed": sorted(d for d in set(ca) & set(cb) if ca[d] != cb[d])},
            "upload": {"removed": sorted(upload(a) - upload(b)), "added": sorted(upload(b) - upload(a))}}


def failures(result: dict, fail_on: str | None) -> list[dict]:
    return [e for v in result["variants"] for e in checks.failures(v["checks"], fail_on)]
