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
from dataclasses import dataclass

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


class _Crossings:
    """Where a waveform crosses given levels: found once per level and direction over the whole waveform, then
    looked up for each edge's window (the same points and figures as searching each window on its own)."""

    def __init__(self, t, v):
        self.t, self.v, self._hits = t, v, {}

    def first(self, level, start, stop, rising):
        """First time in [start, stop] where v crosses `level` in the given direction (linear interpolation)."""
        hits = self._hits.get((level, rising))
        if hits is None:
            d = self.v - level
            hits = self._hits[level, rising] = np.nonzero(
                (d[:-1] < 0) & (d[1:] >= 0) if rising else (d[:-1] > 0) & (d[1:] <= 0))[0]
        t, v = self.t, self.v
        i0, i1 = int(t.searchsorted(start)), int(t.searchsorted(stop))
        j = int(hits.searchsorted(i0))  # the first crossing from sample i0 on, whose next sample is ≤ i1
        if j == len(hits) or hits[j] >= i1:
            return None
        k = hits[j]
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
    crossing = _Crossings(t, rx).first
    crossings, delays, edge_times = {}, {0: [], 1: []}, {0: [], 1: []}
    for n, k in enumerate(edges):
        rising = bits[k] == 1
        stop = (edges[n + 1] if n + 1 < len(edges) else len(bits)) * tb
        tc = crossing(vdd / 2, k * tb, stop, rising)
        t10 = crossing(lo + (0.1 if rising else 0.9) * swing, k * tb, stop, rising)
        t90 = crossing(lo + (0.9 if rising else 0.1) * swing, k * tb, stop, rising)
        if tc is None or t10 is None or t90 is None:
            return failed
        crossings[k] = tc
        delays[int(rising)].append(tc - k * tb)
        edge_times[int(rising)].append(t90 - t10)
    distortion = max((abs((crossings[b] - crossings[a]) - (b - a) * tb) / tb
                      for a, b in zip(edges, edges[1:])), default=0.0)

    eye, sample_margin = math.inf, math.inf
    valid = {1: _Stretches(t, rx >= vih), 0: _Stretches(t, rx <= vil)}
    offsets = (np.arange(10) + 0.5) * tb  # the UART samples bit j at (j + ½)·T after the detected start edge
    for s in stim.frames:
        for threshold in (vih, vil):
            t_det = crossing(threshold, (s - 0.5) * tb, (s + 1) * tb, rising=False)
            if t_det is None:
                return failed
            samples = t_det + offsets
            for ts, v, b in zip(samples.tolist(), np.interp(samples, t, rx).tolist(), bits[s:s + 10]):
                eye = min(eye, v - vih if b else vil - v)
                sample_margin = min(sample_margin, valid[b].inside(ts) / tb)
    return Metrics(
        rise_ns=max(edge_times[1]) * 1e9, fall_ns=max(edge_times[0]) * 1e9,
        delay_rise_ns=max(delays[1]) * 1e9, delay_fall_ns=max(delays[0]) * 1e9,
        distortion_pct=distortion * 100, eye_margin_v=eye, sample_margin_pct=sample_margin * 100,
        line_ma=line_ma)


class _Stretches:
    """Where a waveform is valid (`ok`, one flag per time point), indexed once for many sample points."""

    def __init__(self, t, ok):
        self.t, self.ok = t, ok
        self.t_good, self.bad = t[ok], np.nonzero(~ok)[0]

    def inside(self, ts: float) -> float:
        """Distance from ts to the edge of the valid stretch around it (negative: ts is not in one)."""
        t = self.t
        i = min(max(int(t.searchsorted(ts)), 1), len(t) - 1)
        if not self.ok[i]:
            if not len(self.t_good):
                return -math.inf
            k = int(self.t_good.searchsorted(ts))  # the nearest valid points are either side of ts
            return -min(abs(float(self.t_good[j]) - ts) for j in (k - 1, k) if 0 <= j < len(self.t_good))
        k = int(self.bad.searchsorted(i))  # invalid points before i: bad[:k]; from i on: bad[k:]
        start = t[self.bad[k - 1]] if k else t[0]
        end = t[self.bad[k]] if k < len(self.bad) else t[-1]
        return min(ts - start, end - ts)
