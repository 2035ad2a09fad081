"""All-or-nothing replacement: a small staged fixture committed by a real process that is killed (SIGKILL)
at each point of the commit (the process puts a hook into staging.COMMIT_HOOKS that stops it there); after
recovery the files are the old set or the new set, never a mix. One process at a time holds a root's .fab/.
Also: children die with a killed parent, and stale temp folders go."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hwtools import procs, staging

REPO = Path(__file__).resolve().parents[2]
OLD = {"kicad/a.txt": "old a", "kicad/sub/b.txt": "old b", "kicad/c.txt": "old c", "kicad/gone.txt": "old, dropped"}
NEW = {"kicad/a.txt": "new a", "kicad/sub/b.txt": "new b", "kicad/c.txt": "old c", "kicad/d.txt": "new d"}
NAMES = ["a.txt", "sub/b.txt", "c.txt", "d.txt", "gone.txt"]  # the fixed list of outputs

COMMIT = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from hwtools import staging
    from hwtools.staging import Stage

    root, stop_at, marker = Path(sys.argv[1]), *sys.argv[2:4]

    def stop(point):  # say so, then wait to be killed
        if point == stop_at:
            Path(marker).write_text(str(os.getpid()))
            while True:
                time.sleep(3600)

    staging.COMMIT_HOOKS.append(stop)
    new = {"a.txt": "new a", "sub/b.txt": "new b", "c.txt": "old c", "d.txt": "new d"}
    with Stage(root) as st:
        out = st.path("kicad")
        for name, text in new.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text)
        st.add_tree(out, root / "kicad", %r)
        st.commit(allowed=[root / "kicad"])
""" % NAMES)


def _tree(root: Path) -> dict:
    out = root / "kicad"
    return {str(p.relative_to(root)): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture
def root(tmp_path):
    for rel, text in OLD.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "kicad" / "notes.txt").write_text("not ours")
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
    proc = subprocess.Popen([sys.executable, "-c", COMMIT, str(root), point, str(marker)], cwd=REPO)
    _wait_for(lambda: marker.exists() or proc.poll() is not None, f"the pause at {point}")
    assert proc.poll() is None, f"the commit ended (exit {proc.returncode}) instead of pausing at {point}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_commit_replaces_changed_files_and_only_listed_ones(root):
    subprocess.run([sys.executable, "-c", COMMIT, str(root), "", ""], check=True, cwd=REPO)
    expected = {**NEW, "kicad/notes.txt": "not ours"}
    assert _tree(root) == expected
    assert not (root / staging.STATE_DIR / staging.JOURNAL).exists()
    assert list((root / staging.STATE_DIR).glob("stage-*")) == []


@pytest.mark.parametrize("point, result", [("before-journal", OLD), ("after-journal", NEW),
                                           ("after-first-rename", NEW)])
def test_kill_at_any_point_leaves_old_or_new_set_after_recovery(root, point, result):
    _kill_at(root, point)
    message = staging.recover(root)
    assert _tree(root) == {**result, "kicad/notes.txt": "not ours"}
    assert (message is None) == (result is OLD)
    assert not (root / staging.STATE_DIR / staging.JOURNAL).exists()
    assert list((root / staging.STATE_DIR).glob("stage-*")) == [], "the killed run's stage is stale: removed"


def test_a_failing_build_replaces_nothing(root):
    before = _tree(root)
    with pytest.raises(RuntimeError):
        with staging.Stage(root) as st:
            (st.path("kicad") / "a.txt").write_text("new a")
            st.add(root / "kicad" / "a.txt", st.dir / "kicad" / "a.txt")
            raise RuntimeError("a later step failed")
    assert _tree(root) == before
    assert list((root / staging.STATE_DIR).glob("stage-*")) == []


def test_a_target_outside_the_allowed_folders_is_refused(root, tmp_path_factory):
    victim = tmp_path_factory.mktemp("elsewhere") / "victim.txt"
    victim.write_text("keep me")
    with staging.Stage(root) as st:
        (st.path("x") / "v").write_text("overwritten")
        st.add(root / "kicad" / ".." / ".." / victim.parent.name / "victim.txt", st.dir / "x" / "v")
        st.add(victim, st.dir / "x" / "v")
        with pytest.raises(staging.StagingError, match="victim.txt"):
            st.commit(allowed=[root / "kicad"])
    assert victim.read_text() == "keep me"


# --- one process at a time ----------------------------------------------------------------------------------

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from hwtools import staging

    stage = staging.Stage(Path(sys.argv[1]), staging.WHOLE_ROOT)
    Path(sys.argv[2]).write_text("holding")
    time.sleep(3600)
""")


@pytest.mark.parametrize("command", ["fab", "generate"])
def test_a_second_build_in_the_same_tree_stops_at_once_and_a_killed_one_blocks_nothing(tmp_path, command):
    """Two real processes: while one stages in a tree, a `fab` or `generate` there stops before any step (exit 2,
    one line naming the first one's pid); once the first is killed, its lock is gone with it."""
    tree, marker = tmp_path / "tree", tmp_path / "holding"
    tree.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tree), str(marker)], cwd=REPO)
    try:
        _wait_for(lambda: marker.exists() or holder.poll() is not None, "the first process to hold .fab/")
        assert holder.poll() is None, f"the first process ended (exit {holder.returncode})"
        proc = subprocess.run([sys.executable, "-m", "p1reader", command, "--out", str(tree)], capture_output=True,
                              text=True, cwd=REPO)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"another fab (pid {holder.pid}) holds .fab/ in {tree}" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and "[" not in proc.stdout, "no step may start"
        assert sorted(p.name for p in tree.iterdir()) == [staging.STATE_DIR]
    finally:
        holder.kill()
        holder.wait()
    with staging.Stage(tree, staging.WHOLE_ROOT) as st:  # the kernel let go of the killed holder's lock
        assert st.commit(allowed=[tree]) == []


