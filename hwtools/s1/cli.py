"""``p1reader-s1``: decode, analyse or synthesise S1 captures (raw bytes as read from the 2 Mbit/s line).

Exit codes: 0 done; 1 no (valid) S1 frames, or too few to analyse; 2 file unreadable/unwritable or
bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .frames import FRAME_LEN, DecodeResult, decode_file

PROGRESS_MIN_BYTES = 8 << 20  # show progress for captures above this size (about 45 s of S1 data)


class _Progress:
    def __init__(self, name: str, enabled: bool) -> None:
        self.name, self.enabled = name, enabled
        self.t0 = time.monotonic()
        self.last = -1
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < PROGRESS_MIN_BYTES:
            return
        pct = int(100 * done / total) if total else 100
        if pct // 10 == self.last // 10 and pct != 100 and not self.tty:
            return
        self.last = pct
        dt = max(time.monotonic() - self.t0, 1e-9)
        msg = f"{self.name}: {pct:3d}% ({done / 1e6:.1f} of {total / 1e6:.1f} MB, {done / 1e6 / dt:.0f} MB/s)"
        print(("\r" + msg) if self.tty else msg, end="" if self.tty and pct < 100 else "\n",
              file=sys.stderr, flush=True)


def _decode(path: Path, progress: bool) -> DecodeResult:
    return decode_file(path, progress=_Progress(f"decoding {path}", progress))


def _no_frames(path: Path, res: DecodeResult) -> str | None:
    """The verdict when nothing usable was found, else None."""
    st = res.stats
    if st.frames:
        return None
    if st.bytes_total == 0:
        return f"no S1 frames found in {path} (empty file)"
    what = f"{st.bytes_total} bytes, {st.flags} flags, {st.headers} frame headers"
    if st.fcs_errors:
        return f"no valid S1 frames in {path} ({what}, {st.fcs_errors} FCS errors)"
    if st.headers:
        hint = "capture shorter than one frame" if st.bytes_total < FRAME_LEN else "frames incomplete"
        return f"no S1 frames found in {path} ({what}; {hint})"
    hint = "" if st.flags == 0 and st.bytes_total < FRAME_LEN else \
        "; wrong baud rate (2 Mbit/s 8N1 expected) or not an S1 stream?"
    return f"no S1 frames found in {path} ({st.bytes_total} bytes, {st.flags} flags){hint}"


def _summary_line(path: Path, res: DecodeResult) -> str:
    st = res.stats
    s = (f"{path}: {st.frames} frames, {st.fcs_errors} FCS errors, {st.seq_gaps} sequence gaps "
         f"({st.frames_missing} frames missing), {st.bytes_skipped} of {st.bytes_total} bytes skipped")
    if st.truncated_tail:
        s += ", capture ends inside a frame"
    return s


def cmd_decode(args) -> int:
    res = _decode(args.capture, not args.quiet)
    verdict = _no_frames(args.capture, res)
    out = sys.stdout
    if args.json:
        for rec in res.frames.records():
            out.write(json.dumps(rec) + "\n")
        out.write(json.dumps(res.stats.summary()) + "\n")
    else:
        fr = res.frames
        if len(fr):
            ids = sorted({m.decode("ascii", "replace") for m in fr.meter_id.tolist()})
            print(f"meter id {', '.join(repr(m) for m in ids)}; "
                  f"{'poly' if fr.poly_phase[0] else 'single'} phase; "
                  f"{'per period' if fr.per_period[0] else 'per second'} sampling {int(fr.sampling[0])}")
            print(f"{'offset':>10}{'seq':>5}{'f Hz':>9}" + "".join(f"{'V ' + p:>10}" for p in ("L1", "L2", "L3"))
                  + "".join(f"{'I ' + p:>10}" for p in ("L1", "L2", "L3", "N")))
            shown = fr[: args.rows] if args.rows >= 0 else fr
            for rec in shown.records():
                print(f"{rec['offset']:>10}{rec['seq']:>5}{rec['freq_hz']:>9.3f}"
                      + "".join(f"{x:>10.3f}" for x in rec["v"]) + "".join(f"{x:>10.3f}" for x in rec["i"]))
            if len(shown) < len(fr):
                print(f"... {len(fr) - len(shown)} more frames (--rows -1 shows all)")
        print(_summary_line(args.capture, res))
    if verdict:
        print(verdict, file=sys.stderr)
        return 1
    return 0


def cmd_analyze(args) -> int:
    from .analysis import AnalysisError, analyze, format_analysis

    res = _decode(args.capture, not args.quiet)
    verdict = _no_frames(args.capture, res)
    if verdict:
        print(verdict, file=sys.stderr)
        return 1
    try:
        a = analyze(res.frames, max_periods=args.periods)
    except AnalysisError as e:
        print(f"cannot analyse {args.capture}: {e}", file=sys.stderr)
        return 1
    if args.plot:
        from .plot import plot_capture
        try:
            plot_capture(res.frames, args.plot, analysis=a)
        except OSError as e:
            print(f"cannot write plot {args.plot}: {e}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps({"decode": res.stats.as_dict(), "analysis": a.as_dict()}))
    else:
        print(_summary_line(args.capture, res))
        print(format_analysis(a))
        if args.plot:
            print(f"plot written to {args.plot}")
    return 0


def cmd_synth(args) -> int:
    from .synth import SynthConfig, synth_stream

    harm = {}
    for spec in args.harmonic:
        try:
            order, rel = spec.split(":")
            harm[int(order)] = float(rel)
        except ValueError:
            print(f"bad --harmonic {spec!r}: expected ORDER:RELATIVE, e.g. 3:0.05", file=sys.stderr)
            return 2
    cfg = SynthConfig(frames=args.frames, meter_id=args.meter_id, freq_hz=args.freq,
                      per_period=not args.per_second, sampling=args.sampling,
                      v_rms=(args.v_rms,) * 3, i_rms=(args.i_rms,) * 3, i_angle_deg=(args.angle,) * 3,
                      v_harmonics=harm, i_harmonics=harm, v_noise=args.v_noise, i_noise=args.i_noise,
                      seed=args.seed, seq_start=args.seq_start, shared_flags=args.shared_flags)
    try:
        data = synth_stream(cfg)
        Path(args.out).write_bytes(data)
    except ValueError as e:
        print(f"cannot synthesise: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"cannot write {args.out}: {e}", file=sys.stderr)
        return 2
    print(f"{args.out}: {cfg.frames} frames, {len(data)} bytes, {cfg.frames / cfg.sample_rate_hz:.3f} s "
          f"at {cfg.sample_rate_hz:g} frames/s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="p1reader-s1", description="Fluvius S1 port captures (2 Mbit/s HDLC frames)")
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("decode", help="list the frames of a capture and count errors")
    d.add_argument("capture", type=Path)
    d.add_argument("--json", action="store_true", help="one JSON object per valid frame, then a summary")
    d.add_argument("--rows", type=int, default=10, help="frames shown in the table (-1 = all)")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    d.set_defaults(func=cmd_decode)
    a = sub.add_parser("analyze", help="RMS, power, power factor, THD and harmonics of a capture")
    a.add_argument("capture", type=Path)
    a.add_argument("--plot", type=Path, help="write waveforms and spectrum to this PNG")
    a.add_argument("--json", action="store_true")
    a.add_argument("--periods", type=int, default=50, help="periods analysed (default 50)")
    a.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    a.set_defaults(func=cmd_analyze)
    s = sub.add_parser("synth", help="write a synthetic S1 stream (for tests and bring-up)")
    s.add_argument("out", type=Path)
    s.add_argument("--frames", type=int, default=2600)
    s.add_argument("--meter-id", default="1SAG1100000292")
    s.add_argument("--freq", type=float, default=50.0)
    s.add_argument("--sampling", type=int, default=52, help="samples per period (or x100 Hz with --per-second)")
    s.add_argument("--per-second", action="store_true")
    s.add_argument("--v-rms", type=float, default=230.0)
    s.add_argument("--i-rms", type=float, default=10.0)
    s.add_argument("--angle", type=float, default=0.0, help="current lag in degrees")
    s.add_argument("--harmonic", action="append", default=[], metavar="ORDER:REL")
    s.add_argument("--v-noise", type=float, default=0.0)
    s.add_argument("--i-noise", type=float, default=0.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--seq-start", type=int, default=0)
    s.add_argument("--shared-flags", action="store_true")
    s.set_defaults(func=cmd_synth)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "capture", None) is not None:
        try:
            if not args.capture.is_file():
                raise OSError(f"{args.capture}: not a regular file" if args.capture.exists()
                              else f"{args.capture}: no such file")
            with args.capture.open("rb"):
                pass
        except OSError as e:
            print(f"cannot read capture: {e}", file=sys.stderr)
            return 2
    try:
        return args.func(args)
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # e.g. `| head`: stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        print(f"cannot read {getattr(args, 'capture', '')}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
