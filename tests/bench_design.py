"""Design generation: time to regenerate kicad/ from the circuit (skidl + schematic + ERC + netlist)
against the bare kicad-cli calls it makes."""

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
        start = time.monotonic()
        generate.generate(out, log=lambda m: None)
        warm = time.monotonic() - start
        sch = out / f"{project.NAME}.kicad_sch"
        start = time.monotonic()
        kicad_cli.erc(sch, out / "erc.json")
        kicad_cli.export_netlist(sch, out / "x.net")
        bare = time.monotonic() - start
    print(f"regenerate kicad/ (cold process): {total:.2f} s; again in the same process: {warm:.2f} s")
    print(f"bare kicad-cli ERC + netlist: {bare:.2f} s  → overhead ×{warm / bare:.2f}")


if __name__ == "__main__":
    main()
