"""All-or-nothing replacement of generated files: a staging folder, a journal, atomic renames.

A build writes every new file into a staging folder inside the repository's `.fab/` (same file system as
kicad/ and gerbers/, so a rename is atomic). When every step of every variant has passed, `commit()` writes
a journal naming each file to replace or remove, then renames the staged files over the old ones, then
deletes the journal. A process killed before the journal exists leaves the old files untouched; killed
after, the next `recover()` (every `hwtools` command and the staleness tests call it first) finishes the
renames from the journal. Either way the tree is the old complete set or the new complete set.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from . import procs, project

STATE_DIR = ".fab"  # under the repository root; ignored by git
JOURNAL = "journal.json"
STAGE_PREFIX = "stage-"
PAUSE_ENV = "P1READER_TEST_PAUSE"  # tests only: "<point>:<marker file>", see _pause


class StagingError(Exception):
    pass


def _pause(point: str):
    """Test-only hook: with P1READER_TEST_PAUSE=point:marker, write the marker and wait to be killed."""
    spec = os.environ.get(PAUSE_ENV, "")
    want, _, marker = spec.partition(":")
    if spec and want == point:
        Path(marker).write_text(str(os.getpid()))
        while True:
            time.sleep(3600)


def _write_atomic(path: Path, text: str):
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Stage:
    """A staging folder `.fab/stage-<pid>-…/` and the files in it that are to replace files in the tree."""

    def __init__(self, root: Path = project.ROOT):
        self.root = Path(root)
        state = self.root / STATE_DIR
        state.mkdir(exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=state))
        self.replace: dict[Path, Path] = {}  # target → staged file
        self.remove: set[Path] = set()

    def path(self, *parts) -> Path:
        """A folder inside the stage (made on first use)."""
        p = self.dir.joinpath(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def add(self, target: Path, staged: Path):
        """On commit, replace `target` with `staged` (only when the bytes differ)."""
        self.replace[Path(target).absolute()] = Path(staged)

    def add_tree(self, staged_dir: Path, target_dir: Path, names):
        """Each of `names` (relative paths) from staged_dir into target_dir; a name not staged is removed."""
        for name in names:
            if (staged_dir / name).is_file():
                self.add(target_dir / name, staged_dir / name)
            else:
                self.remove.add((Path(target_dir) / name).absolute())

    def changes(self) -> tuple[list[Path], list[Path]]:
        """(targets whose bytes differ, targets that exist and go) — what commit() will do."""
        changed = [t for t, src in sorted(self.replace.items())
                   if not t.is_file() or t.read_bytes() != src.read_bytes()]
        return changed, sorted(t for t in self.remove if t.is_file())

    def commit(self, allowed) -> list[Path]:
        """Replace the changed files all or nothing; every target must lie inside one of the `allowed` folders.

        Returns the targets changed or removed.
        """
        changed, gone = self.changes()
        for target in changed + gone:
            _check_inside(target, allowed)
        if changed or gone:
            journal = {"stage": self.dir.name,
                       "replace": [[str(t), str(self.replace[t].relative_to(self.dir))] for t in changed],
                       "remove": [str(t) for t in gone]}
            _pause("before-journal")
            _write_atomic(self.root / STATE_DIR / JOURNAL, json.dumps(journal, indent=1))
            _pause("after-journal")
            _roll_forward(self.root, journal)
        self.discard()
        return changed + gone

    def discard(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()  # after commit() it is gone already; on an error nothing was replaced


def _check_inside(target: Path, allowed):
    target = Path(target)
    if not any(target.resolve().is_relative_to(Path(a).resolve()) for a in allowed):
        raise StagingError(f"refusing to replace {target}: not inside {', '.join(map(str, allowed))}")


def _move(src: Path, dst: Path):
    """Atomic rename; across file systems a copy beside the target first, then the rename."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(src, dst)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        tmp = dst.with_name(f".{dst.name}.p1reader-new")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
        src.unlink()


def _roll_forward(root: Path, journal: dict):
    """Idempotent: move each staged file still there over its target, remove the removals, drop the journal."""
    stage = root / STATE_DIR / journal["stage"]
    for i, (target, staged_rel) in enumerate(journal["replace"]):
        src = stage / staged_rel
        if src.is_file():  # not there: moved already by the run that was killed
            _move(src, Path(target))
        if i == 0:
            _pause("after-first-rename")
    for target in journal["remove"]:
        Path(target).unlink(missing_ok=True)
    (root / STATE_DIR / JOURNAL).unlink()
    shutil.rmtree(stage, ignore_errors=True)


def recover(root: Path = project.ROOT) -> str | None:
    """Finish a commit a killed run left half done, and remove stale stage and temp folders.

    Returns a line saying what was recovered, or None when there was nothing to do.
    """
    root = Path(root)
    state = root / STATE_DIR
    if not state.is_dir():
        return None
    done = None
    journal_path = state / JOURNAL
    (state / (JOURNAL + ".tmp")).unlink(missing_ok=True)  # a journal never finished writing: never committed
    if journal_path.is_file():
        try:
            journal = json.loads(journal_path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise StagingError(f"{journal_path} is unreadable ({e}): restore kicad/ and gerbers/ with git "
                               "and delete it") from e
        n = len(journal["replace"]) + len(journal["remove"])
        _roll_forward(root, journal)
        done = f"recovered an interrupted build: finished replacing {n} file(s) from {journal_path.name}"
    for stage in state.glob(f"{STAGE_PREFIX}*"):
        pid = procs.owner_pid(stage.name, STAGE_PREFIX)
        if pid is not None and pid != os.getpid() and not procs.alive(pid):
            shutil.rmtree(stage, ignore_errors=True)
    procs.remove_stale()
    return done
