"""Nothing lost while the broker is away: `p1reader reader run --speed 500` on the meter model's telegrams, the
broker out of reach for two simulated hours — every quarter arrives on <base>/quarter/history, in order, equal to
the model's; the live state of the outage is never replayed. History is QoS 1, at least once: the record in flight
when the connection is cut may arrive twice (its PUBACK lost), whole and next to itself, so `start` identifies it.

The model's meter sends a telegram every 5 s of its clock here (a real one sends one a second): the runner sends
them one per simulated second ÷ 500, so two hours of the meter's clock take 3 s, and the test stays within the
suite's budget on a loaded machine. The reader's quarters come from the meter's clock, so nothing else changes."""

import json
import threading
from datetime import datetime, timedelta
from decimal import Decimal

from reader_helpers import Outage, free_port, wait_for
from firmware.host import reader as host_reader
from meter import telegrams as tg
from meter.model import MeterModel, utc

TELEGRAM_EVERY_S = 5


class Lines:
    """The runner's output, line by line, as it comes."""

    def __init__(self):
        self.lines: list[str] = []

    def write(self, text):
        self.lines += [x for x in text.splitlines() if x]

    def flush(self):
        pass

    def quarters(self) -> list[str]:
        return [x for x in self.lines if x.startswith("quarter ending")]


def model_telegrams(path, quarters: int) -> MeterModel:
    model = MeterModel(utc(2024, 11, 5, 16, 0))  # winter, 17:00 local
    with path.open("wb") as f:
        f.write(tg.build(model.spec()))
        for _ in range(quarters * 900 // TELEGRAM_EVERY_S):
            model.step(600 + 350 * (model.t.minute % 7), TELEGRAM_EVERY_S)
            f.write(tg.build(model.spec()))
    return model


def meter_times(observer) -> list[datetime]:
    return [datetime.fromisoformat(m.decode()) for m in observer.all("p1test/meter_time")]


def quarter_ends(out) -> list[datetime]:
    return [datetime.fromisoformat(line.split()[2].rstrip(":")) for line in out.quarters()]


def test_two_hours_offline_every_quarter_arrives_in_order(tmp_path, broker, observer):
    model = model_telegrams(tmp_path / "day.txt", 13)  # 2 h offline, with room for a slow reaction
    outage = Outage(broker)
    out = Lines()
    config = tmp_path / "base.json"
    config.write_text(json.dumps({"base": "p1test", "node": "p1test"}))
    args = ["run", "--telegrams", str(tmp_path / "day.txt"), "--broker", outage.url, "--speed", "500",
            "--tcp-port", str(free_port()), "--http-port", str(free_port()), "--state-dir", str(tmp_path / "state"),
            "--config", str(config)]
    result = {}
    runner = threading.Thread(target=lambda: result.update(code=host_reader.main(args, out=out)))
    runner.start()
    try:
        wait_for(lambda: len(out.quarters()) >= 1, "the first quarter", give_up_s=120)
        outage.down()
        at_down = len(meter_times(observer))
        down_from = max(meter_times(observer))  # the meter's clock as the broker went out of reach
        wait_for(lambda: quarter_ends(out) and max(quarter_ends(out)) >= down_from + timedelta(hours=2, minutes=15),
                 "two hours and a quarter of the meter's clock, offline", give_up_s=300)
        outage.up()
        at_up = len(meter_times(observer))
    finally:
        runner.join(timeout=600)
    assert result.get("code") == 0, out.lines[-5:]
    assert max(int(line.rsplit(" ", 1)[1]) for line in out.quarters()) >= 8  # the ring held the outage's quarters
    wait_for(lambda: len(observer.all("p1test/quarter/history")) >= len(model.quarters), "the history replayed",
             give_up_s=120)
    received = [json.loads(m) for m in observer.all("p1test/quarter/history")]
    history = [h for i, h in enumerate(received) if i == 0 or h != received[i - 1]]  # a re-sent record, once
    assert len(received) - len(history) <= 1, "more re-sends than the one record in flight at the cut"
    assert [h["start"] for h in history] == [q.start.isoformat() for q in model.quarters]
    for h, q in zip(history, model.quarters):
        assert abs(Decimal(h["average_kw"]) * 1000 - q.average_w) <= 4
    # two hours without the broker, and none of their live state replayed after it came back
    times = meter_times(observer)
    assert at_down <= at_up < len(times)
    assert min(times[at_up:]) - max(times[:at_up]) >= timedelta(hours=2), (max(times[:at_up]), min(times[at_up:]))
    assert b"offline" in observer.all("p1test/status")  # the will, when the relay cut the connection
