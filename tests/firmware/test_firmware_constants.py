"""The firmware cannot import the harness (it runs alone on the D32), so it keeps its own constants;
these must equal the harness's, which is where every other part of bringup reads them."""
import importlib.util
import pathlib
import sys

from bringup import simboard, station
from bringup.firmware import p1frame, s1frame

FIRMWARE_DIR = pathlib.Path(__file__).resolve().parents[2] / "bringup" / "firmware"


def firmware_main():
    """bringup/firmware/main.py as a module (only its main() touches `machine`)."""
    sys.path.insert(0, str(FIRMWARE_DIR))  # main.py imports its siblings as top-level modules
    try:
        spec = importlib.util.spec_from_file_location("p1reader_firmware_main", FIRMWARE_DIR / "main.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(FIRMWARE_DIR))


def test_line_rates_and_frame_length_equal_the_harness():
    main = firmware_main()
    assert main.BAUD == station.P1_BAUD == 115200
    assert main.S1_BAUD == station.S1_BAUD == 2_000_000
    assert s1frame.FRAME_LEN == station.S1_FRAME_LEN == 45
    assert main.S1_IDLE_MS / 1000 == simboard.S1_IDLE_S
    assert station.Station().meter.baud == station.P1_BAUD and station.S1Config().baud == station.S1_BAUD


def test_telegram_limit_fits_the_uart_buffer():
    main = firmware_main()
    assert p1frame.MAX_LINE == p1frame.MAX_TELEGRAM <= main.UART_RXBUF
