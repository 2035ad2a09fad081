"""`p1reader COMMAND …` — regenerate, check and manufacture the board, read the meter's S1 port, bring boards up.

Exit codes, the same for every command: 0 done; 1 a check, a limit or a board failed (as the command says);
2 a known error — bad input, a file, a tool, a station — in one line naming what and where; 3 a bug, with its
traceback (please report it). Ctrl-C: 130, except `bringup run`, whose aborted run is exit 1 (bringup/README.md).
"""
from __future__ import annotations

import functools
import importlib
import signal
import sys
import traceback
from typing import Callable

# command → (module with `main(argv, prog)`, the words put before the rest of the arguments, what it does)
COMMANDS = {
    "fab": ("hwtools.cli", ["fab"], "regenerate kicad/ and gerbers/ from the circuit, check and export (make fab)"),
    "check": ("hwtools.cli", ["check"], "ERC, DRC, the design rules and signal integrity on the committed files"),
    "generate": ("hwtools.cli", ["generate"], "regenerate kicad/ only"),
    "si": ("hwtools.si.cli", [], "simulate the P1 input over its corners and Monte Carlo (ngspice)"),
    "s1": ("meter.s1.cli", [], "decode, analyse and synthesise the meter's S1 stream (files or serial ports)"),
    "bringup": ("bringup.cli", [], "the bring-up bench: run, import, report, limits"),
    "reader": ("firmware.host.reader", [], "the reader firmware on the host (MicroPython, MQTT), its config checked"),
    "enclosure": ("hwtools.enclosure.cli", [], "the case: base and lid (STEP, STL) fit-checked on solids into mech/"),
    "review": ("hwtools.review.cli", [], "what changed between two revisions: parts, nets, pictures, every check"),
}
# The names the commands had before `p1reader` → the command each is now: they still work and say so.
OLD_NAMES = {"python -m hwtools": "", "p1reader-si": "si", "python -m hwtools.si": "si", "p1reader-s1": "s1",
             "python -m meter.s1": "s1", "p1reader-bringup": "bringup", "python -m bringup": "bringup"}
EXIT_ERROR, EXIT_BUG = 2, 3


def known_errors() -> tuple[type[BaseException], ...]:
    """Each package's one error base: what a user can act on."""
    from bringup.errors import BringupError
    from firmware.host.errors import FirmwareError
    from hwtools.errors import HwtoolsError
    from meter.errors import MeterError

    return HwtoolsError, MeterError, BringupError, FirmwareError


def version() -> str:
    from bringup.provenance import provenance

    p = provenance()
    return (f"p1reader {p['harness_version']} (board revision {p['board_revision']}, "
            f"design commit {p['design_commit']})")


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: p1reader COMMAND [ARGUMENTS …]", "", __doc__.splitlines()[0], "", "commands:"]
    lines += [f"  {name:<{width}}  {what}" for name, (_, _, what) in COMMANDS.items()]
    lines += ["", "`p1reader COMMAND -h` for a command's options; `p1reader --version`.", "",
              *__doc__.split("\n\n", 1)[1].strip().splitlines()]
    return "\n".join(lines)


def run(main: Callable[..., int], argv: list[str], prog: str) -> int:
    """A subcommand under the one exit policy: its known errors are one line (exit 2), a bug a traceback (exit 3)."""
    try:
        return main(argv, prog=prog)
    except known_errors() as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception:  # a bug: say so with everything needed to fix it
        traceback.print_exc()
        print(f"{prog}: internal error (a bug in p1reader, not in your input): please report it with the "
              "traceback above", file=sys.stderr)
        return EXIT_BUG


def main(argv: list[str] | None = None) -> int:
    program = argv is None  # run as the program, not called from other code
    argv = sys.argv[1:] if program else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else EXIT_ERROR
    if argv[0] == "--version":
        print(version())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"p1reader: unknown command {command!r} (one of {', '.join(COMMANDS)}; p1reader -h)", file=sys.stderr)
        return EXIT_ERROR
    module, words, _ = COMMANDS[command]
    if command == "bringup":  # Ctrl-C from the first line on: the bench's own handling (bringup/interrupts.py)
        return _bringup(rest, program)
    prog = "p1reader" if module == "hwtools.cli" else f"p1reader {command}"
    return run(importlib.import_module(module).main, words + rest, prog)


def _bringup(rest: list[str], program: bool) -> int:
    from bringup import interrupts

    before = interrupts.install()  # before the bench's imports: a Ctrl-C there is one line, not a traceback
    try:
        from bringup.cli import main as bringup_main

        status = run(bringup_main, rest, "p1reader bringup")
    except interrupts.Interrupted as e:
        status = interrupts.report(e, rest)
    finally:
        if program:  # the status is decided: a late Ctrl-C must not change it while the program ends
            interrupts.ignore()
        else:
            for sig, handler in before.items():
                signal.signal(sig, handler)
    return status


def old_name(name: str, argv: list[str] | None = None) -> int:
    """An old entry point: one line saying the new name, then the same command."""
    command = OLD_NAMES[name]
    print(f"note: `{name}` is now `p1reader {command or 'fab|check|generate'}`", file=sys.stderr)
    argv = sys.argv[1:] if argv is None else list(argv)
    return main(([command] if command else []) + argv)


old_si = functools.partial(old_name, "p1reader-si")  # the old console scripts (pyproject.toml)
old_s1 = functools.partial(old_name, "p1reader-s1")
old_bringup = functools.partial(old_name, "p1reader-bringup")
