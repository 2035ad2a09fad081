"""Helpers for the results-store tests (imported by module name: pytest puts this folder on sys.path):
the batch of simulated runs, a throw-away PostgreSQL cluster, the CLI in a subprocess, small tmpfs file
systems (full, read-only)."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from unittest import mock

import pytest
import yaml
from sim_station import fast_station_dict

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("P1READER_TEST_ARTIFACTS", REPO / "test-artifacts"))


# ---------------------------------------------------------------- the batch of simulated runs
def station_dict(name: str, s1: bool) -> dict:
    """A fast simulated station (small telegram set, short sub-steps); without ``s1`` a bench with no S1 jig (its
    step is SKIPPED). Its throughput ratio is recorded, not judged, as on every test station: the batch runs a few
    boards at a time on a loaded machine, and a ratio of 0.57 under load once failed a "pass" board (timing
    belongs to `make bench`)."""
    return fast_station_dict(name=name, s1={"frames": 500} if s1 else None)


# What each board goes through, in order: "pass", an injected fault, "abort" (the operator stops the
# run in step 4) or "station-error" (the bench cannot start: socat missing). 24 boards, 30 runs.
PLAN: dict[str, list[str]] = {
    **{f"A{k:02d}": ["pass"] for k in range(1, 16)},
    **{f"B{k:02d}": ["over-current", "pass"] for k in range(1, 5)},
    "C01": ["polarity"], "C02": ["polarity"],
    "D01": ["instrument-timeout"],
    "E01": ["abort", "pass"],
    "F01": ["station-error", "pass"],
}
# How the report must count each kind of run.
KIND = {"pass": "pass", "over-current": "fail", "polarity": "fail", "instrument-timeout": "fail",
        "abort": "aborted", "station-error": "station error"}


def kind_of(record: dict) -> str:
    """The report's category of a run: its record's field (make_batch checks it against what the run was)."""
    return record["category"]


@dataclass
class Batch:
    records_dir: Path
    files: list[Path]  # every run record, in the order the runs were made
    kinds: dict[str, list[str]]  # serial → plan entries (as PLAN)
    stations: dict[str, Path]  # station name → station file

    def records(self) -> list[dict]:
        return [json.loads(p.read_text()) for p in self.files]

    def measurement_count(self) -> int:
        return sum(len(s["measurements"]) for r in self.records() for s in r["steps"])

    def _kinds_by_serial(self) -> dict[str, list[str]]:
        by_serial: dict[str, list[str]] = {}
        for rec in sorted(self.records(), key=lambda r: r["started"]):
            by_serial.setdefault(rec["board_serial"], []).append(kind_of(rec))
        return by_serial

    def expected_yields(self) -> tuple[float, float, int]:
        """(first-pass, final, boards with a verdict) from the records."""
        judged = [v for v in ([k for k in ks if k in ("pass", "fail")] for ks in self._kinds_by_serial().values()) if v]
        return (sum(v[0] == "pass" for v in judged) / len(judged),
                sum(v[-1] == "pass" for v in judged) / len(judged), len(judged))

    def expected_categories(self) -> Counter:
        return Counter(kind_of(r) for r in self.records())


@contextmanager
def _without_socat():
    """The bench cannot start: PATH without socat (a real station error, seen in step 0 'setup')."""
    old = os.environ["PATH"]
    empty = tempfile.mkdtemp(prefix="no-socat-")
    os.environ["PATH"] = empty
    try:
        yield
    finally:
        os.environ["PATH"] = old
        os.rmdir(empty)


def _operator_abort(bench):
    raise KeyboardInterrupt  # what Ctrl-C raises inside a step


def make_batch(root: Path, workers: int = 3) -> Batch:
    """The runs of PLAN on the two stations, alternating. Each run is a process of its own (the simulated
    instruments keep their state per process), a few at a time: first every board's first run, then the
    retests, so a board's runs start in the plan's order."""
    from concurrent.futures import ProcessPoolExecutor

    stations = {}
    for name, s1 in (("bench-a", True), ("bench-b", False)):
        p = root / f"{name}.yaml"
        p.write_text(yaml.safe_dump(station_dict(name, s1)))
        stations[name] = p
    records = root / "records"
    order = [(sn, i) for i in range(2) for sn in PLAN if i < len(PLAN[sn])]  # first runs, then retests
    jobs = [(sn, PLAN[sn][i], stations["bench-a" if n % 2 == 0 else "bench-b"], records, i)
            for n, (sn, i) in enumerate(order)]
    files = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for wave in (0, 1):
            files += pool.map(_one_run, [job[:4] for job in jobs if job[4] == wave])
    return Batch(records, files, PLAN, stations)


def _one_run(job) -> Path:
    """One run of the batch, in a worker process: the record's path, its category checked against the plan."""
    from bringup import runner, station
    from bringup.provenance import provenance
    from bringup.steps import STEPS

    sn, kind, station_file, records = job
    st = station.load(station_file)
    meta = {"operator": f"operator-{st.name[-1]}", **provenance()}
    inject = kind if kind not in ("pass", "abort", "station-error") else None
    if kind == "abort":
        aborting = [replace(s, run=_operator_abort) if s.name == "loopback" else s for s in STEPS]
        with mock.patch.object(runner, "STEPS", aborting):
            res = runner.run(st, sn, str(records), meta=meta)
    elif kind == "station-error":
        with _without_socat():
            res = runner.run(st, sn, str(records), meta=meta)
    else:
        res = runner.run(st, sn, str(records), inject=inject, meta=meta)
    record = json.loads(Path(res.record_path).read_text())
    assert kind_of(record) == KIND[kind], (sn, kind, res.failed and res.failed.reason())
    return Path(res.record_path)


