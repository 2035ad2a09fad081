"""``p1reader s1``: decode, analyse or synthesise S1 streams (raw bytes as read from the 2 Mbit/s line). Every
input streams in bounded memory and ``--json`` lines come out as the frames are decoded; the commands, the
inputs they take and the exit codes: README.md, "S1 captures and live streams".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

from ..errors import MeterError
from .frames import FRAME_LEN, S1Decoder, S1Frames
from .source import S1_BAUD, Source, SourceError, Stalled, is_port

PROGRESS_MIN_BYTES = 8 << 20  # show progress for captures above this size (about 45 s of S1 data)
MAX_WINDOW_S = 10.0  # a window's frames are kept in memory: 42 000 frames at most at 4.2 kHz
MAX_PERIODS = 1000


class _Progress:
    def __init__(self, name: str, total: int | None, enabled: bool) -> None:
        self.name, self.total = name, total
        self.enabled = enabled and total is not None and total >= PROGRESS_MIN_BYTES
        self.t0 = time.monotonic()
        self.last = -1
        self.tty = sys.stderr.isatty()

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        pct = int(100 * done / self.total) if self.total else 100
        if pct // 10 == self.last // 10 and pct != 100 and not self.tty:
            return
        self.last = pct
        dt = max(time.monotonic() - self.t0, 1e-9)
        msg = f"{self.name}: {pct:3d}% ({done / 1e6:.1f} of {self.total / 1e6:.1f} MB, {done / 1e6 / dt:.0f} MB/s)"
        print(("\r" + msg) if self.tty else msg, end="" if self.tty and pct < 100 else "\n",
              file=sys.stderr, flush=True)


@contextlib.contextmanager
def _ctrl_c():
    """Turns SIGINT into a flag (the read loop stops at the next chunk); yields a function to test it."""
    hit = []
    old = signal.signal(signal.SIGINT, lambda *_: hit.append(True))
    try:
        yield lambda: bool(hit)
    finally:
        signal.signal(signal.SIGINT, old)


class _Run:
    """One pass over an input: the decoder, how the pass ended, and the messages and exit code that follow."""

    def __init__(self, args, what: str) -> None:
        self.args = args
        self.what = what
        self.decoder = S1Decoder()
        self.stopped = False  # Ctrl-C
        self.stalled: str | None = None

    def frames(self):
        """Yields the frames of each chunk of the input; SourceError/OSError escape to main()."""
        args = self.args
        with contextlib.ExitStack() as stack:
            save = stack.enter_context(_open_output(args.save)) if args.save else None
            src = stack.enter_context(Source(args.source, args.stall_timeout, save))
            if src.is_port and not args.quiet:
                print(f"{self.what} {args.source} at {S1_BAUD} bit/s 8N1; Ctrl-C stops", file=sys.stderr,
                      flush=True)
            progress = _Progress(f"{self.what} {args.source}", src.size, not args.quiet)
            stop = stack.enter_context(_ctrl_c())
            try:
                for chunk in src.chunks(stop):
                    yield self.decoder.feed(chunk)
                    progress(self.decoder.stats.bytes_total)
            except Stalled as e:
                self.stalled = str(e)
            self.stopped = stop()
        self.decoder.finish()

    def verdict(self) -> str | None:
        """Why there is nothing to show, else None."""
        st, name = self.decoder.stats, self.args.source
        if st.frames:
            return None
        if st.bytes_total == 0:
            return f"no S1 frames found in {name} (no data)"
        what = f"{st.bytes_total} bytes, {st.flags} flags, {st.headers} frame headers"
        if st.fcs_errors:
            return f"no valid S1 frames in {name} ({what}, {st.fcs_errors} FCS errors)"
        if st.headers:
            hint = "capture shorter than one frame" if st.bytes_total < FRAME_LEN else "frames incomplete"
            return f"no S1 frames found in {name} ({what}; {hint})"
        hint = "" if st.flags == 0 and st.bytes_total < FRAME_LEN else \
            "; wrong baud rate (2 Mbit/s 8N1 expected) or not an S1 stream?"
        return f"no S1 frames found in {name} ({st.bytes_total} bytes, {st.flags} flags){hint}"

    def summary_line(self) -> str:
        st = self.decoder.stats
        s = (f"{self.args.source}: {st.frames} frames, {st.fcs_errors} FCS errors, {st.seq_gaps} sequence gaps "
             f"({st.frames_missing} frames missing), {st.bytes_skipped} of {st.bytes_total} bytes skipped")
        if st.truncated_tail:
            s += ", capture ends inside a frame"
        return s

    def exit_code(self) -> int:
        """Messages on stderr, and the exit code: a stall is an error, Ctrl-C is not."""
        verdict = self.verdict()
        if self.stalled:
            print(self.stalled, file=sys.stderr)
        elif self.stopped and not self.args.quiet:
            print("stopped (Ctrl-C)", file=sys.stderr)
        if verdict:
            print(verdict, file=sys.stderr)
        return 1 if self.stalled or (verdict and not self.stopped) else 0


@contextlib.contextmanager
def _open_output(path: Path):
    try:
        fh = open(path, "wb")
    except OSError as e:
        raise SourceError(f"cannot write {path}: {e.strerror}") from None
    with fh:
        yield fh


def _out(data: bytes) -> None:
    """Write ``data`` to stdout whole. Straight to the descriptor: Ctrl-C during a large buffered write could
    cut a line (partial writes after a signal), which os.write reports and this loop completes."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):  # stdout replaced in-process (tests)
        sys.stdout.write(data.decode())
        return
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def cmd_decode(args) -> int:
    run = _Run(args, "decoding")
    if args.json:
        from .jsonl import json_lines
        for frames in run.frames():
            if len(frames):
                _out(json_lines(frames))
        _out((json.dumps(run.decoder.stats.summary()) + "\n").encode())
    else:
        table = _Table(args.rows)
        for frames in run.frames():
            table.add(frames)
        table.finish()
        print(run.summary_line(), flush=True)
    return run.exit_code()