# --- the journal is never trusted -------------------------------------------------------------------------

def _everything(top: Path) -> dict:
    """Every file (bytes), symlink (target) and folder under `top`: what 'nothing touched' compares."""
    out = {}
    for p in sorted(top.rglob("*")):
        rel = str(p.relative_to(top))
        out[rel] = ("link", os.readlink(p)) if p.is_symlink() else ("file", p.read_bytes()) if p.is_file() else "dir"
    return out


def test_a_copied_checkout_finishes_its_own_renames_and_never_touches_the_original(root, tmp_path_factory):
    """A build killed after its journal, the checkout copied (a backup, a CI cache, a moved folder): recovery in
    the copy renames the copy's staged files over the copy's outputs, and the original stays exactly as it was."""
    _kill_at(root, "after-journal")
    copy = tmp_path_factory.mktemp("copy") / "checkout"
    shutil.copytree(root, copy, symlinks=True)
    original = _everything(root)
    assert "recovered an interrupted build" in staging.recover(copy)
    assert _tree(copy) == {**NEW, "kicad/notes.txt": "not ours"}
    assert _everything(root) == original, "the original checkout was touched"
    assert staging.recover(root) is not None and _tree(root) == {**NEW, "kicad/notes.txt": "not ours"}


STAGE = "stage-999999999-x"  # a dead owner's stage


def _bad_journals(root: Path, outside: Path) -> dict:
    victim = outside / "victim.txt"
    good = {"version": staging.JOURNAL_VERSION, "stage": STAGE, "replace": [["kicad/a.txt", "kicad/a.txt"]],
            "remove": []}
    return {
        "absolute target": ({**good, "replace": [[str(victim), "kicad/a.txt"]]}, "replace[0] target"),
        "target climbing out": ({**good, "replace": [["kicad/../../outside/victim.txt", "kicad/a.txt"]]},
                                "replace[0] target"),
        "tracked file outside the outputs": ({**good, "replace": [], "remove": ["README.md"]}, "remove[0]"),
        "absolute removal": ({**good, "remove": [str(victim)]}, "remove[0]"),
        "target through a symlink out": ({**good, "replace": [["kicad/link/victim.txt", "kicad/a.txt"]]},
                                         "replace[0] target"),
        "target inside .fab": ({**good, "replace": [[".fab/x", "kicad/a.txt"]]}, "replace[0] target"),
        "staged file from outside": ({**good, "replace": [["kicad/a.txt", "../../../outside/victim.txt"]]},
                                     "replace[0] staged file"),
        "stage climbing out": ({**good, "stage": "../../outside"}, "stage"),
        "stage a symlink out": ({**good, "stage": "stage-999999998-link"}, "stage"),
        "old journal with absolute paths": ({"stage": STAGE, "replace": [[str(root / "kicad/a.txt"), "kicad/a.txt"]],
                                             "remove": []}, "the journal"),
        "a list": ([], "the journal"),
        "replace not a list": ({**good, "replace": 5}, "replace"),
        "entry not a pair": ({**good, "replace": [["kicad/a.txt"]]}, "replace[0]"),
        "stage not a string": ({**good, "stage": 5}, "stage"),
        "second entry bad": ({**good, "replace": [["kicad/a.txt", "kicad/a.txt"], ["/etc/hostname", "kicad/a.txt"]]},
                             "replace[1] target"),
    }


BAD = list(_bad_journals(Path("/r"), Path("/o")))


@pytest.mark.parametrize("case", BAD)
def test_a_journal_that_leads_outside_the_outputs_is_refused_and_nothing_is_touched(tmp_path, case):
    root, outside = tmp_path / "checkout", tmp_path / "outside"
    for rel, text in OLD.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "README.md").write_text("tracked")
    (outside / "sub").mkdir(parents=True)
    (outside / "victim.txt").write_text("keep me")
    (root / "kicad" / "link").symlink_to(outside)
    stage = root / staging.STATE_DIR / STAGE
    (stage / "kicad").mkdir(parents=True)
    (stage / "kicad" / "a.txt").write_text("staged")
    (root / staging.STATE_DIR / "stage-999999998-link").symlink_to(outside)
    journal, entry = _bad_journals(root, outside)[case]
    (root / staging.STATE_DIR / staging.JOURNAL).write_text(json.dumps(journal))
    before = _everything(tmp_path)
    with pytest.raises(staging.StagingError) as e:
        staging.recover(root)
    message = str(e.value)
    assert "journal.json" in message and entry in message and "delete .fab/" in message, message
    assert "\n" not in message
    assert _everything(tmp_path) == before


def test_a_custom_output_folder_is_its_own_root_and_keeps_no_state(tmp_path):
    folder = tmp_path / "custom"
    with staging.Stage.for_folder(folder) as st:
        assert st.root == folder and st.dir.parent == folder / staging.STATE_DIR
        (st.path("x") / "f.txt").write_text("made")
        st.add(folder / "f.txt", st.dir / "x" / "f.txt")
        assert st.commit(allowed=[folder]) == [folder / "f.txt"]
    assert sorted(p.name for p in folder.iterdir()) == ["f.txt"]
    with staging.Stage.for_folder(REPO / "kicad") as st:  # the repository's own outputs: the repository's stage
        assert st.root == REPO


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
