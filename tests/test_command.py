"""The one command, `p1reader`: its version line, one exit policy for every subcommand (a known error is one line
and exit 2, a bug a traceback and exit 3), and the old names, which still work and say the new one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hwtools import project
from p1reader import cli

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def p1reader(*args, cwd=REPO, exe=None) -> subprocess.CompletedProcess:
    cmd = [str(exe)] if exe else [sys.executable, "-m", "p1reader"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_version_names_package_board_revision_and_design_commit():
    proc = p1reader("--version")
    assert proc.returncode == 0, proc.stderr
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    m = re.fullmatch(r"p1reader (\S+) \(board revision (\S+), design commit (\S+)\)\n", proc.stdout)
    assert m and m[1] == version and m[2] == project.REVISION, proc.stdout
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert m[3].removesuffix("+changes") == head


@pytest.mark.parametrize("args, words", [
    (["check", "--variant", "p1", "--kicad-dir", "/nonexistent/kicad"], ["/nonexistent/kicad", "no KiCad project"]),
    (["s1", "decode", "/nonexistent/capture.bin"], ["/nonexistent/capture.bin"]),
    (["bringup", "limits", "--station", "/nonexistent/station.yaml"], ["/nonexistent/station.yaml"]),
    (["si", "--quick", "--set", "R99=1 kOhm"], ["no part R99", "R99=1 kOhm"]),
    (["nonsense"], ["unknown command 'nonsense'"]),
])
def test_a_known_error_is_one_line_and_exit_2(args, words):
    proc = p1reader(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    for w in words:
        assert w in proc.stderr


def test_a_bug_is_a_traceback_and_exit_3(capsys):
    def buggy(argv, prog):
        return {}["no such key"]

    assert cli.run(buggy, [], "p1reader x") == cli.EXIT_BUG
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError: 'no such key'" in err and "internal error (a bug" in err


def test_a_bug_inside_a_board_command_is_exit_3_not_a_known_error(monkeypatch, capsys):
    """hwtools' own command line lets what is not an HwtoolsError through to the one policy."""
    import hwtools.cli

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(hwtools.cli, "_run", broken)
    assert cli.main(["check", "--variant", "p1"]) == cli.EXIT_BUG
    assert "ZeroDivisionError: a bug" in capsys.readouterr().err


@pytest.mark.parametrize("old, args, new", [
    ("python -m hwtools", ["--help"], "p1reader fab|check|generate"),
    ("python -m hwtools.si", ["--help"], "p1reader si"),
    ("python -m meter.s1", ["--help"], "p1reader s1"),
    ("python -m bringup", ["--help"], "p1reader bringup"),
    ("p1reader-si", ["--help"], "p1reader si"),
    ("p1reader-s1", ["--help"], "p1reader s1"),
    ("p1reader-bringup", ["--help"], "p1reader bringup"),
])
def test_an_old_name_still_works_and_says_the_new_one(old, args, new):
    if old.startswith("python -m "):
        proc = subprocess.run([sys.executable, "-m", old.split()[-1], *args], capture_output=True, text=True,
                              cwd=REPO, timeout=120)
    else:
        assert (BIN / old).is_file(), f"{BIN / old} missing: run `make setup` (pyproject.toml's scripts)"
        proc = p1reader(*args, exe=BIN / old)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines()[0] == f"note: `{old}` is now `{new}`"
    assert "usage:" in proc.stdout


def test_the_new_command_is_installed():
    exe = BIN / "p1reader"
    assert exe.is_file(), f"{exe} missing: run `make setup`"
    proc = p1reader("--help", exe=exe)
    assert proc.returncode == 0 and all(c in proc.stdout for c in cli.COMMANDS)
