"""Signal integrity of the P1 input: ngspice simulation of the inverter and Data Request stages.

`sweep.analyse()` for the figures (results with `.passed` and a one-line `str()`), `report.fab(out_dir, report)`
for `make fab` (eye diagram PNG + table). Heavy work happens inside the calls.
"""
