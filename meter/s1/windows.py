"""Analysis of a stream of frames of any length, in bounded memory, chunk by chunk as the decoder returns them:
the head of the longest gap-free run for a capture's report (:class:`LongestRun`), or one record per window of
fixed duration as it closes (:class:`RollingAnalysis`). A run, or a window, breaks where the sampling settings
(info byte, sampling field) change. Windows are measured in sample time: a window of 1 s at 2605 samples/s
holds 2605 frames, less the ones lost in sequence gaps, so a live stream gives one window a second and a
capture file the same windows.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .analysis import Analysis, AnalysisError, analyze, analyze_run
from .frames import S1Frames

MAX_HEAD_FRAMES = 1 << 18  # a bound on what LongestRun keeps, whatever the sampling fields say


def _settings(frames: S1Frames) -> np.ndarray:
    """What must stay the same within a run: info byte and sampling field, as one number per frame."""
    return frames.info.astype(np.int32) << 8 | frames.sampling.view(np.uint8)


def _steps(frames: S1Frames, last_seq: int | None) -> np.ndarray:
    """Sequence step into each frame (1 = consecutive; the first frame of a stream counts as 1)."""
    seq = frames.seq.astype(np.int16)
    prev = np.concatenate([[seq[0] - 1 if last_seq is None else last_seq], seq[:-1]])
    return ((seq - prev) % 256).astype(np.int64)


def _frames_needed(first: S1Frames, periods: int) -> int:
    """Frames that ``periods`` periods take at the sampling of the frame ``first`` (bounded)."""
    sampling, freq = int(first.sampling[0]), float(first.freq_hz[0])
    if sampling <= 0:
        return 1
    if first.per_period[0]:
        spp = sampling
    elif freq > 0:
        spp = sampling * 100.0 / freq * 1.05  # room for the frequency to drift below the first frame's
    else:
        return 1
    return min(MAX_HEAD_FRAMES, math.ceil(periods * spp) + 1)


class LongestRun:
    """The longest gap-free run of a stream, of which only the frames the analysis needs are kept."""

    def __init__(self, max_periods: int) -> None:
        self.max_periods = max_periods
        self.frames_total = 0
        self.best_len, self.best_head = 0, S1Frames.empty()
        self._len, self._parts, self._kept, self._need = 0, [], 0, 0
        self._last: tuple[int, int] | None = None  # (seq, settings) of the last frame

    def add(self, frames: S1Frames) -> None:
        n = len(frames)
        if n == 0:
            return
        self.frames_total += n
        settings = _settings(frames)
        brk = _steps(frames, None if self._last is None else self._last[0]) != 1
        brk[1:] |= settings[1:] != settings[:-1]
        brk[0] = self._last is None or brk[0] or settings[0] != self._last[1]
        self._last = (int(frames.seq[-1]), int(settings[-1]))
        starts = np.flatnonzero(brk)
        if starts.size == 0:
            self._extend(frames)
            return
        self._extend(frames[:starts[0]])  # the open run goes on up to the first break
        self._close()
        # Runs that start and end in this chunk: only the longest (the first of equals) can be the best.
        ends = np.append(starts[1:], n)
        if starts.size > 1:
            k = int(np.argmax(ends[:-1] - starts[:-1]))
            if ends[k] - starts[k] > self.best_len:
                self._open(frames[starts[k]:ends[k]])
                self._close()
        self._open(frames[starts[-1]:])  # the last run stays open

    def _open(self, frames: S1Frames) -> None:
        self._need = _frames_needed(frames[:1], self.max_periods)
        self._extend(frames)

    def _extend(self, frames: S1Frames) -> None:
        self._len += len(frames)
        take = min(len(frames), self._need - self._kept)
        if take > 0:
            self._parts.append(S1Frames.concat([frames[:take]]))  # a copy: the chunk can go
            self._kept += take

    def _close(self) -> None:
        if self._len > self.best_len:
            self.best_len, self.best_head = self._len, S1Frames.concat(self._parts)
        self._len, self._parts, self._kept = 0, [], 0

    def analysis(self) -> Analysis:
        self._close()
        if self.best_len == 0:
            raise AnalysisError("no frames to analyse")
        return analyze_run(self.best_head, self.max_periods, run_frames=self.best_len,
                           frames_total=self.frames_total)


def window_record(index: int, start_s: float, frames: S1Frames, steps: np.ndarray, fcs_errors: int,
                  partial: bool) -> dict:
    """The JSON object of one window (analysis fields absent, and ``error`` set, when it cannot be analysed)."""
    gaps = steps != 1
    rec = {"window": index, "start_s": round(start_s, 6), "first_seq": int(frames.seq[0]),
           "first_offset": int(frames.offset[0]), "frames": len(frames), "fcs_errors": fcs_errors,
           "seq_gaps": int(np.count_nonzero(gaps)), "frames_missing": int(((steps[gaps] - 1) % 256).sum())}
    if partial:
        rec["partial"] = True
    try:
        a = analyze(frames, max_periods=1 << 30)
    except AnalysisError as e:
        rec["error"] = str(e)
        return rec
    rec.update(freq_hz=round(a.freq_hz, 6),
               freq_measured_hz=None if a.freq_measured_hz is None else round(a.freq_measured_hz, 6),
               sample_rate_hz=a.sample_rate_hz, periods=a.periods, samples=a.samples,
               phases=[{"phase": p.phase, "v_rms": p.v_rms, "i_rms": p.i_rms, "p_w": p.p_w, "pf": p.pf,
                        "v_thd": p.v_thd, "i_thd": p.i_thd, "harmonics": len(p.v_harmonics)}
                       for p in a.phases],
               i_n_rms=a.i_n_rms)
    return rec


class RollingAnalysis:
    """Cuts a stream into windows of ``window_s`` seconds of samples; ``emit`` gets each window's record."""

    def __init__(self, window_s: float, emit: Callable[[dict], None]) -> None:
        self.window_s = window_s
        self.emit = emit
        self.windows = 0
        self.last_window = S1Frames.empty()  # frames of the last window that could be analysed (for --plot)
        self._parts: list[S1Frames] = []
        self._steps: list[np.ndarray] = []
        self._span = 0  # samples covered by the open window, frames and gaps
        self._limit = 0  # samples in a window, at the open window's sample rate
        self._settings: int | None = None
        self._start_s = 0.0  # sample time of the open window's start
        self._errors = np.zeros(0, np.int64)  # offsets of frames with a bad FCS, not yet given to a window
        self._last_seq: int | None = None

    def add(self, frames: S1Frames, fcs_error_offsets: np.ndarray) -> None:
        self._errors = np.concatenate([self._errors, fcs_error_offsets])
        n = len(frames)
        if n == 0:
            return
        steps = _steps(frames, self._last_seq)
        self._last_seq = int(frames.seq[-1])
        settings = _settings(frames)
        span = np.cumsum(steps)  # samples from the chunk's start through each frame
        i = 0
        while i < n:
            if not self._parts:
                self._settings = int(settings[i])
                rate = float(frames[i:i + 1].sample_rate_hz[0])
                self._limit = max(1, round(self.window_s * rate)) if rate > 0 else max(1, round(self.window_s * 1000))
            before = span[i - 1] if i else 0
            fits = int(np.searchsorted(span[i:], before + self._limit - self._span, side="right"))
            change = np.flatnonzero(settings[i:] != self._settings)
            take = min(fits, int(change[0]) if change.size else n - i)
            if take == 0 and not self._parts:
                take = 1  # a gap longer than the window: the frame after it opens a window alone
            if take:
                self._parts.append(frames[i:i + take])
                self._steps.append(steps[i:i + take])
                self._span += int(span[i + take - 1] - before)
                i += take
            if i < n:
                self._close(int(frames.offset[i]), partial=False)

    def _close(self, next_offset: int | None, partial: bool) -> None:
        frames = S1Frames.concat(self._parts)
        steps = np.concatenate(self._steps)
        if next_offset is None:
            errors, self._errors = self._errors.size, self._errors[:0]
        else:
            errors = int(np.count_nonzero(self._errors < next_offset))
            self._errors = self._errors[self._errors >= next_offset]
        record = window_record(self.windows, self._start_s, frames, steps, errors, partial)
        if "error" not in record:
            self.last_window = frames
        self.emit(record)
        rate = float(frames[:1].sample_rate_hz[0])
        self._start_s += self._span / rate if rate > 0 else 0.0
        self.windows += 1
        self._parts, self._steps, self._span = [], [], 0

    def finish(self) -> None:
        """Report the window still open (marked partial)."""
        if self._parts:
            self._close(None, partial=True)
