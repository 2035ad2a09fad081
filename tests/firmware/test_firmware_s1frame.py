"""S1 frame counting (firmware/s1frame.py) against the host decoder meter.s1, an
independent implementation: same synthetic streams, with faults, same counts."""

import pathlib
import random
import tracemalloc

import pytest

from firmware import s1frame as sf
from meter.s1 import crc16_x25, decode_bytes
from meter.s1.synth import SynthConfig, synth_frames, synth_stream

EXAMPLE = pathlib.Path(__file__).resolve().parent / "data" / "s1-example-frame.hex"

STREAMS = {
    "clean": SynthConfig(frames=600, seed=1),
    "faults": SynthConfig(frames=2000, corrupt_fcs=(5, 700, 701), drop=(40, 41, 900),
                          garbage={100: 13, 1500: 200}, trailing_bytes=20, seed=3),
    "shared-flags": SynthConfig(frames=1500, shared_flags=True, corrupt_fcs=(5,), drop=(40,),
                                garbage={100: 3, 0: 7}, v_noise=1.0, seed=4),
    "per-second-wrap": SynthConfig(frames=700, per_period=False, sampling=40, seq_start=250,
                                   drop=(3, 300), seed=5),
}


def count(data, chunks=(len,)):
    """Feed `data` in a cycle of chunk sizes (a callable takes the whole rest); flush; return counter."""
    c = sf.Counter()
    i = k = 0
    while i < len(data):
        step = chunks[k % len(chunks)]
        n = step(data[i:]) if callable(step) else step
        c.feed(data[i:i + n])
        i += n
        k += 1
    c.flush()
    return c


def host_counts(data):
    s = decode_bytes(data).stats
    return s.frames, s.fcs_errors, s.seq_gaps, s.bytes_skipped


def counts(c):
    return c.frames, c.fcs_errors, c.seq_gaps, c.skipped


def test_crc_matches_host_and_the_specification_example():
    frame = bytes.fromhex(EXAMPLE.read_text()) if EXAMPLE.exists() else None
    if frame is not None:
        assert len(frame) == 45
        assert sf.crc16_x25(frame[1:42]) == 0xB2C5 == frame[42] | frame[43] << 8
        c = count(frame)
        assert counts(c) == (1, 0, 0, 0) and c.last_frames(1) == [frame]
    rng = random.Random(9)
    for n in (0, 1, 41, 200):
        data = bytes(rng.randrange(256) for _ in range(n))
        assert sf.crc16_x25(data) == crc16_x25(data)
    assert sf.crc16_x25(b"123456789") == 0x906E  # the CRC-16/X-25 check value


@pytest.mark.parametrize("name", sorted(STREAMS))
@pytest.mark.parametrize("chunks", [(len,), (1,), (44, 45, 46), (7, 300, 2, 1000)],
                         ids=["whole", "bytewise", "near-frame", "mixed"])
def test_counts_equal_the_host_decoder(name, chunks):
    data = synth_stream(STREAMS[name])
    want = host_counts(data)
    got = count(data, chunks)
    assert counts(got) == want
    assert got.bytes == len(data)


def test_counts_are_what_the_faults_put_in():
    cfg = STREAMS["faults"]
    c = count(synth_stream(cfg))
    # 2000 frames, 3 dropped, 3 with a broken FCS; gaps at 5, 40-41, 700-701, 900;
    # skipped: 13 + 200 garbage bytes + the 20-byte cut-off frame at the end.
    assert counts(c) == (1994, 3, 4, 233)


def test_random_splits_give_the_same_counts():
    data = synth_stream(STREAMS["faults"])
    want = host_counts(data)
    rng = random.Random(42)
    for _ in range(5):
        assert counts(count(data, (lambda rest: rng.randint(1, 400),))) == want


