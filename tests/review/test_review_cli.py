"""`p1reader review` as a user runs it: git revisions of a repository the test makes (checked out into temp
worktrees that are gone afterwards, also after a kill), folders, stale sides, bad arguments (exit 2, one line
naming what), `--fail-on` on a seeded regression and a shrunk margin, and each variant's checks before and after."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edits import value
from hwtools import procs
from hwtools.fab_cache import sha256_file

from review_helpers import REPO, REV13, copy_side, listed, validated

GIVE_UP_S = 300  # polling limit on a loaded machine: never a timing assertion


def review(*args) -> subprocess.CompletedProcess:
    """`p1reader review ARGS` through the one command's exit policy, in this process (a process start costs more
    than most reviews here); the kill test runs it as a child."""
    from p1reader import cli

    out, err = io.StringIO(), io.StringIO()
    cache = [] if "--cache" in args else ["--no-cache"]  # never the repository's .review-cache/
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["review", *map(str, args), *cache])
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def git(repo: Path, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


def record_outputs(root: Path):
    """A fab-steps.json recording the generated files as they are (what `make fab` would have committed)."""
    outputs = {str(p.relative_to(root)): sha256_file(p) for p in sorted((root / "kicad").rglob("*"))
               if p.is_file() and p.suffix != ".kicad_prl"}  # pcbnew's local settings: never a generated file
    steps = {"p1/generate": {"inputs": "0" * 64, "outputs": outputs}}
    (root / "fab-steps.json").write_text(json.dumps({"steps": steps}, indent=1), encoding="utf-8")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A git repository with two commits: the rev 1.3 outputs, then one value edit (R3), each with its records."""
    root = copy_side(REV13, tmp_path_factory.mktemp("repo") / "r")
    record_outputs(root)
    git(root, "init", "-q")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "rev 1.3")
    for variant in ("kicad", "kicad/p1s1"):
        value(root / variant)
    record_outputs(root)
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "R3 2.0 kOhm")
    return root


def worktrees(repo: Path) -> list[str]:
    return [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]


def test_two_revisions_are_reviewed_and_their_worktrees_removed(repo, tmp_path):
    proc = review("HEAD~1", "HEAD", "--repo", repo, "-o", tmp_path / "out", "--no-pictures")
    assert proc.returncode == 0, proc.stderr
    data = validated(tmp_path / "out")
    assert listed(data, "p1") == listed(data, "p1s1") == {("value", "R3")}
    assert data["base"]["revision"] == git(repo, "rev-parse", "HEAD~1")
    phases = [line for line in proc.stdout.splitlines() if line.startswith("[") and " s] " in line]
    assert any("change list" in p for p in phases) and all(p.rstrip().endswith(" s") for p in phases), proc.stdout
    assert worktrees(repo) == [f"worktree {repo}"], "a temp worktree was left behind"


def test_head_defaults_to_the_work_tree(repo, tmp_path):
    proc = review("HEAD", "--repo", repo, "-o", tmp_path / "out", "--no-pictures")
    assert proc.returncode == 0, proc.stderr
    assert all(v["changes"] == [] for v in validated(tmp_path / "out")["variants"])


