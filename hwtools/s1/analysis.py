"""Power-quality figures from decoded S1 frames: RMS, active power, power factor, harmonics, THD.

The analysis runs on one gap-free stretch of frames (the longest run of consecutive sequence
numbers with the same sampling settings) and on an integer number of grid periods, so that the
harmonics fall on exact DFT frequencies and no window is needed:

* per-period sampling: ``sampling`` samples make one period exactly, so a whole number of periods is a
  whole number of samples;
* per-second sampling: a period is ``fs / f`` samples, rounded to whole samples over the window; the
  residual (under half a sample over the window) leaks a little, so results there are approximate.

THD is THD-F: sqrt(sum of harmonic RMS^2 for orders 2..H) / fundamental RMS, with H below Nyquist.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .frames import CURRENTS, PHASES, S1Frames


class AnalysisError(ValueError):
    """The frames cannot be analysed (too few, inconsistent); the message says why."""


@dataclass
class PhaseResult:
    phase: str
    v_rms: float
    i_rms: float
    p_w: float  # active power, mean of v*i
    s_va: float  # apparent power, Vrms * Irms
    pf: float  # P / S (0 when S is 0)
    v_thd: float  # ratio, not percent
    i_thd: float
    v_harmonics: list[float] = field(default_factory=list)  # RMS of orders 1..H
    i_harmonics: list[float] = field(default_factory=list)


@dataclass
class Analysis:
    freq_hz: float  # mean of the frames' frequency field over the window
    sample_rate_hz: float
    per_period: bool
    samples_per_period: float
    periods: int
    samples: int
    first_seq: int
    frames_total: int
    run_frames: int  # frames in the gap-free run the window was taken from
    phases: list[PhaseResult]
    i_n_rms: float

    def as_dict(self) -> dict:
        return asdict(self)


def longest_run(frames: S1Frames) -> slice:
    """Longest stretch of consecutive sequence numbers (mod 256) with unchanged info/sampling."""
    n = len(frames)
    if n == 0:
        return slice(0, 0)
    brk = np.ones(n, dtype=bool)
    brk[1:] = ((np.diff(frames.seq.astype(np.int16)) % 256) != 1) | (np.diff(frames.info) != 0) \
        | (np.diff(frames.sampling) != 0)
    starts = np.flatnonzero(brk)
    ends = np.append(starts[1:], n)
    k = int(np.argmax(ends - starts))
    return slice(int(starts[k]), int(ends[k]))


def harmonics(x: np.ndarray, cycles_per_sample: float, orders: int) -> np.ndarray:
    """Complex amplitude (peak) of orders 1..``orders`` by direct projection at exact frequencies."""
    k = np.arange(x.size)
    h = np.arange(1, orders + 1)[:, None]
    basis = np.exp(-2j * np.pi * cycles_per_sample * h * k)
    return (basis @ x) * (2.0 / x.size)


def analyze(frames: S1Frames, max_periods: int = 50, max_order: int = 40) -> Analysis:
    """Analyse up to ``max_periods`` whole periods from the longest gap-free run of ``frames``."""
    if len(frames) == 0:
        raise AnalysisError("no frames to analyse")
    run = longest_run(frames)
    seg = frames[run]
    per_period = bool(seg.per_period[0])
    sampling = int(seg.sampling[0])
    if sampling <= 0:
        raise AnalysisError(f"sampling field is {sampling}: not a usable sample rate")
    freq = float(np.mean(seg.freq_hz))
    if freq <= 0:
        raise AnalysisError("network frequency field is 0")
    if per_period:
        spp = float(sampling)
        fs = sampling * freq
    else:
        fs = sampling * 100.0
        spp = fs / freq
    periods = min(max_periods, int(len(seg) // spp))
    if periods < 1:
        raise AnalysisError(f"longest gap-free run has {len(seg)} frames, less than one period "
                            f"({spp:.1f} samples)")
    n = int(round(periods * spp))
    win = seg[:n]
    freq = float(np.mean(win.freq_hz))
    if not per_period:
        spp = fs / freq
    cps = 1.0 / spp
    orders = max(1, min(max_order, int(np.ceil(spp / 2)) - 1))
    v = win.v
    i = win.i
    nph = 3 if bool(win.poly_phase[0]) else 1
    results = []
    for p in range(nph):
        vr = _rms(v[:, p])
        ir = _rms(i[:, p])
        pw = float(np.mean(v[:, p] * i[:, p]))
        s = vr * ir
        vh = np.abs(harmonics(v[:, p], cps, orders)) / np.sqrt(2)
        ih = np.abs(harmonics(i[:, p], cps, orders)) / np.sqrt(2)
        results.append(PhaseResult(
            phase=PHASES[p], v_rms=vr, i_rms=ir, p_w=pw, s_va=s, pf=pw / s if s > 0 else 0.0,
            v_thd=_thd(vh), i_thd=_thd(ih), v_harmonics=vh.tolist(), i_harmonics=ih.tolist()))
    return Analysis(freq_hz=freq, sample_rate_hz=fs if not per_period else sampling * freq,
                    per_period=per_period, samples_per_period=spp, periods=periods, samples=n,
                    first_seq=int(win.seq[0]), frames_total=len(frames), run_frames=len(seg),
                    phases=results, i_n_rms=_rms(i[:, CURRENTS.index("N")]))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _thd(h_rms: np.ndarray) -> float:
    return float(np.sqrt(np.sum(h_rms[1:] ** 2)) / h_rms[0]) if h_rms[0] > 0 else 0.0


def format_analysis(a: Analysis, harmonics_shown: int = 7) -> str:
    """A readable report."""
    mode = f"{a.samples_per_period:g} samples/period" if a.per_period else f"{a.sample_rate_hz:g} samples/s"
    lines = [
        f"frequency {a.freq_hz:.3f} Hz, {mode}, window {a.periods} periods = {a.samples} samples "
        f"(from seq {a.first_seq}; gap-free run {a.run_frames} of {a.frames_total} frames)",
        f"{'phase':<6}{'V rms':>10}{'I rms':>10}{'P W':>11}{'S VA':>11}{'PF':>8}{'THD V':>8}{'THD I':>8}",
    ]
    for r in a.phases:
        lines.append(f"{r.phase:<6}{r.v_rms:>10.3f}{r.i_rms:>10.3f}{r.p_w:>11.1f}{r.s_va:>11.1f}"
                     f"{r.pf:>8.4f}{100 * r.v_thd:>7.2f}%{100 * r.i_thd:>7.2f}%")
    lines.append(f"I N rms {a.i_n_rms:.3f} A")
    k = min(harmonics_shown, len(a.phases[0].v_harmonics))
    lines.append("harmonics (% of fundamental), orders 1.." + str(k))
    for r in a.phases:
        for name, h in (("V", r.v_harmonics), ("I", r.i_harmonics)):
            rel = [100 * x / h[0] if h[0] > 0 else 0.0 for x in h[:k]]
            lines.append(f"  {name} {r.phase:<3}" + "".join(f"{x:>8.2f}" for x in rel))
    return "\n".join(lines)
