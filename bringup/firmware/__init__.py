"""Bring-up firmware for the Lolin D32 (MicroPython) and the CLI that flashes it."""
