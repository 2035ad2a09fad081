"""Fast unit tests of the SI pieces that need neither ngspice nor the KiCad libraries."""

import math

import numpy as np
import pytest

from hwtools.si.limits import TIMING
from hwtools.si.measure import _Crossings, _Stretches, measure
from hwtools.si.spice import NgspiceError, find_ngspice, read_raw
from hwtools.si.stimulus import TELEGRAM, Stimulus, frame_bits, worst_window


def test_frame_bits_are_8n1_lsb_first():
    # 'A' = 0x41 = 0100 0001: start 0, LSB first 1 0 0 0 0 0 1 0, stop 1
    assert frame_bits(b"A") == [0, 1, 0, 0, 0, 0, 0, 1, 0, 1]


def test_worst_window_is_from_the_telegram_and_has_long_runs_and_single_bits():
    w = worst_window()
    assert w in TELEGRAM and len(w) == 3
    bits = "".join(map(str, frame_bits(w)))
    assert "00000" in bits and "11111" in bits and "010" in bits and "101" in bits


def test_stimulus_light_is_inverted_line_logic():
    s = Stimulus(b"\x00", 115200)
    light = s.light()
    assert light[0] == (0.0, 1)  # idle MARK: the meter's LED is on, the line is pulled LOW
    # the start bit switches the LED off at 3 bit times (3 idle bits before)
    assert light[1] == (pytest.approx(3 / 115200), 1) and light[2][1] == 0


def _square(stim, delay_rise, delay_fall, vdd=3.3, n=100000):
    """An ideal RX waveform: each edge delayed, with a 100 ns linear ramp."""
    t = np.linspace(0, stim.duration_s, n)
    bits, tb = stim.bits, stim.bit_s
    v = np.full_like(t, vdd * bits[0])
    for k in range(1, len(bits)):
        if bits[k] != bits[k - 1]:
            t0 = k * tb + (delay_rise if bits[k] else delay_fall)
            ramp = np.clip((t - t0) / 100e-9, 0, 1)
            v = np.where(t >= t0, vdd * (bits[k - 1] + (bits[k] - bits[k - 1]) * ramp), v)
    return t, v


def test_measure_recovers_known_delays_and_distortion():
    stim = Stimulus(b"4_A", 115200)
    t, v = _square(stim, 1000e-9, 300e-9)
    m = measure(t, v, np.zeros_like(t), stim, 3.3, 0.825, 2.475)
    assert m.delay_rise_ns == pytest.approx(1050, abs=5)  # half of the ramp to VDD/2
    assert m.delay_fall_ns == pytest.approx(350, abs=5)
    # a 0-pulse ends late by 1000 and starts late by 300 ns: 700 ns too long
    assert m.distortion_pct == pytest.approx(700e-9 * 115200 * 100, rel=0.02)
    assert m.rise_ns == pytest.approx(80, abs=6) and m.fall_ns == pytest.approx(80, abs=6)
    assert m.eye_margin_v == pytest.approx(0.825, abs=0.01)
    assert 30 < m.sample_margin_pct < 50


def test_measure_marks_a_missing_edge_as_failed():
    stim = Stimulus(b"4_A", 115200)
    t = np.linspace(0, stim.duration_s, 1000)
    m = measure(t, np.full_like(t, 3.3), np.zeros_like(t), stim, 3.3, 0.825, 2.475)
    assert math.isinf(m.distortion_pct) and m.eye_margin_v < 0
    assert not TIMING["distortion_pct"].ok(m.distortion_pct)


def _first_crossing_in_window(t, v, level, start, stop, rising):
    """The reference: search the window's own samples (what measure did before it indexed whole waveforms)."""
    i0, i1 = np.searchsorted(t, start), np.searchsorted(t, stop)
    seg = v[i0:i1 + 1] - level
    hits = np.nonzero((seg[:-1] < 0) & (seg[1:] >= 0) if rising else (seg[:-1] > 0) & (seg[1:] <= 0))[0]
    if not len(hits):
        return None
    k = i0 + hits[0]
    v0, v1 = v[k] - level, v[k + 1] - level
    return t[k] + (t[k + 1] - t[k]) * (-v0 / (v1 - v0) if v1 != v0 else 0.0)


def _inside_by_scan(t, ok, ts):
    """The reference: scan the whole mask for each sample point."""
    i = int(np.clip(np.searchsorted(t, ts), 1, len(t) - 1))
    if not ok[i]:
        good = np.nonzero(ok)[0]
        return -float(np.min(np.abs(t[good] - ts))) if len(good) else -math.inf
    bad_before, bad_after = np.nonzero(~ok[:i])[0], np.nonzero(~ok[i:])[0]
    start = t[bad_before[-1]] if len(bad_before) else t[0]
    end = t[i + bad_after[0]] if len(bad_after) else t[-1]
    return min(ts - start, end - ts)


def test_indexed_crossings_and_valid_stretches_match_a_scan_of_each_window():
    rng = np.random.default_rng(7)
    checked = found = 0
    for _ in range(40):
        n = int(rng.integers(50, 400))
        t = np.cumsum(rng.uniform(0.1, 1.0, n))
        v = np.round(rng.normal(0, 1, n).cumsum(), 1)  # rounded: samples that sit exactly on a level
        crossings = _Crossings(t, v)
        for _ in range(30):
            level = float(rng.choice([0.0, 0.5, float(v[rng.integers(n)])]))
            start = float(rng.uniform(t[0] - 1, t[-1]))
            stop = start + float(rng.uniform(0, t[-1] / 3))
            for rising in (True, False):
                want = _first_crossing_in_window(t, v, level, start, stop, rising)
                assert crossings.first(level, start, stop, rising) == want
                checked, found = checked + 1, found + (want is not None)
        for ok in (v >= 0.5, v <= -0.5, np.zeros(n, bool), np.ones(n, bool)):
            stretches = _Stretches(t, ok)
            for ts in rng.uniform(t[0] - 1, t[-1] + 1, 20):
                assert stretches.inside(float(ts)) == _inside_by_scan(t, ok, float(ts))
    assert found > checked // 4 and checked - found > checked // 10  # both outcomes well exercised


def test_read_raw_rejects_ascii_and_empty():
    with pytest.raises(NgspiceError):
        read_raw(b"Title: x\nValues:\n 0 1\n")


def test_missing_ngspice_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(NgspiceError, match="ngspice not found"):
        find_ngspice()
