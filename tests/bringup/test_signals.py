"""Ctrl-C and SIGTERM at any moment of `run`: one line on stderr, exit 1, no traceback; before the board
is powered no record (and the line says so), after it an ABORTED record with the supply off.

The verdict never depends on when a signal lands. Each child gets its signal at another moment — the
first moment the program can handle one (its handlers show as caught in /proc/<pid>/status: until
Python runs the program's first line, the kernel's default action applies and no program can change
that), a little later (imports, the database), after its first line of output, after step 1 began — and
whichever moment it hits, the outcome must be one of the two allowed ones. The children run side by side.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bringup_helpers import REPO, fast_station_dict

GIVE_UP_S = 60  # a generous limit for a busy machine; never part of the verdict


def _handlers_installed(pid: int) -> bool:
    """True once SIGTERM and SIGHUP are caught (bringup.interrupts installs SIGHUP last)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.M)[1], 16)
    return all(caught >> (s - 1) & 1 for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP))


def _wait_for(what, check) -> None:
    deadline = time.monotonic() + GIVE_UP_S
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.002)


class Child:
    def __init__(self, tmp_path: Path, name: str, station: Path):
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.out, self.err = self.dir / "stdout", self.dir / "stderr"
        env = dict(os.environ, PYTHONPATH=str(REPO))
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "p1reader", "bringup", "run", "--station", str(station), "--board-serial", name,
                 "--records", str(self.dir / "records")], cwd=REPO, env=env, stdout=out, stderr=err)

    def printed(self, text: str) -> bool:
        return text in self.out.read_text() or self.proc.poll() is not None


def _moments(child: Child, moment: str):
    """Wait for `moment` in the child's life (it may have ended already: then there is nothing to send)."""
    _wait_for("signal handlers", lambda: child.proc.poll() is not None or _handlers_installed(child.proc.pid))
    if moment.startswith("+"):
        time.sleep(float(moment[1:]))
    elif moment != "at once":
        _wait_for(repr(moment), lambda: child.printed(moment))


# (moment, signal, what must follow). "at once": the handlers are in, the command line not yet imported:
# nothing can have been written. After "[1/7]": the record exists. Between: either outcome.
CASES = {
    "int-at-once": ("at once", signal.SIGINT, "no record"),
    "term-at-once": ("at once", signal.SIGTERM, "no record"),
    "term-0.15s": ("+0.15", signal.SIGTERM, "either"),
    "int-0.3s": ("+0.3", signal.SIGINT, "either"),
    "term-after-first-line": ("p1reader bring-up: board", signal.SIGTERM, "either"),
    "int-in-step-1": ("[1/7]", signal.SIGINT, "record"),
}


def test_a_signal_at_any_early_moment_is_one_line_and_exit_1(tmp_path):
    station = tmp_path / "station.yaml"
    station.write_text(yaml.safe_dump(fast_station_dict(s1=None)))
    children = {name: Child(tmp_path, name, station) for name in CASES}
    try:
        for name, (moment, sig, _) in CASES.items():
            _moments(children[name], moment)
            children[name].proc.send_signal(sig)
        for child in children.values():
            child.proc.wait(timeout=GIVE_UP_S)
    finally:
        for child in children.values():
            if child.proc.poll() is None:
                child.proc.kill()
    for name, (_, sig, expect) in CASES.items():
        child = children[name]
        out, err = child.out.read_text(), child.err.read_text()
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert child.proc.returncode == 1, (name, out, err)
        assert len(lines) == 1 and "Traceback" not in out + err, (name, err)
        what = "aborted by operator (Ctrl-C)" if sig == signal.SIGINT else "aborted (SIGTERM)"
        assert lines[0].startswith(what), (name, lines)
        records = sorted((child.dir / "records").glob("*/*.json"))
        if not records:
            assert expect in ("no record", "either"), (name, out, err)
            assert lines[0] == f"{what} before the board was powered: no record written"
            continue
        assert expect in ("record", "either") and len(records) == 1, (name, records, err)
        rec = json.loads(records[0].read_text())
        assert rec["outcome"] == "ABORTED", (name, rec["outcome"])
        # OFF once the supply was opened; "not opened" if the signal came while the bench started
        assert rec["supply_output_after"] in ("OFF", "not opened"), (name, rec["supply_output_after"])
        assert str(records[0]) in lines[0] and out.splitlines()[-1].startswith(f"ABORTED {name} ")


@pytest.mark.parametrize("step", [1, 2])
def test_a_signal_as_a_step_starts_is_that_steps_abort_not_a_pass(tmp_path, step):
    """A signal between a step's start (its "[k/7]" line) and the step's own handler: the record names the abort
    on that step as an ERROR — before, the step kept its default PASS and the one line read " in step 1 …" (seen
    under load in the signal test above). Deterministic: the progress callback raises as the step starts."""
    from bringup import runner, station as station_mod
    from bringup.interrupts import Interrupted
    from bringup.measurement import Outcome

    def progress(kind, obj):
        if kind == "start" and obj.index == step:
            raise Interrupted(signal.SIGINT)

    st = station_mod.from_dict(fast_station_dict(s1=None), "t")
    res = runner.run(st, "SIG-1", str(tmp_path), progress=progress)
    assert res.aborted and res.failed.index == step
    assert res.failed.outcome is Outcome.ERROR and res.failed.error == "aborted by operator (Ctrl-C)"
    record = json.loads(Path(res.record_path).read_text(encoding="utf-8"))
    recorded = {s["index"]: s for s in record["steps"]}
    assert recorded[step]["outcome"] == "ERROR" and recorded[step]["error"] == "aborted by operator (Ctrl-C)"
    assert res.supply_output_after in ("OFF", "not opened")
