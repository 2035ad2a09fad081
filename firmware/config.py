"""The reader's JSON configuration: defaults, and the check run at boot on the board and on the host before
flashing (`p1reader reader check`). Runs unchanged under CPython and MicroPython.

A bad value is named by its key, never printed when the key is a secret; a check never raises: it returns the
problems, one line each.
"""

import json

# key → (default, kind, what): kind is "text", "secret", "topic", "id", "port", "number", "bool" or "url"
KEYS = {
    "wifi_ssid": ("", "text", "the Wi-Fi network's name (ignored on the host)"),
    "wifi_password": ("", "secret", "the Wi-Fi password"),
    "broker": ("mqtt://127.0.0.1:1883", "url", "the MQTT broker, mqtt://HOST[:PORT]"),
    "mqtt_user": ("", "text", "the broker's user name (empty: anonymous)"),
    "mqtt_password": ("", "secret", "the broker's password"),
    "base": ("p1reader", "topic", "the topic base: <base>/status, <base>/power_import, …"),
    "node": ("p1reader", "id", "the node id in Home Assistant's discovery topics and unique ids"),
    "cap_kw": (0, "number", "a cap for the quarter (kW): the alert threshold is at least this"),
    "keepalive_s": (30, "number", "MQTT keepalive (s); the broker sends the will after 1.5 times this"),
    "tcp_port": (8088, "port", "raw telegrams over TCP"),
    "http_port": (8080, "port", "/api/telegram and /api/state"),
    "ring_bytes": (16384, "number", "the flash budget of the offline quarter ring (bytes)"),
    "s1": (False, "bool", "a p1s1 board: count the S1 port's frames (UART1, GPIO4) and publish them each second"),
}
SECRET = "secret"


def _problem(key, kind, value):
    """What is wrong with one value, or None."""
    if kind in ("text", SECRET, "topic", "id", "url") and not isinstance(value, str):
        return "must be text"
    if kind == "url":
        rest = value[7:] if value.startswith("mqtt://") else None
        host, _, port = (rest or "").partition(":")
        if not host or (port and not (port.isdigit() and 0 < int(port) < 65536)):
            return "must be mqtt://HOST or mqtt://HOST:PORT"
    if kind in ("topic", "id"):
        allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-" + ("/" if kind == "topic" else "")
        if not value or [c for c in value if c not in allowed] or value.startswith("/") or value.endswith("/"):
            return "must be letters, digits, _ or -" + (" (and / inside)" if kind == "topic" else "")
    if kind in ("port", "number") and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
        return "must be a number, 0 or more"
    if kind == "bool" and not isinstance(value, bool):
        return "must be true or false"
    if kind == "port" and (value != int(value) or not 0 < value < 65536):
        return "must be a port number, 1-65535"
    return None


def check(values):
    """[one line per problem] of a decoded JSON object; empty when it is good."""
    if not isinstance(values, dict):
        return ["the configuration must be a JSON object"]
    problems = []
    for key in values:
        if key not in KEYS:
            problems.append("%s: unknown key (known: %s)" % (key, ", ".join(sorted(KEYS))))
    for key, (default, kind, _) in KEYS.items():
        why = _problem(key, kind, values.get(key, default))
        if why:
            shown = "" if kind == SECRET else " (%s)" % json.dumps(values.get(key))
            problems.append("%s: %s%s" % (key, why, shown))
    return problems


def load(text):
    """(config with defaults filled in, problems) of the file's text."""
    try:
        values = json.loads(text)
    except ValueError:
        return None, ["not valid JSON"]
    problems = check(values)
    if problems:
        return None, problems
    full = dict((k, v[0]) for k, v in KEYS.items())
    full.update(values)
    return full, []


def broker_address(url):
    """(host, port) of mqtt://HOST[:PORT]."""
    host, _, port = url[7:].partition(":")
    return host, int(port) if port else 1883
