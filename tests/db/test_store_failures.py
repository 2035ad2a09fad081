"""The results database when things go wrong: a server that never answers is given up on within the
timeout; a full disk stops `run` before the database is opened and leaves no empty file; `report`
reads a read-only database without writing or migrating it and refuses a missing output folder.

Full and read-only disks are real: a 64 KiB tmpfs filled up (ENOSPC) or remounted read-only."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import yaml

from bringup import store
from bringup.cli import main
from db_helpers import REPO, fill, read_only, run_cli, station_dict, tmpfs

SCHEMA_1 = REPO / "tests" / "data" / "records" / "schema1"  # two finished records (README there)


def _error_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if not ln.startswith("reading ")]  # progress lines apart


def test_a_server_that_accepts_and_never_answers_is_given_up_on(tmp_path):
    """A real listening socket that never answers: the kernel completes the TCP connection and nobody
    ever reads or writes (a hung server). With P1READER_DB_TIMEOUT=2, `run` warns before it powers the
    board and tests it; `import` and `report` fail with one line naming the URL, exit 2. Before the
    timeout each waited psycopg's default of 130 s (the 60 s below is a give-up limit, not a speed target)."""
    station = tmp_path / "st.yaml"
    station.write_text(yaml.safe_dump(station_dict("bench-t", s1=False)))
    records = tmp_path / "records"
    records.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO), P1READER_DB_TIMEOUT="2")
    with socket.create_server(("127.0.0.1", 0), backlog=8) as server:
        url = f"postgresql://nobody@127.0.0.1:{server.getsockname()[1]}/p1reader"
        commands = {"run": ["run", "--station", str(station), "--board-serial", "T1", "--records", str(records),
                            "--inject", "over-current", "--db", url],
                    "import": ["import", str(records), "--db", url],
                    "report": ["report", "--db", url, "-o", str(tmp_path / "yield.html")]}
        procs = {k: subprocess.Popen([sys.executable, "-m", "p1reader", "bringup", *args], cwd=REPO, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE) for k, args in commands.items()}
        try:
            done = {k: (p.communicate(timeout=60), p.returncode) for k, p in procs.items()}
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
                    p.communicate()
    (out, err), rc = done["run"]
    assert rc == 1 and "Traceback" not in err, out + err
    lines = out.splitlines()
    warning = next(i for i, ln in enumerate(lines) if ln.startswith("WARNING: database"))
    assert lines[warning].startswith(f"WARNING: database {url}: OperationalError: connection timeout expired")
    assert "the run goes on and its record is kept" in lines[warning]
    assert warning < lines.index("[1/7] Station self-check …")  # before anything was powered
    assert lines[-1].startswith("FAIL T1 ") and (records / "T1").is_dir()
    for command in ("import", "report"):
        (out, err), rc = done[command]
        assert rc == 2 and _error_lines(err) == [
            f"database error: database {url}: OperationalError: connection timeout expired"], (command, err)


@pytest.mark.parametrize("value", ["abc", "1", "601", "2.5"])
def test_a_wrong_timeout_setting_is_refused_naming_it(monkeypatch, value):
    monkeypatch.setenv("P1READER_DB_TIMEOUT", value)
    with pytest.raises(store.StoreError, match=f"P1READER_DB_TIMEOUT='{value}': give whole seconds from 2 to 600") as e:
        store.connect("postgresql://nobody@127.0.0.1:1/p1reader")
    assert e.value.bad_url  # `run` stops before anything is powered


def test_a_full_disk_stops_run_before_the_database_and_leaves_no_empty_file(tmp_path):
    """Records folder on a full disk: a station error naming the folder, before the database is opened
    (so never "the run goes on and its record is kept"), and nothing left behind — before, a 0-byte
    record and a 0-byte p1reader.db stayed."""
    with tmpfs(tmp_path / "disk") as disk:
        filler = fill(disk)
        records = disk / "records"
        p = run_cli("run", "--station", "sim", "--board-serial", "F1", "--records", str(records))
        assert p.returncode == 2, p.stdout + p.stderr
        assert sorted(disk.rglob("*")) == [filler]
        assert "the run goes on" not in p.stdout and "[1/7]" not in p.stdout
        assert p.stderr.strip() == f"station error: records folder {records / 'F1'}: No space left on device"


def test_a_database_that_cannot_get_its_schema_is_not_left_behind_empty(tmp_path, capsys):
    """SQLite creates the file on connect: on a full disk the schema cannot be written and the file it
    created is removed again — but never one that was there before."""
    with tmpfs(tmp_path / "disk") as disk:
        theirs = disk / "theirs.db"
        theirs.touch()  # someone else's (empty) file: not ours to remove
        filler = fill(disk)
        url = f"sqlite:///{disk / 'p1reader.db'}"
        with pytest.raises(store.StoreError, match=f"database {url}: OperationalError: database or disk is full"):
            store.connect(url)
        with pytest.raises(store.StoreError, match="database or disk is full"):
            store.connect(f"sqlite:///{theirs}")
        records = tmp_path / "records"
        records.mkdir()
        assert main(["import", str(records), "--db", url]) == 2
        full = f"database error: database {url}: OperationalError: database or disk is full"
        assert capsys.readouterr().err.strip() == full
        assert sorted(disk.iterdir()) == [filler, theirs]


def test_report_refuses_an_output_folder_that_does_not_exist(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    store.connect(url).dispose()
    out = tmp_path / "no" / "such" / "yield.html"
    assert main(["report", "--db", url, "-o", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"report error: {out}: folder {out.parent} does not exist"
    assert not (tmp_path / "no").exists()  # before, every missing folder was created


def test_report_reads_a_database_on_a_read_only_file_system(tmp_path, capsys):
    """A real read-only mount (root ignores permission bits): the report opens the file with `mode=ro`
    (here also `immutable=1`: SQLite cannot create its -shm beside it) and writes nothing there."""
    with tmpfs(tmp_path / "ro", size="4m") as fs:
        url = f"sqlite:///{fs / 'p1reader.db'}"
        assert main(["import", str(SCHEMA_1), "--db", url]) == 0
        before = {p.name: p.read_bytes() for p in fs.iterdir()}
        read_only(fs)
        capsys.readouterr()
        out = tmp_path / "yield.html"
        assert main(["report", "--db", url, "-o", str(out)]) == 0, capsys.readouterr().err
        assert capsys.readouterr().out.startswith("report: 2 runs, 2 boards, first-pass yield 50.0 %")
        assert 'data-serial="OLD-1"' in out.read_text()
        assert {p.name: p.read_bytes() for p in fs.iterdir()} == before


def test_report_names_an_older_schema_and_does_not_migrate_it(tmp_path, capsys, monkeypatch):
    db = tmp_path / "p1reader.db"
    url = f"sqlite:///{db}"
    store.connect(url).dispose()
    before = db.read_bytes()
    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)  # what a newer harness would see
    assert main(["report", "--db", url, "-o", str(tmp_path / "yield.html")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"database error: database {url}: schema version {store.SCHEMA_VERSION - 1} is older than this harness "
        f"({store.SCHEMA_VERSION}); it was opened read-only, so not migrated: run `p1reader bringup import` on "
        f"it once with write access")
    assert db.read_bytes() == before and not (tmp_path / "yield.html").exists()
