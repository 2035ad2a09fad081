"""Signal integrity of the P1 input: ngspice simulation of the inverter and Data Request stages.

`analyse()` for the figures (results with `.passed` and a one-line `str()`), `fab(out_dir)` for `make fab`
(eye diagram PNG + table). Heavy work happens inside the calls.
"""

from __future__ import annotations

from pathlib import Path


def analyse(board=None, **kwargs):
    from .sweep import analyse as _analyse

    return _analyse(board, **kwargs)


def fab(out_dir: Path, board=None, report=None, log=lambda msg: None) -> list[Path]:
    """Write `p1-input-si.png` (eye + worst-case waveform) and `p1-input-si.md` into `out_dir`."""
    from . import report as _report
    from .sweep import worst_waveforms

    report = report or analyse(board, log=log)
    short, eye = worst_waveforms(report)
    return _report.write(report, short, eye, Path(out_dir))