# ---------------------------------------------------------------- PostgreSQL
def pg_bindir() -> Path:
    """Debian keeps the server binaries off PATH: ask pg_config, else look under /usr/lib/postgresql."""
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if (Path(out) / "initdb").is_file():
            return Path(out)
    except (OSError, subprocess.CalledProcessError):
        pass
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        pytest.fail("PostgreSQL server binaries not found (setup.sh installs Debian's postgresql)")
    return found[-1].parent


class PgCluster:
    """A cluster of our own in a temporary folder, on a Unix socket there (no TCP); the package's own
    cluster is never touched. initdb refuses root, so as root it runs as the ``postgres`` user."""

    def __init__(self):
        self.bindir = pg_bindir()
        self.base = Path(tempfile.mkdtemp(prefix="p1r-pg-"))  # short: a socket path has ≤ 107 bytes
        self.data = self.base / "data"
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(self.base, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        p = subprocess.run([*self.as_owner, *args], capture_output=True, text=True, timeout=120)
        if p.returncode:
            log = (self.base / "server.log")
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({p.returncode}): {p.stderr.strip()}\n{tail}")

    def start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-locale", "--no-sync")
        opts = f"-k {self.base} -c listen_addresses='' -p 5432 -F"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "server.log"),
                  "-o", opts, "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.base}"

    def new_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host=str(self.base), user="postgres", dbname="postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)



def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "p1reader", "bringup", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


# ---------------------------------------------------------------- small file systems of our own
@contextmanager
def tmpfs(where: Path, size: str = "64k"):
    """A tmpfs of ``size`` mounted at ``where`` (a new folder): a disk that really fills up (ENOSPC) and
    can really be made read-only (:func:`read_only`). Mounting needs root, as `make setup` does."""
    where.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(where)],
                       capture_output=True, text=True)
    if p.returncode:
        pytest.fail(f"mount -t tmpfs failed (the full-disk and read-only tests mount a small tmpfs: run them "
                    f"as root): {p.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "--lazy", str(where)], check=True)


def fill(fs: Path) -> Path:
    """Write zeros into ``fs/filler`` until the file system says it is full."""
    filler = fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        while True:
            os.write(fd, bytes(4096))
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)
    assert filler.stat().st_size > 0
    return filler


def read_only(fs: Path) -> None:
    """Remount a :func:`tmpfs` read-only: root cannot write it either (permission bits would not stop root)."""
    subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
