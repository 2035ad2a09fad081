"""The interactive BOM (InteractiveHtmlBom), with the BOM-only lines of bom.csv (D32 sockets, headers).

InteractiveHtmlBom lists only footprints: by design it has no option for parts without one (as its maintainer
answers on its issue tracker). Its Python API does take more components than the board has, so this module runs the
tool's own CLI flow (`ibom.main`) with the KiCad parser wrapped: each BOM-only part becomes one more component
(one per piece, so the iBoM's quantity is the BOM's) whose outline is the part it belongs to — clicking the
"M1 socket" line lights up the D32's place — with no pads and no drawings. The tool itself groups, sorts and
writes the page; nothing is edited afterwards. The board and components.json stay untouched.

Run in a child process by hwtools.fab (pcbnew is loaded there):
    python -m hwtools.ibom --bom-only LINES.json [InteractiveHtmlBom options] BOARD.kicad_pcb
LINES.json: a list of {"for_ref", "qty", "designators", "value", "manufacturer", "mpn"} (bom.bom_only_items).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys

BOM_ONLY_FOOTPRINT = "none (BOM only)"  # the iBoM's Footprint column for a part without a footprint


def add_bom_only(pcbdata: dict, components: list, lines: list[dict], fields: dict):
    """Append one component and one pad-less footprint per piece of each BOM-only line, in place.

    `fields`: {extra field name: the key the tool's BOM table looks it up by} (the tool may lower-case names).
    A line whose part (`for_ref`) is not on the board is a ValueError naming both.
    """
    from InteractiveHtmlBom.ecad.common import Component

    hosts = {fp["ref"]: fp for fp in pcbdata["footprints"]}
    for line in lines:
        host = hosts.get(line["for_ref"])
        if host is None:
            raise ValueError(f"BOM-only line {line['mpn']} belongs to {line['for_ref']}, which is not on the board")
        for piece in range(1, line["qty"] + 1):
            ref = f"{line['designators']} {piece}"
            extra = {fields[name]: line[name.lower()] for name in ("MPN", "Manufacturer") if name in fields}
            components.append(Component(ref, line["value"], BOM_ONLY_FOOTPRINT, host["layer"], "Normal", extra))
            pcbdata["footprints"].append({"ref": ref, "bbox": copy.deepcopy(host["bbox"]), "pads": [],
                                          "drawings": [], "layer": host["layer"]})


class _WithBomOnly:
    """The tool's parser, plus the BOM-only components (ibom.main needs only `file_name` and `parse`)."""

    def __init__(self, parser, lines: list[dict], config):
        self.parser, self.lines, self.config = parser, lines, config
        self.file_name = parser.file_name

    def parse(self):
        pcbdata, components = self.parser.parse()
        if pcbdata is not None:  # None: the tool reports the parse failure itself
            norm = self.config.normalize_field_case
            fields = {f: f.lower() if norm else f for f in self.config.show_fields if f not in ("Value", "Footprint")}
            add_bom_only(pcbdata, components, self.lines, fields)
        return pcbdata, components


def main(argv: list[str] | None = None) -> int:
    # before the package import: it would otherwise register itself as a pcbnew action plugin
    os.environ.setdefault("INTERACTIVE_HTML_BOM_CLI_MODE", "1")
    os.environ.setdefault("INTERACTIVE_HTML_BOM_NO_DISPLAY", "1")
    from InteractiveHtmlBom.core import ibom
    from InteractiveHtmlBom.core.config import Config
    from InteractiveHtmlBom.ecad import get_parser_by_extension
    from InteractiveHtmlBom.errors import ParsingException
    from InteractiveHtmlBom.version import version

    cli = argparse.ArgumentParser(description="InteractiveHtmlBom with the BOM-only lines of bom.csv")
    cli.add_argument("--bom-only", required=True, help="JSON list of BOM-only lines")
    cli.add_argument("file", help="KiCad board")
    Config.add_options(cli, version)
    args = cli.parse_args(argv)
    with open(args.bom_only, encoding="utf-8") as f:
        lines = json.load(f)
    board = os.path.abspath(args.file)
    if not os.path.isfile(board):
        print(f"{board}: no such board", file=sys.stderr)
        return 2
    config = Config(version, os.path.dirname(board))
    config.set_from_args(args)
    logger = ibom.Logger(cli=True)
    parser = get_parser_by_extension(board, config, logger)
    try:
        ibom.main(_WithBomOnly(parser, lines, config), config, logger)
    except (ParsingException, ValueError) as e:
        print(f"{board}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
