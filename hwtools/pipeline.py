"""`make fab` as steps: per variant generate → P1 rules → signal integrity → manufacturing export.

Every step writes into one stage (hwtools/staging.py), committed with the step records (`fab-steps.json`,
hwtools/fab_cache.py) when every step of every variant has passed. The circuit is built once per variant and
handed to every step that needs it.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from . import fab_cache, outputs, project
from .staging import Stage, recover
from .review.record import si_figures
from .variant import VARIANTS, Variant

PARTS_TOML = "hwtools/parts.toml"
PIPELINE = "hwtools/pipeline.py"


class CheckFailed(Exception):
    """A design rule or signal-integrity limit is broken (exit 1)."""


def rel(path: Path) -> str:
    path = Path(path).absolute()
    return str(path.relative_to(project.ROOT)) if path.is_relative_to(project.ROOT) else str(path)


def step_inputs(modules, files, tools) -> fab_cache.Inputs:
    """What a step reads, always with this file: a change in how the steps are wired reruns every one."""
    return fab_cache.Inputs(modules, [*files, (PIPELINE, project.ROOT / PIPELINE)], tools)


def kicad_version() -> str:
    return fab_cache.tool_version("kicad-cli", ("version",))


def ibom_version() -> str:
    return fab_cache.package_version("InteractiveHtmlBom")


class Build:
    """One run over some variants: the stage, what each step produced, the step records."""

    def __init__(self, stage: Stage, log=print, force=False, records: fab_cache.Records | None = None):
        self.stage, self.log, self.force = stage, log, force
        self.records = records  # None: custom folders, nothing recorded or skipped
        self.view: dict[Path, Path] = {}  # target file → the staged file that replaces it this run
        self.boards = {}
        self.kicad_reports = {}  # variant → the ERC/DRC reports of this run's generation (checks counts them)
        self.routed_boards = {}
        self.rule_results_of = {}
        self.digests: dict[str, str] | None = None  # a dict: only compute the input hashes, run nothing
        self.declared: set[str] = set()  # the names of every step (and export) this run has, run or skipped

    def current(self, target: Path) -> Path:
        """The file as this run sees it: staged when a step made it, else the committed one."""
        return self.view.get(Path(target).absolute(), Path(target))

    def step(self, name: str, title: str, inputs: fab_cache.Inputs, run) -> bool:
        """Run `run()` unless its inputs are recorded as current; `run` returns {target: staged file}."""
        start = time.monotonic()
        self.declared.add(name)
        digest = inputs.digest()
        if self.digests is not None:
            self.digests[name] = digest
            return False
        if self.is_current(name, digest):
            self.log(f"[{title}] skipped: inputs unchanged ({digest[:12]})")
            return False
        self.log(f"[{title}] ...")
        outputs = {t: s for t, s in (run() or {}).items() if s.is_file()}  # a file not made: not replaced
        for target, staged in outputs.items():
            self.view[Path(target).absolute()] = staged
            self.stage.add(target, staged)
        if self.records is not None:
            self.records.set(name, digest, {rel(t): s for t, s in outputs.items()})
        self.log(f"[{title}] done in {time.monotonic() - start:.1f} s")
        return True

    def is_current(self, name: str, digest: str) -> bool:
        """The step may be skipped: recorded with these inputs, its committed outputs unchanged, no --force."""
        return self.records is not None and not self.force and self.records.current(name, digest)

    def board(self, variant: Variant):
        """The circuit of `variant`, built once per run (by generation when it ran, else here)."""
        if variant.name not in self.boards:
            from .circuit import build_board

            lib = self.current(variant.kicad_dir / f"lib/{project.NAME}.kicad_sym").parent
            self.boards[variant.name] = build_board(lib_dir=lib, variant=variant)
        return self.boards[variant.name]

    def routed(self, variant: Variant):
        """The routed board of `variant` as the layout rules read it (pcbnew in a child), read once per run."""
        if variant.name not in self.routed_boards:
            from . import routed

            self.routed_boards[variant.name] = routed.read(self.current(variant.kicad_dir / f"{project.NAME}.kicad_pcb"))
        return self.routed_boards[variant.name]

    def rule_results(self, variant: Variant):
        """Every rule's figures for `variant`, computed once per run: the rules step gates on them, the checks
        step records them."""
        if variant.name not in self.rule_results_of:
            from .rules import check

            self.rule_results_of[variant.name] = check(self.board(variant), routed=self.routed(variant))
        return self.rule_results_of[variant.name]


def check_rules(board, log, routed=None, results=None):
    """The design rules of the board's variant, each figure logged; CheckFailed naming the rules that failed.
    `routed`: the variant's routed board (hwtools/routed.py), for the layout rules; `results`: the figures when
    this run already has them (Build.rule_results)."""
    if results is None:
        from .rules import check

        results = check(board, routed=routed)
    for r in results:
        log(f"  {r}")
    failed = [r for r in results if not r.passed]
    if failed:
        raise CheckFailed(f"{len(failed)} {board.variant} design rule(s) failed: " + "; ".join(r.rule for r in failed))


def check_si(board, log):
    """The P1 input's signal integrity, each figure logged; CheckFailed naming the broken limits, else the report."""
    from .si.sweep import analyse

    report = analyse(board, log=lambda m: log(f"  {m}"))
    for r in report.results:
        log(f"  {r}")
    failed = [r for r in report.results if not r.passed]
    if failed:
        raise CheckFailed(f"{len(failed)} P1 signal-integrity limit(s) broken: " + "; ".join(map(str, failed)))
    return report


