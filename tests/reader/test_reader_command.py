"""`p1reader reader …` on bad input: one line naming what and where, exit 2, never a traceback, never a password;
the configuration checked as the board checks it at boot (the same module, under MicroPython too)."""

import json
import socket
import subprocess
import sys

import pytest

from reader_helpers import FIRMWARE_DIR, TELEGRAM_DIR, free_port, mp_env

SECRET = "hunter2-never-shown"


def p1reader(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "p1reader", "reader", *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd=cwd)


def one_line_error(done, *words):
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_example_config_is_good():
    done = p1reader("check", FIRMWARE_DIR / "reader.example.json")
    assert done.returncode == 0 and "good" in done.stdout


@pytest.mark.parametrize("values, key", [
    ({"broker": "http://x"}, "broker"), ({"tcp_port": 70000}, "tcp_port"), ({"cap_kw": "lots"}, "cap_kw"),
    ({"base": "/p1"}, "base"), ({"node": "p 1"}, "node"), ({"colour": "red"}, "colour"),
    ({"wifi_password": 12345}, "wifi_password"),
])
def test_bad_config_value_named_by_key_password_never_printed(tmp_path, values, key):
    cfg = {"wifi_password": SECRET, "mqtt_password": SECRET, **values}
    path = tmp_path / "reader.json"
    path.write_text(json.dumps(cfg))
    line = one_line_error(p1reader("check", path), str(path), key + ":")
    assert SECRET not in line and "12345" not in line


def test_board_checks_config_at_boot_under_micropython(micropython, tmp_path):
    path = tmp_path / "reader.json"
    path.write_text(json.dumps({"broker": "mqtt://", "mqtt_password": SECRET, "http_port": "x"}))
    done = subprocess.run([micropython, str(FIRMWARE_DIR / "reader.py"), "--config", str(path), "--uart", "/dev/null",
                           "--state-dir", str(tmp_path / "state")], capture_output=True, text=True,
                          env=mp_env(), timeout=60)
    assert done.returncode == 2
    errors = [x for x in done.stdout.splitlines() if x.startswith("@E config: ")]
    assert [e.split(":")[1].strip() for e in errors] == ["broker", "http_port"] and SECRET not in done.stdout


def test_run_bad_arguments_exit_2_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    common = ["--speed", "50", "--state-dir", tmp_path / "state"]
    one_line_error(p1reader("run", "--telegrams", empty, "--broker", "mqtt://127.0.0.1:1", *common),
                   str(empty), "no *.txt")
    one_line_error(p1reader("run", "--telegrams", tmp_path / "nope.txt", "--broker", "mqtt://127.0.0.1:1", *common),
                   "nope.txt", "cannot read")
    one_line_error(p1reader("run", "--telegrams", TELEGRAM_DIR, "--broker", "tcp://127.0.0.1:1", *common),
                   "--broker", "mqtt://")
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        one_line_error(p1reader("run", "--telegrams", TELEGRAM_DIR, "--broker", "mqtt://127.0.0.1:1",
                                "--tcp-port", port, *common), "--tcp-port", str(port), "in use")


def test_unreachable_broker_is_not_bad_input(tmp_path):
    """Nobody listens on the broker's port: the reader buffers, the run ends well."""
    done = p1reader("run", "--telegrams", TELEGRAM_DIR, "--broker", f"mqtt://127.0.0.1:{free_port()}",
                    "--speed", "20", "--tcp-port", free_port(), "--http-port", free_port(),
                    "--state-dir", tmp_path / "state")
    assert done.returncode == 0, done.stderr
    assert "5 telegrams sent, 5 good" in done.stdout
