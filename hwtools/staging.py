"""All-or-nothing replacement of generated files: a staging folder, a journal, atomic renames (README.md,
"All or nothing").

New files go into a stage inside the root's `.fab/` (the file system of kicad/ and gerbers/: a rename is
atomic). `commit()` writes a journal naming each file to replace or remove, renames, then deletes the journal;
a run killed after the journal was written is finished by the next `recover()` (every board command and the
staleness tests call it first). The journal is never trusted: recovery checks every path, symlinks resolved,
against the outputs the code declares for the root (`project.OUTPUTS`, or `WHOLE_ROOT` for a custom build's
own folder) and refuses it whole on any failure. One process at a time holds the flock on `.fab/`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from . import procs, project
from .errors import HwtoolsError

STATE_DIR = ".fab"  # under the root; ignored by git
JOURNAL = "journal.json"
JOURNAL_VERSION = 2  # 2: paths relative to the root (version 1 stored absolute paths and is refused)
STAGE_PREFIX = "stage-"
_STAGE_NAME = re.compile(rf"{STAGE_PREFIX}\d+-[A-Za-z0-9_]+")  # what tempfile.mkdtemp makes in Stage()
WHOLE_ROOT = (".",)  # the outputs of a custom build's own folder: everything in it but .fab/
REBUILD = f"delete {STATE_DIR}/ and run `make fab` again (kicad/ and gerbers/ come back from git or the build)"


class StagingError(HwtoolsError):
    pass


# Called with the name of each point of a commit: "before-journal", "after-journal", "after-first-rename". Empty in
# the product; the kill tests (tests/fab/test_fab_staging.py) add a hook that stops their process there.
COMMIT_HOOKS: list = []


def _reached(point: str):
    for hook in COMMIT_HOOKS:
        hook(point)


_held: dict[Path, list] = {}  # a root's state folder → [its open descriptor, users in this process]


def _lock(state: Path):
    """Take the root's lock for this process (again, if it holds it already), or StagingError naming the holder.

    The lock is an flock on the `.fab/` folder itself: no lock file to leave behind, and the kernel lets go of it
    when the holder ends however it ends."""
    key = state.resolve()
    if key in _held:
        _held[key][1] += 1
        return
    while True:
        fd = os.open(state, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _flock_holder(os.fstat(fd))
            os.close(fd)
            raise StagingError(f"another fab (pid {holder}) holds {STATE_DIR}/ in {state.parent}: wait for it to "
                               "end (a killed one lets go by itself)") from None
        if state.is_dir() and state.stat().st_ino == os.fstat(fd).st_ino:
            break
        os.close(fd)  # the folder was removed (a custom folder's last commit) while we took it: take the new one
        state.mkdir(exist_ok=True)
    _held[key] = [fd, 1]


def _flock_holder(st: os.stat_result) -> str:
    """The pid holding an flock on the file `st` describes, from the kernel's /proc/locks, or "?"."""
    me = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return "?"
    for fields in (line.split() for line in lines):
        if "->" not in fields and len(fields) > 5 and fields[1] == "FLOCK" and fields[5] == me:
            return fields[4]
    return "?"


def _unlock(state: Path):
    key = state.resolve()
    _held[key][1] -= 1
    if _held[key][1] == 0:
        os.close(_held.pop(key)[0])  # closing the descriptor releases the flock


