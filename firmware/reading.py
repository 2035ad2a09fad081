"""From a good telegram to what the reader publishes: the fields, the capacity tariff, the register guard.
Runs unchanged under CPython and MicroPython; no I/O except the register file in the flash folder.

`take(telegram)` updates `state` ({topic below the base: payload}) and returns what changed; a closed quarter
and a new alert wait in `closed` and `events` for the publisher.
"""

import json

import capacity
import entities
import mtime
import obis

IMPORT_REGISTERS = ("1-0:1.8.0", "1-0:1.8.1", "1-0:1.8.2", "1-0:1.8.3", "1-0:1.8.4")


def milli(text):
    """'301.548' → 301548 (thousandths, exact); None when it is no number."""
    if text is None or not obis.is_number(text):
        return None
    whole, _, frac = text.partition(".")
    return int(whole + (frac + "000")[:3]) if len(frac) <= 3 else None


def kw(w):
    """1234 W → '1.234' (kW with the meter's three decimals; Wh → kWh alike)."""
    return ("-" if w < 0 else "") + "%d.%03d" % (abs(w) // 1000, abs(w) % 1000)


class Reading:
    def __init__(self, cap_w=0, registers_path=None, reading=capacity.READING):
        self.quarter = capacity.Quarter(cap_w, reading)
        self.state = {}
        self.units = {}  # object id → the unit the meter sends (for discovery)
        self.seen = {}  # object id → meter time last seen (t2k s)
        self.events = []  # alerts to publish once on the event topic
        self.closed = []  # quarter aggregates for the ring
        self.history_w = []  # the month peaks of 0-0:98.1.0 (W)
        self.went_down = {"count": 0}
        self.registers_path = registers_path
        self.registers = self._load_registers()
        self.alerts = 0

    def _load_registers(self):
        try:
            with open(self.registers_path) as f:
                return json.load(f)
        except (OSError, ValueError, TypeError):
            return {}

    def save_registers(self):
        if self.registers_path:
            with open(self.registers_path, "w") as f:
                json.dump(self.registers, f)

    def take(self, telegram):
        """Decode one good telegram, line by line; returns {topic: payload} of what changed."""
        t = None  # the meter's clock (t2k s), from 0-0:1.0.0
        changed, types, sent = {}, {}, []
        for entry in obis.entries(telegram):
            if entry[0] == "0-0:1.0.0" and entry[2]:
                t = mtime.parse(entry[2][0])
            elif entry[0] == "0-0:98.1.0":
                self._history(entry[1], changed)
            for object_id, code, value, unit in entities.publish_entry(entry, types):
                topic = object_id or "raw/" + code
                if object_id is None or self._register_ok(object_id, value, changed):
                    self._set(topic, "" if value is None else value, changed)
                if object_id:
                    self.units[object_id] = unit
                    sent.append(object_id)
        if t is not None:
            for object_id in sent:
                self.seen[object_id] = t
            self._capacity(t, changed)
        return changed

    def _set(self, topic, value, changed):
        if self.state.get(topic) != value:
            changed[topic] = value
            self.state[topic] = value

    def _register_ok(self, object_id, value, changed):
        """A total_increasing register lower than the last published value is not published; counted."""
        if entities.describe(object_id, None)[1] != "total_increasing":
            return True
        now, last = milli(value), self.registers.get(object_id)
        if now is None:
            return True
        if last is not None and now < last:
            self.went_down = {"count": self.went_down["count"] + 1, "register": object_id,
                              "was": kw(last), "now": kw(now)}
            self._set("diag/register_went_down", json.dumps(self.went_down), changed)
            return False
        self.registers[object_id] = now
        return True

    def _history(self, values, changed):
        attrs = entities.history_attributes(values)
        self.history_w = [milli(m["peak_kw"]) or 0 for m in attrs["months"]]
        self._set("peak_history/attributes", json.dumps(attrs), changed)

    def _capacity(self, t, changed):
        power = milli(self.state.get("power_import"))
        imported = [milli(self.state.get(entities.ENTITIES[c][0])) for c in IMPORT_REGISTERS]
        peak = milli(self.state.get("month_peak"))
        if power is None or not [w for w in imported if w is not None]:
            return
        q = self.quarter
        had_alert = q.alert is not None
        q.feed(t, sum(w for w in imported if w is not None), power, peak)
        self._close(q.take_closed())
        s = q.state()
        out = {"capacity/average_kw": kw(s["average_w"]), "capacity/projected_kw": kw(s["projected_w"]),
               "capacity/headroom_kw": kw(s["headroom_w"]), "capacity/t_left_s": str(s["t_left_s"]),
               "capacity/threshold_kw": kw(s["threshold_w"]), "capacity/month_peak_kw": kw(q.month_peak_w),
               "capacity/billed_average_kw": kw(capacity.billed_average_w(self.history_w)),
               "capacity/billed_source": "0-0:98.1.0, %d month(s)" % len(self.history_w[-12:])}
        alert = q.alert
        out["capacity/alert"] = json.dumps(self._alert_payload(alert)) if alert else "none"
        if alert and not had_alert:
            self.alerts += 1
            self.events.append(out["capacity/alert"])
        for topic, value in out.items():
            self._set(topic, value, changed)

    def _alert_payload(self, alert):
        return {"quarter_start": mtime.iso(alert["quarter_start"]), "at": mtime.iso(alert["at"]),
                "late": alert["late"], "projected_kw": kw(alert["projected_w"]),
                "threshold_kw": kw(alert["threshold_w"])}

    def _close(self, closed):
        if closed is None:
            return
        start, end, average, energy = closed
        self.closed.append({"start": mtime.iso(start), "end": mtime.iso(end), "average_kw": kw(average),
                            "import_kwh": kw(energy), "peak_so_far_kw": kw(max(self.quarter.month_peak_w, average))})
        self.save_registers()
