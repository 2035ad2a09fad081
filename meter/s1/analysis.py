"""Power-quality figures from decoded S1 frames: RMS, active power, power factor, harmonics, THD.

The analysis runs on one gap-free stretch of frames (the longest run of consecutive sequence
numbers with the same sampling settings) and on an integer number of grid periods, so that the
harmonics fall on exact DFT frequencies and no window is needed:

* per-period sampling: ``sampling`` samples make one period exactly, so a whole number of periods is a
  whole number of samples;
* per-second sampling: a period is ``fs / f`` samples, rounded to whole samples over the window; the
  residual (under half a sample over the window) leaks a little, so results there are approximate.

THD is THD-F: sqrt(sum of harmonic RMS^2 for orders 2..H) / fundamental RMS, with H the highest order
below the Nyquist order of the sampling (the 25th at 52 samples per period).

The network frequency is reported twice: the mean of the frames' field, and measured from the voltage
samples (the drift of the fundamental's phase from one period to the next) as a check of that field
against the sample clock.

:class:`LongestRun` finds the analysed stretch in a stream of frames of any length, keeping only the frames
the analysis needs; :class:`RollingAnalysis` analyses a stream window by window (one line per second).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import MeterError
from .frames import CURRENTS, PHASES, S1Frames


class AnalysisError(MeterError, ValueError):
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
    freq_measured_hz: float | None  # from the samples of the voltage (None: no voltage to measure)
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


def harmonics(x: np.ndarray, cycles_per_sample: float, orders: int, block: int = 4096) -> np.ndarray:
    """Complex amplitude (peak) of orders 1..``orders`` by direct projection at exact frequencies.

    ``x`` is one signal, or one per column (they share the projection). Summed over blocks of samples,
    so memory stays small on long windows.
    """
    h = np.arange(1, orders + 1)[:, None]
    acc = np.zeros((orders,) + x.shape[1:], dtype=complex)
    for start in range(0, x.shape[0], block):
        k = np.arange(start, min(start + block, x.shape[0]))
        acc += np.exp(-2j * np.pi * cycles_per_sample * h * k) @ x[start:start + block]
    return acc * (2.0 / x.shape[0])


def measured_frequency(x: np.ndarray, sample_rate_hz: float, samples_per_period: float) -> float | None:
    """Frequency of the fundamental of ``x``: its phase drift from one nominal period to the next.

    None when there are fewer than two periods or no signal to measure.
    """
    length = int(round(samples_per_period))
    blocks = x.size // length if length > 0 else 0
    if blocks < 2 or _rms(x) < MIN_MEASURED_RMS:
        return None
    nominal = 1.0 / samples_per_period  # cycles per sample
    z = x[:blocks * length].reshape(blocks, length) @ np.exp(-2j * np.pi * nominal * np.arange(length))
    z *= np.exp(-2j * np.pi * nominal * length * np.arange(blocks))  # one time origin for all blocks
    drift = np.angle(z[1:] * np.conj(z[:-1]))  # radians per block, beyond the nominal frequency
    return float((nominal + np.mean(drift) / (2 * np.pi * length)) * sample_rate_hz)


MIN_MEASURED_RMS = 1.0  # volts: below this the phase of the voltage is noise


def analyze(frames: S1Frames, max_periods: int = 50, max_order: int | None = None) -> Analysis:
    """Analyse up to ``max_periods`` whole periods from the longest gap-free run of ``frames``."""
    if len(frames) == 0:
        raise AnalysisError("no frames to analyse")
    return analyze_run(frames[longest_run(frames)], max_periods, max_order, frames_total=len(frames))


def analyze_run(seg: S1Frames, max_periods: int = 50, max_order: int | None = None, *,
                run_frames: int | None = None, frames_total: int | None = None) -> Analysis:
    """Analyse up to ``max_periods`` whole periods from the start of ``seg``, a gap-free run of frames
    (or the head of one: ``run_frames`` is then the run's full length). Harmonics go up to ``max_order``,
    or all below the Nyquist order."""
    if len(seg) == 0:
        raise AnalysisError("no frames to analyse")
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
    if per_period:
        fs = sampling * freq
    else:
        spp = fs / freq
    cps = 1.0 / spp
    orders = max(1, int(np.ceil(spp / 2)) - 1)
    if max_order is not None:
        orders = min(orders, max_order)
    v = win.v
    i = win.i
    nph = 3 if bool(win.poly_phase[0]) else 1
    # Harmonic RMS of every voltage and current at once: columns V L1.., then I L1..
    spectrum = np.abs(harmonics(np.column_stack([v[:, :nph], i[:, :nph]]), cps, orders)) / np.sqrt(2)
    results = []
    for p in range(nph):
        vr = _rms(v[:, p])
        ir = _rms(i[:, p])
        pw = float(np.mean(v[:, p] * i[:, p]))
        s = vr * ir
        vh, ih = spectrum[:, p], spectrum[:, nph + p]
        results.append(PhaseResult(
            phase=PHASES[p], v_rms=vr, i_rms=ir, p_w=pw, s_va=s, pf=pw / s if s > 0 else 0.0,
            v_thd=_thd(vh), i_thd=_thd(ih), v_harmonics=vh.tolist(), i_harmonics=ih.tolist()))
    return Analysis(freq_hz=freq, freq_measured_hz=measured_frequency(v[:, 0], fs, spp), sample_rate_hz=fs,
                    per_period=per_period, samples_per_period=spp, periods=periods, samples=n,
                    first_seq=int(win.seq[0]), frames_total=len(seg) if frames_total is None else frames_total,
                    run_frames=len(seg) if run_frames is None else run_frames,
                    phases=results, i_n_rms=_rms(i[:, CURRENTS.index("N")]))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def _thd(h_rms: np.ndarray) -> float:
    return float(np.sqrt(np.sum(h_rms[1:] ** 2)) / h_rms[0]) if h_rms[0] > 0 else 0.0


def format_analysis(a: Analysis, harmonics_shown: int = 7) -> str:
    """A readable report."""
    mode = f"{a.samples_per_period:g} samples/period" if a.per_period else f"{a.sample_rate_hz:g} samples/s"
    measured = "n/a" if a.freq_measured_hz is None else f"{a.freq_measured_hz:.3f} Hz"
    lines = [
        f"frequency {a.freq_hz:.3f} Hz (measured from the samples {measured}), {mode}, window {a.periods} periods = {a.samples} samples "
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
