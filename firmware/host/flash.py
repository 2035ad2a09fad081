"""Flash MicroPython and an app onto a Lolin D32: the bring-up firmware (default) or the reader.

    python -m firmware.host.flash --port /dev/ttyUSB0 --firmware micropython.bin [--app reader --config reader.json]

Steps: erase flash, write MicroPython at 0x1000 (esptool), copy the app's files to the board's filesystem and
reset it (mpremote). Bring-up: p1frame.py, s1frame.py, console.py and main.py. Reader: its modules, its vendored
libraries (umqtt/, microdot/), the configuration as reader.json (checked here first, as the board checks it at
boot) and reader.py as main.py. `--files-only` skips the first two steps.
Exit codes: 0 done, 1 a tool failed, 2 bad arguments (missing port, firmware or configuration file, a bad value).
"""

import argparse
import os
import subprocess
import sys

from .errors import FirmwareError

FIRMWARE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # firmware/, above host/
BOARD_FILES = ("p1frame.py", "s1frame.py", "console.py", "main.py")  # main.py last: it starts on the next reset
READER_FILES = ("p1frame.py", "s1frame.py", "mtime.py", "obis.py", "entities.py", "capacity.py", "config.py", "ring.py",
                "reading.py", "display.py", "seam.py")
READER_LIBS = ("umqtt", "microdot")  # folders of firmware/lib/, copied whole into the board's root
APPS = ("bringup", "reader")
FLASH_OFFSET = "0x1000"  # where the ESP32 MicroPython image (with bootloader) starts
DEFAULT_BAUD = 460800


class ToolError(FirmwareError):
    """An external tool (esptool, mpremote) failed; the message carries its stderr."""


def run_tool(args, timeout=300):
    """Run `python -m <tool> ...` with this interpreter; return stdout, raise ToolError otherwise."""
    from hwtools import procs

    argv = [sys.executable, "-m"] + list(args)
    try:
        done = procs.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise ToolError("%s: no answer within %d s" % (" ".join(args), timeout)) from e
    if done.returncode != 0:
        err = (done.stderr or done.stdout or "").strip()
        raise ToolError("%s failed (exit %d): %s" % (" ".join(args), done.returncode, err[-2000:]))
    return done.stdout


def plan(port, firmware=None, baud=DEFAULT_BAUD, files_only=False, app="bringup", config=None):
    """The steps as (description, tool args) pairs, in order."""
    steps = []
    if not files_only:
        steps.append(("erase flash", ["esptool", "--chip", "esp32", "--port", port, "erase_flash"]))
        steps.append(("write MicroPython %s at %s" % (os.path.basename(firmware), FLASH_OFFSET),
                      ["esptool", "--chip", "esp32", "--port", port, "--baud", str(baud),
                       "write_flash", "-z", FLASH_OFFSET, firmware]))
    steps += app_steps(port, app, config)
    steps.append(("reset board (starts main.py)", ["mpremote", "connect", port, "reset"]))
    return steps


def app_steps(port, app, config=None):
    """Copying the app's files: the bring-up firmware's four, or the reader's modules, libraries and config."""
    cp = ["mpremote", "connect", port, "fs", "cp"]
    if app == "bringup":
        files = [os.path.join(FIRMWARE_DIR, name) for name in BOARD_FILES]
        return [("copy %s" % ", ".join(BOARD_FILES), cp + files + [":"])]
    files = [os.path.join(FIRMWARE_DIR, name) for name in READER_FILES]
    libs = [os.path.join(FIRMWARE_DIR, "lib", name) for name in READER_LIBS]
    return [("copy the reader's modules", cp + files + [":"]),
            ("copy its libraries (%s)" % ", ".join(READER_LIBS), cp + ["-r"] + libs + [":"]),
            ("copy %s as reader.json" % os.path.basename(config), cp + [config, ":reader.json"]),
            ("copy reader.py as main.py", cp + [os.path.join(FIRMWARE_DIR, "reader.py"), ":main.py"])]


def check_config(app, config):
    """The reader's configuration checked as the board checks it at boot: problems, one line each."""
    from firmware import config as configuration

    if app != "reader":
        return ["--config is for --app reader"] if config else []
    if not config:
        return ["the reader needs its configuration: pass --config reader.json (see firmware/reader.example.json)"]
    try:
        with open(config, encoding="utf-8") as f:
            _, problems = configuration.load(f.read())
    except OSError as e:
        return ["configuration %s: cannot read it (%s)" % (config, e.strerror)]
    return ["configuration %s: %s" % (config, p) for p in problems]


def check_inputs(port, firmware, files_only):
    """Problems with the arguments, as messages saying what is needed (empty list: fine)."""
    problems = []
    # Only device paths can be checked; URLs such as rfc2217://host:port are left to the tools.
    if port.startswith("/") and not os.path.exists(port):
        problems.append("serial port %s does not exist: plug in the D32 and pass --port "
                        "(e.g. /dev/ttyUSB0; see `python -m serial.tools.list_ports`)" % port)
    get_one = "pass --firmware PATH to an ESP32_GENERIC .bin from https://micropython.org/download/ESP32_GENERIC/"
    if not files_only and not firmware:
        problems.append("no MicroPython image: " + get_one)
    elif not files_only and not os.path.isfile(firmware):
        problems.append("MicroPython image %s not found: %s" % (firmware, get_one))
    return problems


def main(argv=None, runner=run_tool, out=None):
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m firmware.host.flash", description=__doc__.split("\n")[0])
    parser.add_argument("--port", required=True, help="serial port of the D32, e.g. /dev/ttyUSB0")
    parser.add_argument("--firmware", help="MicroPython image for the ESP32 (.bin)")
    parser.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="esptool write speed")
    parser.add_argument("--files-only", action="store_true",
                        help="keep MicroPython, only copy the firmware files and reset")
    parser.add_argument("--app", choices=APPS, default="bringup", help="what the board runs (default bringup)")
    parser.add_argument("--config", help="the reader's configuration (JSON), copied as reader.json")
    args = parser.parse_args(argv)

    problems = check_inputs(args.port, args.firmware, args.files_only) + check_config(args.app, args.config)
    if problems:
        for p in problems:
            print("flash: " + p, file=sys.stderr)
        return 2
    steps = plan(args.port, args.firmware, args.baud, args.files_only, args.app, args.config)
    for i, (what, tool_args) in enumerate(steps, 1):
        print("[%d/%d] %s ..." % (i, len(steps), what), file=out, flush=True)
        try:
            runner(tool_args)
        except ToolError as e:
            print("flash: step %d/%d (%s) on %s: %s" % (i, len(steps), what, args.port, e),
                  file=sys.stderr)
            return 1
    print("done: %s runs the p1reader %s firmware; watch it with "
          "`python -m serial.tools.miniterm %s 115200`" % (args.port, args.app, args.port), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
