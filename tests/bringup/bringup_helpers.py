"""Helpers for the bring-up tests (imported by module name: pytest puts this folder on sys.path)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
TELEGRAM_DATA = REPO / "tests" / "data" / "telegrams"  # real telegrams (SOURCES.md there)


def fast_station_dict(**overrides) -> dict:
    """A sim station that keeps CI fast: the small builder set, a short 'one a second' sub-step,
    a short throughput run (its ratio recorded, not judged: timing belongs to `make bench`)."""
    d = {
        "name": "sim-fast",
        "kind": "sim",
        "supply": {"timeout_ms": 1000, "peak_current_query": "MEAS:CURR:MAX?", "settle_s": 0.05},
        "dmm": {"timeout_ms": 1000},
        "console": {"baud": 921600, "timeout_s": 2.0},
        "limits": {"throughput_ratio": [0.0, 1.05]},
        "loopback": {"builder_set": "small", "slow_count": 2, "slow_interval_s": 0.1, "throughput_count": 8,
                     "idle_s": 0.06},
        "sim": {"heartbeat_s": 0.5},
        "s1": {"frames": 2000},
    }
    for k, v in overrides.items():
        if v is None:
            d.pop(k, None)  # e.g. s1=None: a station without the S1 jig
        elif isinstance(v, dict):
            d.setdefault(k, {}).update(v)
        else:
            d[k] = v
    return d


def run_cli(args: list[str], timeout: float = 90) -> tuple[int, str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run([sys.executable, "-m", "bringup", *args], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def last_line(stdout: str) -> str:
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def load_record(final_line: str) -> dict:
    path = final_line.split()[2]
    return json.loads(Path(path).read_text())
