"""The host decoder (meter.s1.frames) and the board firmware's counter (firmware/s1frame.py)
are independent implementations of the same framing rules: on random synthetic streams with random
faults, fed in random splits, they must count alike."""

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware import s1frame
from meter.s1 import decode_bytes
from meter.s1.synth import SynthConfig, synth_stream

N = 120


@settings(max_examples=40, deadline=None)
@given(corrupt=st.sets(st.integers(0, N - 1), max_size=6), drop=st.sets(st.integers(0, N - 1), max_size=6),
       garbage=st.dictionaries(st.integers(0, N), st.integers(1, 120), max_size=4),
       shared=st.booleans(), trailing=st.integers(0, 44), seq_start=st.integers(0, 255),
       split=st.integers(1, 500), seed=st.integers(0, 1000))
def test_firmware_counter_agrees_with_host_decoder(corrupt, drop, garbage, shared, trailing, seq_start, split, seed):
    cfg = SynthConfig(frames=N, corrupt_fcs=tuple(sorted(corrupt)), drop=tuple(sorted(drop)), garbage=garbage,
                      shared_flags=shared, trailing_bytes=trailing, seq_start=seq_start, seed=seed, i_noise=0.05)
    data = synth_stream(cfg)
    host = decode_bytes(data).stats
    c = s1frame.Counter()
    for i in range(0, len(data), split):
        c.feed(data[i:i + split])
    c.flush()
    assert (c.frames, c.fcs_errors, c.seq_gaps, c.skipped) == (
        host.frames, host.fcs_errors, host.seq_gaps, host.bytes_skipped)
    if not shared:  # (with shared flags, garbage before a dropped frame also takes the next one's flag)
        assert c.frames == N - len(drop | corrupt) and c.fcs_errors == len(corrupt - drop)
