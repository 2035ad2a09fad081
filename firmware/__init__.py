"""MicroPython for the Lolin D32, shipped as package data and copied to the board by `make flash`.

The shared modules run unchanged under CPython too, so the host imports them instead of keeping copies: the P1
framer, CRC and console line formats (`p1frame`), the S1 frame counter (`s1frame`), the console's commands
(`console`). `main.py` is the bring-up app. The host-side tools (flashing) live in `firmware.host`.
"""