def generate_step(b: Build, v: Variant, kicad_dir: Path):
    def run():
        from . import generate

        out = b.stage.path("kicad", v.name)
        b.kicad_reports[v.name] = {}
        b.boards[v.name] = generate.stage(out, lambda m: b.log(m), variant=v, reports=b.kicad_reports[v.name])
        return {kicad_dir / f: out / f for f in v.project_files}

    inputs = step_inputs(["hwtools.generate", "hwtools.board_job"], [(PARTS_TOML, project.ROOT / PARTS_TOML)],
                         [kicad_version()])
    b.step(f"{v.name}/generate", f"{v.name}: generate {rel(kicad_dir)}/ from the circuit (ERC, DRC)", inputs, run)


ROUTED_JOB = "hwtools/routed_job.py"  # reads the board in a child process: an input by file, not by import
GEOMETRY = "hwtools/geometry.py"
ROUTED_READER = [(ROUTED_JOB, project.ROOT / ROUTED_JOB), (GEOMETRY, project.ROOT / GEOMETRY)]


def rules_step(b: Build, v: Variant):
    """The rules read the circuit and the routed board (this run's, when generation ran; read by pcbnew in a
    child process, hwtools/routed_job.py with hwtools/geometry.py)."""
    lib = v.kicad_dir / f"lib/{project.NAME}.kicad_sym"
    pcb = v.kicad_dir / f"{project.NAME}.kicad_pcb"
    files = [(PARTS_TOML, project.ROOT / PARTS_TOML), (rel(lib), b.current(lib)), (rel(pcb), b.current(pcb))]
    inputs = step_inputs(["hwtools.rules", "hwtools.circuit", "hwtools.routed"], files + ROUTED_READER,
                         [kicad_version(), fab_cache.tool_version("ngspice", ("-v",))])
    b.step(f"{v.name}/rules", f"{v.name}: P1{'/S1' if v.has_s1 else ''} design rules", inputs,
           lambda: check_rules(b.board(v), b.log, results=b.rule_results(v)))


def si_step(b: Build, v: Variant, out_dir: Path):
    """The P1 input is the same circuit on every variant: simulated, and its plot made, with one of them."""
    def run():
        from .si.report import fab

        out = b.stage.path("si", v.name)
        report = check_si(b.board(v), b.log)
        fab(out, report)
        (out / outputs.SI_FIGURES.file()).write_text(json.dumps(si_figures(report), indent=1, sort_keys=True) + "\n")
        return {out_dir / f: out / f for f in outputs.files(v, outputs.SI)}

    lib = v.kicad_dir / f"lib/{project.NAME}.kicad_sym"
    inputs = step_inputs(["hwtools.si", "hwtools.si.sweep", "hwtools.si.report", "hwtools.circuit",
                          "hwtools.review.record"],
                         [(PARTS_TOML, project.ROOT / PARTS_TOML), (rel(lib), b.current(lib))],
                         [fab_cache.tool_version("ngspice", ("-v",)), kicad_version()])
    b.step(f"{v.name}/si", "P1 signal integrity (ngspice) + plot", inputs, run)


