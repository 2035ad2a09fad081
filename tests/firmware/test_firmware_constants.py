"""The firmware runs alone on the D32 and cannot import the host's packages: the line facts live in its shared
modules (p1frame, s1frame), the firmware's main.py reads them there, and so does every host tool."""
import importlib.util
import pathlib
import sys

from bringup import station
from bringup.sim import board
from firmware import p1frame, s1frame
from meter import lines

FIRMWARE_DIR = pathlib.Path(__file__).resolve().parents[2] / "firmware"


def firmware_main():
    """firmware/main.py as a module (only its main() touches `machine`)."""
    sys.path.insert(0, str(FIRMWARE_DIR))  # main.py imports its siblings as top-level modules
    try:
        spec = importlib.util.spec_from_file_location("p1reader_firmware_main", FIRMWARE_DIR / "main.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(FIRMWARE_DIR))


def test_line_rates_and_frame_length_have_one_home():
    main = firmware_main()
    assert main.BAUD == p1frame.P1_BAUD == lines.P1_BAUD == 115200
    assert main.S1_BAUD == s1frame.S1_BAUD == lines.S1_BAUD == 2_000_000
    assert s1frame.FRAME_LEN == lines.S1_FRAME_LEN == 45
    assert main.S1_IDLE_MS == s1frame.IDLE_MS and board.S1_IDLE_S == s1frame.IDLE_MS / 1000
    assert station.Station().meter.baud == lines.P1_BAUD and station.S1Config().baud == lines.S1_BAUD


def test_telegram_limit_fits_the_uart_buffer():
    main = firmware_main()
    assert p1frame.MAX_LINE == p1frame.MAX_TELEGRAM <= main.UART_RXBUF
