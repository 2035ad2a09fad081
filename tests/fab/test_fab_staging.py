"""All-or-nothing replacement: a small staged fixture committed by a real process that is killed (SIGKILL)
at the test-only pause points; after recovery the files are the old set or the new set, never a mix.
Also: children die with a killed parent, and stale temp folders go."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hwtools import procs, staging

REPO = Path(__file__).resolve().parents[2]
OLD = {"out/a.txt": "old a", "out/sub/b.txt": "old b", "out/c.txt": "old c", "out/gone.txt": "old, dropped"}
NEW = {"out/a.txt": "new a", "out/sub/b.txt": "new b", "out/c.txt": "old c", "out/d.txt": "new d"}
NAMES = ["a.txt", "sub/b.txt", "c.txt", "d.txt", "gone.txt"]  # the fixed list of outputs

COMMIT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from hwtools.staging import Stage

    root = Path(sys.argv[1])
    new = {"a.txt": "new a", "sub/b.txt": "new b", "c.txt": "old c", "d.txt": "new d"}
    with Stage(root) as st:
        out = st.path("out")
        for name, text in new.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text)
        st.add_tree(out, root / "out", %r)
        st.commit(allowed=[root / "out"])
""" % NAMES)


def _tree(root: Path) -> dict:
    out = root / "out"
    return {str(p.relative_to(root)): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def root(tmp_path):
    for rel, text in OLD.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "out" / "notes.txt").write_text("not ours")
    return tmp_path


def _wait_for(predicate, what, timeout=120.0):
    """Poll until true; the limit only stops a hung test, no result depends on how long it takes."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def _kill_at(root: Path, point: str):
    marker = root / "paused"
    env = dict(os.environ, **{staging.PAUSE_ENV: f"{point}:{marker}"})
    proc = subprocess.Popen([sys.executable, "-c", COMMIT, str(root)], env=env, cwd=REPO)
    _wait_for(lambda: marker.exists() or proc.poll() is not None, f"the pause at {point}")
    assert proc.poll() is None, f"the commit ended (exit {proc.returncode}) instead of pausing at {point}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_commit_replaces_changed_files_and_only_listed_ones(root):
    subprocess.run([sys.executable, "-c", COMMIT, str(root)], check=True, cwd=REPO)
    expected = {**NEW, "out/notes.txt": "not ours"}
    assert _tree(root) == expected
    assert not (root / staging.STATE_DIR / staging.JOURNAL).exists()
    assert list((root / staging.STATE_DIR).glob("stage-*")) == []


@pytest.mark.parametrize("point, result", [("before-journal", OLD), ("after-journal", NEW),
                                           ("after-first-rename", NEW)])
def test_kill_at_any_point_leaves_old_or_new_set_after_recovery(root, point, result):
    _kill_at(root, point)
    message = staging.recover(root)
    assert _tree(root) == {**result, "out/notes.txt": "not ours"}
    assert (message is None) == (result is OLD)
    assert not (root / staging.STATE_DIR / staging.JOURNAL).exists()
    assert list((root / staging.STATE_DIR).glob("stage-*")) == [], "the killed run's stage is stale: removed"


def test_a_failing_build_replaces_nothing(root):
    before = _tree(root)
    with pytest.raises(RuntimeError):
        with staging.Stage(root) as st:
            (st.path("out") / "a.txt").write_text("new a")
            st.add(root / "out" / "a.txt", st.dir / "out" / "a.txt")
            raise RuntimeError("a later step failed")
    assert _tree(root) == before
    assert list((root / staging.STATE_DIR).glob("stage-*")) == []


def test_a_target_outside_the_allowed_folders_is_refused(root, tmp_path_factory):
    victim = tmp_path_factory.mktemp("elsewhere") / "victim.txt"
    victim.write_text("keep me")
    with staging.Stage(root) as st:
        (st.path("x") / "v").write_text("overwritten")
        st.add(root / "out" / ".." / ".." / victim.parent.name / "victim.txt", st.dir / "x" / "v")
        st.add(victim, st.dir / "x" / "v")
        with pytest.raises(staging.StagingError, match="victim.txt"):
            st.commit(allowed=[root / "out"])
    assert victim.read_text() == "keep me"


# --- children die with their parent ---------------------------------------------------------------------

def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            pass
    return found


def _descendants(pid: int) -> set[int]:
    todo, seen = [pid], set()
    while todo:
        for c in _children(todo.pop()):
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return seen


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie is dead, waiting for init to reap it


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def test_a_tool_started_by_procs_dies_with_its_killed_parent():
    parent = subprocess.Popen([sys.executable, "-c", "from hwtools import procs; procs.run(['sleep', '600'])"],
                              cwd=REPO)
    _wait_for(lambda: any(_comm(c) == "sleep" for c in _children(parent.pid)), "the child tool")
    children = _descendants(parent.pid)
    parent.kill()
    parent.wait()
    _wait_for(lambda: all(_gone(c) for c in children), "the children to die")


def test_si_workers_and_ngspice_die_with_a_killed_sweep():
    """The real sweep (worker pool + batched ngspice) killed while ngspice runs: nothing survives."""
    script = ("from hwtools.circuit import build_board; from hwtools.si.sweep import analyse; "
              "analyse(build_board(), mc_runs=2000, corners=False)")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        _wait_for(lambda: any(_comm(c) == "ngspice" for c in _descendants(parent.pid)), "ngspice under the sweep")
        children = _descendants(parent.pid)
        assert len(children) >= 3, "two workers and at least one ngspice"
    finally:
        parent.kill()
        parent.wait()
    _wait_for(lambda: all(_gone(c) for c in children), "the workers and ngspice to die")


# --- temp folders -----------------------------------------------------------------------------------------

def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid  # reaped: no process has this pid until the kernel wraps around


def test_stale_temp_folders_of_dead_owners_are_removed(tmp_path):
    stale = tmp_path / f"{procs.TEMP_PREFIX}{_dead_pid()}-fab-abc"
    live = tmp_path / f"{procs.TEMP_PREFIX}{os.getpid()}-fab-def"
    other = tmp_path / f"{procs.TEMP_PREFIX}notapid"
    for d in (stale, live, other):
        (d / "sub").mkdir(parents=True)
    assert procs.remove_stale(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and other.exists()


def test_temp_dir_is_removed_on_error():
    with pytest.raises(ValueError):
        with procs.temp_dir("test") as tmp:
            assert tmp.name.startswith(f"{procs.TEMP_PREFIX}{os.getpid()}-test-")
            raise ValueError
    assert not tmp.exists()


def test_a_missing_tool_is_named_as_subprocess_names_it():
    from hwtools import procs

    with pytest.raises(FileNotFoundError, match="no-such-tool-p1reader"):
        procs.run(["no-such-tool-p1reader", "--version"])
    assert procs.run(["sh", "-c", "exit 3"]).returncode == 3  # the tool's own exit code, through setpriv
