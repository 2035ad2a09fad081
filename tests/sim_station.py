"""The simulated bring-up station the bring-up and results-store tests run against (imported by module name:
pytest puts tests/, the folder of conftest.py, on sys.path)."""


def fast_station_dict(**overrides) -> dict:
    """A sim station that keeps CI fast: the small builder set, a short 'one a second' sub-step,
    a short throughput run (its ratio recorded, not judged: timing belongs to `make bench`)."""
    d = {
        "name": "sim-fast",
        "kind": "sim",
        "supply": {"timeout_ms": 1000, "peak_current_query": "MEAS:CURR:MAX?", "settle_s": 0.05},
        "dmm": {"timeout_ms": 1000},
        "console": {"baud": 921600, "timeout_s": 2.0},
        "limits": {"throughput_ratio": [0.0, 1.05]},
        "loopback": {"builder_set": "small", "slow_count": 2, "slow_interval_s": 0.1, "throughput_count": 8,
                     "idle_s": 0.06},
        "sim": {"heartbeat_s": 0.5},
        "s1": {"frames": 2000},
    }
    for k, v in overrides.items():
        if v is None:
            d.pop(k, None)  # e.g. s1=None: a station without the S1 jig
        elif isinstance(v, dict):
            d.setdefault(k, {}).update(v)
        else:
            d[k] = v
    return d
