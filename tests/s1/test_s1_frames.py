"""S1 decoder: the spec's example, the FCS, resynchronisation and error counts."""

from pathlib import Path

import crcmod.predefined
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from meter.s1 import S1Decoder, crc16_x25, crc16_x25_rows, decode_bytes
from meter.s1.synth import SynthConfig, frames_to_stream, synth_frames, synth_stream

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "s1" / "example-frame.hex"  # the specification's


@pytest.fixture(scope="module")
def example() -> bytes:
    return bytes.fromhex(EXAMPLE.read_text())


def test_example_frame_decodes_exactly(example):
    assert len(example) == 45
    res = decode_bytes(example)
    assert res.stats.frames == 1 and res.stats.fcs_errors == 0 and res.stats.bytes_skipped == 0
    (rec,) = list(res.frames.records())
    assert rec["per_period"] is True and rec["poly_phase"] is False
    assert rec["sampling"] == 52
    assert rec["freq_hz"] == 50.107
    assert rec["seq"] == 15
    assert rec["v"] == [70.925, 0.0, 0.0]
    assert rec["i"] == [1.53, 0.0, 0.0, 0.0]
    assert rec["meter_id"] == ""
    assert int(res.frames.v_raw[0, 0]) == 2837 and int(res.frames.i_raw[0, 0]) == 1530
    assert res.frames.sample_rate_hz[0] == pytest.approx(52 * 50.107)


def test_example_fcs_value(example):
    # The facts: FCS 0xB2C5, sent C5 B2 (LSB first).
    assert crc16_x25(example[1:42]) == 0xB2C5
    assert example[42:44] == bytes([0xC5, 0xB2])


_X25 = crcmod.predefined.mkCrcFun("x-25")


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=300))
def test_crc_matches_crcmod(data):
    assert crc16_x25(data) == _X25(data)


def test_vectorised_crc_matches_crcmod():
    rng = np.random.default_rng(9)
    for width in (1, 7, 41, 64):
        rows = rng.integers(0, 256, (500, width), dtype=np.uint8)
        got = crc16_x25_rows(rows)
        assert got.tolist() == [_X25(r.tobytes()) for r in rows]


def test_negative_values_and_meter_id_round_trip():
    from meter.s1.synth import encode_frames
    rows = encode_frames([[-32768, 32767, -1]], [[-8388608, 8388607, -1, 0]], seq=[255], meter_id="1SAG1100000292",
                         sampling=-5, freq_mhz=65535)
    rec = next(decode_bytes(rows.tobytes()).frames.records())
    assert rec["v"] == [-819.2, 819.175, -0.025]
    assert rec["i"] == [-8388.608, 8388.607, -0.001, 0.0]
    assert rec["meter_id"] == "1SAG1100000292" and rec["seq"] == 255
    assert rec["sampling"] == -5 and rec["freq_hz"] == 65.535


def _cfg(**kw):
    return SynthConfig(frames=kw.pop("frames", 300), **kw)


def test_clean_stream_all_frames_no_errors():
    cfg = _cfg()
    res = decode_bytes(synth_stream(cfg))
    assert res.stats.frames == 300
    assert (res.stats.fcs_errors, res.stats.seq_gaps, res.stats.bytes_skipped) == (0, 0, 0)
    assert res.frames.seq.tolist() == [k % 256 for k in range(300)]


@pytest.mark.parametrize("shared", [False, True])
def test_shared_and_separate_flags(shared):
    data = synth_stream(_cfg(shared_flags=shared))
    assert len(data) == (300 * 44 + 1 if shared else 300 * 45)
    res = decode_bytes(data)
    assert res.stats.frames == 300 and res.stats.bytes_skipped == 0


def test_resync_after_garbage():
    rows = synth_frames(_cfg(frames=20))
    # Garbage that looks like the start of frames: flags, partial headers, a header without an end.
    junk = bytes([0x7E, 0x7E, 0x80, 0x2B, 0x12, 0x7E, 0x80, 0x2B, 0xFF, 0x03, 0x00, 0x7E, 0x55])
    data = rows[:5].tobytes() + junk + rows[5:12].tobytes() + b"\x00" * 100 + rows[12:].tobytes()
    res = decode_bytes(data)
    assert res.stats.frames == 20
    assert res.stats.fcs_errors == 0
    assert res.stats.seq_gaps == 0
    assert res.stats.bytes_skipped == len(junk) + 100
    assert res.frames.seq.tolist() == list(range(20))


def test_garbage_from_synth_counts_skipped_bytes():
    cfg = _cfg(garbage={0: 17, 50: 300, 299: 1})
    res = decode_bytes(synth_stream(cfg))
    assert res.stats.frames == 300 and res.stats.bytes_skipped == 318


