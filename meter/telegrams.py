"""The project's telegram builder: Fluvius-style P1 telegrams with a valid CRC-16/ARC.

``build(spec)`` renders a :class:`TelegramSpec` into the exact bytes a meter sends (CR LF line ends,
``/FLU5\\...`` header, ``0-0:96.1.4`` version, CRC over '/' through '!'); ``expected_fields(spec)``
says what ``dsmr_parser`` (``BELGIUM_FLUVIUS``) must decode from them. ``standard_set()`` is the
deterministic set the bring-up sends: 1- and 3-phase, gas and water, capacity-tariff objects with an
empty, short and full 13-month history, day and night tariff.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from firmware.p1frame import crc16_arc

BRUSSELS = ZoneInfo("Europe/Brussels")


def p1_time(local: datetime) -> str:
    """YYMMDDhhmmss + S (summer) / W (winter) for a naive Belgian local time."""
    aware = local.replace(tzinfo=BRUSSELS)
    return local.strftime("%y%m%d%H%M%S") + ("S" if aware.dst() else "W")


def as_utc(local: datetime) -> datetime:
    return local.replace(tzinfo=BRUSSELS).astimezone(timezone.utc)


def on_the_clock(local: datetime) -> datetime:
    """The naive Belgian time a meter's clock shows for `local`: the same, except in the hour skipped when summer
    time starts (02:00-03:00 on the last Sunday of March), which the clock shows an hour later."""
    return as_utc(local).astimezone(BRUSSELS).replace(tzinfo=None)


@dataclass
class MBus:
    channel: int  # 1..4
    device_type: int  # 3 = gas, 7 = water
    equipment_id: str  # hex-encoded ASCII, as meters send it
    reading_time: datetime
    reading: Decimal  # m3
    valve: int | None = None  # 0-n:24.4.0, gas only


@dataclass
class TelegramSpec:
    name: str
    ident: str = "FLU5\\253769484_A"
    version: str = "50217"
    equipment_id: str = "3153414733313031303231363035"
    time: datetime = datetime(2024, 3, 1, 12, 0, 0)
    used_t1: Decimal = Decimal("1.000")
    used_t2: Decimal = Decimal("2.000")
    delivered_t1: Decimal = Decimal("0.000")
    delivered_t2: Decimal = Decimal("0.000")
    tariff: int = 1  # Belgium: 1 = day (normal), 2 = night (low)
    capacity: bool = True  # 1-0:1.4.0, 1-0:1.6.0, 0-0:98.1.0
    avg_demand_kw: Decimal = Decimal("0.500")
    max_demand_time: datetime = datetime(2024, 2, 14, 18, 15, 0)
    max_demand_kw: Decimal = Decimal("3.500")
    history: list[tuple[datetime, datetime, Decimal]] = field(default_factory=list)
    phases: int = 1
    power_used_kw: list[Decimal] = field(default_factory=lambda: [Decimal("0.500")])
    power_delivered_kw: list[Decimal] = field(default_factory=lambda: [Decimal("0.000")])
    voltage_v: list[Decimal] = field(default_factory=lambda: [Decimal("230.0")])
    current_a: list[Decimal] = field(default_factory=lambda: [Decimal("2.17")])
    breaker: int = 1
    limiter_kw: Decimal = Decimal("999.9")
    fuse_a: Decimal = Decimal("999")
    mbus: list[MBus] = field(default_factory=list)
    lowercase_crc: bool = False
    text_message: str = ""  # 0-0:96.13.0: hex-encoded ASCII, as meters send it (empty: no message)


def _kwh(v: Decimal) -> str:
    return f"{v:010.3f}"


def _kw(v: Decimal) -> str:
    return f"{v:06.3f}"


def body(spec: TelegramSpec) -> bytes:
    """Everything from '/' through '!' (what the CRC covers)."""
    n = spec.phases
    assert n in (1, 3), "phases must be 1 or 3"
    for lst in (spec.power_used_kw, spec.power_delivered_kw, spec.voltage_v, spec.current_a):
        assert len(lst) == n, f"{spec.name}: per-phase lists need {n} values"
    lines = [
        f"/{spec.ident}",
        "",
        f"0-0:96.1.4({spec.version})",
        f"0-0:96.1.1({spec.equipment_id})",
        f"0-0:1.0.0({p1_time(spec.time)})",
        f"1-0:1.8.1({_kwh(spec.used_t1)}*kWh)",
        f"1-0:1.8.2({_kwh(spec.used_t2)}*kWh)",
        f"1-0:2.8.1({_kwh(spec.delivered_t1)}*kWh)",
        f"1-0:2.8.2({_kwh(spec.delivered_t2)}*kWh)",
        f"0-0:96.14.0({spec.tariff:04d})",
    ]
    if spec.capacity:
        hist = "".join(f"({p1_time(m)})({p1_time(o)})({_kw(v)}*kW)" for m, o, v in spec.history)
        lines += [f"1-0:1.4.0({_kw(spec.avg_demand_kw)}*kW)",
                  f"1-0:1.6.0({p1_time(spec.max_demand_time)})({_kw(spec.max_demand_kw)}*kW)",
                  f"0-0:98.1.0({len(spec.history)})(1-0:1.6.0)(1-0:1.6.0){hist or '()'}"]
    lines += [f"1-0:1.7.0({_kw(sum(spec.power_used_kw, Decimal(0)))}*kW)",
              f"1-0:2.7.0({_kw(sum(spec.power_delivered_kw, Decimal(0)))}*kW)"]
    per_phase = (((21, 41, 61), spec.power_used_kw, "06.3f", "kW"),
                 ((22, 42, 62), spec.power_delivered_kw, "06.3f", "kW"),
                 ((32, 52, 72), spec.voltage_v, "05.1f", "V"), ((31, 51, 71), spec.current_a, "06.2f", "A"))
    for codes, values, form, unit in per_phase:
        lines += [f"1-0:{code}.7.0({v:{form}}*{unit})" for code, v in zip(codes, values)]
    lines += [
        f"0-0:96.3.10({spec.breaker})",
        f"0-0:17.0.0({spec.limiter_kw:05.1f}*kW)",
        f"1-0:31.4.0({spec.fuse_a:03.0f}*A)",
        f"0-0:96.13.0({spec.text_message})",
    ]
    for m in spec.mbus:
        c = m.channel
        lines += [f"0-{c}:24.1.0({m.device_type:03d})", f"0-{c}:96.1.1({m.equipment_id})"]
        if m.valve is not None:
            lines.append(f"0-{c}:24.4.0({m.valve})")
        # Gas: 24.2.3 (not temperature-corrected); water: 24.2.1.
        obis = "24.2.3" if m.device_type == 3 else "24.2.1"
        lines.append(f"0-{c}:{obis}({p1_time(m.reading_time)})({m.reading:09.3f}*m3)")
    return ("\r\n".join(lines) + "\r\n!").encode("ascii")


def build(spec: TelegramSpec) -> bytes:
    b = body(spec)
    crc = f"{crc16_arc(b):04X}"
    if spec.lowercase_crc:
        crc = crc.lower()
    return b + crc.encode("ascii") + b"\r\n"


def expected_fields(spec: TelegramSpec) -> dict:
    """What dsmr_parser (BELGIUM_FLUVIUS) must decode: attribute name → value (MBus: 'MBUS<ch>.<attr>')."""
    n = spec.phases
    f: dict = {
        "BELGIUM_VERSION_INFORMATION": spec.version,
        "BELGIUM_EQUIPMENT_IDENTIFIER": spec.equipment_id,
        "P1_MESSAGE_TIMESTAMP": as_utc(spec.time),
        "ELECTRICITY_USED_TARIFF_1": spec.used_t1,
        "ELECTRICITY_USED_TARIFF_2": spec.used_t2,
        "ELECTRICITY_DELIVERED_TARIFF_1": spec.delivered_t1,
        "ELECTRICITY_DELIVERED_TARIFF_2": spec.delivered_t2,
        "ELECTRICITY_ACTIVE_TARIFF": f"{spec.tariff:04d}",
        "CURRENT_ELECTRICITY_USAGE": sum(spec.power_used_kw, Decimal(0)),
        "CURRENT_ELECTRICITY_DELIVERY": sum(spec.power_delivered_kw, Decimal(0)),
        "ACTUAL_SWITCH_POSITION": spec.breaker,
        "ACTUAL_TRESHOLD_ELECTRICITY": spec.limiter_kw,
        "FUSE_THRESHOLD_L1": spec.fuse_a,
    }
    for i, ph in enumerate(["L1", "L2", "L3"][:n]):
        f[f"INSTANTANEOUS_ACTIVE_POWER_{ph}_POSITIVE"] = spec.power_used_kw[i]
        f[f"INSTANTANEOUS_ACTIVE_POWER_{ph}_NEGATIVE"] = spec.power_delivered_kw[i]
        f[f"INSTANTANEOUS_VOLTAGE_{ph}"] = spec.voltage_v[i]
        f[f"INSTANTANEOUS_CURRENT_{ph}"] = spec.current_a[i]
    if spec.capacity:
        f["BELGIUM_CURRENT_AVERAGE_DEMAND"] = spec.avg_demand_kw
        f["BELGIUM_MAXIMUM_DEMAND_MONTH"] = (as_utc(spec.max_demand_time), spec.max_demand_kw)
        f["BELGIUM_MAXIMUM_DEMAND_13_MONTHS"] = [(as_utc(m), as_utc(o), v) for m, o, v in spec.history]
    for m in spec.mbus:
        f[f"MBUS{m.channel}.MBUS_DEVICE_TYPE"] = m.device_type
        f[f"MBUS{m.channel}.MBUS_EQUIPMENT_IDENTIFIER"] = m.equipment_id
        f[f"MBUS{m.channel}.MBUS_METER_READING"] = (as_utc(m.reading_time), m.reading)
        if m.valve is not None:
            f[f"MBUS{m.channel}.MBUS_VALVE_POSITION"] = m.valve
    return f


def decode(telegram: bytes):
    """Parse with dsmr_parser BELGIUM_FLUVIUS, CRC checked, byte-exact and without console output
    (see :func:`meter.flavours.parse`); raises ValueError with dsmr_parser's complaint."""
    from .flavours import parse

    parsed, result = parse(telegram, "BELGIUM_FLUVIUS")
    if parsed is None:
        raise ValueError(result.error)
    return parsed


