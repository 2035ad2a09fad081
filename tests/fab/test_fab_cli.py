"""`python -m hwtools fab` on a copy of the repository: skips what is current, fails cleanly on bad input
(exit 2, a message naming what and where, no traceback) and then leaves kicad/ and gerbers/ exactly as they
were, never deletes what a doctored manifest names, and finishes an interrupted commit before anything else."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hwtools import fab_cache, project, staging

REPO = project.ROOT
STEP_NAMES = {"p1/generate", "p1/rules", "p1/si", "p1/checks", "p1/export", "p1/enclosure",
              "p1s1/generate", "p1s1/rules", "p1s1/checks", "p1s1/export", "p1s1/enclosure"}


@pytest.fixture
def repo(tmp_path):
    """The sources and committed outputs, as a fresh clone has them (new file times, no .fab/)."""
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns("__pycache__", ".fab", "*.egg-info")
    for folder in ("hwtools", "p1reader", "kicad", "gerbers", "mech"):
        shutil.copytree(REPO / folder, copy / folder, ignore=ignore)
    shutil.copyfile(REPO / fab_cache.RECORD_FILE, copy / fab_cache.RECORD_FILE)
    return copy


def hwtools(repo: Path, *args) -> subprocess.CompletedProcess:
    # run from the copy: `-m` puts the working folder first on sys.path, so the copy's hwtools is the one used
    return subprocess.run([sys.executable, "-m", "p1reader", *args], capture_output=True, text=True, cwd=repo)


def snapshot(repo: Path) -> dict:
    return {str(p.relative_to(repo)): p.read_bytes() for folder in ("kicad", "gerbers", "mech")
            for p in sorted((repo / folder).rglob("*")) if p.is_file()}


def digests(repo: Path) -> dict:
    code = ("import json; from hwtools import pipeline, variant; "
            "print(json.dumps(pipeline.input_digests(list(variant.VARIANTS.values()))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, check=True)
    return json.loads(proc.stdout)


def assert_clean_error(proc, *words):
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr


def test_committed_records_are_current_so_a_fresh_clone_skips_every_step(repo):
    proc = hwtools(repo, "fab")
    assert proc.returncode == 0, proc.stderr
    skipped = [line for line in proc.stdout.splitlines() if "skipped: inputs unchanged" in line]
    assert len(skipped) == len(STEP_NAMES), proc.stdout
    assert "0 file(s) changed" in proc.stdout


def test_an_unrelated_module_changes_no_step(repo):
    before = digests(repo)
    assert set(before) == STEP_NAMES
    with open(repo / "hwtools/board_review.py", "a") as f:
        f.write("\n# an edit that no fab step reads\n")
    assert digests(repo) == before
    proc = hwtools(repo, "fab")
    assert proc.returncode == 0 and proc.stdout.count("skipped: inputs unchanged") == len(STEP_NAMES), proc.stdout


RULES_AND_CHECKS = {"p1/rules", "p1s1/rules", "p1/checks", "p1s1/checks"}  # checks.json records the rules' figures


@pytest.mark.parametrize("module, rerun", [("hwtools/bom.py", {"p1/export", "p1s1/export"}),
                                           ("hwtools/si/report.py", {"p1/si"}),
                                           ("hwtools/rules/supply.py", RULES_AND_CHECKS),
                                           # the circuit (rev 1.4), the BOM and the case read parts.toml
                                           ("hwtools/facts.py", RULES_AND_CHECKS | {"p1/generate", "p1s1/generate",
                                                                                   "p1/si", "p1/export", "p1s1/export",
                                                                                   "p1/enclosure", "p1s1/enclosure"}),
                                           ("hwtools/layout.py", {"p1/generate", "p1s1/generate"}),
                                           # the rules read the routed board in a child process: its code is an input
                                           ("hwtools/routed_job.py", RULES_AND_CHECKS),
                                           ("hwtools/geometry.py", RULES_AND_CHECKS | {"p1/generate", "p1s1/generate",
                                                                                      "p1/enclosure", "p1s1/enclosure"}),
                                           ("hwtools/pipeline.py", STEP_NAMES)])  # how the steps are wired
def test_a_module_change_reruns_only_the_steps_that_read_it(repo, module, rerun):
    before = digests(repo)
    with open(repo / module, "a") as f:
        f.write("\n# changed\n")
    after = digests(repo)
    assert {name for name in before if before[name] != after[name]} == rerun


def test_records_of_steps_that_no_longer_exist_are_pruned(repo):
    """fab-steps.json loses the records of a step its variant no longer has and of a variant that is gone; a
    variant this run did not build keeps its own."""
    path = repo / fab_cache.RECORD_FILE
    records = json.loads(path.read_text())
    current = dict(records["steps"])
    stale = {"inputs": "0" * 64, "outputs": {}}
    records["steps"].update({"p1/retired": stale, "p9/generate": stale, "p1s1/retired": stale})
    path.write_text(json.dumps(records))
    proc = hwtools(repo, "fab", "--variant", "p1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("skipped: inputs unchanged") == len({s for s in STEP_NAMES if s.startswith("p1/")})
    assert json.loads(path.read_text())["steps"] == {**current, "p1s1/retired": stale}


def test_a_bom_code_change_reruns_only_the_bom_the_interactive_bom_and_the_zip(repo):
    """bom.py changes: every kicad-cli export reuses its committed files; BOM, components.json, the interactive
    BOM (its BOM-only lines come from bom.py), zip and manifest are written again (the same bytes: the edit is a
    comment)."""
    with open(repo / "hwtools/bom.py", "a") as f:
        f.write("\n# changed\n")
    before = snapshot(repo)
    proc = hwtools(repo, "fab")
    assert proc.returncode == 0, proc.stderr
    for variant in ("p1", "p1s1"):
        assert f"[{variant}: manufacturing package" in proc.stdout
    ran = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  ") and line.strip().endswith(" s")
           and ": " in line and "reused" not in line]
    exports = [line.split(":")[0] for line in ran if not line.startswith(("parts", "normalise"))]
    assert sorted(exports) == ["BOM, components.json"] * 2 + ["interactive BOM"] * 2, proc.stdout  # as they end
    assert proc.stdout.count("reused (inputs unchanged)") == 2 * 8, proc.stdout
    assert snapshot(repo) == before


def test_doctored_manifest_deletes_nothing_outside_gerbers(repo, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    manifest = repo / "gerbers" / "SHA256SUMS"
    original = manifest.read_text()
    for entry in (f"../../{victim.name}", str(victim)):
        manifest.write_text(original + f"{'0' * 64}  {entry}\n")
        before = snapshot(repo)
        proc = hwtools(repo, "fab")
        assert_clean_error(proc, "SHA256SUMS", repr(entry), "not a plain file name")
        assert victim.read_text() == "keep me"
        assert snapshot(repo) == before


def test_a_bad_value_stops_fab_naming_part_and_value_and_changes_nothing(repo):
    circuit = repo / "hwtools" / "circuit.py"
    text = circuit.read_text()
    assert '"R2", "Device:R", "1.2 kOhm"' in text
    circuit.write_text(text.replace('"R2", "Device:R", "1.2 kOhm"', '"R2", "Device:R", "1.2 kOm"'))
    before = snapshot(repo)
    proc = hwtools(repo, "fab")
    assert_clean_error(proc, "R2: resistor value '1.2 kOm'", "nothing was replaced: kicad/, gerbers/ and mech/ are as they were")
    assert snapshot(repo) == before


def test_a_syntax_error_is_named_once(repo):
    circuit = repo / "hwtools" / "circuit.py"
    circuit.write_text(circuit.read_text() + "\ndef broken(:\n")
    proc = hwtools(repo, "fab")
    assert_clean_error(proc, "hwtools/circuit.py:", "SyntaxError")
    assert proc.stderr.count("SyntaxError") == 1


def test_check_on_a_missing_project_folder_names_it(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "p1reader", "check", "--variant", "p1", "--kicad-dir",
                           str(tmp_path / "nonexistent")], capture_output=True, text=True, cwd=REPO)
    assert_clean_error(proc, str(tmp_path / "nonexistent"))


def test_an_interrupted_commit_is_finished_before_anything_else(repo):
    state = repo / staging.STATE_DIR
    stage = state / "stage-999999999-x"
    (stage / "g").mkdir(parents=True)
    (stage / "g" / "late.txt").write_text("renamed by the recovery")
    target = repo / "gerbers" / "late.txt"
    (state / staging.JOURNAL).write_text(json.dumps({"version": staging.JOURNAL_VERSION, "stage": stage.name,
                                                     "replace": [["gerbers/late.txt", "g/late.txt"]], "remove": []}))
    proc = hwtools(repo, "fab")
    assert proc.returncode == 0, proc.stderr
    assert "recovered an interrupted build" in proc.stdout
    assert target.read_text() == "renamed by the recovery"
    assert not (state / staging.JOURNAL).exists() and not stage.exists()


def test_a_journal_naming_a_file_outside_the_outputs_stops_every_command_in_one_line(repo, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    state = repo / staging.STATE_DIR
    state.mkdir()
    (state / staging.JOURNAL).write_text(json.dumps({"version": staging.JOURNAL_VERSION, "stage": "stage-9-x",
                                                     "replace": [], "remove": ["kicad/../../victim.txt"]}))
    before = snapshot(repo)
    proc = hwtools(repo, "check")
    assert_clean_error(proc, ".fab/journal.json", "remove[0]", "outside kicad, gerbers, mech, fab-steps.json",
                       "delete .fab/")
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert victim.read_text() == "keep me" and snapshot(repo) == before