def test_fcs_error_counted_and_frame_dropped():
    cfg = _cfg(corrupt_fcs=(10, 11, 200))
    res = decode_bytes(synth_stream(cfg))
    assert res.stats.fcs_errors == 3
    assert res.stats.frames == 297
    assert set(range(300)) - set((res.frames.offset // 45).tolist()) == {10, 11, 200}
    # The lost data shows as two sequence discontinuities, 3 numbers missing.
    assert res.stats.seq_gaps == 2 and res.stats.frames_missing == 3
    assert res.stats.bytes_skipped == 0


def test_corrupted_data_byte_is_fcs_error():
    rows = synth_frames(_cfg(frames=3))
    rows[1, 30] ^= 0x01
    res = decode_bytes(rows.tobytes())
    assert res.stats.frames == 2 and res.stats.fcs_errors == 1


def test_seq_gaps_with_wrap():
    cfg = _cfg(frames=20, seq_start=250, drop=(3, 7, 8))
    res = decode_bytes(synth_stream(cfg))
    seq = res.frames.seq.tolist()
    # Indices 3, 7, 8 carry sequence numbers 253, 1, 2.
    assert seq == [250, 251, 252, 254, 255, 0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    assert res.stats.frames == 17
    assert res.stats.seq_gaps == 2 and res.stats.frames_missing == 3


def test_wrap_255_to_0_is_not_a_gap():
    res = decode_bytes(synth_stream(_cfg(frames=10, seq_start=252)))
    assert res.frames.seq.tolist() == [252, 253, 254, 255, 0, 1, 2, 3, 4, 5]
    assert res.stats.seq_gaps == 0


def test_gap_across_wrap_counted():
    # 254, 255, [0, 1 dropped], 2: one gap of two frames across the wrap.
    res = decode_bytes(synth_stream(_cfg(frames=6, seq_start=254, drop=(2, 3))))
    assert res.frames.seq.tolist() == [254, 255, 2, 3]
    assert res.stats.seq_gaps == 1 and res.stats.frames_missing == 2


def test_truncated_final_frame():
    data = synth_stream(_cfg(frames=10, trailing_bytes=30))
    res = decode_bytes(data)
    assert res.stats.frames == 10
    assert res.stats.bytes_skipped == 30
    assert res.stats.truncated_tail is True


def test_truncated_capture_shorter_than_a_frame(example):
    res = decode_bytes(example[:20])
    assert res.stats.frames == 0 and res.stats.bytes_skipped == 20 and res.stats.truncated_tail


def test_no_flags():
    data = bytes(range(0x00, 0x7E)) * 50
    res = decode_bytes(data)
    assert res.stats.frames == 0 and res.stats.flags == 0 and res.stats.bytes_skipped == len(data)


def test_wrong_baud_garbage_finds_nothing():
    # The bits of a good stream, read one bit out of step: every byte is wrong, no frame survives.
    good = np.frombuffer(synth_stream(_cfg(frames=100)), dtype=np.uint8).astype(np.uint16)
    shifted = (((good[:-1] << 1) | (good[1:] >> 7)) & 0xFF).astype(np.uint8).tobytes()
    res = decode_bytes(shifted)
    assert res.stats.frames == 0 and res.stats.headers == 0
    assert res.stats.bytes_skipped == len(shifted)


@pytest.mark.parametrize("chunk", [1, 44, 45, 46, 97, 4096])
def test_chunk_boundaries_do_not_matter(chunk):
    cfg = _cfg(frames=120, shared_flags=True, corrupt_fcs=(5,), drop=(9,), garbage={30: 7, 60: 50},
               trailing_bytes=12)
    data = synth_stream(cfg)
    whole = decode_bytes(data)
    dec = S1Decoder()
    parts = [dec.feed(data[o:o + chunk]) for o in range(0, len(data), chunk)]
    stats = dec.finish()
    assert stats == whole.stats
    assert np.concatenate([p.seq for p in parts]).tolist() == whole.frames.seq.tolist()
    assert np.concatenate([p.offset for p in parts]).tolist() == whole.frames.offset.tolist()
    assert whole.stats.frames == 118 and whole.stats.fcs_errors == 1 and whole.stats.bytes_skipped == 57 + 12


def test_good_frame_wins_over_fake_candidate_inside_it():
    # A current value whose bytes read 7E 80 2B FF 03 inside a frame, plus a flag 44 bytes on:
    # the decoder must keep the real frames, not the fake start.
    from meter.s1.synth import encode_frames
    i = np.zeros((3, 4), dtype=np.int64)
    v = np.zeros((3, 3), dtype=np.int64)
    v[0, 2] = 0x7E80  # V L3, bytes 34..35 = 7E 80
    i[0, 2] = 0x2BFF03  # I L3, bytes 36..38 = 2B FF 03
    i[1, 1] = 0x7E  # I L2 of the next frame ends at its byte 33 = byte 34 + 44 of the first
    rows = encode_frames(v, i, seq=[0, 1, 2])
    data = rows.tobytes()
    assert data[34:39] == bytes([0x7E, 0x80, 0x2B, 0xFF, 0x03]) and data[34 + 44] == 0x7E
    res = decode_bytes(data)
    assert res.frames.seq.tolist() == [0, 1, 2]
    assert res.stats.fcs_errors == 0 and res.stats.bytes_skipped == 0


def test_frames_to_stream_faults_by_index():
    rows = synth_frames(_cfg(frames=4))
    data = frames_to_stream(rows, drop=(0,), garbage={2: 5})
    assert len(data) == 3 * 45 + 5
    assert decode_bytes(data).frames.seq.tolist() == [1, 2, 3]
