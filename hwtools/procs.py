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
# Called with (argv, working folder) before `run` starts a tool. Empty in the product; `make bench`
# (tests/bench_fab.py) adds one that records a build's calls to replay them bare.
CALL_HOOKS: list = []


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    """subprocess.run for a child that dies with this process.

    `setpriv` sets the parent-death signal and then runs the tool in the same process, so Python starts it with
    vfork: a fork (needed to run Python code in the child) of a build process holding a few hundred MB costs
    about 10 ms of CPU per call. (A parent killed in the half millisecond before setpriv's prctl would leave that
    one child running.)
    """
    return subprocess.run(_dying_with_us(cmd, kwargs.get("cwd")), **kwargs)


def popen(cmd, **kwargs) -> subprocess.Popen:
    """subprocess.Popen for a child that dies with this process (as `run`): a long-running helper such as socat
    or the simulated board."""
    return subprocess.Popen(_dying_with_us(cmd, kwargs.get("cwd")), **kwargs)


def _dying_with_us(cmd, cwd) -> list:
    for hook in CALL_HOOKS:
        hook(cmd, cwd)
    if shutil.which(str(cmd[0])) is None:  # as subprocess would say it, not as setpriv's exit 127
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(cmd[0]))
    return [_setpriv(), "--pdeathsig", "KILL", "--", *cmd]


@functools.cache
def _setpriv() -> str:
    path = shutil.which("setpriv")
    if path is None:
        raise FileNotFoundError("setpriv not found on PATH (Debian's util-linux package)")
    return path


def pool_initializer(parent_pid: int):
    """ProcessPoolExecutor(initializer=pool_initializer, initargs=(os.getpid(),)): the kernel SIGKILLs each worker
    when its parent goes, and a worker whose parent is already gone exits now.

    Runs in a freshly forked child: one foreign call, no imports.
    """
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


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
        if pid is not None and pid != os.getpid() and not alive(pid) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@contextlib.contextmanager
def temp_dir(purpose: str):
    """A temp folder `p1reader-<pid>-<purpose>-…`, removed on every exit (a kill -9 leaves it: remove_stale)."""
    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-{purpose}-") as tmp:
        yield Path(tmp)
