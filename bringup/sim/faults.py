"""The faults the simulated bench can play: those of the board process (`board.py`) and those of the
simulated instruments (`instruments.yaml`). A plain list, so the station schema can check a name."""

# played by the simulated board on its lines (what each does: bringup/sim/board.py)
BOARD_FAULTS = ("bit-errors", "dropped-bytes", "port-closed", "polarity", "s1-bit-errors", "drop-telegram")
# played by the pyvisa-sim instruments: a supply in current limit, a multimeter that never answers
BENCH_FAULTS = ("instrument-timeout", "over-current")
FAULTS = BOARD_FAULTS + BENCH_FAULTS
