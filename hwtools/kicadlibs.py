"""Where KiCad 9's own symbol and footprint libraries live, and a quiet, file-free import of skidl."""

import contextlib
import functools
import inspect
import io
import logging
import os
import re
import sys
from pathlib import Path

from . import procs
from .errors import HwtoolsError

SHARE = Path(os.environ.get("KICAD9_SHARE", "/usr/share/kicad"))
SYMBOL_DIR = SHARE / "symbols"
FOOTPRINT_DIR = SHARE / "footprints"


class LibraryError(HwtoolsError):
    """A KiCad library, symbol or footprint the design names does not exist."""


@functools.lru_cache(maxsize=None)
def library_text(nickname: str) -> str:
    """The text of KiCad's installed symbol library `nickname`, read once per process (the circuit and the
    schematic both copy symbols out of the same few libraries, up to 7 MB each)."""
    return symbol_library(nickname).read_text(encoding="utf-8")


def symbol_library(nickname: str) -> Path:
    path = SYMBOL_DIR / f"{nickname}.kicad_sym"
    if not path.is_file():
        raise LibraryError(f"symbol library '{nickname}' not found: {path} (is kicad-symbols installed?)")
    return path


def symbol_text(library_text: str, name: str) -> str | None:
    """The s-expression text of `(symbol "name" ...)` at the top level of a .kicad_sym file's text."""
    start = library_text.find(f'(symbol "{name}"')
    if start < 0:
        return None
    depth, in_str, i = 0, False, start
    while True:
        c = library_text[i]
        if c == '"' and library_text[i - 1] != "\\":
            in_str = not in_str
        elif not in_str and c == "(":
            depth += 1
        elif not in_str and c == ")":
            depth -= 1
            if depth == 0:
                return library_text[start:i + 1]
        i += 1


def symbol_subset(nickname: str, name: str) -> str:
    """A .kicad_sym library text holding only symbol `name` of KiCad's library `nickname` (and the symbol it
    extends, first). skidl parses whole libraries in Python; a one-symbol library loads in milliseconds."""
    text = library_text(nickname)
    symbols, wanted = [], name
    while wanted:
        sym = symbol_text(text, wanted)
        if sym is None:
            raise LibraryError(f"symbol '{nickname}:{wanted}' not found in {symbol_library(nickname)}")
        symbols.insert(0, sym)
        parent = re.search(r'\(extends "([^"]+)"\)', sym)
        wanted = parent.group(1) if parent else None
    header = text[:text.find("(symbol ")]
    return header + "\n".join(symbols) + "\n)\n"


def footprint_file(lib_id: str, project_libs: dict[str, Path] | None = None) -> Path:
    """Path of footprint `Lib:Name`, looked up in the project's libraries first, then KiCad's."""
    nickname, _, name = lib_id.partition(":")
    folder = (project_libs or {}).get(nickname, FOOTPRINT_DIR / f"{nickname}.pretty")
    path = Path(folder) / f"{name}.kicad_mod"
    if not path.is_file():
        raise LibraryError(f"footprint '{lib_id}' not found: {path}")
    return path


_skidl = None


class _CallStack:
    """`inspect.stack()` as skidl reads it (file, line, function of each frame, innermost first), without the
    source lines: inspect reads each frame's source file and searches every loaded module for the frames that
    have none (runpy's), half a second for one circuit."""

    @staticmethod
    def stack() -> list[inspect.FrameInfo]:
        frames, frame = [], sys._getframe(1)
        while frame is not None:
            frames.append(inspect.FrameInfo(frame, frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name,
                                            None, None))
            frame = frame.f_back
        return frames


SKIDL_SKIPS = ("InSpice",)  # optional packages skidl would import for features the project does not use


def import_skidl():
    """Import skidl once, pointed at KiCad 9's libraries, without its log and ERC files.

    skidl warns at import about every KiCad version whose library variable is unset and writes
    `<script>.log`/`.erc` files into the working directory; neither belongs in a build. It also makes its own
    logger class the class of every logger created after it (skidl 3.0, `logging.setLoggerClass`), whose
    `debug()` fails on messages that are not strings (some libraries log objects): the class in force before
    comes back.
    skidl's SPICE back end imports InSpice, and with it matplotlib's pyplot (0.5 s), if it can; it treats
    InSpice as optional, and the project simulates with its own ngspice decks, so skidl's import does not see it.
    From its import on (which names the log after the script on the stack), skidl reads the stack from `_CallStack`.
    """
    global _skidl
    if _skidl is None:
        logger_class = logging.getLoggerClass()
        for version in ("", "5", "6", "7", "8", "9", "10"):
            os.environ.setdefault(f"KICAD{version}_SYMBOL_DIR", str(SYMBOL_DIR))
            os.environ.setdefault(f"KICAD{version}_FOOTPRINT_DIR", str(FOOTPRINT_DIR))
        hidden = [name for name in SKIDL_SKIPS if name not in sys.modules]
        sys.modules.update(dict.fromkeys(hidden))  # None: an import of it raises ImportError, which skidl expects
        slow_stack, inspect.stack = inspect.stack, _CallStack.stack  # skidl's import names its logs from the stack
        cwd = os.getcwd()
        # skidl's import writes `<script>.log`/`.erc` into the working folder and removes them when told to stop:
        # in a folder of its own, so it never removes a file of the user's, nor one another process (a second
        # build, a parallel test worker) is importing skidl beside at the same moment
        with procs.temp_dir("skidl") as private:
            os.chdir(private)
            try:
                with contextlib.redirect_stderr(io.StringIO()):  # the fp-lib-table notice; we pass footprints by name
                    import skidl
                from skidl.logger import erc_logger, rt_logger, stop_log_file_output

                stop_log_file_output()
            finally:
                os.chdir(cwd)
                inspect.stack = slow_stack
                for name in hidden:
                    del sys.modules[name]
        for logger in (rt_logger, erc_logger):
            for handler in logger.handlers:
                if hasattr(handler, "setStream"):
                    handler.setStream(sys.stderr)
            logger.setLevel("ERROR")
        skidl.set_default_tool(skidl.KICAD9)
        skidl.scriptinfo.inspect = _CallStack  # the module uses inspect for stack() alone
        logging.setLoggerClass(logger_class)
        _skidl = skidl
    return _skidl
