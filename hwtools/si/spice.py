"""The one contract with ngspice: run a deck in batch mode, read back its binary raw file.

A thin runner (`ngspice -b -r out.raw deck.cir`) rather than a shared-library binding: it works with the
Debian ngspice 39 binary as installed by `setup.sh`, and runs parallelise over a process pool without
ngspice's global state in the way. `run_batch` simulates many decks in one ngspice process (a control script
that sources, runs and writes each in turn, then removes it): the same raw values as one process per deck,
without the start-up cost of each.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .. import procs
from ..errors import HwtoolsError


# ngspice processes side by side for a study run from the main process (burst train, ESD, power path, I2C)
JOBS = os.cpu_count() or 1


class NgspiceError(HwtoolsError):
    """ngspice is missing, failed, or wrote something we cannot read."""


def find_ngspice() -> str:
    exe = shutil.which("ngspice")
    if not exe:
        raise NgspiceError("ngspice not found on PATH: install the Debian package 'ngspice' (make setup does)")
    return exe


def run(deck: str, timeout: float = 60.0) -> list[dict[str, np.ndarray]]:
    """Simulate `deck` (a complete netlist ending in .end); return one {vector name: values} per plot.

    Vector names are lower case as ngspice writes them: "time", "v(rx)", "i(vml)".
    """
    exe = find_ngspice()
    with procs.temp_dir("ngspice") as tmp:
        cir, raw = tmp / "deck.cir", tmp / "out.raw"
        cir.write_text(deck)
        proc = _ngspice([exe, "-b", "-r", str(raw), str(cir)], tmp, timeout)
        errors = _errors(proc)
        if proc.returncode != 0 or errors or not raw.exists():
            log = proc.stdout + proc.stderr
            tail = "\n".join((errors or log.splitlines())[-8:])
            raise NgspiceError(f"ngspice exit {proc.returncode}: {tail}")
        return read_raw(raw.read_bytes())


def batches(items: list, workers: int, per_worker: int = 1) -> list[list]:
    """`items` in order, cut into about workers × per_worker batches (each one ngspice process)."""
    n = max(1, min(len(items), workers * per_worker))
    size = -(-len(items) // n) if items else 1
    return [items[i:i + size] for i in range(0, len(items), size)]


def run_batch(decks: list[str], timeout: float = 60.0, jobs: int = 1) -> list[list[dict[str, np.ndarray]]]:
    """Simulate every deck in one ngspice process; the result of each as `run` returns it, in order. `jobs` > 1
    cuts the decks into that many batches, each its own ngspice process, run side by side (a caller that is not
    itself one of many workers: each deck's result does not depend on its batch).

    When a batch reports any error, its decks run again one by one, so the failing one raises with its
    own message.
    """
    parts = batches(decks, jobs)
    if len(parts) > 1:
        with ThreadPoolExecutor(max_workers=len(parts)) as pool:  # threads only wait for their ngspice
            return [plot for part in pool.map(lambda part: run_batch(part, timeout), parts) for plot in part]
    exe = find_ngspice()
    with procs.temp_dir("ngspice") as tmp:
        script = ["* hwtools.si batch", ".control", "set filetype=binary"]
        for i, deck in enumerate(decks):
            (tmp / f"deck{i}.cir").write_text(deck)
            script += [f"source deck{i}.cir", "run", f"write out{i}.raw", "destroy all", "remcirc"]
        (tmp / "batch.cir").write_text("\n".join(script + ["quit", ".endc", ".end", ""]))
        proc = _ngspice([exe, "-b", "batch.cir"], tmp, timeout * max(1, len(decks)))
        raws = [tmp / f"out{i}.raw" for i in range(len(decks))]
        if proc.returncode == 0 and not _errors(proc) and all(r.exists() for r in raws):
            return [read_raw(r.read_bytes()) for r in raws]
    return [run(deck, timeout) for deck in decks]


def _ngspice(cmd, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    try:
        return procs.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        raise NgspiceError(f"ngspice did not finish within {timeout:.0f} s") from e


def _errors(proc: subprocess.CompletedProcess) -> list[str]:
    log = proc.stdout + proc.stderr
    return [ln for ln in log.splitlines() if re.search(r"\berror\b|doAnalyses|singular|aborted", ln, re.I)]


def read_raw(data: bytes) -> list[dict[str, np.ndarray]]:
    """Parse an ngspice raw file (binary, real or complex values; several plots in sequence)."""
    plots, pos = [], 0
    while pos < len(data):
        header_end = data.find(b"Binary:\n", pos)
        if header_end < 0:
            if data[pos:].strip():
                raise NgspiceError("raw file: no 'Binary:' section (was it written as ASCII?)")
            break
        header = data[pos:header_end].decode("latin-1")
        nvars = int(re.search(r"No\. Variables:\s*(\d+)", header).group(1))
        npoints = int(re.search(r"No\. Points:\s*(\d+)", header).group(1))
        flags = re.search(r"Flags:\s*(.*)", header).group(1).lower()
        var_block = header.split("Variables:", 2)[-1].splitlines()[1:]
        names = [line.split()[1].lower() for line in var_block[:nvars]]
        width = 2 if "complex" in flags else 1
        start = header_end + len(b"Binary:\n")
        count = nvars * npoints * width
        values = np.frombuffer(data, dtype="<f8", count=count, offset=start).reshape(npoints, nvars * width)
        if width == 2:
            values = values[:, 0::2] + 1j * values[:, 1::2]
        plots.append({name: values[:, i].copy() for i, name in enumerate(names)})
        pos = start + count * 8
    if not plots:
        raise NgspiceError("raw file holds no plot")
    return plots