def test_garbage_only_and_lost_bytes():
    rng = random.Random(3)
    noise = bytes(rng.choice([b for b in range(256) if b != 0x7E]) for _ in range(3000))
    assert counts(count(noise)) == (0, 0, 0, 3000)
    frames = synth_frames(SynthConfig(frames=10, seed=2))
    lost = bytearray(frames.tobytes())
    del lost[45 * 4 + 20]  # a UART overrun loses one byte of frame 4: the next frame's opening flag
    assert counts(count(bytes(lost))) == (9, 1, 1, 0) == host_counts(bytes(lost))  # ends it: bad FCS
    extra = bytearray(frames.tobytes())
    extra[45 * 4 + 20:45 * 4 + 20] = b"\x00"  # a glitch adds a byte: frame 4 loses its shape
    assert counts(count(bytes(extra))) == (9, 0, 1, 46) == host_counts(bytes(extra))


def test_bytes_waiting_for_a_frame_are_not_counted_until_flush():
    frame = synth_frames(SynthConfig(frames=1, seed=2)).tobytes()
    c = sf.Counter()
    c.feed(b"\x00\x01" + frame[:30])
    assert counts(c) == (0, 0, 0, 2)
    c.feed(frame[30:])
    assert counts(c) == (1, 0, 0, 2)
    c.feed(frame[:10])
    c.flush()
    assert counts(c) == (1, 0, 0, 12)


def test_last_frames_are_the_raw_bytes_oldest_first_good_or_bad():
    rows = synth_frames(SynthConfig(frames=20, seed=7))
    data = synth_stream(SynthConfig(frames=20, seed=7, corrupt_fcs=(18,)))
    sent = [data[k:k + 45] for k in range(0, len(data), 45)]  # 7E 7E between frames: 45 bytes each
    c = count(data, (13,))
    got = c.last_frames(3)
    assert got == sent[17:] and got[0] == rows[17].tobytes() and got[2] == rows[19].tobytes()
    assert got[1] != rows[18].tobytes() and got[1][:42] == rows[18].tobytes()[:42]  # the bad FCS, as sent
    assert c.fcs_errors == 1 and c.last_frames(100) == sent[20 - sf.KEEP_FRAMES:]
    assert c.last_frames(0) == [] and sf.Counter().last_frames(3) == []
    assert sf.frame_lines(c, 2) == ["@F " + f.hex().upper() for f in sent[18:]]
    assert [len(line) for line in sf.frame_lines(c, 2)] == [3 + 90, 3 + 90]


def test_reset_starts_afresh_mid_frame():
    data = synth_stream(SynthConfig(frames=50, corrupt_fcs=(3,), seed=6))
    c = sf.Counter()
    c.feed(data[:45 * 10 + 20])  # ten frames and part of the eleventh
    assert (c.frames, c.fcs_errors, c.waiting) == (9, 1, 20)
    c.reset()
    assert counts(c) == (0, 0, 0, 0) and c.bytes == 0 and c.waiting == 0 and c.last_frames(8) == []
    c.feed(data[45 * 10 + 20:])  # the rest of the cut frame is garbage now; no gap to the old numbers
    c.flush()
    assert counts(c) == (39, 0, 0, 25)


def test_status_line_exact():
    c = count(synth_stream(STREAMS["faults"]))
    assert sf.status_line(c, 2) == ("@S frames=1994 fcs_errors=3 seq_gaps=4 skipped=233 bytes=%d uart_errors=2"
                                    % c.bytes)


def test_too_small_buffer_is_refused():
    with pytest.raises(ValueError):
        sf.Counter(buf_size=89)


def test_memory_does_not_grow_over_20000_frames():
    data = synth_stream(SynthConfig(frames=2000, corrupt_fcs=(5, 99), garbage={50: 30}, seed=8))
    c = sf.Counter()

    def run(n):
        for _ in range(n):
            for i in range(0, len(data), 777):
                c.feed(data[i:i + 777])

    run(1)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        run(10)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    assert c.frames == 11 * 1998
    growth = sum(s.size_diff for s in after.compare_to(before, "filename")
                 if s.traceback[0].filename.endswith("s1frame.py"))
    assert growth < 1024, "s1frame.py grew by %d bytes over 20,000 frames" % growth
