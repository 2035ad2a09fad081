"""The reader's guards and Home Assistant's life cycle, under MicroPython against a real Mosquitto: a register
lower than the last published value is not published and is counted with both values (and the last values survive
a restart in the flash folder); configs come again when Home Assistant says `online`; a field unseen for 24 h
(meter time) has its config cleared."""

import json
from datetime import datetime, timedelta
from decimal import Decimal

import paho.mqtt.publish as publish

from reader_helpers import wait_for
from meter import telegrams as tg


def telegram(when: datetime, used_t1: str, gas: bool = True) -> bytes:
    spec = next(s for s in tg.standard_set() if s.mbus and s.phases == 1)
    spec.time, spec.used_t1 = when, Decimal(used_t1)
    if not gas:
        spec.mbus = []
    return tg.build(spec)


def test_register_went_down_not_published_and_remembered(running, observer, broker):
    r = running()
    t0 = datetime(2024, 5, 1, 12, 0, 0)
    r.send(telegram(t0, "1000.500"))
    wait_for(lambda: observer.last("p1test/energy_import_t1") == b"1000.500", "the first reading")
    r.send(telegram(t0 + timedelta(seconds=1), "999.250"))
    wait_for(lambda: observer.last("p1test/diag/register_went_down") is not None, "the drop counted")
    went = json.loads(observer.last("p1test/diag/register_went_down"))
    assert went == {"count": 1, "register": "energy_import_t1", "was": "1000.500", "now": "999.250"}
    assert observer.all("p1test/energy_import_t1") == [b"1000.500"]
    # a quarter closes: the registers go to the flash folder; a new firmware on the same folder remembers them
    r.send(telegram(t0 + timedelta(minutes=15), "1001.000"))
    wait_for(lambda: observer.last("p1test/energy_import_t1") == b"1001.000", "the next reading")
    wait_for(lambda: r.counter("pending") == 0, "all published")
    r.stop()
    again = running()
    again.send(telegram(t0 + timedelta(minutes=16), "1000.750"))
    wait_for(lambda: again.counter("telegrams_ok") == 1 and again.counter("pending") == 0, "the telegram taken")
    assert observer.all("p1test/energy_import_t1") == [b"1000.500", b"1001.000"]


def test_configs_again_on_ha_online_and_cleared_after_a_day_unseen(running, observer, broker):
    r = running()
    t0 = datetime(2024, 5, 1, 12, 0, 0)
    r.send(telegram(t0, "10.000"))
    gas = "homeassistant/sensor/p1test/gas/config"
    wait_for(lambda: observer.last(gas) is not None, "the gas config")
    before = len(observer.all(gas))
    publish.single("homeassistant/status", "online", hostname="127.0.0.1", port=broker.port)
    wait_for(lambda: len(observer.all(gas)) > before, "the configs again after Home Assistant's online")
    r.send(telegram(t0 + timedelta(hours=25), "11.000", gas=False))  # the gas meter gone for a day
    wait_for(lambda: observer.last(gas) == b"", "the gas config cleared")
    assert json.loads(observer.last("homeassistant/sensor/p1test/power_import/config"))["state_topic"] \
        == "p1test/power_import"  # a field still sent keeps its config
