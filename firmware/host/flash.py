"""Flash MicroPython and the bring-up firmware onto a Lolin D32.

    python -m firmware.host.flash --port /dev/ttyUSB0 --firmware micropython.bin

Steps: erase flash, write MicroPython at 0x1000 (esptool), copy p1frame.py, s1frame.py, console.py and main.py
to the board's filesystem and reset it (mpremote). `--files-only` skips the first two steps.
Exit codes: 0 done, 1 a tool failed, 2 bad arguments (missing port or firmware file).
"""

import argparse
import os
import subprocess
import sys

from .errors import FirmwareError

FIRMWARE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # firmware/, above host/
BOARD_FILES = ("p1frame.py", "s1frame.py", "console.py", "main.py")  # main.py last: it starts on the next reset
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


def plan(port, firmware=None, baud=DEFAULT_BAUD, files_only=False):
    """The steps as (description, tool args) pairs, in order."""
    steps = []
    if not files_only:
        steps.append(("erase flash", ["esptool", "--chip", "esp32", "--port", port, "erase_flash"]))
        steps.append(("write MicroPython %s at %s" % (os.path.basename(firmware), FLASH_OFFSET),
                      ["esptool", "--chip", "esp32", "--port", port, "--baud", str(baud),
                       "write_flash", "-z", FLASH_OFFSET, firmware]))
    files = [os.path.join(FIRMWARE_DIR, name) for name in BOARD_FILES]
    steps.append(("copy %s" % ", ".join(BOARD_FILES),
                  ["mpremote", "connect", port, "fs", "cp"] + files + [":"]))
    steps.append(("reset board (starts main.py)", ["mpremote", "connect", port, "reset"]))
    return steps


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
    args = parser.parse_args(argv)

    problems = check_inputs(args.port, args.firmware, args.files_only)
    if problems:
        for p in problems:
            print("flash: " + p, file=sys.stderr)
        return 2
    steps = plan(args.port, args.firmware, args.baud, args.files_only)
    for i, (what, tool_args) in enumerate(steps, 1):
        print("[%d/%d] %s ..." % (i, len(steps), what), file=out, flush=True)
        try:
            runner(tool_args)
        except ToolError as e:
            print("flash: step %d/%d (%s) on %s: %s" % (i, len(steps), what, args.port, e),
                  file=sys.stderr)
            return 1
    print("done: %s runs p1reader bring-up firmware; watch it with "
          "`python -m serial.tools.miniterm %s 115200`" % (args.port, args.port), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
