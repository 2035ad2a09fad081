"""Figures of merit from one simulated RX waveform, measured against the ideal bit grid of the stimulus.

- delays: ideal edge (the meter's LED switching) → RX crossing VDD/2;
- rise/fall: 10 % → 90 % of the RX swing (settled LOW to the rail);
- distortion: the worst |measured − ideal| width of any run of equal bits, in % of a bit;
- eye margin: at the UART's sample points, how far RX is beyond VIH (1) or VIL (0), in volts;
- sampling margin: how far each sample point lies inside the time RX is valid (≥ VIH / ≤ VIL), in % of a bit.
The UART is modelled as the ESP32's: it detects the start bit's falling edge where its input switches —
somewhere between VIH and VIL, so both extremes are tried — and samples bit j at (j + ½)·T after it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .stimulus import Stimulus

FAILED = math.inf


@dataclass
class Metrics:
    rise_ns: float
    fall_ns: float
    delay_rise_ns: float
    delay_fall_ns: float
    distortion_pct: float
    eye_margin_v: float
    sample_margin_pct: float
    line_ma: float

    def as_dict(self):
        return asdict(self)


def _crossing(t, v, level, start, stop, rising):
    """First time in [start, stop] where v crosses `level` in the given direction (linear interpolation)."""
    i0, i1 = np.searchsorted(t, start), np.searchsorted(t, stop)
    seg = v[i0:i1 + 1] - level
    hits = np.nonzero((seg[:-1] < 0) & (seg[1:] >= 0) if rising else (seg[:-1] > 0) & (seg[1:] <= 0))[0]
    if not len(hits):
        return None
    k = i0 + hits[0]
    v0, v1 = v[k] - level, v[k + 1] - level
    return t[k] + (t[k + 1] - t[k]) * (-v0 / (v1 - v0) if v1 != v0 else 0.0)


def measure(t, rx, line_i, stim: Stimulus, vdd: float, vil: float, vih: float) -> Metrics:
    bits, tb = stim.bits, stim.bit_s
    # steady current into the meter's output: mid-bit of every MARK (line LOW), cable discharge long over
    ones = [(k + 0.5) * tb for k, b in enumerate(bits) if b == 1]
    line_ma = float(np.max(np.interp(ones, t, line_i))) * 1e3 if ones else 0.0
    failed = Metrics(*(FAILED,) * 5, -FAILED, -FAILED, line_ma)  # an edge never arrived
    edges = [k for k in range(1, len(bits)) if bits[k] != bits[k - 1]]
    mids = np.array([(k + 0.5) * tb for k in range(len(bits))])
    v_mid = np.interp(mids, t, rx)
    lows = [v for v, b in zip(v_mid, bits) if b == 0]
    lo = float(np.median(lows)) if lows else 0.0
    swing = vdd - lo
    crossings, delays, edge_times = {}, {0: [], 1: []}, {0: [], 1: []}
    for n, k in enumerate(edges):
        rising = bits[k] == 1
        stop = (edges[n + 1] if n + 1 < len(edges) else len(bits)) * tb
        tc = _crossing(t, rx, vdd / 2, k * tb, stop, rising)
        t10 = _crossing(t, rx, lo + (0.1 if rising else 0.9) * swing, k * tb, stop, rising)
        t90 = _crossing(t, rx, lo + (0.9 if rising else 0.1) * swing, k * tb, stop, rising)
        if tc is None or t10 is None or t90 is None:
            return failed
        crossings[k] = tc
        delays[int(rising)].append(tc - k * tb)
        edge_times[int(rising)].append(t90 - t10)
    distortion = max((abs((crossings[b] - crossings[a]) - (b - a) * tb) / tb
                      for a, b in zip(edges, edges[1:])), default=0.0)

    eye, sample_margin = math.inf, math.inf
    valid = {1: rx >= vih, 0: rx <= vil}
    for s in stim.frames:
        for threshold in (vih, vil):
            t_det = _crossing(t, rx, threshold, (s - 0.5) * tb, (s + 1) * tb, rising=False)
            if t_det is None:
                return failed
            for j in range(10):
                ts, b = t_det + (j + 0.5) * tb, bits[s + j]
                v = float(np.interp(ts, t, rx))
                eye = min(eye, v - vih if b else vil - v)
                sample_margin = min(sample_margin, _inside(t, valid[b], ts) / tb)
    return Metrics(
        rise_ns=max(edge_times[1]) * 1e9, fall_ns=max(edge_times[0]) * 1e9,
        delay_rise_ns=max(delays[1]) * 1e9, delay_fall_ns=max(delays[0]) * 1e9,
        distortion_pct=distortion * 100, eye_margin_v=eye, sample_margin_pct=sample_margin * 100,
        line_ma=line_ma)


def _inside(t, ok, ts):
    """Distance from ts to the edge of the valid stretch around it (negative: ts is not in one)."""
    i = int(np.clip(np.searchsorted(t, ts), 1, len(t) - 1))
    if not ok[i]:
        good = np.nonzero(ok)[0]
        return -float(np.min(np.abs(t[good] - ts))) if len(good) else -math.inf
    bad_before = np.nonzero(~ok[:i])[0]
    bad_after = np.nonzero(~ok[i:])[0]
    start = t[bad_before[-1]] if len(bad_before) else t[0]
    end = t[i + bad_after[0]] if len(bad_after) else t[-1]
    return min(ts - start, end - ts)
