"""The meter's clock on the device: P1 timestamps to seconds and back, with no time zone database.

Runs unchanged under CPython and MicroPython. Times are whole seconds since 2000-01-01 00:00 UTC ("t2k"): on the
ESP32 they stay small integers (31 bits) until 2034, where seconds since 1970 would be big integers on the heap.

A P1 timestamp is local time, YYMMDDhhmmss plus S (summer) or W (winter). Belgium (and the Netherlands, whose
zone dsmr_parser uses) keep CET, UTC+1, and CEST, UTC+2, from the last Sunday of March 01:00 UTC to the last
Sunday of October 01:00 UTC (the EU rule since 1996). As in dsmr_parser the flag only matters where the clock
is ambiguous: in the hour that repeats when summer time ends, S is the first pass and W the second. A time in
the hour skipped in spring is read with the offset before the change (S, or no flag) or after it (W), as
Python's zoneinfo does with fold.
"""

WINTER = 3600  # UTC offset, seconds
SUMMER = 7200


def days_from_civil(y, m, d):
    """Days from 2000-01-01 to the date (negative before it); any year, proleptic Gregorian."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 730425


def civil_from_days(z):
    """(year, month, day) of the day `z` days after 2000-01-01."""
    z += 730425
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def days_in_month(y, m):
    return days_from_civil(y + (m == 12), m % 12 + 1, 1) - days_from_civil(y, m, 1)


def _last_sunday(y, m):
    """Seconds (t2k) of 01:00 UTC on the last Sunday of month m (March or October: 31 days)."""
    z = days_from_civil(y, m, 31)
    weekday = (z + 5) % 7  # 2000-01-01 was a Saturday; Monday = 0
    return (z - (weekday + 1) % 7) * 86400 + 3600


def utc_offset(t):
    """The UTC offset of Belgian local time at UTC instant t (seconds)."""
    y = civil_from_days(t // 86400)[0]
    return SUMMER if _last_sunday(y, 3) <= t < _last_sunday(y, 10) else WINTER


def _fields(stamp):
    """(y, mo, d, h, mi, s) of 'YYMMDDhhmmss', or None when it is no valid date and time."""
    if len(stamp) < 12 or not stamp[:12].isdigit():
        return None
    v = [int(stamp[i:i + 2]) for i in range(0, 12, 2)]
    y = 2000 + v[0] if v[0] < 69 else 1900 + v[0]  # as strptime's %y
    if not (1 <= v[1] <= 12 and v[3] < 24 and v[4] < 60 and v[5] < 62):
        return None
    if not 1 <= v[2] <= days_in_month(y, v[1]):
        return None
    return y, v[1], v[2], v[3], v[4], v[5]


def parse(stamp):
    """Seconds since 2000-01-01 UTC of a P1 timestamp ('YYMMDDhhmmss' + 'S'/'W' or no flag), None if invalid."""
    if len(stamp) not in (12, 13) or (len(stamp) == 13 and stamp[12] not in "SW"):
        return None
    f = _fields(stamp)
    if f is None:
        return None
    local = days_from_civil(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60 + f[5]
    second = len(stamp) == 13 and stamp[12] == "W"  # zoneinfo's fold=1
    summer, winter = local - SUMMER, local - WINTER
    summer_ok, winter_ok = utc_offset(summer) == SUMMER, utc_offset(winter) == WINTER
    if summer_ok and winter_ok:  # the repeated hour in October
        return winter if second else summer
    if summer_ok or winter_ok:
        return summer if summer_ok else winter
    return summer if second else winter  # the skipped hour in March


def local(t):
    """(year, month, day, hour, minute, second, 'S' or 'W') of Belgian local time at t."""
    off = utc_offset(t)
    lt = t + off
    y, m, d = civil_from_days(lt // 86400)
    s = lt % 86400
    return y, m, d, s // 3600, s // 60 % 60, s % 60, "S" if off == SUMMER else "W"


def stamp(t):
    """The P1 timestamp a meter shows at t: 'YYMMDDhhmmss' + 'S'/'W'."""
    y, m, d, hh, mm, ss, flag = local(t)
    return "%02d%02d%02d%02d%02d%02d%s" % (y % 100, m, d, hh, mm, ss, flag)


def iso(t):
    """ISO 8601 in UTC as Python's datetime.isoformat() writes it: 'YYYY-MM-DDThh:mm:ss+00:00'."""
    y, m, d = civil_from_days(t // 86400)
    s = t % 86400
    return "%04d-%02d-%02dT%02d:%02d:%02d+00:00" % (y, m, d, s // 3600, s // 60 % 60, s % 60)
