"""Analysis recovers what the synthesiser put in; the plot is a PNG.

Tolerances come from the quantisation (25 mV, 1 mA; uniform error of RMS q/sqrt(12)):
* RMS: the error adds q^2/12 in quadrature (~1e-7 V at 230 V) plus a random term of about
  q/sqrt(12)/sqrt(n) (0.14 mV over 2600 samples), so one LSB (25 mV, 1 mA) is a safe bound;
* a harmonic's RMS is disturbed by about q/sqrt(12)*sqrt(2/n), i.e. 0.2 mV on 230 V and 8 uA on 2 A,
  so THD to 1e-4 (0.01 percentage points) and PF to 1e-4;
* the frequency field is quantised to 1 mHz and carried exactly.
Per-second sampling does not fit a whole number of samples into a period: the window is rounded to
whole samples (error < 0.5 sample in n), so there the bounds are 1e-3 relative.
"""

import math

import numpy as np
import pytest

from meter.s1 import decode_bytes
from meter.s1.analysis import AnalysisError, analyze, longest_run
from meter.s1.synth import SynthConfig, synth_stream

VH = {3: 0.04, 5: 0.02}
IH = {3: 0.15, 5: 0.08}


def expected(cfg: SynthConfig, p: int):
    def rms(base, harm):
        return base * math.sqrt(1 + sum(r * r for r in harm.values()))

    def thd(harm):
        return math.sqrt(sum(r * r for r in harm.values()))

    vr, ir = rms(cfg.v_rms[p], cfg.v_harmonics), rms(cfg.i_rms[p], cfg.i_harmonics)
    phi = math.radians(cfg.i_angle_deg[p])
    # Harmonic h of the current lags its voltage harmonic by h*phi.
    pw = cfg.v_rms[p] * cfg.i_rms[p] * (math.cos(phi) + sum(
        cfg.v_harmonics.get(h, 0) * cfg.i_harmonics.get(h, 0) * math.cos(h * phi) for h in range(2, 40)))
    return vr, ir, pw, pw / (vr * ir), thd(cfg.v_harmonics), thd(cfg.i_harmonics)


@pytest.fixture(scope="module")
def three_phase():
    cfg = SynthConfig(frames=52 * 60, freq_hz=50.107, v_rms=(230.0, 228.0, 233.0), i_rms=(16.0, 7.5, 2.0),
                      i_angle_deg=(0.0, 25.0, -40.0), v_harmonics=VH, i_harmonics=IH, seq_start=200)
    return cfg, decode_bytes(synth_stream(cfg)).frames


def test_three_phase_with_3rd_and_5th(three_phase):
    cfg, frames = three_phase
    a = analyze(frames)
    assert a.per_period and a.periods == 50 and a.samples == 2600 and a.samples_per_period == 52
    assert abs(a.freq_hz - 50.107) < 5e-4
    assert a.sample_rate_hz == pytest.approx(52 * 50.107)
    assert len(a.phases) == 3
    for p, r in enumerate(a.phases):
        vr, ir, pw, pf, vthd, ithd = expected(cfg, p)
        assert abs(r.v_rms - vr) <= 0.025, r.phase
        assert abs(r.i_rms - ir) <= 0.001, r.phase
        assert abs(r.pf - pf) <= 1e-4, r.phase
        assert abs(r.p_w - pw) <= 0.025 * ir + 0.001 * vr, r.phase
        assert abs(r.v_thd - vthd) <= 1e-4 and abs(r.i_thd - ithd) <= 1e-4, r.phase
        # The individual harmonics, and nothing at the even orders.
        assert abs(r.v_harmonics[2] / r.v_harmonics[0] - 0.04) <= 1e-4
        assert abs(r.i_harmonics[4] / r.i_harmonics[0] - 0.08) <= 1e-4
        assert r.v_harmonics[1] < 0.01 and r.i_harmonics[3] < 0.001
    # The phase with a leading current has a lower PF than the resistive one.
    assert a.phases[0].pf > a.phases[2].pf


def test_neutral_current_carries_the_triplens(three_phase):
    cfg, frames = three_phase
    a = analyze(frames)
    # I N = -(I1 + I2 + I3): per order, the sum of the phase phasors; 3rd harmonics add in phase.
    total = 0.0
    for h, rel in {1: 1.0, **cfg.i_harmonics}.items():
        s = sum(cfg.i_rms[p] * rel * np.exp(1j * h * np.radians(cfg.phase_angle_deg[p] - cfg.i_angle_deg[p]))
                for p in range(3))
        total += abs(s) ** 2
    assert abs(a.i_n_rms - math.sqrt(total)) <= 0.001
    triplen = sum(cfg.i_rms) * cfg.i_harmonics[3]
    assert a.i_n_rms > triplen  # the 3rd harmonics alone would give 3.8 A here


def test_per_second_sampling_approximate():
    cfg = SynthConfig(frames=4000, per_period=False, sampling=40, freq_hz=49.95, poly_phase=False,
                      v_rms=(231.0, 0, 0), i_rms=(5.0, 0, 0), i_angle_deg=(30.0, 0, 0), v_harmonics={3: 0.05},
                      i_harmonics={3: 0.2})
    a = analyze(decode_bytes(synth_stream(cfg)).frames)
    assert not a.per_period and len(a.phases) == 1
    assert a.sample_rate_hz == 4000.0 and a.samples_per_period == pytest.approx(4000 / 49.95)
    vr, ir, pw, pf, vthd, ithd = expected(cfg, 0)
    r = a.phases[0]
    assert r.v_rms == pytest.approx(vr, rel=1e-3) and r.i_rms == pytest.approx(ir, rel=1e-3)
    assert r.pf == pytest.approx(pf, abs=1e-3)
    assert abs(r.v_thd - vthd) < 1e-3 and abs(r.i_thd - ithd) < 1e-3


def test_noise_raises_rms_as_expected():
    cfg = SynthConfig(frames=2600, poly_phase=False, v_noise=2.0, seed=5)
    r = analyze(decode_bytes(synth_stream(cfg)).frames).phases[0]
    assert r.v_rms == pytest.approx(math.sqrt(230.0 ** 2 + 2.0 ** 2), abs=0.1)
    assert r.v_thd < 0.01  # white noise spreads thinly over the harmonic bins


def test_window_taken_from_longest_gap_free_run():
    cfg = SynthConfig(frames=600, drop=(100, 101))
    frames = decode_bytes(synth_stream(cfg)).frames
    assert longest_run(frames) == slice(100, 598)
    a = analyze(frames)
    assert a.run_frames == 498 and a.periods == 9 and a.first_seq == 102


def test_too_few_frames():
    frames = decode_bytes(synth_stream(SynthConfig(frames=30))).frames
    with pytest.raises(AnalysisError, match="less than one period"):
        analyze(frames)


def test_plot_written_and_deterministic(three_phase, tmp_path):
    from meter.s1.plot import plot_capture
    _, frames = three_phase
    a = tmp_path / "a.png"
    b = tmp_path / "b.png"
    plot_capture(frames, a)
    plot_capture(frames, b)
    data = a.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert data == b.read_bytes()
