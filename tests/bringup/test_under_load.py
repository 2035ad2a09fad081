"""The simulated line loses nothing on a busy machine: the bring-up passes 20 times in a row while two
busy-loop processes compete for the CPU. Pacing may slow; no byte may be lost and no frame cut."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bringup import runner, station
from bringup_helpers import TELEGRAM_DATA, fast_station_dict

RUNS = 20


@pytest.fixture
def two_cpu_hogs():
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield hogs
    finally:
        for h in hogs:
            h.kill()
            h.wait()


def short_station(tmp_path) -> station.Station:
    """The shortest station that still exercises every simulated line: the small builder set at line
    rate, two paced telegrams, a replayed capture that starts and ends inside a telegram (so the
    board's silence detection is used), the negative cases, a short throughput run and 200 S1 frames.
    The throughput ratio is recorded, not judged: speed is measured by `make bench`, not here."""
    real = [f.read_bytes() for f in sorted(TELEGRAM_DATA.glob("*.txt"))]
    capture = tmp_path / "capture.raw"
    capture.write_bytes(real[4][-200:] + real[0] + b"\x00" + real[3] + real[1][:150])
    d = fast_station_dict(limits={"throughput_ratio": [0.0, 1.05]}, s1={"frames": 200},
                          loopback={"throughput_count": 4},
                          console={"timeout_s": 10.0}, meter={"write_timeout_s": 30.0})
    d["telegrams"] = [str(capture)]
    return station.from_dict(d, str(tmp_path / "station.yaml"))


def test_twenty_runs_in_a_row_pass_with_two_cpu_hogs(tmp_path, two_cpu_hogs):
    st = short_station(tmp_path)
    failures = []
    for i in range(RUNS):
        assert all(h.poll() is None for h in two_cpu_hogs)  # the load is really there
        res = runner.run(st, f"LOAD-{i:02d}", str(tmp_path / "records"))
        if not res.passed:
            failures.append(f"run {i}: {res.failed.index} {res.failed.name}: {res.failed.reason()}")
        byte_errors = [m for s in res.steps for m in s.measurements if "byte errors" in m.name]
        assert byte_errors and all(m.value == 0 for m in byte_errors), (i, [m.describe() for m in byte_errors])
    assert failures == [], failures