def atomic_write(path: Path, data: str | bytes, mode: int = 0o644, durable: bool = True) -> None:
    """The one way a file is written whole or not at all: a temporary file beside it (`.<name>.…`), fsync (unless
    `durable` is False: a file nobody needs after a crash), then a rename over it; the temporary file is removed on
    any error. `mode` ignores the umask (records are read by other users)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Stage:
    """A staging folder `.fab/stage-<pid>-…/` and the files in it that are to replace files in the tree.

    `outputs`: what the stage may replace, relative to `root` — the repository's `project.OUTPUTS`, or
    `WHOLE_ROOT` for a custom build that writes one folder of its own (see `for_folder`).
    """

    def __init__(self, root: Path = project.ROOT, outputs: tuple[str, ...] = project.OUTPUTS):
        self.root = Path(root).absolute()
        self.outputs = outputs
        state = _state_dir(self.root)
        state.mkdir(exist_ok=True)
        _state_dir(self.root, must_exist=True)  # a .fab that is a symlink out of the root is refused
        _lock(state)
        self.locked = True
        self.dir = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=state))
        self.replace: dict[Path, Path] = {}  # target → staged file
        self.remove: set[Path] = set()

    @classmethod
    def for_folder(cls, folder: Path) -> "Stage":
        """A stage for one output folder: the repository's own when it lies among `project.OUTPUTS`, else a
        custom folder that is its own root (its journal in `<folder>/.fab/`, finished by `recover(folder)`)."""
        folder = Path(folder).absolute()
        if _inside_any(folder, _allowed(project.ROOT, project.OUTPUTS)):
            return cls(project.ROOT)
        folder.mkdir(parents=True, exist_ok=True)
        recover(folder, WHOLE_ROOT)  # finish a commit a killed run left there first
        return cls(folder, WHOLE_ROOT)

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
            for folders in (allowed, _allowed(self.root, self.outputs)):
                if not _inside_any(target, folders):
                    raise StagingError(f"refusing to replace {target}: not inside {', '.join(map(str, folders))}")
        if changed or gone:
            journal = {"version": JOURNAL_VERSION, "stage": self.dir.name,
                       "replace": [[_rel(t, self.root), _rel(self.replace[t], self.dir)] for t in changed],
                       "remove": [_rel(t, self.root) for t in gone]}
            _reached("before-journal")
            atomic_write(self.root / STATE_DIR / JOURNAL, json.dumps(journal, indent=1))
            _reached("after-journal")
            _roll_forward(self.root, _checked(self.root, self.outputs, journal, "the journal just written"))
        self.discard()
        if self.outputs == WHOLE_ROOT:  # a custom folder keeps only what was asked for
            with contextlib.suppress(OSError):  # not empty: what another run left stays
                (self.root / STATE_DIR).rmdir()
        return changed + gone

    def discard(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.locked:
            self.locked = False
            _unlock(self.root / STATE_DIR)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()  # after commit() it is gone already; on an error nothing was replaced


def _inside_any(path: Path, folders) -> bool:
    """True when `path`, symlinks resolved, lies in one of `folders` (resolved too); `.fab/` never counts."""
    real = Path(path).resolve()
    for folder in folders:
        folder = Path(folder).resolve()
        if real.is_relative_to(folder) and STATE_DIR not in real.relative_to(folder).parts:
            return True
    return False


def _allowed(root: Path, outputs) -> list[Path]:
    """The output folders and files of `root` (each must resolve inside the root: a symlinked kicad/ does not)."""
    real_root = Path(root).resolve()
    return [root / o for o in outputs if (root / o).resolve().is_relative_to(real_root)]


def _state_dir(root: Path, must_exist: bool = False) -> Path:
    state = Path(root) / STATE_DIR
    if must_exist and (state.is_symlink() or state.resolve().parent != Path(root).resolve()):
        raise StagingError(f"{state} is not a folder of {root} (a symlink?): {REBUILD}")
    return state


def _rel(path: Path, base: Path) -> str:
    return PurePosixPath(Path(path).absolute().relative_to(base)).as_posix()


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


class _Plan:
    """A journal whose every path was checked: absolute paths inside the root's outputs and its stage."""

    def __init__(self, stage: Path, replace: list[tuple[Path, Path]], remove: list[Path]):
        self.stage, self.replace, self.remove = stage, replace, remove


