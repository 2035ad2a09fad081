"""The flash CLI (firmware/host/flash.py), with the external tools replaced by a recorder."""

import os
import subprocess
import sys

import pytest

from firmware.host import flash


@pytest.fixture
def firmware_bin(tmp_path):
    f = tmp_path / "ESP32_GENERIC-v1.24.bin"
    f.write_bytes(b"\xe9" + b"\0" * 15)
    return str(f)


@pytest.fixture
def port(tmp_path):
    p = tmp_path / "ttyUSB0"  # stands in for the device node: it only has to exist
    p.write_bytes(b"")
    return str(p)


def test_full_flash_runs_esptool_then_mpremote(port, firmware_bin, capsys):
    calls = []
    assert flash.main(["--port", port, "--firmware", firmware_bin], runner=calls.append) == 0
    assert calls[0] == ["esptool", "--chip", "esp32", "--port", port, "erase_flash"]
    assert calls[1] == ["esptool", "--chip", "esp32", "--port", port, "--baud", "460800",
                        "write_flash", "-z", "0x1000", firmware_bin]
    cp = calls[2]
    assert cp[:5] == ["mpremote", "connect", port, "fs", "cp"] and cp[-1] == ":"
    assert [os.path.basename(f) for f in cp[5:-1]] == ["p1frame.py", "s1frame.py", "console.py", "main.py"]
    assert all(os.path.isfile(f) for f in cp[5:-1])
    assert calls[3] == ["mpremote", "connect", port, "reset"]
    out = capsys.readouterr().out
    assert "[1/4] erase flash" in out and "[4/4] reset board" in out


def test_files_only_needs_no_firmware(port):
    calls = []
    assert flash.main(["--port", port, "--files-only"], runner=calls.append) == 0
    assert [c[0] for c in calls] == ["mpremote", "mpremote"]


def test_missing_port_or_firmware_exit_2_and_say_what_is_needed(tmp_path, port, firmware_bin, capsys):
    calls = []
    assert flash.main(["--port", str(tmp_path / "ttyNOPE"), "--firmware", firmware_bin],
                      runner=calls.append) == 2
    assert "ttyNOPE does not exist" in capsys.readouterr().err
    assert flash.main(["--port", port], runner=calls.append) == 2
    assert "pass --firmware" in capsys.readouterr().err
    assert flash.main(["--port", port, "--firmware", str(tmp_path / "nope.bin")], runner=calls.append) == 2
    assert "nope.bin not found" in capsys.readouterr().err
    assert calls == []  # nothing was started


def test_tool_failure_names_step_and_carries_stderr(port, firmware_bin, capsys):
    def failing(args):
        if args[0] == "mpremote":
            raise flash.ToolError("mpremote failed (exit 1): could not enter raw repl")

    assert flash.main(["--port", port, "--firmware", firmware_bin], runner=failing) == 1
    err = capsys.readouterr().err
    assert "step 3/4 (copy p1frame.py" in err and "could not enter raw repl" in err


def test_run_tool_puts_stderr_into_the_exception():
    with pytest.raises(flash.ToolError) as e:
        flash.run_tool(["json.tool", "/nonexistent/file.json"], timeout=60)
    assert "exit 2" in str(e.value) and "No such file" in str(e.value)


def test_run_tool_returns_stdout():
    assert flash.run_tool(["platform"], timeout=60).strip() != ""


def test_cli_entry_point_exit_code():
    done = subprocess.run([sys.executable, "-m", "firmware.host.flash", "--port", "/dev/ttyNOPE42"],
                          capture_output=True, text=True, timeout=60,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert done.returncode == 2
    assert "/dev/ttyNOPE42 does not exist" in done.stderr and "pass --firmware" in done.stderr
