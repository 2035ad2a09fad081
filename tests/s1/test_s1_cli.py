"""The ``p1reader-s1`` command: JSON contract, verdicts and exit codes, run as a subprocess."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meter.s1.cli import main
from meter.s1.synth import SynthConfig, synth_stream

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_HEX = (ROOT / "tests" / "data" / "s1" / "example-frame.hex").read_text()  # the specification's frame
FRAME_KEYS = {"meter_id", "poly_phase", "per_period", "sampling", "freq_hz", "seq", "v", "i"}


def run(*args):
    proc = subprocess.run([sys.executable, "-m", "p1reader", "s1", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture()
def capture(tmp_path):
    cfg = SynthConfig(frames=200, seq_start=250, corrupt_fcs=(3,), drop=(10,), garbage={20: 9},
                      v_harmonics={3: 0.05}, i_angle_deg=(10, 20, 30))
    path = tmp_path / "capture.bin"
    path.write_bytes(synth_stream(cfg))
    return path


def test_decode_json_contract(capture):
    proc = run("decode", capture, "--json")
    assert proc.returncode == 0
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    frames, summary = lines[:-1], lines[-1]
    assert summary == {"frames": 198, "fcs_errors": 1, "seq_gaps": 2, "bytes_skipped": 9}
    assert len(frames) == 198
    for f in frames:
        assert FRAME_KEYS <= set(f)
        assert len(f["v"]) == 3 and len(f["i"]) == 4
    f0 = frames[0]
    assert f0["meter_id"] == "1SAG1100000292" and f0["poly_phase"] is True and f0["per_period"] is True
    assert f0["sampling"] == 52 and f0["freq_hz"] == 50.0 and f0["seq"] == 250
    assert [f["seq"] for f in frames[:8]] == [250, 251, 252, 254, 255, 0, 1, 2]


def test_decode_example_frame_json(tmp_path):
    path = tmp_path / "example.bin"
    path.write_bytes(bytes.fromhex(EXAMPLE_HEX))
    proc = run("decode", path, "--json")
    assert proc.returncode == 0
    frame, summary = [json.loads(line) for line in proc.stdout.splitlines()]
    assert frame["v"][0] == 70.925 and frame["i"][0] == 1.53 and frame["freq_hz"] == 50.107
    assert frame["seq"] == 15 and frame["sampling"] == 52
    assert summary == {"frames": 1, "fcs_errors": 0, "seq_gaps": 0, "bytes_skipped": 0}


def test_decode_table(capture):
    proc = run("decode", capture)
    assert proc.returncode == 0
    assert "198 frames, 1 FCS errors, 2 sequence gaps" in proc.stdout
    assert "'1SAG1100000292'" in proc.stdout


def test_no_flags_verdict(tmp_path):
    path = tmp_path / "capture.bin"
    path.write_bytes(bytes(1000))
    proc = run("decode", path)
    assert proc.returncode == 1
    assert f"no S1 frames found in {path} (1000 bytes, 0 flags)" in proc.stderr


def test_garbage_verdict_names_baud(tmp_path):
    path = tmp_path / "capture.bin"
    path.write_bytes(bytes([0x7E, 0x13]) * 500)
    proc = run("analyze", path)
    assert proc.returncode == 1
    assert "1000 bytes, 500 flags" in proc.stderr and "baud" in proc.stderr


def test_all_fcs_bad_verdict(tmp_path):
    path = tmp_path / "capture.bin"
    path.write_bytes(synth_stream(SynthConfig(frames=5, corrupt_fcs=(0, 1, 2, 3, 4))))
    proc = run("decode", path, "--json")
    assert proc.returncode == 1
    assert json.loads(proc.stdout.splitlines()[-1])["fcs_errors"] == 5
    assert "no valid S1 frames" in proc.stderr and "5 FCS errors" in proc.stderr


def test_truncated_capture(tmp_path):
    path = tmp_path / "capture.bin"
    path.write_bytes(bytes.fromhex(EXAMPLE_HEX)[:30])
    proc = run("decode", path)
    assert proc.returncode == 1 and "no S1 frames found" in proc.stderr and "30 bytes" in proc.stderr


def test_unreadable_file(tmp_path):
    proc = run("decode", tmp_path / "missing.bin")
    assert proc.returncode == 2 and "missing.bin" in proc.stderr
    proc = run("analyze", tmp_path)
    assert proc.returncode == 2 and "not a regular file" in proc.stderr


def test_empty_file(tmp_path):
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    assert main(["decode", str(path), "-q"]) == 1


def test_analyze_json_and_plot(capture, tmp_path):
    png = tmp_path / "out.png"
    proc = run("analyze", capture, "--json", "--plot", png)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    a = out["analysis"]
    assert out["decode"]["frames"] == 198
    assert abs(a["freq_hz"] - 50.0) < 1e-9 and len(a["phases"]) == 3
    assert abs(a["phases"][0]["v_thd"] - 0.05) < 1e-4
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_analyze_text(capture, capsys):
    assert main(["analyze", str(capture)]) == 0
    out = capsys.readouterr().out
    assert "frequency 50.000 Hz" in out and "THD V" in out


def test_synth_command_round_trip(tmp_path, capsys):
    path = tmp_path / "s.bin"
    assert main(["synth", str(path), "--frames", "104", "--harmonic", "5:0.1", "--seq-start", "7"]) == 0
    assert path.stat().st_size == 104 * 45
    assert main(["decode", str(path), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[1])["seq"] == 7 and json.loads(lines[-1])["frames"] == 104


def test_progress_on_large_captures(capture, monkeypatch, capsys):
    import meter.s1.cli as cli
    monkeypatch.setattr(cli, "PROGRESS_MIN_BYTES", 1)
    assert main(["decode", str(capture), "--json"]) == 0
    err = capsys.readouterr().err
    assert "100%" in err and "capture.bin" in err
    assert main(["decode", str(capture), "--json", "-q"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv, names", [
    (["synth", "x.bin", "--sampling", "0"], "--sampling"),
    (["synth", "x.bin", "--sampling", "128"], "--sampling"),
    (["synth", "x.bin", "--frames", "0"], "--frames"),
    (["synth", "x.bin", "--frames", "-5"], "--frames"),
    (["synth", "x.bin", "--frames", "1e3"], "--frames"),
    (["synth", "x.bin", "--freq", "0"], "--freq"),
    (["synth", "x.bin", "--freq", "nan"], "--freq"),
    (["synth", "x.bin", "--freq", "70"], "--freq"),
    (["synth", "x.bin", "--v-rms", "-1"], "--v-rms"),
    (["synth", "x.bin", "--v-rms", "1000"], "--v-rms"),
    (["synth", "x.bin", "--i-rms", "inf"], "--i-rms"),
    (["synth", "x.bin", "--angle", "400"], "--angle"),
    (["synth", "x.bin", "--harmonic", "oops"], "--harmonic"),
    (["synth", "x.bin", "--harmonic", "1:0.1"], "--harmonic"),
    (["synth", "x.bin", "--harmonic", "3:abc"], "--harmonic"),
    (["synth", "x.bin", "--v-noise", "-0.1"], "--v-noise"),
    (["synth", "x.bin", "--seed", "-1"], "--seed"),
    (["synth", "x.bin", "--seq-start", "256"], "--seq-start"),
    (["synth", "x.bin", "--meter-id", "X" * 15], "--meter-id"),
    (["synth", "x.bin", "--meter-id", "é"], "--meter-id"),
    (["analyze", "x.bin", "--periods", "0"], "--periods"),
    (["analyze", "x.bin", "--periods", "-3"], "--periods"),
    (["analyze", "x.bin", "--window", "0"], "--window"),
    (["analyze", "x.bin", "--window", "100"], "--window"),
    (["decode", "x.bin", "--stall-timeout", "0"], "--stall-timeout"),
    (["decode", "x.bin", "--stall-timeout", "-1"], "--stall-timeout"),
    (["decode", "x.bin", "--rows", "-2"], "--rows"),
    (["decode"], "SOURCE"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_argument_is_a_usage_error(argv, names, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert names in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["synth", "{tmp}/x.bin", "--v-rms", "500", "--harmonic", "3:0.5"], "voltage peak"),
    (["synth", "{tmp}/x.bin", "--i-rms", "3000"], "current peak"),
    (["synth", "{tmp}/missing/x.bin"], "cannot write"),
    (["decode", "{tmp}/capture.bin", "--save", "{tmp}/missing/saved.bin"], "cannot write"),
    (["analyze", "{tmp}/capture.bin", "--plot", "{tmp}/missing/p.png"], "cannot write plot"),
    (["decode", "{tmp}/nothing.bin"], "No such file"),
])
def test_bad_values_found_after_parsing_exit_2(argv, message, capture, tmp_path):
    proc = run(*[a.format(tmp=tmp_path) for a in argv])
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_bad_argument_in_a_subprocess_has_no_traceback():
    proc = run("synth", "x.bin", "--sampling", "0")
    assert proc.returncode == 2 and "argument --sampling: 0 out of range: must be >= 1 and <= 127" in proc.stderr
