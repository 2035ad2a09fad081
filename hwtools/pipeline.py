"""`make fab` as steps: per variant generate → P1 rules → signal integrity → manufacturing export.

Every step writes into one staging folder (hwtools/staging.py); only when every step of every variant has
passed are the new kicad/ and gerbers/ files renamed over the old ones, with the step records
(`fab-steps.json`), all or nothing. A step whose input hash (hwtools/steps.py) matches its committed record,
with its committed outputs unchanged, is skipped and says so. The circuit is built once per variant and
handed to every step that needs it.
"""

from __future__ import annotations

import time
from pathlib import Path

from . import project, steps
from .staging import Stage, recover
from .variant import Variant

PARTS_TOML = "hwtools/parts.toml"


class CheckFailed(Exception):
    """A design rule or signal-integrity limit is broken (exit 1)."""


def rel(path: Path) -> str:
    path = Path(path).absolute()
    return str(path.relative_to(project.ROOT)) if path.is_relative_to(project.ROOT) else str(path)


def kicad_version() -> str:
    return steps.tool_version("kicad-cli", ("version",))


class Build:
    """One run over some variants: the stage, what each step produced, the step records."""

    def __init__(self, stage: Stage, log=print, force=False, records: steps.Records | None = None):
        self.stage, self.log, self.force = stage, log, force
        self.records = records  # None: custom folders, nothing recorded or skipped
        self.view: dict[Path, Path] = {}  # target file → the staged file that replaces it this run
        self.boards = {}
        self.digests: dict[str, str] | None = None  # a dict: only compute the input hashes, run nothing

    def current(self, target: Path) -> Path:
        """The file as this run sees it: staged when a step made it, else the committed one."""
        return self.view.get(Path(target).absolute(), Path(target))

    def step(self, name: str, title: str, inputs: steps.Inputs, run) -> bool:
        """Run `run()` unless its inputs are recorded as current; `run` returns {target: staged file}."""
        start = time.monotonic()
        digest = inputs.digest()
        if self.digests is not None:
            self.digests[name] = digest
            return False
        if self.records is not None and not self.force and self.records.current(name, digest):
            self.log(f"[{title}] skipped: inputs unchanged ({digest[:12]})")
            return False
        self.log(f"[{title}] ...")
        outputs = {t: s for t, s in (run() or {}).items() if s.is_file()}  # a file not made: removed on commit
        for target, staged in outputs.items():
            self.view[Path(target).absolute()] = staged
            self.stage.add(target, staged)
        if self.records is not None:
            self.records.set(name, digest, {rel(t): s for t, s in outputs.items()})
        self.log(f"[{title}] done in {time.monotonic() - start:.1f} s")
        return True

    def board(self, variant: Variant):
        """The circuit of `variant`, built once per run (by generation when it ran, else here)."""
        if variant.name not in self.boards:
            from .circuit import build_board

            lib = self.current(variant.kicad_dir / f"lib/{project.NAME}.kicad_sym").parent
            self.boards[variant.name] = build_board(lib_dir=lib, variant=variant)
        return self.boards[variant.name]


def generate_step(b: Build, v: Variant, kicad_dir: Path):
    def run():
        from . import generate

        out = b.stage.path("kicad", v.name)
        b.boards[v.name] = generate.stage(out, lambda m: b.log(m), variant=v)
        return {kicad_dir / f: out / f for f in v.project_files}

    inputs = steps.Inputs(["hwtools.generate", "hwtools.board_job"], [(PARTS_TOML, project.ROOT / PARTS_TOML)],
                          [kicad_version()])
    b.step(f"{v.name}/generate", f"{v.name}: generate {rel(kicad_dir)}/ from the circuit (ERC, DRC)", inputs, run)


def rules_step(b: Build, v: Variant):
    def run():
        from .rules import check

        results = check(b.board(v))
        for r in results:
            b.log(f"  {r}")
        failed = [r for r in results if not r.passed]
        if failed:
            raise CheckFailed(f"{len(failed)} {v.name} design rule(s) failed: " + "; ".join(r.name for r in failed))

    lib = v.kicad_dir / f"lib/{project.NAME}.kicad_sym"
    inputs = steps.Inputs(["hwtools.rules", "hwtools.circuit"],
                          [(PARTS_TOML, project.ROOT / PARTS_TOML), (rel(lib), b.current(lib))], [kicad_version()])
    b.step(f"{v.name}/rules", f"{v.name}: P1{'/S1' if v.has_s1 else ''} design rules", inputs, run)