class _Table:
    """The first ``rows`` frames as a table (all with -1), headed by the first frame's settings."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.shown = self.seen = 0
        self.meter_ids: dict[str, None] = {}  # in order of appearance

    def add(self, fr: S1Frames) -> None:
        if not len(fr):
            return
        if len(self.meter_ids) < 16:
            for m in dict.fromkeys(fr.meter_id[:: max(1, len(fr) // 64)].tolist() + [fr.meter_id[-1]]):
                self.meter_ids.setdefault(m.decode("ascii", "replace"))
        if self.seen == 0:
            print(f"meter id {next(iter(self.meter_ids))!r}; {'poly' if fr.poly_phase[0] else 'single'} phase; "
                  f"{'per period' if fr.per_period[0] else 'per second'} sampling {int(fr.sampling[0])}")
            print(f"{'offset':>10}{'seq':>5}{'f Hz':>9}" + "".join(f"{'V ' + p:>10}" for p in ("L1", "L2", "L3"))
                  + "".join(f"{'I ' + p:>10}" for p in ("L1", "L2", "L3", "N")))
        self.seen += len(fr)
        room = len(fr) if self.rows < 0 else max(0, self.rows - self.shown)
        for rec in fr[:room].records():
            print(f"{rec['offset']:>10}{rec['seq']:>5}{rec['freq_hz']:>9.3f}"
                  + "".join(f"{x:>10.3f}" for x in rec["v"]) + "".join(f"{x:>10.3f}" for x in rec["i"]))
        self.shown += min(room, len(fr))

    def finish(self) -> None:
        if self.shown < self.seen:
            print(f"... {self.seen - self.shown} more frames (--rows -1 shows all)")
        if len(self.meter_ids) > 1:
            print("meter ids seen: " + ", ".join(repr(m) for m in self.meter_ids))


def cmd_analyze(args) -> int:
    from .analysis import AnalysisError, format_analysis
    from .windows import LongestRun, RollingAnalysis

    run = _Run(args, "analysing")
    if (args.source != "-" and is_port(args.source)) or args.window is not None:
        rolling = RollingAnalysis(args.window or 1.0, lambda rec: _out((json.dumps(rec) + "\n").encode()))
        for frames in run.frames():
            rolling.add(frames, run.decoder.fcs_error_offsets)
        rolling.finish()
        _out((json.dumps({**run.decoder.stats.summary(), "windows": rolling.windows}) + "\n").encode())
        code = run.exit_code()
        if args.plot and len(rolling.last_window):
            code = max(code, _plot(args.plot, rolling.last_window))
        elif args.plot:
            print(f"no plot written to {args.plot}: no window could be analysed", file=sys.stderr)
            code = max(code, 1)
        return code
    longest = LongestRun(args.periods)
    for frames in run.frames():
        longest.add(frames)
    if run.verdict() or run.stalled:
        return run.exit_code()
    try:
        a = longest.analysis()
    except AnalysisError as e:
        print(f"cannot analyse {args.source}: {e}", file=sys.stderr)
        return 1
    if args.plot and (code := _plot(args.plot, longest.best_head, a)):
        return code
    if args.json:
        print(json.dumps({"decode": asdict(run.decoder.stats), "analysis": asdict(a)}))
    else:
        print(run.summary_line())
        print(format_analysis(a))
        if args.plot:
            print(f"plot written to {args.plot}")
    return run.exit_code()


def _plot(path: Path, frames: S1Frames, analysis=None) -> int:
    from .plot import plot_capture
    try:
        plot_capture(frames, path, analysis=analysis)
    except OSError as e:
        print(f"cannot write plot {path}: {e.strerror or e}", file=sys.stderr)
        return 2
    return 0


def cmd_synth(args) -> int:
    from .synth import SynthConfig, synth_chunks

    harm = dict(args.harmonic)
    cfg = SynthConfig(frames=args.frames, meter_id=args.meter_id, freq_hz=args.freq,
                      per_period=not args.per_second, sampling=args.sampling,
                      v_rms=(args.v_rms,) * 3, i_rms=(args.i_rms,) * 3, i_angle_deg=(args.angle,) * 3,
                      v_harmonics=harm, i_harmonics=harm, v_noise=args.v_noise, i_noise=args.i_noise,
                      seed=args.seed, seq_start=args.seq_start, shared_flags=args.shared_flags)
    try:
        cfg.check()
    except ValueError as e:
        print(f"cannot synthesise: {e}", file=sys.stderr)
        return 2
    to_stdout = str(args.out) == "-"
    written = 0
    progress = _Progress(f"writing {args.out}", args.frames * FRAME_LEN, not to_stdout)
    with contextlib.ExitStack() as stack:
        out = sys.stdout.buffer if to_stdout else stack.enter_context(_open_output(args.out))
        for chunk in synth_chunks(cfg):
            out.write(chunk)
            written += len(chunk)
            progress(written)
    if not to_stdout:
        print(f"{args.out}: {cfg.frames} frames, {written} bytes, {cfg.frames / cfg.sample_rate_hz:.3f} s "
              f"at {cfg.sample_rate_hz:g} frames/s")
    return 0


# Argument types: each checks its range, so a bad value is a usage error (exit 2), never a traceback.

def _number(kind, lo=None, hi=None, lo_open=False):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {'an integer' if kind is int else 'a number'}: {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
        too_low = lo is not None and (value <= lo if lo_open else value < lo)
        if too_low or (hi is not None and value > hi):
            low = "" if lo is None else f"{'>' if lo_open else '>='} {lo:g}"
            high = "" if hi is None else f"<= {hi:g}"
            raise argparse.ArgumentTypeError(f"{text} out of range: must be {' and '.join(filter(None, [low, high]))}")
        return value
    return parse


def _harmonic(text: str) -> tuple[int, float]:
    order, sep, rel = text.partition(":")
    try:
        order_i, rel_f = int(order), float(rel)
    except ValueError:
        order_i, rel_f = 0, math.nan
    if not sep or order_i < 2 or not (math.isfinite(rel_f) and 0 <= rel_f <= 1):
        raise argparse.ArgumentTypeError(f"{text!r}: expected ORDER:RELATIVE with ORDER >= 2 and 0 <= RELATIVE <= 1, "
                                         f"e.g. 3:0.05")
    return order_i, rel_f


def _meter_id(text: str) -> str:
    if not text.isascii() or not text.isprintable() or len(text) > 14:
        raise argparse.ArgumentTypeError(f"{text!r}: at most 14 printable ASCII characters")
    return text


def build_parser(prog: str = "p1reader s1") -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description="Fluvius S1 port streams (2 Mbit/s HDLC frames)")
    sub = ap.add_subparsers(dest="command", required=True)
    source_help = ("capture file, - for stdin, or a serial port: a pyserial URL (socket://HOST:PORT, loop://, …) "
                   "or a character device such as /dev/ttyUSB0, read at 2 Mbit/s 8N1")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("source", metavar="SOURCE", help=source_help)
        p.add_argument("--stall-timeout", type=_number(float, 0, 86400, lo_open=True), default=5.0, metavar="S",
                       help="a port that sends nothing for S seconds ends the run with exit 1 (default 5)")
        p.add_argument("--save", type=Path, metavar="FILE", help="keep the raw bytes read in FILE")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress or notes on stderr")

    d = sub.add_parser("decode", help="list the frames of a capture or a port and count errors")
    common(d)
    d.add_argument("--json", action="store_true", help="one JSON object per valid frame as decoded, then a summary")
    d.add_argument("--rows", type=_number(int, -1), default=10, help="frames shown in the table (-1 = all)")
    d.set_defaults(func=cmd_decode)
    a = sub.add_parser("analyze", help="RMS, power, power factor, frequency, THD and harmonics",
                       description="A capture file (or stdin) gets one report on the longest gap-free run; a port, "
                                   "or --window, gets one JSON line per window, then a summary line.")
    common(a)
    a.add_argument("--plot", type=Path, help="write waveforms and spectrum to this PNG (the last window when rolling)")
    a.add_argument("--json", action="store_true", help="the report as JSON")
    a.add_argument("--periods", type=_number(int, 1, MAX_PERIODS), default=50,
                   help=f"periods analysed in the report (1..{MAX_PERIODS}, default 50)")
    a.add_argument("--window", type=_number(float, 0.1, MAX_WINDOW_S), metavar="S",
                   help=f"rolling analysis: one JSON line per S seconds of samples (0.1..{MAX_WINDOW_S:g}; "
                        f"default 1 for a port)")
    a.set_defaults(func=cmd_analyze)
    s = sub.add_parser("synth", help="write a synthetic S1 stream (for tests and bring-up)")
    s.add_argument("out", type=Path, help="output file, or - for stdout")
    s.add_argument("--frames", type=_number(int, 1), default=2600, help="any number: the stream is written as made")
    s.add_argument("--meter-id", type=_meter_id, default="1SAG1100000292")
    s.add_argument("--freq", type=_number(float, 0, 65.535, lo_open=True), default=50.0,
                   help="network frequency in Hz (0..65.535, the field's range)")
    s.add_argument("--sampling", type=_number(int, 1, 127), default=52,
                   help="samples per period, or x100 Hz with --per-second (1..127)")
    s.add_argument("--per-second", action="store_true")
    s.add_argument("--v-rms", type=_number(float, 0, 579), default=230.0, help="volts (0..579: 819 V peak)")
    s.add_argument("--i-rms", type=_number(float, 0, 5931), default=10.0, help="amperes (0..5931: 8388 A peak)")
    s.add_argument("--angle", type=_number(float, -360, 360), default=0.0, help="current lag in degrees")
    s.add_argument("--harmonic", type=_harmonic, action="append", default=[], metavar="ORDER:REL")
    s.add_argument("--v-noise", type=_number(float, 0, 100), default=0.0, help="volts RMS")
    s.add_argument("--i-noise", type=_number(float, 0, 1000), default=0.0, help="amperes RMS")
    s.add_argument("--seed", type=_number(int, 0), default=0)
    s.add_argument("--seq-start", type=_number(int, 0, 255), default=0)
    s.add_argument("--shared-flags", action="store_true")
    s.set_defaults(func=cmd_synth)
    return ap


def main(argv: list[str] | None = None, prog: str = "p1reader s1") -> int:
    args = build_parser(prog).parse_args(argv)
    try:
        return args.func(args)
    except MeterError as e:
        print(e, file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside a decode (which ends with its summary instead)
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `| head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as e:
        print(f"{getattr(e, 'filename', None) or args.command}: {e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
