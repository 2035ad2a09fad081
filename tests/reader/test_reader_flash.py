"""`make flash … APP=reader CONFIG=…` (firmware/host/flash.py --app reader): the reader's files, its vendored
libraries and the configuration as reader.json go to the board, reader.py as main.py; a bad configuration stops it
before any tool runs (the tools, esptool and mpremote, replaced by a recorder: there is no D32 here)."""

import json
import os
import subprocess

from reader_helpers import FIRMWARE_DIR, REPO
from firmware.host import flash


def test_reader_flash_copies_modules_libraries_config_and_main(tmp_path, capsys):
    port = tmp_path / "ttyUSB0"
    port.write_bytes(b"")
    config = tmp_path / "home.reader.json"
    config.write_text(json.dumps({"broker": "mqtt://192.168.1.10", "wifi_password": "s3cret"}))
    calls = []
    assert flash.main(["--port", str(port), "--files-only", "--app", "reader", "--config", str(config)],
                      runner=calls.append) == 0
    copies = [c[5:] for c in calls if c[3:5] == ["fs", "cp"]]
    modules = [os.path.basename(f) for f in copies[0][:-1]]
    assert "reading.py" in modules and "seam.py" in modules and "reader.py" not in modules
    imported = {line.split()[1] for name in modules + ["reader.py"]
                for line in (FIRMWARE_DIR / name).read_text().splitlines() if line.startswith("import ")}
    assert imported - {"gc", "json", "sys", "time", "asyncio", "os", "select", "binascii"} <= {
        m[:-3] for m in modules}  # every module the reader imports is copied
    assert copies[1][0] == "-r" and [os.path.basename(d) for d in copies[1][1:-1]] == ["umqtt", "microdot"]
    assert copies[2] == [str(config), ":reader.json"]
    assert copies[3] == [str(FIRMWARE_DIR / "reader.py"), ":main.py"]
    assert calls[-1][-1] == "reset" and "s3cret" not in capsys.readouterr().out


def test_reader_flash_refuses_a_bad_config_before_any_tool(tmp_path, capsys):
    port = tmp_path / "ttyUSB0"
    port.write_bytes(b"")
    config = tmp_path / "reader.json"
    config.write_text(json.dumps({"broker": "mqtt://x", "tcp_port": 0, "mqtt_password": "s3cret"}))
    calls = []
    assert flash.main(["--port", str(port), "--files-only", "--app", "reader", "--config", str(config)],
                      runner=calls.append) == 2
    err = capsys.readouterr().err
    assert "tcp_port" in err and "s3cret" not in err and calls == []
    assert flash.main(["--port", str(port), "--files-only", "--app", "reader"], runner=calls.append) == 2
    assert "--config reader.json" in capsys.readouterr().err and calls == []


def test_make_flash_defaults_to_bringup_and_passes_app_and_config():
    dry = ["make", "-n", "-C", str(REPO), "flash", "PORT=/dev/ttyUSB0", "MPY_FIRMWARE=esp32.bin"]
    default = subprocess.run(dry, capture_output=True, text=True, check=True).stdout
    assert '--app "bringup"' in default and "--config" not in default
    reader = subprocess.run(dry + ["APP=reader", "CONFIG=reader.json"], capture_output=True, text=True,
                            check=True).stdout
    assert '--app "reader" --config "reader.json"' in reader
