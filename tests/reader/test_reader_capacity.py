"""The capacity tariff: the meter model against hand-computed quarters, and the device (firmware under MicroPython,
fed the model's telegrams) against the model — a synthetic day, both daylight-saving nights, the month rollover,
a step in power at −300 s, −121 s and −60 s before the quarter's end — for both readings of 1-0:1.4.0."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from reader_helpers import run_mp
from firmware.capacity import ELAPSED_AVERAGE, ENERGY_OVER_QUARTER
from meter import telegrams as tg
from meter.model import BRUSSELS, MeterModel, utc

READINGS = [ENERGY_OVER_QUARTER, ELAPSED_AVERAGE]


def test_model_hand_computed_quarters():
    m = MeterModel(utc(2024, 1, 31, 22, 30), import_j=Decimal(1000 * 3600))  # 23:30 local, winter
    m.step(2000, 450)  # half a quarter at 2 kW: 250 Wh so far
    assert m.average_demand_kw() == Decimal("1.000")  # 250 Wh ÷ 900 s
    assert MeterModel(m.t, reading=ELAPSED_AVERAGE).average_demand_kw() == Decimal("0.000")
    m.step(6000, 450)  # then 6 kW: 750 Wh more, 1000 Wh in the quarter → 4 kW
    assert m.quarters[-1].average_w == 4000 and m.import_wh == 2000
    assert m.month_peak == (utc(2024, 1, 31, 22, 30).astimezone(BRUSSELS).replace(tzinfo=None), Decimal("4.000"))
    m.step(1000, 900)  # 23:45-00:00: 1 kW; the month ends, its peak goes into the history
    assert m.quarters[-1].average_w == 1000
    month, when, peak = m.history[-1]
    assert (month.month, month.day, when.hour, when.minute, peak) == (1, 1, 23, 30, Decimal("4.000"))
    assert m.month_peak is None
    half = MeterModel(m.t, reading=ELAPSED_AVERAGE)
    half.step(3000, 300)  # a third of a quarter at 3 kW: 250 Wh in 300 s is 3 kW on average
    assert half.average_demand_kw() == Decimal("3.000")


def run_device(micropython, tmp_path, model, profile, seconds, every, reading, cap_w=0, dense_from=None):
    """Telegrams from `model` every `every` s (every second from `dense_from` on) while `profile(model)` gives the
    power; the device's output lines, each with the telegram's number (`seq`, from 1)."""
    path = tmp_path / "telegrams.txt"
    end = model.t + timedelta(seconds=seconds)
    sent = 1
    with path.open("wb") as f:
        f.write(tg.build(model.spec()))
        while model.t < end:
            step = 1 if dense_from is not None and model.t >= dense_from else every
            model.step(profile(model), step)
            f.write(tg.build(model.spec()))
            sent += 1
    lines = [json.loads(x) for x in run_mp(micropython, "capacity_run.py", path, reading, cap_w).splitlines()]
    assert lines[-1]["telegrams"] == sent
    return lines


def daily_profile(model):
    """A house: 300 W at night, a kettle and an oven in the evening, a car charging around midnight."""
    hour = model.t.astimezone(BRUSSELS).hour
    minute = model.t.minute
    return {0: 7400, 7: 2300 if minute < 5 else 600, 18: 3500, 19: 5200 if minute < 20 else 1800}.get(hour, 300)


@pytest.mark.parametrize("day, quarters", [((2024, 3, 30, 23), 92), ((2024, 10, 26, 22), 100)],
                         ids=["spring-23h", "autumn-25h"])
def test_device_quarters_equal_model_over_dst_day(micropython, tmp_path, day, quarters):
    """At a quarter's end both readings of 1.4.0 are the quarter's average: one reading suffices here."""
    model = MeterModel(utc(*day))  # local midnight, the night the clocks change
    out = run_device(micropython, tmp_path, model, daily_profile, quarters * 900, 300, ENERGY_OVER_QUARTER)
    device = [x["quarter"] for x in out if "quarter" in x]
    assert len(device) == len(model.quarters) == quarters
    for mine, q in zip(device, model.quarters):
        assert mine["start"] == q.start.isoformat()
        # registers of 1 Wh: the quarter's energy is known to ±1 Wh, its average to ±4 W
        assert abs(Decimal(mine["average_kw"]) * 1000 - q.average_w) <= 4, (mine, q)
    assert max(Decimal(d["average_kw"]) for d in device) > Decimal("5")  # the profile's peaks were seen


@pytest.mark.parametrize("reading", READINGS)
@pytest.mark.parametrize("before_end", [300, 121, 60])
def test_alert_on_a_step_before_the_quarters_end(micropython, tmp_path, reading, before_end):
    start = utc(2024, 5, 14, 16, 0)  # a summer afternoon, a quarter starting
    model = MeterModel(start, reading=reading)
    step_at = start + timedelta(seconds=900 - before_end)
    dense = step_at - timedelta(seconds=30)  # a telegram every 30 s before, every second from 30 s before the step
    out = run_device(micropython, tmp_path, model, lambda m: 800 if m.t < step_at else 40000, 900, 30, reading,
                     dense_from=dense)
    alerts = [x for x in out if "alert" in x and x["alert"]["quarter_start"] == start.isoformat()]
    assert len(alerts) == 1, alerts
    alert = alerts[0]
    # telegram k seconds after `dense` is number 1 + (dense - start) / 30 + k and shows the power of the second
    # before it: the first with 40 kW is k = 31, at before_end - 1 s left, where the projection (800 W so far,
    # 40 kW to the end) crosses T = 2.5 kW
    moment = 1 + (900 - before_end - 30) // 30 + 31
    t_left = before_end - 1
    assert (800 * (900 - before_end) + 40000 * (before_end - t_left) + 40000 * t_left) / 900 > 2500
    assert moment <= alert["seq"] <= moment + 2
    assert alert["alert"]["at"] == (step_at + timedelta(seconds=(alert["seq"] - moment) + 1)).isoformat()
    assert alert["alert"]["late"] is (before_end < 120)
    assert alert["alert"]["threshold_kw"] == "2.500"


def test_month_rollover_resets_the_threshold(micropython, tmp_path):
    model = MeterModel(utc(2024, 1, 31, 21, 0))  # 22:00 local on the month's last day
    profile = lambda m: 6000 if m.t < utc(2024, 1, 31, 21, 15) else 4000  # 6 kW quarter, then 4 kW ones
    out = run_device(micropython, tmp_path, model, profile, 3 * 3600, 60, ENERGY_OVER_QUARTER)
    alerts = [x["alert"] for x in out if "alert" in x]
    # January: the first quarter alerts (6 kW > 2.5 kW), then 4 kW stays under January's 6 kW peak; February
    # starts with no peak: its first 4 kW quarter alerts again, at T = 2.5 kW, and sets a 4 kW peak
    assert [a["quarter_start"] for a in alerts] == ["2024-01-31T21:00:00+00:00", "2024-01-31T23:00:00+00:00"]
    assert [a["threshold_kw"] for a in alerts] == ["2.500", "2.500"]
    state = out[-1]["state"]
    assert state["capacity/month_peak_kw"] == str(model.month_peak[1]) == "4.000"
    months = json.loads(state["peak_history/attributes"])["months"]
    assert [(m["month"], m["peak_kw"]) for m in months] == [("2023-12-31T23:00:00+00:00", "6.000")]
    assert state["capacity/billed_average_kw"] == "6.000"
