"""Station numbers have ceilings and the run's plan a time and memory limit, all checked when the station
loads: a station error (exit 2, one line naming the key and the file) before anything is powered, never
a record or a database row. Also: binary station files and keys given twice."""
from __future__ import annotations

import pytest
import yaml

from bringup import cli, plan, station
from bringup_helpers import fast_station_dict


def _run(capsys, st_path, rec, *extra) -> tuple[int, list[str]]:
    """`run` in-process (the command line's own main): exit status and the lines on stderr."""
    rc = cli.main(["run", "--station", str(st_path), "--board-serial", "C1", "--records", str(rec), *extra])
    return rc, [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]


def _write(tmp_path, d: dict):
    p = tmp_path / "station.yaml"
    p.write_text(yaml.safe_dump(d))
    return p


# The issue's examples, each of which used to run (for decades, or into a MemoryError, an internal error
# or a dead simulated board) and be filed as a board FAIL.
ISSUE_EXAMPLES = [
    ({"loopback": {"slow_count": 1_000_000_000}}, "loopback.slow_count", "≤ 1800"),
    ({"s1": {"frames": 10**12}}, "s1.frames", "≤ 1000000"),
    ({"supply": {"timeout_ms": 10**30}}, "supply.timeout_ms", "≤ 60000"),
    ({"supply": {"settle_s": 1e300}}, "supply.settle_s", "≤ 60"),
    ({"console": {"baud": 10**20}}, "console.baud", "UART rate"),
]


@pytest.mark.parametrize("override, key, text", ISSUE_EXAMPLES, ids=[k for _, k, _ in ISSUE_EXAMPLES])
def test_issue_examples_are_station_errors_at_load(tmp_path, capsys, override, key, text):
    p = _write(tmp_path, fast_station_dict(**override))
    with pytest.raises(station.StationError) as e:  # at load, before the command line goes on
        station.load(p)
    assert e.value.key == key and text in str(e.value)
    rec = tmp_path / "records"
    rc, err = _run(capsys, p, rec)
    assert rc == 2 and len(err) == 1, err
    assert err[0].startswith("station error: ") and f"'{key}'" in err[0] and str(p) in err[0]
    assert not rec.exists()  # no record, no database: nothing was stored for a board


@pytest.mark.parametrize("section, key, value", [
    ("supply", "inrush_samples", 101), ("supply", "timeout_ms", 60_001), ("dmm", "timeout_ms", 60_001),
    ("meter", "baud", 11520), ("meter", "write_timeout_s", 61), ("console", "timeout_s", 61),
    ("loopback", "line_rate_rounds", 101), ("loopback", "slow_interval_s", 61), ("loopback", "throughput_count", 10_001),
    ("loopback", "idle_s", 11), ("sim", "heartbeat_s", 61), ("s1", "frame_rate_hz", 4445), ("s1", "settle_s", 61),
    ("s1", "write_timeout_s", 61), ("limits", "rail_3v3_v", [3.2, 7.0]), ("limits", "idle_current_a", [0.02, 0.31]),
    ("limits", "throughput_ratio", [0.97, 2.5]),
])
def test_every_number_has_a_ceiling(section, key, value):
    with pytest.raises(station.StationError) as e:
        station.from_dict(fast_station_dict(**{section: {key: value}}), "st.yaml")
    assert e.value.key.startswith(f"{section}.{key}")


def test_a_plan_over_30_minutes_is_refused_naming_its_biggest_part(tmp_path, capsys):
    """Each key within its ceiling, together an hour: refused at load, the key that costs most named."""
    p = _write(tmp_path, fast_station_dict(loopback={"slow_count": 1800, "slow_interval_s": 2.0}))
    rec = tmp_path / "records"
    rc, err = _run(capsys, p, rec)
    assert rc == 2 and len(err) == 1, err
    assert "'loopback.slow_count'" in err[0] and "1 h" in err[0] and "30 min" in err[0] and str(p) in err[0]
    assert not rec.exists()


def test_a_plan_over_256_mb_is_refused_before_a_capture_is_read(tmp_path, capsys):
    """A million S1 frames and 60 MB of captures at 921,600 baud: 15 minutes, but ~410 MB. The capture is
    a sparse file of zeros that holds no telegram: judged by its size, never read."""
    cap = tmp_path / "big.raw"
    with open(cap, "wb") as f:
        f.truncate(60_000_000)
    p = _write(tmp_path, fast_station_dict(meter={"baud": 921600}, s1={"frames": 1_000_000}))
    rec = tmp_path / "records"
    rc, err = _run(capsys, p, rec, "--telegrams", str(cap), "--max-telegram-bytes", "100000000")
    assert rc == 2 and len(err) == 1, err
    assert "'telegrams'" in err[0] and "MB" in err[0] and "256 MB" in err[0]
    assert not rec.exists()


