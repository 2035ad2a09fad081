"""The J1 display through the I2C seam, under MicroPython: a model of the PCF8574 backpack and HD44780 LCD decodes
what the bus carries; it shows the power, the quarter's average and the headroom computed here from dsmr_parser's
values; unchanged lines are not written again; a bus without the backpack's address has no display."""

import json

from reader_helpers import TELEGRAM_DIR, run_mp
from meter import flavours


def test_display_shows_power_average_and_headroom(micropython):
    path = TELEGRAM_DIR / "fluvius-3ph-peak-history-50217.txt"
    out = json.loads(run_mp(micropython, "display_run.py", path).splitlines()[-1])
    t = flavours.parse(path.read_bytes(), "BELGIUM_FLUVIUS")[0]
    power_w = int(t.CURRENT_ELECTRICITY_USAGE.value * 1000)
    stamp = t.P1_MESSAGE_TIMESTAMP.value
    t_left = 900 - (stamp.minute * 60 + stamp.second) % 900
    threshold_w = max(2500, int(t.BELGIUM_MAXIMUM_DEMAND_MONTH.value * 1000))
    projected_w = power_w * t_left // 900  # the quarter's first telegram: nothing imported in it yet
    headroom_w = (threshold_w - projected_w) * 900 // t_left
    assert out["address"] == 0x27
    assert out["lines"] == [f"P{power_w / 1000:.3f} Q0.000".ljust(16),
                            f"H{headroom_w // 1000}.{headroom_w % 1000:03d}kW {t_left}s".ljust(16)]
    assert out["again"] == 0 and out["empty_bus"] is None and out["no_bus"] is None
