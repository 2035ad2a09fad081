"""Streaming pieces: JSON lines by the block, synth by the block, the longest run and rolling windows fed
chunk by chunk, and the command's behaviour on pipes."""

import contextlib
import json
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from meter.s1 import S1Decoder, S1Frames, decode_bytes
from meter.s1.analysis import analyze
from meter.s1.jsonl import json_lines
from meter.s1.synth import (I_RANGE, V_RANGE, SynthConfig, encode_frames, quantise, synth_chunks, synth_stream)
from meter.s1.windows import LongestRun, RollingAnalysis

ROOT = Path(__file__).resolve().parents[2]


def decode_in_chunks(data: bytes, chunk: int):
    """(frames, fcs error offsets) per chunk, as the command sees them."""
    dec = S1Decoder()
    for o in range(0, len(data), chunk):
        frames = dec.feed(data[o:o + chunk])
        yield frames, dec.fcs_error_offsets
    dec.finish()


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 30), info=st.integers(0, 255), sampling=st.integers(-128, 127),
       freq=st.integers(0, 0xFFFF), seq0=st.integers(0, 255),
       meter_id=st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x7F), max_size=14))
def test_json_lines_are_the_records(data, n, info, sampling, freq, seq0, meter_id):
    v = data.draw(hnp.arrays(np.int64, (n, 3), elements=st.integers(*V_RANGE)))
    i = data.draw(hnp.arrays(np.int64, (n, 4), elements=st.integers(*I_RANGE)))
    rows = encode_frames(v, i, seq=seq0 + np.arange(n), meter_id=meter_id, info=info, sampling=sampling,
                         freq_mhz=freq)
    frames = decode_bytes(b"\x00" * data.draw(st.integers(0, 10 ** 6)) + rows.tobytes()).frames
    lines = json_lines(frames).decode("ascii").splitlines()
    assert [json.loads(line) for line in lines] == list(frames.records())


def test_json_lines_of_mixed_meter_ids():
    a = encode_frames(np.zeros((2, 3)), np.zeros((2, 4)), seq=[0, 1], meter_id='A"B\\C')
    b = encode_frames(np.ones((2, 3)), np.ones((2, 4)), seq=[2, 3], meter_id="1SAG1100000292")
    frames = decode_bytes(np.concatenate([a, b, a]).tobytes()).frames
    assert [json.loads(line)["meter_id"] for line in json_lines(frames).splitlines()] == \
        ['A"B\\C'] * 2 + ["1SAG1100000292"] * 2 + ['A"B\\C'] * 2
    assert json_lines(S1Frames.empty()) == b""


@pytest.mark.parametrize("shared", [False, True])
def test_synth_by_blocks_is_the_same_stream(shared):
    cfg = SynthConfig(frames=100, shared_flags=shared, corrupt_fcs=(6, 7, 50), drop=(13, 14, 99),
                      garbage={0: 5, 7: 3, 14: 9, 21: 2, 100: 4}, trailing_bytes=20, v_harmonics={3: 0.1})
    whole = b"".join(synth_chunks(cfg, block_frames=1000))
    for block in (1, 7, 13, 14):
        assert b"".join(synth_chunks(cfg, block_frames=block)) == whole, block
    res = decode_bytes(whole)
    assert res.stats.frames == 94 and res.stats.fcs_errors == 3


def test_longest_run_fed_in_chunks_matches_the_whole_analysis():
    cfg = SynthConfig(frames=52 * 40, drop=(300, 301), corrupt_fcs=(1500,), i_harmonics={3: 0.1}, seq_start=77)
    data = synth_stream(cfg)
    expect = analyze(decode_bytes(data).frames, max_periods=20)
    for chunk in (45, 1000, 1 << 20):
        run = LongestRun(20)
        for frames, _ in decode_in_chunks(data, chunk):
            run.add(frames)
        a = run.analysis()
        assert asdict(a) == asdict(expect), chunk
    assert a.run_frames == 1500 - 302 and a.frames_total == 52 * 40 - 3 and a.periods == 20


def rolling(data: bytes, window_s: float, chunk: int) -> list[dict]:
    out = []
    r = RollingAnalysis(window_s, out.append)
    for frames, errors in decode_in_chunks(data, chunk):
        r.add(frames, errors)
    r.finish()
    return out


def test_rolling_windows_whatever_the_chunking():
    cfg = SynthConfig(frames=2600 * 3 + 100, freq_hz=50.0, v_rms=(230.0, 231.0, 229.0), i_rms=(10.0, 5.0, 1.0),
                      i_angle_deg=(30.0, 0.0, 0.0), v_harmonics={3: 0.05}, i_harmonics={5: 0.1},
                      corrupt_fcs=(10, 2700), drop=(5300, 5301, 5302), garbage={4000: 30})
    data = synth_stream(cfg)
    windows = rolling(data, 1.0, 1 << 20)
    assert [w["frames"] for w in windows] == [2599, 2599, 2597, 100]
    assert [w["fcs_errors"] for w in windows] == [1, 1, 0, 0]
    assert [w["seq_gaps"] for w in windows] == [1, 1, 1, 0]
    assert [w["frames_missing"] for w in windows] == [1, 1, 3, 0]
    assert [w.get("partial", False) for w in windows] == [False, False, False, True]
    assert [w["start_s"] for w in windows] == [0.0, 1.0, 2.0, 3.0]
    w = windows[0]
    l1 = w["phases"][0]
    assert abs(l1["v_rms"] - 230 * np.sqrt(1.0025)) < 0.025 and abs(l1["v_thd"] - 0.05) < 1e-4
    assert abs(l1["i_thd"] - 0.1) < 1e-4 and abs(l1["pf"] - np.cos(np.radians(30)) / np.sqrt(1.01 * 1.0025)) < 1e-4
    assert l1["harmonics"] == 25  # below the Nyquist order at 52 samples per period
    assert w["freq_hz"] == 50.0 and abs(w["freq_measured_hz"] - 50.0) < 1e-4
    for chunk in (45, 4096):
        assert rolling(data, 1.0, chunk) == windows, chunk