def decoded_fields(parsed) -> dict:
    """Flatten a dsmr_parser Telegram into the same shape as :func:`expected_fields`."""
    from dsmr_parser import telegram_specifications

    out: dict = {}
    for obj_spec in telegram_specifications.BELGIUM_FLUVIUS["objects"]:
        name = obj_spec["value_name"]
        obj = getattr(parsed, name, None)
        if name.startswith("MBUS") or obj is None:
            continue
        if name == "BELGIUM_MAXIMUM_DEMAND_13_MONTHS":
            out[name] = [(p.datetime, p.occurred, p.value) for p in obj]
        elif name == "BELGIUM_MAXIMUM_DEMAND_MONTH":
            out[name] = (obj.datetime, obj.value)
        else:
            out[name] = obj.value
    for dev in getattr(parsed, "MBUS_DEVICES", []) or []:
        ch = dev.channel_id
        for attr in ("MBUS_DEVICE_TYPE", "MBUS_EQUIPMENT_IDENTIFIER", "MBUS_VALVE_POSITION"):
            if hasattr(dev, attr):
                out[f"MBUS{ch}.{attr}"] = getattr(dev, attr).value
        if hasattr(dev, "MBUS_METER_READING"):
            r = dev.MBUS_METER_READING
            out[f"MBUS{ch}.MBUS_METER_READING"] = (r.datetime, r.value)
    return out


