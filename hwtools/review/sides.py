"""The two sides of a review: folders, or git revisions checked out into temporary worktrees.

An argument that is an existing folder is a side as it is (a folder holding `kicad/` and `gerbers/`, like a
checkout); anything else is a git revision of the repository (`--rev` / `--dir` force either). A revision is
checked out with `git worktree add` into a temp folder named after this process (hwtools/procs.py), removed when
the review ends; one a killed review left behind is removed by the next review, and `git worktree prune` forgets
it. Each side's outputs are checked against its own `fab-steps.json`: a generated file that is not what its step
recorded (edited by hand, or an input changed without `make fab`) makes the side stale.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import procs
from ..fab_cache import RECORD_FILE, sha256_file
from . import ReviewError


@dataclass(frozen=True)
class Side:
    label: str  # as the user named it
    root: Path  # the folder holding kicad/, gerbers/ (and fab-steps.json)
    revision: str | None  # the commit, for a git revision


def _git(repo: Path, *args, check=True) -> subprocess.CompletedProcess:
    proc = procs.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise ReviewError(f"git {' '.join(args[:2])} in {repo} failed: {proc.stderr.strip()[-500:]}")
    return proc


def resolve(arg: str, repo: Path, force: str | None) -> tuple[str, str]:
    """("dir", folder) or ("rev", commit) for a command-line argument."""
    if force != "rev" and (force == "dir" or Path(arg).is_dir()):
        if not Path(arg).is_dir():
            raise ReviewError(f"{arg}: no such folder")
        if not (Path(arg) / "kicad").is_dir():
            raise ReviewError(f"{arg}: no kicad/ folder in it: not a side to review")
        return "dir", str(Path(arg).absolute())
    proc = _git(repo, "rev-parse", "--verify", "--quiet", f"{arg}^{{commit}}", check=False)
    if proc.returncode != 0:
        raise ReviewError(f"{arg}: neither a folder nor a revision of the git repository {repo}")
    return "rev", proc.stdout.strip()


@contextlib.contextmanager
def opened(base: str, head: str | None, repo: Path, force: str | None = None):
    """(base side, head side); revisions checked out into temp worktrees that are removed on every exit."""
    repo = Path(repo).absolute()
    procs.remove_stale()  # a review killed before: its worktree folders …
    if (repo / ".git").exists():
        _forget_removed_worktrees(repo)  # … and git's record of them
    wanted = [(base, resolve(base, repo, force))]
    wanted.append((head, resolve(head, repo, force)) if head else ("work tree", ("dir", str(repo))))
    if wanted[1][1] == ("dir", str(repo)) and not (repo / "kicad").is_dir():
        raise ReviewError(f"{repo}: no kicad/ folder in the work tree")
    with procs.temp_dir("review") as tmp, contextlib.ExitStack() as stack:
        sides = []
        for i, (label, (kind, where)) in enumerate(wanted):
            if kind == "dir":
                sides.append(Side(label, Path(where), None))
                continue
            tree = tmp / f"side{i}"
            # --no-checkout: `worktree add` would check out in a child of its own, which outlives a killed review
            # and keeps writing into the folder the next review removes; our own `reset --hard` dies with us.
            _git(repo, "worktree", "add", "--detach", "--no-checkout", "--quiet", str(tree), where)
            stack.callback(_remove_worktree, repo, tree)
            _git(tree, "reset", "--hard", "--quiet")
            if not (tree / "kicad").is_dir():
                raise ReviewError(f"{label}: revision {where[:12]} has no kicad/ folder")
            sides.append(Side(label, tree, where))
        yield sides[0], sides[1]


def _forget_removed_worktrees(repo: Path):
    """`git worktree prune`, after unlocking our own worktrees whose folder is gone: one killed while `git worktree
    add` ran stays locked ("initializing"), and prune skips locked ones. A user's own locked worktree is kept."""
    listing = _git(repo, "worktree", "list", "--porcelain", check=False).stdout
    for line in listing.splitlines():
        path = Path(line.removeprefix("worktree ")) if line.startswith("worktree ") else None
        if path is not None and not path.exists() and procs.owner_pid(path.parent.name) is not None:
            _git(repo, "worktree", "unlock", str(path), check=False)
    _git(repo, "worktree", "prune", check=False)


def _remove_worktree(repo: Path, tree: Path):
    _git(repo, "worktree", "remove", "--force", str(tree), check=False)
    _git(repo, "worktree", "prune", check=False)


def stale_steps(root: Path) -> list[str]:
    """The steps of `root`'s fab-steps.json whose recorded outputs are not the files there (missing or changed)."""
    path = root / RECORD_FILE
    if not path.is_file():
        return []
    try:
        steps = json.loads(path.read_text(encoding="utf-8")).get("steps", {})
    except ValueError as e:
        raise ReviewError(f"{path}: not JSON ({e})") from e
    stale = []
    for name, rec in sorted(steps.items()):
        for rel, sha in rec.get("outputs", {}).items():
            f = root / rel
            if not f.is_file() or sha256_file(f) != sha:
                stale.append(f"{name} ({rel} {'missing' if not f.is_file() else 'differs from its record'})")
                break
    return stale


INPUTS_SCRIPT = ("import json, hwtools.pipeline as p, hwtools.variant as v\n"
                 "print(json.dumps(p.input_digests(list(v.VARIANTS.values()))))")


def stale_inputs(root: Path) -> list[str] | None:
    """The steps whose inputs changed since `root`'s fab-steps.json, computed by `root`'s own code (a checkout),
    or None when it cannot be told (a folder with outputs only, or code too old to say)."""
    path = root / RECORD_FILE
    if not (root / "hwtools" / "pipeline.py").is_file() or not path.is_file():
        return None
    proc = procs.run([sys.executable, "-c", INPUTS_SCRIPT], capture_output=True, text=True, cwd=root,
                     env={**clean_env(), "PYTHONPATH": str(root)})
    if proc.returncode != 0:
        return None
    digests = json.loads(proc.stdout.strip().splitlines()[-1])
    steps = json.loads(path.read_text(encoding="utf-8")).get("steps", {})
    return sorted(name for name, digest in digests.items() if steps.get(name, {}).get("inputs") != digest)


def clean_env() -> dict:
    """This environment without PYTHONPATH: a side's own code is run with its own."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def judge(side: Side, allow_stale: bool, log) -> list[str]:
    """The side's staleness, as lines for the report; ReviewError naming the step unless `allow_stale`."""
    stale = stale_steps(side.root)
    inputs = stale_inputs(side.root)
    stale += [f"{name} (its inputs changed: run `make fab`)" for name in inputs or []]
    if stale and not allow_stale:
        raise ReviewError(f"{side.label} is stale: step {stale[0]}" + (f" and {len(stale) - 1} more" if
                                                                       len(stale) > 1 else "")
                          + "; regenerate it with `make fab`, or review it as it is with --allow-stale")
    if inputs is None and not (side.root / RECORD_FILE).is_file():
        log(f"  {side.label}: no {RECORD_FILE}: its outputs are taken as they are")
    return stale