def test_a_killed_review_leaves_no_worktree_after_the_next(repo, tmp_path):
    child = subprocess.Popen([sys.executable, "-m", "p1reader", "review", "HEAD~1", "HEAD", "--repo", str(repo),
                              "-o", str(tmp_path / "killed"), "--no-cache"], cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + GIVE_UP_S
    while len(worktrees(repo)) < 2 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert child.poll() is None, "the review ended before it could be killed inside its worktrees"
    left = [w.split(" ", 1)[1] for w in worktrees(repo)[1:]]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert left and all(Path(w).name.startswith("side") for w in left)
    proc = review("HEAD", "HEAD", "--repo", repo, "-o", tmp_path / "out", "--no-pictures")
    assert proc.returncode == 0, proc.stderr
    validated(tmp_path / "out")
    assert worktrees(repo) == [f"worktree {repo}"]
    assert not any(Path(w).exists() for w in left)
    assert procs.owner_pid(Path(left[0]).parent.name) == child.pid  # it was the killed review's own folder


@pytest.mark.parametrize("args, words", [
    (["no-such-rev"], ["no-such-rev", "neither a folder nor a revision"]),
    (["--dir", "no-such-folder"], ["no-such-folder", "no such folder"]),
])
def test_an_unknown_side_is_exit_2_naming_it(repo, tmp_path, args, words):
    proc = review(*args, "--repo", repo, "-o", tmp_path / "out", "--no-pictures")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and not (tmp_path / "out").exists(), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and all(w in proc.stderr for w in words), proc.stderr


def test_a_side_without_kicad_is_exit_2_naming_it(repo, tmp_path):
    (tmp_path / "empty").mkdir()
    proc = review(tmp_path / "empty", REV13, "-o", tmp_path / "out", "--no-pictures")
    assert proc.returncode == 2 and "empty" in proc.stderr and "kicad/" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_stale_side_stops_the_review_naming_the_step_unless_allowed(repo, tmp_path):
    side = copy_side(REV13, tmp_path / "side")
    record_outputs(side)
    value(side / "kicad")  # edited after its records were written: stale
    proc = review(REV13, side, "-o", tmp_path / "out", "--no-pictures")
    assert proc.returncode == 2 and "p1/generate" in proc.stderr and "stale" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()
    proc = review(REV13, side, "-o", tmp_path / "out", "--no-pictures", "--allow-stale")
    assert proc.returncode == 0, proc.stderr
    data = validated(tmp_path / "out")
    assert data["head"]["stale"] and "p1/generate" in data["head"]["stale"][0]
    assert "STALE" in (tmp_path / "out" / "review.md").read_text(encoding="utf-8")


def _seed(side: Path, edit) -> None:
    """Both variants' checks.json from the committed `make fab` outputs, changed by `edit(record)`."""
    for g in ("gerbers", "gerbers/p1s1"):
        data = json.loads((REPO / g / "checks.json").read_text(encoding="utf-8"))
        edit(data)
        (side / g / "checks.json").write_text(json.dumps(data), encoding="utf-8")


def _rule(data, name):
    return next(r for r in data["rules"] if r["rule"] == name and r["figure"] is not None)


def test_fail_on_regression_fails_on_a_seeded_rule_regression_and_passes_otherwise(tmp_path):
    base, head = copy_side(REV13, tmp_path / "base"), copy_side(REV13, tmp_path / "head")
    _seed(base, lambda d: None)
    _seed(head, lambda d: None)
    assert review(base, head, "-o", tmp_path / "same", "--no-pictures", "--fail-on", "regression").returncode == 0
    assert {c["verdict"] for v in validated(tmp_path / "same")["variants"] for c in v["checks"]} == {"same"}

    def regress(d):
        r = _rule(d, "p1-data-current")  # a maximum: past it fails
        r["figure"], r["pass"] = r["limit"]["max"] * 1.1, False
    _seed(head, regress)
    proc = review(base, head, "-o", tmp_path / "out", "--no-pictures", "--fail-on", "regression")
    assert proc.returncode == 1 and "REGRESSION" in proc.stdout and "p1-data-current" in proc.stdout, proc.stdout
    checks = {(c["variant"], c["figure"]): c["verdict"] for v in validated(tmp_path / "out")["variants"]
              for c in v["checks"]}
    assert checks[("p1", "rule p1-data-current")] == checks[("p1s1", "rule p1-data-current")] == "regression"
    assert review(base, head, "-o", tmp_path / "out", "--no-pictures").returncode == 0  # no --fail-on: reported only


def test_a_shrunk_margin_fails_only_with_fail_on_margin(tmp_path):
    base, head = copy_side(REV13, tmp_path / "base"), copy_side(REV13, tmp_path / "head")
    _seed(base, lambda d: None)

    def closer(d):
        r = _rule(d, "p1-data-current")
        r["figure"] = (r["figure"] + r["limit"]["max"]) / 2  # still below its maximum
    _seed(head, closer)
    assert review(base, head, "-o", tmp_path / "a", "--no-pictures", "--fail-on", "regression").returncode == 0
    validated(tmp_path / "a")
    proc = review(base, head, "-o", tmp_path / "b", "--no-pictures", "--fail-on", "margin")
    assert proc.returncode == 1 and "MARGIN-SHRUNK" in proc.stdout, proc.stdout
    validated(tmp_path / "b")


def test_a_side_older_than_checks_json_is_marked_not_available(tmp_path):
    head = copy_side(REV13, tmp_path / "head")
    _seed(head, lambda d: None)
    proc = review(REV13, head, "-o", tmp_path / "out", "--no-pictures")
    assert proc.returncode == 0, proc.stderr
    v = validated(tmp_path / "out")["variants"][0]
    assert v["checks"] and {c["verdict"] for c in v["checks"]} == {"not available"}
    assert {c["before"] for c in v["checks"]} == {"not available"}


def test_a_second_review_comes_from_the_cache_until_a_side_changes(tmp_path):
    head = copy_side(REV13, tmp_path / "head")
    value(head / "kicad")
    args = [REV13, head, "--no-pictures", "--cache", tmp_path / "cache"]
    first = review(*args, "-o", tmp_path / "a")
    second = review(*args, "-o", tmp_path / "b")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "as reviewed before" not in first.stdout and second.stdout.count("as reviewed before") == 2
    assert validated(tmp_path / "a") == validated(tmp_path / "b")
    assert "as reviewed before" not in review(*args, "-o", tmp_path / "c", "--no-cache").stdout
    value(head / "kicad/p1s1")  # p1s1 changed: only p1 comes from the cache
    third = review(*args, "-o", tmp_path / "d")
    assert third.stdout.count("as reviewed before") == 1 and "p1: both sides as reviewed before" in third.stdout
    assert listed(validated(tmp_path / "d"), "p1s1") == {("value", "R3")}


def test_an_output_folder_that_cannot_be_made_is_exit_2_naming_it(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    proc = review(REV13, REV13, "-o", tmp_path / "file" / "out", "--no-pictures")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "file/out" in proc.stderr, proc.stderr


def test_a_checkout_older_than_checks_json_runs_its_own_check(tmp_path):
    """A side with its code but no checks.json for p1 (as before `make fab` wrote it): p1's design rules come from its
    own `check --json`; ERC, DRC and SI, which that does not give, are "not available". p1s1 keeps its checks.json
    (one variant's check is the case; the second would only double the test's time)."""
    import shutil

    old = copy_side(REPO, tmp_path / "old")
    for folder in ("hwtools", "p1reader"):
        shutil.copytree(REPO / folder, old / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (old / "gerbers" / "checks.json").unlink()
    proc = review(old, REPO, "--dir", "-o", tmp_path / "out", "--no-pictures")
    assert proc.returncode == 0, proc.stderr
    variants = {v["variant"]: v for v in validated(tmp_path / "out")["variants"]}
    assert "not available" not in {c["verdict"] for c in variants["p1s1"]["checks"]}
    verdicts = {c["figure"]: c["verdict"] for c in variants["p1"]["checks"]}
    rules = {f: x for f, x in verdicts.items() if f.startswith("rule ")}
    assert rules and set(rules.values()) == {"same"}, verdicts
    assert {x for f, x in verdicts.items() if not f.startswith("rule ")} == {"not available"}