def test_the_plan_adds_up_what_the_steps_do():
    st = station.from_dict(fast_station_dict(s1={"frames": 4000, "frame_rate_hz": 2000}), "t")
    parts = {p.key: p for p in plan.estimate(st).parts}
    assert parts["loopback.slow_count"].seconds == pytest.approx(2 * 0.1)
    assert parts["s1.frames"].seconds == pytest.approx(2.0 + 0.3)  # two seconds at 2,000 frames/s, then settle
    assert parts["s1.frames"].memory == 4000 * plan.S1_BYTES_PER_FRAME
    assert plan.estimate(station.resolve("sim")).duration_s < 60  # the shipped stations are far inside


def test_limits_prints_the_plans_duration(capsys):
    assert cli.main(["limits"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("a run takes about ")


@pytest.mark.parametrize("command", ["run", "limits"])
def test_a_binary_station_file_is_one_line_station_error(tmp_path, capsys, command):
    p = tmp_path / "station.yaml"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    argv = [command, "--station", str(p)] + (["--board-serial", "B", "--records", str(tmp_path / "r")]
                                             if command == "run" else [])
    assert cli.main(argv) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and "not a text file" in err[0] and str(p) in err[0], err


@pytest.mark.parametrize("text, key, lines", [
    ("kind: sim\nsupply:\n  timeout_ms: 1000\n  settle_s: 0.1\n  timeout_ms: 3000\n", "supply.timeout_ms", (3, 5)),
    ("kind: sim\nname: a\nname: b\n", "name", (2, 3)),
    ("kind: sim\nlimits:\n  drq_v: [4.0, 5.5]\n  drq_v: [4.1, 5.5]\n", "limits.drq_v", (3, 4)),
])
def test_a_key_given_twice_is_refused_naming_key_and_lines(tmp_path, text, key, lines):
    p = tmp_path / "st.yaml"
    p.write_text(text)
    with pytest.raises(station.StationError) as e:
        station.load(p)
    assert e.value.key == key and f"line {lines[0]} and line {lines[1]}" in str(e.value) and str(p) in str(e.value)


def test_merge_keys_may_still_be_overridden(tmp_path):
    p = tmp_path / "st.yaml"
    p.write_text("kind: sim\nsupply: &inst {timeout_ms: 1500}\ndmm:\n  <<: *inst\n  timeout_ms: 900\n")
    st = station.load(p)
    assert (st.supply.timeout_ms, st.dmm.timeout_ms) == (1500, 900)


@pytest.mark.parametrize("idle_s, refused", [(0.2, True), (0.21, False)])
def test_a_bench_station_waits_longer_than_the_firmware_before_judging_a_cut_off_frame(tmp_path, idle_s, refused):
    """The D32's firmware reports an unfinished frame after p1frame.IDLE_MS of silence; a bench that looks
    sooner judges the board before it has spoken (the simulated board idles sooner, so sim stations may)."""
    from firmware import p1frame

    data = yaml.safe_load(station.SIM_STATION.with_name("example.yaml").read_text(encoding="utf-8"))
    assert data["kind"] == "bench" and data["loopback"]["idle_s"] > p1frame.IDLE_MS / 1000
    data["loopback"]["idle_s"] = idle_s
    p = _write(tmp_path, data)
    if refused:
        with pytest.raises(station.StationError) as e:
            station.load(p)
        assert e.value.key == "loopback.idle_s" and f"{p1frame.IDLE_MS} ms" in str(e.value)
    else:
        assert station.load(p).loopback.idle_s == idle_s


def test_the_example_bench_supply_sits_above_any_usb_vbus_so_the_idle_current_is_the_whole_boards():
    """P1 and USB are diode-ORed into U1 (rev 1.4): below the PC's VBUS the supply carries only a share of the
    board, and a good board's idle current could fall under the window's floor."""
    from hwtools.facts import load_facts

    st = station.load(station.SIM_STATION.with_name("example.yaml"))
    vbus = load_facts()["usb_vbus"]["vbus_max_v"]
    assert st.supply.voltage_v > vbus and st.limits.supply_voltage_v[0] > vbus