def si_step(b: Build, v: Variant, out_dir: Path):
    """The P1 input is the same circuit on every variant: simulated, and its plot made, with one of them."""
    def run():
        from . import si

        report = si.analyse(b.board(v), log=lambda m: b.log(f"  {m}"))
        for r in report.results:
            b.log(f"  {r}")
        failed = [r for r in report.results if not r.passed]
        if failed:
            raise CheckFailed(f"{len(failed)} P1 signal-integrity limit(s) broken: " + "; ".join(map(str, failed)))
        out = b.stage.path("si", v.name)
        si.fab(out, report=report)
        return {out_dir / f: out / f for f in v.si_files}

    lib = v.kicad_dir / f"lib/{project.NAME}.kicad_sym"
    inputs = steps.Inputs(["hwtools.si", "hwtools.si.sweep", "hwtools.si.report", "hwtools.circuit"],
                          [(PARTS_TOML, project.ROOT / PARTS_TOML), (rel(lib), b.current(lib))],
                          [steps.tool_version("ngspice", ("-v",)), kicad_version()])
    b.step(f"{v.name}/si", "P1 signal integrity (ngspice) + plot", inputs, run)


class ExportReuse:
    """Each export of the package (Gerbers, renders, BOM…) is a step of its own inside the export step: when
    only some inputs changed (bom.py, say), the exports that do not read them reuse their committed files."""

    def __init__(self, b: Build, v: Variant, kicad_dir: Path):
        self.b, self.v, self.kicad_dir = b, v, kicad_dir
        self.digests = {}

    def _name(self, e) -> str:
        return f"{self.v.name}/export/{e.title}"

    def current(self, e, src: Path) -> bool:
        files = [("hwtools/fab.py", project.ROOT / "hwtools/fab.py")]
        files += [(rel(self.kicad_dir / f), src / f) for f in e.reads]
        if e.facts:
            files.append((PARTS_TOML, project.ROOT / PARTS_TOML))
        tools = {"kicad-cli": kicad_version, "InteractiveHtmlBom": lambda: steps.package_version("InteractiveHtmlBom"),
                 "": lambda: ""}[e.tool]()
        digest = steps.Inputs(e.modules, files, [tools]).digest()
        self.digests[e.title] = digest
        return self.b.records is not None and not self.b.force and self.b.records.current(self._name(e), digest)

    def done(self, e, folder: Path):
        if self.b.records is not None:
            out_dir = self.v.gerbers_dir
            self.b.records.set(self._name(e), self.digests[e.title], {rel(out_dir / f): folder / f for f in e.outputs})


def export_step(b: Build, v: Variant, kicad_dir: Path, out_dir: Path):
    def run():
        from . import fab

        kicad = b.current(kicad_dir / f"{project.NAME}.kicad_pcb").parent
        fab.export(kicad, out_dir, log=lambda m: b.log(m), variant=v, stage=b.stage,
                   reuse=ExportReuse(b, v, kicad_dir))
        staged = b.stage.dir / "export" / v.name
        return {out_dir / f: staged / f for f in v.export_files}

    from . import fab

    files = [(rel(kicad_dir / f), b.current(kicad_dir / f)) for f in v.project_files]
    files += [(rel(out_dir / f), b.current(out_dir / f)) for f in fab.KEEP]
    files.append((PARTS_TOML, project.ROOT / PARTS_TOML))  # the BOM-only lines and the through-hole fit table
    inputs = steps.Inputs(["hwtools.fab", "hwtools.ibom"], files,  # ibom runs in a child process: not an import
                          [kicad_version(), steps.package_version("InteractiveHtmlBom")])
    b.step(f"{v.name}/export", f"{v.name}: manufacturing package (kicad-cli, iBoM) -> {rel(out_dir)}/", inputs, run)


def input_digests(variants: list[Variant]) -> dict[str, str]:
    """Each step's input hash on the committed tree, running nothing: what the next `make fab` would compare."""
    with Stage() as stage:
        b = Build(stage, log=lambda m: None)
        b.digests = {}
        _steps(b, variants, project.ROOT, False)
        return b.digests


def _steps(b: Build, variants, root: Path, only_generate) -> list[Path]:
    """Every step of every variant in order; returns the folders they may write."""
    allowed = []
    for v in variants:
        k_dir, g_dir = root / v.kicad_rel, root / v.gerbers_rel
        allowed.append(k_dir)
        generate_step(b, v, k_dir)
        if only_generate:
            continue
        allowed.append(g_dir)
        rules_step(b, v)
        if v.simulates_si:
            si_step(b, v, g_dir)
        export_step(b, v, k_dir, g_dir)
    return allowed


def fab(variants: list[Variant], log=print, force=False, root: Path | None = None, only_generate=False) -> list[str]:
    """Regenerate, check and export `variants`; commit all or nothing. Returns the files changed.

    With `root` (a folder of its own), its kicad/ and gerbers/ are written as the repository's would be, and no
    step is skipped or recorded.
    """
    records = None if root is not None else steps.Records()
    root = project.ROOT if root is None else Path(root).absolute()
    if root != project.ROOT:
        root.mkdir(parents=True, exist_ok=True)
        recover(root)  # a build of this folder killed while it renamed: finished first
    with Stage(root) as stage:
        b = Build(stage, log, force, records)
        allowed = _steps(b, variants, root, only_generate)
        if records is not None:
            staged = stage.dir / steps.RECORD_FILE
            staged.write_text(records.text(), encoding="utf-8")
            stage.add(records.path, staged)
            allowed.append(records.path)
        changed = stage.commit(allowed=allowed)
    return [rel(p) for p in changed]
