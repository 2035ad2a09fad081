"""Where KiCad 9's own symbol and footprint libraries live, and a quiet, file-free import of skidl."""

import contextlib
import io
import os
import sys
from pathlib import Path

SHARE = Path(os.environ.get("KICAD9_SHARE", "/usr/share/kicad"))
SYMBOL_DIR = SHARE / "symbols"
FOOTPRINT_DIR = SHARE / "footprints"


class LibraryError(Exception):
    """A KiCad library, symbol or footprint the design names does not exist."""


def symbol_library(nickname: str) -> Path:
    path = SYMBOL_DIR / f"{nickname}.kicad_sym"
    if not path.is_file():
        raise LibraryError(f"symbol library '{nickname}' not found: {path} (is kicad-symbols installed?)")
    return path


def footprint_file(lib_id: str, project_libs: dict[str, Path] | None = None) -> Path:
    """Path of footprint `Lib:Name`, looked up in the project's libraries first, then KiCad's."""
    nickname, _, name = lib_id.partition(":")
    folder = (project_libs or {}).get(nickname, FOOTPRINT_DIR / f"{nickname}.pretty")
    path = Path(folder) / f"{name}.kicad_mod"
    if not path.is_file():
        raise LibraryError(f"footprint '{lib_id}' not found: {path}")
    return path


_skidl = None


def import_skidl():
    """Import skidl once, pointed at KiCad 9's libraries, without its log and ERC files.

    skidl warns at import about every KiCad version whose library variable is unset and writes
    `<script>.log`/`.erc` files into the working directory; neither belongs in a build.
    """
    global _skidl
    if _skidl is None:
        for version in ("", "5", "6", "7", "8", "9", "10"):
            os.environ.setdefault(f"KICAD{version}_SYMBOL_DIR", str(SYMBOL_DIR))
            os.environ.setdefault(f"KICAD{version}_FOOTPRINT_DIR", str(FOOTPRINT_DIR))
        with contextlib.redirect_stderr(io.StringIO()):  # the fp-lib-table notice; we pass footprints by name
            import skidl
        from skidl.logger import erc_logger, rt_logger, stop_log_file_output

        stop_log_file_output()
        for logger in (rt_logger, erc_logger):
            for handler in logger.handlers:
                if hasattr(handler, "setStream"):
                    handler.setStream(sys.stderr)
            logger.setLevel("ERROR")
        skidl.set_default_tool(skidl.KICAD9)
        _skidl = skidl
    return _skidl
