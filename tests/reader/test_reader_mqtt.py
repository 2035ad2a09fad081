"""The reader firmware under MicroPython against a real Mosquitto, observed with paho-mqtt: the Home Assistant
discovery configs against firmware/README.md's table, the published values against dsmr_parser, a CRC error
publishing nothing, the will on SIGKILL and SIGSTOP, `online` after SIGCONT, and `p1reader reader run`."""

import decimal
import json
import os
import re
import signal
import time

import pytest

from reader_helpers import FIRMWARE_DIR, TELEGRAM_DIR, free_port, wait_for
from firmware.host import reader as host_reader
from meter import flavours

FULL = TELEGRAM_DIR / "fluvius-3ph-peak-history-50217.txt"  # 3 phases, gas and water, the history


def docs_table() -> dict:
    """{object id: (device_class, state_class, unit)} of firmware/README.md's entity table ('—' is none)."""
    text = (FIRMWARE_DIR / "README.md").read_text(encoding="utf-8")
    section = text.split("### Home Assistant entities", 1)[1].split("\n#", 1)[0]
    table = {}
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1].startswith("`"):
            values = tuple(None if c == "—" else c for c in cells[2:])
            for object_id in re.findall(r"`(\w+)`", cells[1]):
                table[object_id] = values
    return table


def corrupted(telegram: bytes) -> bytes:
    """The same telegram with its power changed and the CRC left as it was: a CRC error."""
    bad = telegram.replace(b"1-0:1.7.0(00.338*kW)", b"1-0:1.7.0(09.999*kW)")
    assert bad != telegram
    return bad


def test_discovery_and_values_against_docs_and_dsmr_parser(tmp_path, broker, observer):
    telegrams = tmp_path / "telegrams.txt"
    good = FULL.read_bytes()
    telegrams.write_bytes(good + corrupted(good))
    out = tmp_path / "out.txt"
    with out.open("w") as f:
        code = host_reader.main(["run", "--telegrams", str(telegrams), "--broker", broker.url, "--speed", "20",
                                 "--tcp-port", str(free_port()), "--http-port", str(free_port()),
                                 "--state-dir", str(tmp_path / "state"),
                                 "--config", str(write_node(tmp_path))], out=f)
    assert code == 0
    assert "2 telegrams sent, 1 good, 1 CRC errors" in out.read_text()
    wait_for(lambda: observer.last("p1test/status") == b"offline", "offline after a clean stop")
    assert b"online" in observer.all("p1test/status")
    wait_for(lambda: observer.last("p1test/diag/crc_errors") == b"1", "the CRC error counted")
    assert observer.all("p1test/power_import") == [b"0.338"]  # the corrupted 9.999 kW never published

    # every config against the docs' table, every value against dsmr_parser
    table = docs_table()
    configs = {t.split("/")[3]: json.loads(observer.last(t)) for t in observer.topics()
               if t.startswith("homeassistant/sensor/p1test/")}
    assert len(configs) >= 25
    for object_id, cfg in configs.items():
        assert object_id in table, f"{object_id} published but not in firmware/README.md's table"
        assert (cfg.get("device_class"), cfg.get("state_class"), cfg.get("unit_of_measurement")) == table[object_id]
        assert cfg["unique_id"] == "p1test_" + object_id and cfg["availability_topic"] == "p1test/status"
        assert cfg["device"]["identifiers"] == ["p1test"] and observer.last(cfg["state_topic"]) is not None
    parsed, _ = flavours.parse(good, "BELGIUM_FLUVIUS")
    expected = {"power_import": parsed.CURRENT_ELECTRICITY_USAGE, "energy_import_t1": parsed.ELECTRICITY_USED_TARIFF_1,
                "voltage_l2": parsed.INSTANTANEOUS_VOLTAGE_L2, "current_l3": parsed.INSTANTANEOUS_CURRENT_L3,
                "average_demand": parsed.BELGIUM_CURRENT_AVERAGE_DEMAND,
                "month_peak": parsed.BELGIUM_MAXIMUM_DEMAND_MONTH, "gas": parsed.MBUS_DEVICES[0].MBUS_METER_READING,
                "water": parsed.MBUS_DEVICES[1].MBUS_METER_READING}
    for object_id, obj in expected.items():
        assert decimal.Decimal(observer.last("p1test/" + object_id).decode()) == obj.value, object_id
    assert observer.last("p1test/month_peak_time").decode() == parsed.BELGIUM_MAXIMUM_DEMAND_MONTH.datetime.isoformat()
    assert observer.last("p1test/meter_time").decode() == parsed.P1_MESSAGE_TIMESTAMP.value.isoformat()
    months = json.loads(observer.last("p1test/peak_history/attributes"))["months"]
    assert [decimal.Decimal(m["peak_kw"]) for m in months] == [p.value for p in parsed.BELGIUM_MAXIMUM_DEMAND_13_MONTHS]
    assert observer.last("p1test/raw/0-0:17.0.0") == b"(999.9*kW)"  # not in the table: as text


def write_node(folder):
    path = folder / "base.json"
    path.write_text(json.dumps({"base": "p1test", "node": "p1test"}))
    return path


def test_will_on_sigkill(running, observer):
    r = running()
    wait_for(lambda: observer.last("p1test/status") == b"online", "online")
    os.kill(r.fw.proc.pid, signal.SIGKILL)
    wait_for(lambda: observer.last("p1test/status") == b"offline", "the will after SIGKILL")


def test_sigstop_goes_offline_and_sigcont_online(running, observer):
    keepalive = 2
    r = running(keepalive_s=keepalive)
    wait_for(lambda: observer.last("p1test/status") == b"online", "online")
    os.kill(r.fw.proc.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        # the broker gives up after 1.5 × keepalive; the give-up limit is generous (a verdict on timing is not ours)
        wait_for(lambda: observer.last("p1test/status") == b"offline", "offline while stopped")
        print(f"offline {time.monotonic() - stopped:.1f} s after SIGSTOP (keepalive {keepalive} s)")
        assert r.fw.proc.poll() is None
    finally:
        os.kill(r.fw.proc.pid, signal.SIGCONT)
    wait_for(lambda: observer.last("p1test/status") == b"online", "online again after SIGCONT")
    r.send(FULL.read_bytes())
    wait_for(lambda: observer.last("p1test/power_import") == b"0.338", "publishing again after SIGCONT")


def test_docs_table_is_the_firmwares_table():
    from firmware.entities import ENTITIES

    table = docs_table()
    assert {oid: table.get(oid) for oid, *_ in ENTITIES.values()} == {oid: (dc, sc, u) for oid, dc, sc, u in
                                                                     ENTITIES.values()}