def _checked(root: Path, outputs, journal, source: str) -> _Plan:
    """The journal's entries as absolute paths, each checked; StagingError naming the entry for anything else.

    Nothing is renamed or removed before every entry has passed."""
    root = Path(root).absolute()

    def refuse(entry: str, why: str):
        raise StagingError(f"{source}: {entry}: {why}; nothing was renamed or removed — {REBUILD}")

    if not isinstance(journal, dict) or set(journal) != {"version", "stage", "replace", "remove"}:
        keys = sorted(journal) if isinstance(journal, dict) else type(journal).__name__
        refuse("the journal", f"not a journal of this version (keys {keys}; expected version, stage, replace, remove)")
    if journal["version"] != JOURNAL_VERSION:
        refuse("version", f"{journal['version']!r}, not {JOURNAL_VERSION} (an older journal stored absolute paths)")
    name = journal["stage"]
    if not isinstance(name, str) or not _STAGE_NAME.fullmatch(name):
        refuse("stage", f"{name!r} is not a stage folder name ({STAGE_PREFIX}<pid>-…)")
    state = _state_dir(root, must_exist=True)
    stage = state / name
    if stage.is_symlink() or (stage.exists() and stage.resolve().parent != state.resolve()):
        refuse("stage", f"{name!r} is not a folder of {state}")
    allowed = _allowed(root, outputs)

    def target(entry: str, value) -> Path:
        if not isinstance(value, str) or not value or "\0" in value or PurePosixPath(value).is_absolute():
            refuse(entry, f"{value!r} is not a path relative to {root}")
        path = root / value
        if not _inside_any(path, allowed):
            refuse(entry, f"{value!r} is outside {', '.join(outputs)}")
        return path

    def staged(entry: str, value) -> Path:
        if not isinstance(value, str) or not value or PurePosixPath(value).is_absolute():
            refuse(entry, f"{value!r} is not a path inside the stage")
        path = stage / value
        if not path.resolve().is_relative_to(stage.resolve()):
            refuse(entry, f"{value!r} leads out of the stage {name}")
        return path

    for key in ("replace", "remove"):
        if not isinstance(journal[key], list):
            refuse(key, f"a {type(journal[key]).__name__}, not a list")
    replace = []
    for i, item in enumerate(journal["replace"]):
        if not (isinstance(item, list) and len(item) == 2):
            refuse(f"replace[{i}]", f"{item!r} is not a [target, staged file] pair")
        replace.append((target(f"replace[{i}] target", item[0]), staged(f"replace[{i}] staged file", item[1])))
    remove = [target(f"remove[{i}]", item) for i, item in enumerate(journal["remove"])]
    return _Plan(stage, replace, remove)


def _roll_forward(root: Path, plan: _Plan):
    """Idempotent: move each staged file still there over its target, remove the removals, drop the journal."""
    for i, (target, src) in enumerate(plan.replace):
        if src.is_file():  # not there: moved already by the run that was killed
            _move(src, target)
        if i == 0:
            _reached("after-first-rename")
    for target in plan.remove:
        target.unlink(missing_ok=True)
    (root / STATE_DIR / JOURNAL).unlink()
    shutil.rmtree(plan.stage, ignore_errors=True)


def recover(root: Path = project.ROOT, outputs: tuple[str, ...] = project.OUTPUTS) -> str | None:
    """Finish a commit a killed run left half done, and remove stale stage and temp folders.

    `outputs` (from the code, never from the journal) bound what the journal may touch. Returns a line saying
    what was recovered, or None when there was nothing to do; StagingError for a journal that fails a check.
    """
    root = Path(root).absolute()
    state = _state_dir(root)
    if not state.is_dir() and not state.is_symlink():
        return None
    _state_dir(root, must_exist=True)
    try:
        _lock(state)
    except StagingError:
        return None  # another process stages here: a journal is its own to finish (Stage() names it)
    done, journal_path = None, state / JOURNAL
    shown = f"{_rel(journal_path, root)} in {root}"
    try:
        if journal_path.is_file():
            try:
                journal = json.loads(journal_path.read_text(encoding="utf-8"))
            except (ValueError, OSError) as e:
                raise StagingError(f"{shown}: unreadable ({e}); nothing was renamed or removed — {REBUILD}") from e
            plan = _checked(root, outputs, journal, shown)
            _roll_forward(root, plan)
            done = (f"recovered an interrupted build: finished replacing {len(plan.replace) + len(plan.remove)} "
                    f"file(s) from {journal_path.name}")
        # a journal never finished writing was never committed (only its own name is removed: no path is read)
        for unfinished in state.glob(f".{JOURNAL}.*"):
            unfinished.unlink(missing_ok=True)
        procs.remove_stale(state, STAGE_PREFIX)
    finally:
        _unlock(state)
    procs.remove_stale()
    return done
