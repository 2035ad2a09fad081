"""Synthetic streams round-trip through the decoder to exactly the quantised values."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from meter.s1 import decode_bytes
from meter.s1.synth import (I_RANGE, V_RANGE, SynthConfig, encode_frames, quantise, synth_stream,
                              synth_values)

ids = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=14)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(1, 40), seq0=st.integers(0, 255), meter_id=ids,
       sampling=st.integers(1, 127), freq=st.integers(0, 0xFFFF), info=st.integers(0, 255),
       shared=st.booleans())
def test_raw_values_round_trip_exactly(data, n, seq0, meter_id, sampling, freq, info, shared):
    v = data.draw(hnp.arrays(np.int64, (n, 3), elements=st.integers(*V_RANGE)))
    i = data.draw(hnp.arrays(np.int64, (n, 4), elements=st.integers(*I_RANGE)))
    rows = encode_frames(v, i, seq=seq0 + np.arange(n), meter_id=meter_id, info=info, sampling=sampling,
                         freq_mhz=freq)
    stream = rows.tobytes() if not shared else b"\x7e" + rows[:, 1:].tobytes()
    res = decode_bytes(stream)
    assert res.stats.frames == n and res.stats.fcs_errors == 0 and res.stats.bytes_skipped == 0
    fr = res.frames
    assert fr.v_raw.tolist() == v.tolist()
    assert fr.i_raw.tolist() == i.tolist()
    assert fr.seq.tolist() == [(seq0 + k) % 256 for k in range(n)]
    assert {m.decode() for m in fr.meter_id.tolist()} == {meter_id}
    assert fr.info.tolist() == [info] * n and fr.freq_mhz.tolist() == [freq] * n
    assert fr.sampling.tolist() == [sampling] * n


@settings(max_examples=60, deadline=None)
@given(v=st.lists(st.floats(-819.0, 819.0), min_size=3, max_size=3),
       i=st.lists(st.floats(-8388.0, 8388.0), min_size=4, max_size=4))
def test_physical_values_decode_to_nearest_lsb(v, i):
    v_raw, i_raw = quantise(np.array([v]), np.array([i]))
    rec = next(decode_bytes(encode_frames(v_raw, i_raw, seq=[0]).tobytes()).frames.records())
    # Within half an LSB of the input: 12.5 mV and 0.5 mA (+ float rounding of the input).
    assert np.all(np.abs(np.array(rec["v"]) - v) <= 0.0125 + 1e-9)
    assert np.all(np.abs(np.array(rec["i"]) - i) <= 0.0005 + 1e-9)


def test_out_of_range_refused():
    with pytest.raises(ValueError, match="voltage"):
        encode_frames([[40000, 0, 0]], [[0, 0, 0, 0]], seq=[0])
    with pytest.raises(ValueError, match="meter id"):
        encode_frames([[0, 0, 0]], [[0, 0, 0, 0]], seq=[0], meter_id="X" * 15)


def test_synth_stream_decodes_to_its_quantised_waveform():
    cfg = SynthConfig(frames=520, freq_hz=50.107, v_harmonics={3: 0.04}, i_harmonics={5: 0.1},
                      i_angle_deg=(20, 30, 40), v_noise=0.5, i_noise=0.02, seed=3, seq_start=100)
    v_raw, i_raw = quantise(*synth_values(cfg))
    fr = decode_bytes(synth_stream(cfg)).frames
    assert np.array_equal(fr.v_raw, v_raw) and np.array_equal(fr.i_raw, i_raw)
    assert fr.freq_mhz.tolist() == [50107] * 520
    assert set(fr.info.tolist()) == {cfg.info} and cfg.info == 0x1F
    # I N is minus the sum of the phase currents (to within rounding of each).
    assert np.all(np.abs(fr.i_raw.sum(axis=1)) <= 2)


def test_noise_is_seeded():
    a = synth_stream(SynthConfig(frames=50, v_noise=1.0, seed=1))
    b = synth_stream(SynthConfig(frames=50, v_noise=1.0, seed=1))
    c = synth_stream(SynthConfig(frames=50, v_noise=1.0, seed=2))
    assert a == b and a != c


def test_single_phase_per_second():
    cfg = SynthConfig(frames=100, poly_phase=False, per_period=False, sampling=40)
    fr = decode_bytes(synth_stream(cfg)).frames
    assert not fr.poly_phase.any() and not fr.per_period.any()
    assert fr.sample_rate_hz[0] == 4000.0
    assert not fr.v_raw[:, 1:].any() and not fr.i_raw[:, 1:].any()


def test_garbage_before_a_dropped_frame_keeps_the_next_frames_flag():
    """With shared flags, garbage in front of a dropped frame lands before the next sent one, which must
    then open with its own flag (it no longer follows a closing flag)."""
    from meter.s1 import frames, synth

    cfg = synth.SynthConfig(frames=3, shared_flags=True, drop=(1,), garbage={1: 1})
    stream = synth.synth_stream(cfg)
    assert len(stream) == 2 * 45 + 1  # two frames with their own flags, one garbage byte, no shared flag
    assert frames.decode_bytes(stream).stats.frames == 2