def test_rolling_window_too_short_to_analyse_says_why(tmp_path):
    data = synth_stream(SynthConfig(frames=30))
    (w,) = rolling(data, 1.0, 1 << 20)
    assert w["partial"] and w["frames"] == 30 and "less than one period" in w["error"]
    path = tmp_path / "short.bin"
    path.write_bytes(data)
    proc = run("analyze", path, "--window", "1", "--plot", tmp_path / "p.png")
    assert proc.returncode == 1 and b"no window could be analysed" in proc.stderr and b"Traceback" not in proc.stderr


def test_measured_frequency_checks_the_field():
    """Samples of a 50.5 Hz wave labelled 50.000 Hz, 52 per (labelled) period: the field says 50, the samples
    say 50.5 (the sample rate, 52 x 50 Hz, is taken from the fields)."""
    n = 52 * 60
    t = np.arange(n) / (52 * 50.0)
    v = np.zeros((n, 3))
    v[:, 0] = 325 * np.sin(2 * np.pi * 50.5 * t)
    v_raw, i_raw = quantise(v, np.zeros((n, 4)))
    rows = encode_frames(v_raw, i_raw, seq=np.arange(n), info=0x0A, sampling=52, freq_mhz=50000)
    a = analyze(decode_bytes(rows.tobytes()).frames)
    assert a.freq_hz == 50.0 and abs(a.freq_measured_hz - 50.5) < 2e-3


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "p1reader", "s1", *map(str, args)], cwd=ROOT, capture_output=True,
                          timeout=300, **kw)


def test_json_into_a_closed_pipe_ends_quietly(tmp_path):
    path = tmp_path / "c.bin"
    path.write_bytes(synth_stream(SynthConfig(frames=40000)))
    proc = subprocess.Popen([sys.executable, "-m", "p1reader", "s1", "decode", str(path), "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert json.loads(proc.stdout.readline())["seq"] == 0
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0 and err == ""


def test_synth_any_frame_count_streams():
    """Ten billion frames (450 GB) to a pipe that takes 1 MB: synth writes as it makes, so it starts at once
    and ends quietly when the reader goes."""
    proc = subprocess.Popen([sys.executable, "-m", "p1reader", "s1", "synth", "-", "--frames", "10000000000"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = proc.stdout.read(1 << 20)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0 and err == ""
    res = decode_bytes(head)
    assert res.stats.frames == (1 << 20) // 45 and res.stats.seq_gaps == 0


def test_ctrl_c_stops_synth_without_a_traceback():
    proc = subprocess.Popen([sys.executable, "-m", "p1reader", "s1", "synth", "-", "--frames", "10000000000"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert len(proc.stdout.read(1 << 16)) == 1 << 16  # it is writing
    proc.send_signal(signal.SIGINT)
    proc.stdout.read()  # whatever was on its way, to the end
    assert proc.wait(timeout=300) == 130 and proc.stderr.read().decode().strip() == "interrupted"


def test_stdin_and_save(tmp_path):
    data = synth_stream(SynthConfig(frames=500, corrupt_fcs=(9,)))
    saved = tmp_path / "saved.bin"
    proc = run("decode", "-", "--json", "--save", saved, input=data)
    assert proc.returncode == 0
    assert json.loads(proc.stdout.splitlines()[-1]) == {"frames": 499, "fcs_errors": 1, "seq_gaps": 1,
                                                         "bytes_skipped": 0}
    assert saved.read_bytes() == data


def test_analyze_file_with_window(tmp_path):
    path = tmp_path / "c.bin"
    path.write_bytes(synth_stream(SynthConfig(frames=2600 * 2, corrupt_fcs=(5100,))))
    png = tmp_path / "last.png"
    proc = run("analyze", path, "--window", "0.5", "--plot", png)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [w["frames"] for w in lines[:-1]] == [1300, 1300, 1300, 1299]
    assert [w["fcs_errors"] for w in lines[:-1]] == [0, 0, 0, 1]
    assert lines[-1] == {"frames": 5199, "fcs_errors": 1, "seq_gaps": 1, "bytes_skipped": 0, "windows": 4}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@settings(max_examples=25, deadline=None)
@given(drop=st.sets(st.integers(0, 599), max_size=40), chunk=st.integers(300, 9000), periods=st.integers(1, 12))
def test_longest_run_is_the_first_longest_whatever_the_chunking(drop, chunk, periods):
    from meter.s1.analysis import AnalysisError, longest_run

    data = synth_stream(SynthConfig(frames=600, drop=tuple(sorted(drop))))
    frames = decode_bytes(data).frames
    run = LongestRun(periods)
    for part, _ in decode_in_chunks(data, chunk):
        run.add(part)
    with contextlib.suppress(AnalysisError):  # a run shorter than a period: still the one kept
        run.analysis()
    whole = frames[longest_run(frames)]
    assert run.best_len == len(whole)
    need = min(len(whole), 52 * periods + 1)
    assert run.best_head.offset.tolist() == whole.offset[:need].tolist()
