"""On a p1s1 board the reader counts the S1 port's frames and publishes the counters and the mains frequency
each second: under MicroPython on a pty, a synthetic stream with faults counted as the host decoder counts it."""

from meter.s1 import decode_bytes
from meter.s1.synth import SynthConfig, synth_stream
from reader_helpers import wait_for


def test_s1_counters_and_frequency_published(running, observer):
    r = running(s1=True)
    stream = synth_stream(SynthConfig(frames=3000, freq_hz=49.987, seed=7, corrupt_fcs=(100, 1700),
                                      garbage={900: 13}))
    expected = decode_bytes(stream).stats
    assert expected.fcs_errors == 2 and expected.bytes_skipped > 0
    r.send_s1(stream)
    want = {"frames": expected.frames, "fcs_errors": expected.fcs_errors, "seq_gaps": expected.seq_gaps,
            "skipped": expected.bytes_skipped}
    wait_for(lambda: all(observer.last(f"p1test/s1/{k}") == str(v).encode() for k, v in want.items()),
             f"the S1 counters {want}")
    assert observer.last("p1test/s1/frequency_hz") == b"49.987"
