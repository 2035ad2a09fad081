"""Nothing lost while the broker is away: `p1reader reader run --speed 500` on the meter model's telegrams, the
broker out of reach for two simulated hours — every quarter arrives once on <base>/quarter/history, in order,
equal to the model's; the live state of the outage is never replayed."""

import json
import threading
from decimal import Decimal

from reader_helpers import Outage, free_port, wait_for
from firmware.host import reader as host_reader
from meter import telegrams as tg
from meter.model import MeterModel, utc


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
        for _ in range(quarters * 900):
            model.step(600 + 350 * (model.t.minute % 7))
            f.write(tg.build(model.spec()))
    return model


def test_two_hours_offline_every_quarter_once_in_order(tmp_path, broker, observer):
    model = model_telegrams(tmp_path / "day.txt", 10)
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
        wait_for(lambda: len(out.quarters()) >= 9, "eight more quarters, offline", give_up_s=300)
        outage.up()
    finally:
        runner.join(timeout=600)
    assert result.get("code") == 0, out.lines[-5:]
    assert "queued 8" in " ".join(out.quarters()[8:9]) or "queued 9" in " ".join(out.quarters()[8:9]), out.quarters()
    wait_for(lambda: len(observer.all("p1test/quarter/history")) >= 10, "the history replayed", give_up_s=120)
    history = [json.loads(m) for m in observer.all("p1test/quarter/history")]
    assert [h["start"] for h in history] == [q.start.isoformat() for q in model.quarters]
    for h, q in zip(history, model.quarters):
        assert abs(Decimal(h["average_kw"]) * 1000 - q.average_w) <= 4
    # the outage's live state was never replayed: no meter time from inside it reached the broker
    down_from, down_to = model.quarters[1].start.isoformat(), model.quarters[8].start.isoformat()
    times = [m.decode() for m in observer.all("p1test/meter_time")]
    assert not [t for t in times if down_from < t < down_to], times
    assert b"offline" in observer.all("p1test/status")  # the will, when the relay cut the connection
