"""Child processes and temp folders that never outlive the `hwtools` process that made them.

Every external tool (kicad-cli, the pcbnew board job, InteractiveHtmlBom, ngspice) is started through util-linux's
`setpriv --pdeathsig KILL`, and every worker process calls Linux's `prctl(PR_SET_PDEATHSIG, SIGKILL)` itself:
a kill -9 of the parent takes its children along instead of leaving them running. Temp folders carry the owner's
PID in their name (`p1reader-<pid>-…`), so a later run can remove the ones a killed run left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

PR_SET_PDEATHSIG = 1
TEMP_PREFIX = "p1reader-"
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here: the forked child only calls it


def die_with_parent(parent_pid: int | None = None):
    """Ask the kernel to SIGKILL this process when its parent goes; exit now if the parent is already gone.

    Runs in a freshly forked child (a pool initializer): one foreign call, no imports.
    """
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if parent_pid is not None and os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run for a child that dies with this process.

    `setpriv` sets the parent-death signal and then runs the tool in the same process, so Python starts it with
    vfork: a fork (needed to run Python code in the child) of a build process holding a few hundred MB costs
    about 10 ms of CPU per call. (A parent killed in the half millisecond before setpriv's prctl would leave that
    one child running.)
    """
    if os.environ.get(RECORD_ENV):
        _record(cmd, kwargs.get("cwd"))
    if shutil.which(str(cmd[0])) is None:  # as subprocess would say it, not as setpriv's exit 127
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(cmd[0]))
    return subprocess.run([_setpriv(), "--pdeathsig", "KILL", "--", *cmd], **kwargs)


@functools.cache
def _setpriv() -> str:
    path = shutil.which("setpriv")
    if path is None:
        raise FileNotFoundError("setpriv not found on PATH (Debian's util-linux package)")
    return path


RECORD_ENV = "P1READER_RECORD_CALLS"  # `make bench` only: a folder to record each kicad-cli/ngspice call into
RECORDED_TOOLS = ("kicad-cli", "ngspice")


def _record(cmd, cwd):
    """Copy the call's inputs (its working folder, the folders of the files it names) into a fresh folder of
    the record and append the call, rewritten to those copies, to calls.jsonl; the bench replays them as a
    bare shell script. (The build that records is not one the bench times.)"""
    import json

    if Path(cmd[0]).name not in RECORDED_TOOLS:
        return
    record = Path(os.environ[RECORD_ENV])
    call = Path(tempfile.mkdtemp(prefix="call-", dir=record))
    folders = {str(Path(cwd).absolute())} if cwd else set()
    folders |= {str(Path(a).absolute().parent) for a in map(str, cmd[1:]) if a.startswith("/") and Path(a).is_file()}
    mapping = {}
    for i, folder in enumerate(sorted(folders, key=len, reverse=True)):
        copy = call / f"d{i}"
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("p1s1", "*.raw"))
        mapping[folder] = str(copy)
    for i, arg in enumerate(map(str, cmd[1:])):  # outputs elsewhere: an empty folder of their own
        if arg.startswith("/") and not any(arg.startswith(f + "/") for f in mapping):
            folder = arg.rstrip("/") if arg.endswith("/") else str(Path(arg).parent)
            (call / f"o{i}").mkdir()
            mapping[folder] = str(call / f"o{i}")
    mapping = dict(sorted(mapping.items(), key=lambda kv: len(kv[0]), reverse=True))

    def moved(arg: str) -> str:
        for folder, copy in mapping.items():  # longest first
            if arg == folder or arg.startswith(folder + "/"):
                return copy + arg[len(folder):]
        return arg

    entry = {"argv": [Path(cmd[0]).name] + [moved(str(a)) for a in cmd[1:]], "cwd": moved(str(cwd)) if cwd else None}
    with open(record / "calls.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")


def pool_initializer(parent_pid: int):
    """ProcessPoolExecutor(initializer=pool_initializer, initargs=(os.getpid(),)): workers die with us."""
    die_with_parent(parent_pid)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def owner_pid(name: str, prefix: str = TEMP_PREFIX) -> int | None:
    """The PID in a `p1reader-<pid>-…` name, or None for a name of another form."""
    head = name[len(prefix):].split("-", 1)[0] if name.startswith(prefix) else ""
    return int(head) if head.isdigit() else None


def remove_stale(folder: Path | None = None, prefix: str = TEMP_PREFIX) -> list[Path]:
    """Remove `<prefix><pid>-…` folders in `folder` (default: the system temp dir) whose owner is gone."""
    folder = Path(folder or tempfile.gettempdir())
    removed = []
    for path in sorted(folder.glob(f"{prefix}*")):
        pid = owner_pid(path.name, prefix)
        if pid is not None and pid != os.getpid() and not alive(pid) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def temp_dir(purpose: str):
    """A temp folder `p1reader-<pid>-<purpose>-…`, removed on every exit (a kill -9 leaves it: remove_stale)."""
    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-{purpose}-") as tmp:
        yield Path(tmp)
