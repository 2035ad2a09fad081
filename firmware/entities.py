"""What the reader publishes for each OBIS code, and Home Assistant's discovery configs for it.

Runs unchanged under CPython and MicroPython. ENTITIES is the one home of the OBIS → entity table; the table in
firmware/README.md ("Home Assistant entities") is checked against it and against the published configs. A code
not in the table is published as text under `<base>/raw/<obis>` with no discovery config.
"""

import json

# obis → (object id, device_class, state_class, unit when the meter sends none)
ENTITIES = {
    "1-0:1.8.0": ("energy_import_total", "energy", "total_increasing", "kWh"),
    "1-0:1.8.1": ("energy_import_t1", "energy", "total_increasing", "kWh"),
    "1-0:1.8.2": ("energy_import_t2", "energy", "total_increasing", "kWh"),
    "1-0:1.8.3": ("energy_import_t3", "energy", "total_increasing", "kWh"),
    "1-0:1.8.4": ("energy_import_t4", "energy", "total_increasing", "kWh"),
    "1-0:2.8.0": ("energy_export_total", "energy", "total_increasing", "kWh"),
    "1-0:2.8.1": ("energy_export_t1", "energy", "total_increasing", "kWh"),
    "1-0:2.8.2": ("energy_export_t2", "energy", "total_increasing", "kWh"),
    "1-0:2.8.3": ("energy_export_t3", "energy", "total_increasing", "kWh"),
    "1-0:2.8.4": ("energy_export_t4", "energy", "total_increasing", "kWh"),
    "1-0:1.7.0": ("power_import", "power", "measurement", "kW"),
    "1-0:2.7.0": ("power_export", "power", "measurement", "kW"),
    "1-0:21.7.0": ("power_import_l1", "power", "measurement", "kW"),
    "1-0:41.7.0": ("power_import_l2", "power", "measurement", "kW"),
    "1-0:61.7.0": ("power_import_l3", "power", "measurement", "kW"),
    "1-0:22.7.0": ("power_export_l1", "power", "measurement", "kW"),
    "1-0:42.7.0": ("power_export_l2", "power", "measurement", "kW"),
    "1-0:62.7.0": ("power_export_l3", "power", "measurement", "kW"),
    "1-0:32.7.0": ("voltage_l1", "voltage", "measurement", "V"),
    "1-0:52.7.0": ("voltage_l2", "voltage", "measurement", "V"),
    "1-0:72.7.0": ("voltage_l3", "voltage", "measurement", "V"),
    "1-0:31.7.0": ("current_l1", "current", "measurement", "A"),
    "1-0:51.7.0": ("current_l2", "current", "measurement", "A"),
    "1-0:71.7.0": ("current_l3", "current", "measurement", "A"),
    "1-0:1.4.0": ("average_demand", "power", "measurement", "kW"),
    "1-0:1.6.0": ("month_peak", "power", "measurement", "kW"),  # its time: month_peak_time, a timestamp
    "0-0:98.1.0": ("peak_history", None, None, None),  # state: months listed; the months as attributes
    "0-0:1.0.0": ("meter_time", "timestamp", None, None),
    "0-0:96.14.0": ("tariff", None, None, None),
}
# M-Bus channels 0-n: the reading (24.2.1, or 24.2.3 on Fluvius gas) by the channel's device type (24.1.0)
MBUS_TYPES = {"3": ("gas", "gas"), "7": ("water", "water")}  # device type → (object id, device_class)
MBUS_CODES = (":24.2.1", ":24.2.3")
HA_UNITS = {"m3": "m³"}  # the meter's unit → Home Assistant's
HA_VERSION = "2024.12"  # the MQTT discovery documentation the configs follow


def publish_entry(entry, types):
    """[(object id or None, obis, value, unit)] for one decoded line; object id None → `raw/<obis>`. An M-Bus
    reading and 1-0:1.6.0 give two entries: the value and `<id>_time`. `types` ({channel digit: device type},
    from the 0-n:24.1.0 lines, which come first) is filled in as the lines pass."""
    obis, values, raw = entry
    if obis[3:] == ":24.1.0" and values and values[0][0]:
        types[obis[2]] = values[0][0].lstrip("0")
    if obis[3:] in MBUS_CODES and len(values) == 2:
        kind = MBUS_TYPES.get(types.get(obis[2], ""), ("mbus" + obis[2], None))[0]
        return [(kind, obis, values[1][0], values[1][1]), (kind + "_time", obis, values[0][0], None)]
    if obis == "1-0:1.6.0" and len(values) == 2:
        return [("month_peak", obis, values[1][0], values[1][1]), ("month_peak_time", obis, values[0][0], None)]
    if obis == "0-0:98.1.0":
        return [("peak_history", obis, str(len(values[3:]) // 3), None)]
    if obis in ENTITIES and len(values) == 1:
        return [(ENTITIES[obis][0], obis, values[0][0], values[0][1])]
    return [(None, obis, "(" + ")(".join(raw) + ")", None)]


def publish_list(decoded):
    """publish_entry for every line of a decoded telegram."""
    types = {}
    return [item for entry in decoded for item in publish_entry(entry, types)]


def history_attributes(values):
    """The 13-month history as attributes: {"months": [{"month", "peak_time", "peak_kw"}, …]}."""
    peaks = values[3:]
    return {"months": [{"month": peaks[i][0], "peak_time": peaks[i + 1][0], "peak_kw": peaks[i + 2][0]}
                       for i in range(0, len(peaks) - 2, 3)]}


def describe(object_id, unit):
    """(device_class, state_class, unit) of a published object id; the unit the meter sent wins."""
    for oid, dc, sc, u in ENTITIES.values():
        if oid == object_id:
            return dc, sc, HA_UNITS.get(unit, unit) or u
    if object_id.endswith("_time"):
        return "timestamp", None, None
    for oid, dc in MBUS_TYPES.values():
        if oid == object_id:
            return dc, "total_increasing", HA_UNITS.get(unit, unit) or "m³"
    return None, None, HA_UNITS.get(unit, unit)


def config(object_id, unit, base, node, device):
    """(topic, retained JSON payload) of the discovery config for one published object."""
    dc, sc, u = describe(object_id, unit)
    payload = {"name": object_id.replace("_", " "), "unique_id": node + "_" + object_id,
               "state_topic": base + "/" + object_id, "availability_topic": base + "/status", "device": device}
    for key, value in (("device_class", dc), ("state_class", sc), ("unit_of_measurement", u)):
        if value:
            payload[key] = value
    if object_id == "peak_history":
        payload["json_attributes_topic"] = base + "/peak_history/attributes"
    return "homeassistant/sensor/%s/%s/config" % (node, object_id), json.dumps(payload)
