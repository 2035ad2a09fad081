"""Design generation: time to regenerate kicad/ (skidl, schematic, ERC, netlist, board placement and routing,
pour, DRC with parity) against the bare kicad-cli ERC and DRC calls it makes."""

import shutil
import tempfile
import time
from pathlib import Path

from hwtools import generate, kicad_cli, project


def main():
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "kicad"
        start = time.monotonic()
        generate.generate(out, log=lambda m: None)
        total = time.monotonic() - start
        copy = Path(tmp) / "copy"
        shutil.copytree(out, copy)
        start = time.monotonic()
        kicad_cli.drc(copy / f"{project.NAME}.kicad_pcb", copy / "drc.json")
        bare_drc = time.monotonic() - start
        start = time.monotonic()
        kicad_cli.erc(copy / f"{project.NAME}.kicad_sch", copy / "erc.json")
        bare_erc = time.monotonic() - start
        start = time.monotonic()
        generate.stage_board(copy, log=lambda m: None)
        board_job = time.monotonic() - start
    print(f"regenerate kicad/ incl. board and DRC: {total:.1f} s "
          f"(board job: place + route + pour {board_job:.1f} s)")
    print(f"bare kicad-cli DRC with parity: {bare_drc:.2f} s; bare ERC: {bare_erc:.2f} s")
    print(f"regenerate + DRC vs bare DRC: ×{total / bare_drc:.1f}")


if __name__ == "__main__":
    main()