def checks_step(b: Build, v: Variant, kicad_dir: Path, out_dir: Path, si_dir: Path):
    """checks.json: every rule's figures, the ERC/DRC counts and the SI figures, for the revision review (not
    uploaded). Reads the SI step's figures (`si_dir`: the variant that simulates them); runs no simulation."""
    from .review import record

    si_file = si_dir / outputs.SI_FIGURES.file()

    def run():
        from .procs import temp_dir

        out = b.stage.path("checks", v.name)
        reports = b.kicad_reports.get(v.name)
        if reports:  # generated in this run: its own ERC and DRC reports, of the very files checks.json describes
            counts = record.counts_of(reports["erc"], reports["drc"])
        else:
            with temp_dir("checks") as tmp:
                counts = record.kicad_counts(b.current(kicad_dir / f"{project.NAME}.kicad_pcb").parent, tmp)
        current = b.current(si_file)
        si = json.loads(current.read_text(encoding="utf-8")) if current.is_file() else None
        (out / record.FILE).write_text(record.record(v, b.rule_results(v), counts, si), encoding="utf-8")
        return {out_dir / record.FILE: out / record.FILE}

    files = [(rel(kicad_dir / f), b.current(kicad_dir / f)) for f in v.project_files]
    files += [(PARTS_TOML, project.ROOT / PARTS_TOML), (rel(si_file), b.current(si_file))]
    inputs = step_inputs(["hwtools.rules", "hwtools.circuit", "hwtools.routed", "hwtools.review.record"],
                         files + ROUTED_READER, [kicad_version(), fab_cache.tool_version("ngspice", ("-v",))])
    b.step(f"{v.name}/checks", f"{v.name}: check results -> {rel(out_dir)}/{record.FILE}", inputs, run)


def export_step(b: Build, v: Variant, kicad_dir: Path, out_dir: Path):
    """The manufacturing package. Each export (Gerbers, renders, BOM…) is a step of its own inside it: when only
    some inputs changed (bom.py, say), the exports that do not read them reuse their committed files, the others
    run (fab.export writes into this run's stage)."""
    from . import fab

    def digest(e, kicad: Path) -> str:  # `kicad`: where this run reads the project (staged or committed)
        files = [("hwtools/fab.py", project.ROOT / "hwtools/fab.py")]
        files += [(rel(kicad_dir / f), kicad / f) for f in e.reads]
        if e.facts:
            files.append((PARTS_TOML, project.ROOT / PARTS_TOML))
        tool = {"kicad-cli": kicad_version, "InteractiveHtmlBom": ibom_version, "": lambda: ""}[e.tool]()
        return step_inputs(e.modules, files, [tool]).digest()

    def run():
        fab.read_manifest(out_dir)  # a doctored manifest stops here, naming the entry
        kicad = b.current(kicad_dir / f"{project.NAME}.kicad_pcb").parent
        out = b.stage.path("export", v.name)
        digests = {e.title: digest(e, kicad) for e in fab.EXPORTS}
        current = [e for e in fab.EXPORTS if b.is_current(f"{v.name}/export/{e.title}", digests[e.title])]
        for e in current:
            for name in e.outputs:  # committed, already normalised
                shutil.copyfile(out_dir / name, out / name)
            b.log(f"  {e.title}: reused (inputs unchanged)")
        for e in fab.export(kicad, out, v, b.log, skip={e.title for e in current}):
            if b.records is not None:
                b.records.set(f"{v.name}/export/{e.title}", digests[e.title],
                              {rel(v.gerbers_dir / f): out / f for f in e.outputs})
        return {out_dir / f: out / f for f in outputs.files(v)}

    b.declared.update(f"{v.name}/export/{e.title}" for e in fab.EXPORTS)
    files = [(rel(kicad_dir / f), b.current(kicad_dir / f)) for f in v.project_files]
    files.append((PARTS_TOML, project.ROOT / PARTS_TOML))  # the BOM-only lines and the through-hole fit table
    inputs = step_inputs(["hwtools.fab", "hwtools.ibom"], files,  # ibom runs in a child process: not an import
                         [kicad_version(), ibom_version()])
    b.step(f"{v.name}/export", f"{v.name}: manufacturing package (kicad-cli, iBoM) -> {rel(out_dir)}/", inputs, run)


