"""Helpers for the bring-up tests (imported by module name: pytest puts this folder on sys.path)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sim_station import fast_station_dict  # noqa: F401 — the bring-up tests import it from here


REPO = Path(__file__).resolve().parents[2]
TELEGRAM_DATA = REPO / "tests" / "data" / "telegrams"  # real telegrams (SOURCES.md there)


def run_cli(args: list[str], timeout: float = 90) -> tuple[int, str, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run([sys.executable, "-m", "p1reader", "bringup", *args], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def last_line(stdout: str) -> str:
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def load_record(final_line: str) -> dict:
    path = final_line.split()[2]
    return json.loads(Path(path).read_text())
