"""The simulated bench's temp folder carries its owner's PID (`p1reader-<pid>-sim-…`, as hwtools' own
folders do), so the next run removes the folders of runs that were killed (SIGKILL: no cleanup ran)."""
from __future__ import annotations

import os
import subprocess
import tempfile

from bringup import station
from bringup.sim.bench import SimBench
from bringup_helpers import fast_station_dict


def test_sim_folder_has_the_pid_and_stale_ones_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its PID names nobody now, as a SIGKILLed run's
    stale = tmp_path / f"p1reader-{dead.pid}-sim-abc123"
    stale.mkdir()
    (stale / "meter.line").write_text("idle 0\n")
    alive = tmp_path / f"p1reader-{os.getppid()}-sim-def456"  # a live process's: kept
    alive.mkdir()
    with SimBench(station.from_dict(fast_station_dict(s1=None), "t")) as sim:
        line_state = sim.station.meter.line_state
        mine = [p.name for p in tmp_path.iterdir() if p.name.startswith(f"p1reader-{os.getpid()}-sim-")]
        assert len(mine) == 1 and line_state.startswith(str(tmp_path / mine[0]))
        assert not stale.exists() and alive.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [alive.name]  # its own removed at the end