def enclosure_step(b: Build, v: Variant, kicad_dir: Path, mech_dir: Path):
    """The case around the board this run made (or the committed one): base and lid, fit-checked, into mech/."""
    from . import enclosure

    pcb = kicad_dir / f"{project.NAME}.kicad_pcb"

    def run():
        out = b.stage.path("mech", v.name)
        try:
            enclosure.make(b.current(pcb), out, project.NAME, v.title, log=b.log)
        except enclosure.FitFailed as e:  # a check, like a design rule: exit 1
            raise CheckFailed(str(e)) from e
        b.log(f"  case fit ({v.name}): {enclosure.summary(enclosure.figures(out, project.NAME))}")
        return {mech_dir / f: out / f for f in outputs.files(v, outputs.ENCLOSURE)}

    inputs = step_inputs(["hwtools.enclosure.board_read", "hwtools.enclosure.build", "hwtools.enclosure"],
                         [(PARTS_TOML, project.ROOT / PARTS_TOML), (rel(pcb), b.current(pcb))],
                         [kicad_version(), *enclosure.cad_versions()])
    ran = b.step(f"{v.name}/enclosure", f"{v.name}: the case (OCCT) -> {rel(mech_dir)}/", inputs, run)
    if not ran and b.digests is None:  # skipped: the committed figures, so that the summary always has them
        b.log(f"  case fit ({v.name}): {enclosure.summary(enclosure.figures(mech_dir, project.NAME))}")


def enclosure_only(variants: list[Variant], log=print, force=False) -> list[str]:
    """`p1reader enclosure`: only the case steps, on the committed boards; mech/ and their records, all or nothing."""
    records = fab_cache.Records()
    with Stage() as stage:
        b = Build(stage, log, force, records)
        allowed = [records.path]
        for v in variants:
            allowed.append(project.ROOT / v.mech_rel)
            enclosure_step(b, v, v.kicad_dir, project.ROOT / v.mech_rel)
        staged = stage.dir / fab_cache.RECORD_FILE
        staged.write_text(records.text(), encoding="utf-8")
        stage.add(records.path, staged)
        return [rel(p) for p in stage.commit(allowed=allowed)]


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
        checks_step(b, v, k_dir, g_dir, root / next(s for s in VARIANTS.values() if s.simulates_si).gerbers_rel)
        export_step(b, v, k_dir, g_dir)
        allowed.append(root / v.mech_rel)
        enclosure_step(b, v, k_dir, root / v.mech_rel)
    return allowed


def fab(variants: list[Variant], log=print, force=False, root: Path | None = None, only_generate=False) -> list[str]:
    """Regenerate, check and export `variants`; commit all or nothing. Returns the files changed.

    With `root` (a folder of its own), its kicad/ and gerbers/ are written as the repository's would be, and no
    step is skipped or recorded.
    """
    records = None if root is not None else fab_cache.Records()
    root = project.ROOT if root is None else Path(root).absolute()
    if root != project.ROOT:
        root.mkdir(parents=True, exist_ok=True)
        recover(root)  # a build of this folder killed while it renamed: finished first
    with Stage(root) as stage:
        b = Build(stage, log, force, records)
        allowed = _steps(b, variants, root, only_generate)
        if records is not None:
            if not only_generate:  # a full run declares every step of its variants: the others are gone
                records.prune(b.declared, {v.name for v in variants}, set(VARIANTS))
            staged = stage.dir / fab_cache.RECORD_FILE
            staged.write_text(records.text(), encoding="utf-8")
            stage.add(records.path, staged)
            allowed.append(records.path)
        changed = stage.commit(allowed=allowed)
    return [rel(p) for p in changed]