def compare(expected: dict, decoded: dict) -> list[str]:
    """Differences between what was sent and what dsmr_parser decoded (empty = identical)."""
    problems = []
    for k, v in expected.items():
        if k not in decoded:
            problems.append(f"{k}: missing")
        elif decoded[k] != v:
            problems.append(f"{k}: sent {v!r}, decoded {decoded[k]!r}")
    return problems


def _hexid(rng: random.Random, prefix: str) -> str:
    ascii_id = prefix + "".join(rng.choice("0123456789") for _ in range(14 - len(prefix)))
    return ascii_id.encode().hex().upper()


def _dec(rng: random.Random, lo: float, hi: float, places: int) -> Decimal:
    q = Decimal(1).scaleb(-places)
    return Decimal(str(rng.uniform(lo, hi))).quantize(q)


def _spec(rng: random.Random, name: str, phases: int, gas: bool, water: bool, history: int,
          capacity: bool = True, version: str = "50217", tariff: int = 1, when: datetime | None = None) -> TelegramSpec:
    when = when or datetime(2024, 1, 1) + timedelta(seconds=rng.randrange(0, 365 * 86400))
    when = on_the_clock(when.replace(microsecond=0))
    ident = f"FLU5\\{'2537702' if phases == 1 else '2537694'}{rng.randrange(10, 99)}_A"
    used = [_dec(rng, 0, 4, 3) for _ in range(phases)]
    deliv = [Decimal("0.000") if u else _dec(rng, 0, 2, 3) for u in used]
    hist = []
    for k in range(history):
        month = datetime(when.year - (1 if when.month - k - 1 <= 0 else 0), (when.month - k - 2) % 12 + 1, 1)
        occurred = month + timedelta(days=rng.randrange(0, 27), hours=rng.randrange(0, 24), minutes=15 * rng.randrange(4))
        hist.append((month, on_the_clock(occurred), _dec(rng, 1, 9, 3)))
    mbus = []
    if gas:
        mbus.append(MBus(1, 3, _hexid(rng, "7FLO"), on_the_clock(when - timedelta(seconds=rng.randrange(60, 600))),
                         _dec(rng, 10, 9000, 3), valve=1))
    if water:  # on the channel after the gas meter's
        mbus.append(MBus(len(mbus) + 1, 7, _hexid(rng, "8SEN"), on_the_clock(when - timedelta(seconds=rng.randrange(60, 600))),
                         _dec(rng, 1, 2000, 3)))
    return TelegramSpec(
        name=name, ident=ident, version=version, equipment_id=_hexid(rng, "1SAG"),
        time=when, used_t1=_dec(rng, 0, 99999, 3), used_t2=_dec(rng, 0, 99999, 3),
        delivered_t1=_dec(rng, 0, 9999, 3), delivered_t2=_dec(rng, 0, 9999, 3), tariff=tariff,
        capacity=capacity, avg_demand_kw=_dec(rng, 0, 5, 3),
        max_demand_time=on_the_clock(when.replace(day=1, hour=0, minute=0, second=0)
                                     + timedelta(hours=rng.randrange(0, 24 * 27), minutes=15 * rng.randrange(4))),
        max_demand_kw=_dec(rng, 2.5, 9, 3), history=hist, phases=phases,
        power_used_kw=used, power_delivered_kw=deliv,
        voltage_v=[_dec(rng, 225, 245, 1) for _ in range(phases)],
        current_a=[_dec(rng, 0, 16, 2) for _ in range(phases)], mbus=mbus,
    )


def standard_set(seed: int = 5217, small: bool = False) -> list[TelegramSpec]:
    """The deterministic bring-up set (same seed → same bytes on every station)."""
    rng = random.Random(seed)
    specs = [
        _spec(rng, "1ph-gas-nocap-50215", 1, True, False, 0, capacity=False, version="50215"),
        _spec(rng, "1ph-gas-cap-empty-history", 1, True, False, 0, tariff=2),
        _spec(rng, "3ph-gas-water-history-3", 3, True, True, 3),
        _spec(rng, "3ph-gas-water-history-13", 3, True, True, 13, tariff=2),
        _spec(rng, "3ph-water-only-summer", 3, False, True, 1, when=datetime(2024, 7, 14, 13, 37, 0)),
        _spec(rng, "1ph-no-mbus-winter", 1, False, False, 2, when=datetime(2024, 12, 24, 23, 59, 58)),
    ]
    return specs[:3] if small else specs
