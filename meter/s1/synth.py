"""Synthetic S1 streams: the frames a Fluvius meter would send, for tests and for bring-up.

A stream is built from a :class:`SynthConfig` (sine waves with chosen harmonics, per-phase amplitudes and
angles, seeded noise, sampling per period or per second) and optional faults (corrupted FCS, dropped frames,
garbage bytes): the exact bytes on the line, made block by block in bounded memory (:func:`synth_chunks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from .frames import (FLAG, FRAME_LEN, FREQ_LSB, HEADER, I_LSB, INFO_FOUR_WIRE, INFO_NEUTRAL, INFO_PER_PERIOD,
                     INFO_POLY_PHASE, INFO_VALID, V_LSB, _OFF_FCS, _OFF_FREQ, _OFF_I, _OFF_ID,
                     _OFF_INFO, _OFF_SAMPLING, _OFF_SEQ, _OFF_V, crc16_x25_rows)

V_RANGE = (-(1 << 15), (1 << 15) - 1)  # 2 B signed: +-819 V
I_RANGE = (-(1 << 23), (1 << 23) - 1)  # 3 B signed: +-8388 A
BLOCK_FRAMES = 1 << 16  # frames made at once by synth_chunks (3 MB of stream)
NOISE_PEAK = 6.0  # noise peaks counted in the range check, in standard deviations


def _put_be(rows: np.ndarray, off: int, width: int, values: np.ndarray) -> None:
    v = np.asarray(values, dtype=np.int64) & ((1 << (8 * width)) - 1)
    for k in range(width):
        rows[:, off + k] = (v >> (8 * (width - 1 - k))) & 0xFF


def encode_frames(v_raw: np.ndarray, i_raw: np.ndarray, *, seq: np.ndarray, meter_id: str = "",
                  info: int = INFO_POLY_PHASE | INFO_PER_PERIOD | INFO_VALID, sampling: int = 52,
                  freq_mhz: np.ndarray | int = 50000) -> np.ndarray:
    """Whole frames, (n, 45) uint8, from raw values: V (n, 3) in 25 mV, I (n, 4) in 1 mA.

    Values outside the field ranges raise ValueError rather than wrap silently.
    """
    v_raw = np.asarray(v_raw, dtype=np.int64).reshape(-1, 3)
    i_raw = np.asarray(i_raw, dtype=np.int64).reshape(-1, 4)
    n = v_raw.shape[0]
    if i_raw.shape[0] != n:
        raise ValueError(f"{n} voltage rows but {i_raw.shape[0]} current rows")
    for name, arr, (lo, hi) in (("voltage", v_raw, V_RANGE), ("current", i_raw, I_RANGE)):
        if arr.size and (arr.min() < lo or arr.max() > hi):
            raise ValueError(f"{name} raw value out of range [{lo}, {hi}]")
    if not -128 <= sampling <= 127:
        raise ValueError(f"sampling {sampling} does not fit a signed byte")
    mid = meter_id.encode("ascii")
    if len(mid) > 14:
        raise ValueError(f"meter id {meter_id!r} longer than 14 characters")
    freq = np.broadcast_to(np.asarray(freq_mhz, dtype=np.int64), (n,))
    if n and (freq.min() < 0 or freq.max() > 0xFFFF):
        raise ValueError("frequency out of range 0..65.535 Hz")
    rows = np.zeros((n, FRAME_LEN), dtype=np.uint8)
    rows[:, 0] = FLAG
    rows[:, 1:5] = np.frombuffer(HEADER, dtype=np.uint8)
    rows[:, _OFF_ID:_OFF_ID + len(mid)] = np.frombuffer(mid, dtype=np.uint8)
    rows[:, _OFF_INFO] = info
    rows[:, _OFF_SAMPLING] = sampling & 0xFF
    _put_be(rows, _OFF_FREQ, 2, freq)
    rows[:, _OFF_SEQ] = np.broadcast_to(np.asarray(seq, dtype=np.int64) % 256, (n,))
    for p, off in enumerate(_OFF_V):
        _put_be(rows, off, 2, v_raw[:, p])
    for p, off in enumerate(_OFF_I):
        _put_be(rows, off, 3, i_raw[:, p])
    crc = crc16_x25_rows(rows[:, 1:_OFF_FCS])
    rows[:, _OFF_FCS] = crc & 0xFF  # LSB first
    rows[:, _OFF_FCS + 1] = crc >> 8
    rows[:, -1] = FLAG
    return rows


@dataclass
class SynthConfig:
    """What the synthetic meter measures and how it sends it.

    ``v_rms``/``i_rms`` are the fundamental's RMS (harmonics add to the total). Angles in degrees. Harmonics map order -> amplitude relative to the fundamental (their phase is
    the fundamental's angle times the order, as a distortion at the phase's own zero crossing).
    ``i_angle_deg`` is the current's lag behind its voltage (positive = inductive).
    """

    frames: int = 2600
    meter_id: str = "1SAG1100000292"
    freq_hz: float = 50.0
    per_period: bool = True
    sampling: int = 52  # samples per period, or x100 Hz when per second
    poly_phase: bool = True
    v_rms: tuple[float, float, float] = (230.0, 230.0, 230.0)
    i_rms: tuple[float, float, float] = (10.0, 5.0, 2.0)
    i_angle_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    phase_angle_deg: tuple[float, float, float] = (0.0, -120.0, 120.0)
    v_harmonics: dict[int, float] = field(default_factory=dict)
    i_harmonics: dict[int, float] = field(default_factory=dict)
    v_noise: float = 0.0  # volts RMS, gaussian
    i_noise: float = 0.0  # amperes RMS, gaussian
    seed: int = 0
    seq_start: int = 0
    neutral: bool = True  # send I N = -(I L1 + I L2 + I L3), and set the 4-wire/neutral bits
    shared_flags: bool = False  # one 7E between frames instead of 7E 7E
    # Faults, by frame index (before dropping): the frame's FCS is broken / it is not sent at all /
    # garbage bytes are sent before it ({index: number of bytes}).
    corrupt_fcs: tuple[int, ...] = ()
    drop: tuple[int, ...] = ()
    garbage: dict[int, int] = field(default_factory=dict)
    trailing_bytes: int = 0  # a truncated frame at the end: this many of its first bytes

    @property
    def info(self) -> int:
        info = INFO_VALID
        info |= INFO_POLY_PHASE if self.poly_phase else 0
        info |= INFO_PER_PERIOD if self.per_period else 0
        info |= (INFO_FOUR_WIRE | INFO_NEUTRAL) if self.neutral and self.poly_phase else 0
        return info

    @property
    def sample_rate_hz(self) -> float:
        return self.sampling * self.freq_hz if self.per_period else self.sampling * 100.0

    def check(self) -> None:
        """ValueError naming the setting that does not fit the frame's fields (before anything is written)."""
        if not 1 <= self.sampling <= 127:
            raise ValueError(f"sampling {self.sampling} outside 1..127")
        if not 0 < self.freq_hz <= 0xFFFF * FREQ_LSB:
            raise ValueError(f"frequency {self.freq_hz} Hz outside the field's range (0, 65.535]")
        if len(self.meter_id.encode("ascii", "replace")) > 14 or not self.meter_id.isascii():
            raise ValueError(f"meter id {self.meter_id!r}: at most 14 ASCII characters")
        if self.frames < 0:
            raise ValueError(f"frame count {self.frames} is negative")
        nph = 3 if self.poly_phase else 1
        v_peak = max(_peak(self.v_rms[p], self.v_harmonics, self.v_noise) for p in range(nph))
        i_peaks = [_peak(self.i_rms[p], self.i_harmonics, self.i_noise) for p in range(nph)]
        i_peak = max(max(i_peaks), sum(i_peaks) if self.neutral and self.poly_phase else 0.0)
        if v_peak > V_RANGE[1] * V_LSB:
            raise ValueError(f"voltage peak up to {v_peak:.1f} V exceeds the field's {V_RANGE[1] * V_LSB:.1f} V")
        if i_peak > I_RANGE[1] * I_LSB:
            raise ValueError(f"current peak up to {i_peak:.1f} A (neutral included) exceeds the field's "
                             f"{I_RANGE[1] * I_LSB:.1f} A")


def _peak(rms: float, harmonics: dict[int, float], noise: float) -> float:
    """An upper bound of |value| for a wave of fundamental ``rms`` with ``harmonics`` and gaussian noise."""
    return abs(rms) * np.sqrt(2.0) * (1 + sum(abs(r) for r in harmonics.values())) + NOISE_PEAK * noise


def synth_values(cfg: SynthConfig, start: int = 0, stop: int | None = None,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The waveforms of frames ``start``..``stop`` in physical units, before quantisation: V (n, 3) volts,
    I (n, 4) amperes. Blocks in order with one ``rng`` give one seeded stream."""
    stop = cfg.frames if stop is None else stop
    n = stop - start
    rng = np.random.default_rng(cfg.seed) if rng is None else rng
    # Per-period sampling is locked to the grid: exactly `sampling` samples per cycle.
    cycles = np.arange(start, stop) * (cfg.freq_hz / cfg.sample_rate_hz)
    nph = 3 if cfg.poly_phase else 1
    v = np.zeros((n, 3))
    i = np.zeros((n, 4))
    for p in range(nph):
        theta = 2 * np.pi * cycles + np.radians(cfg.phase_angle_deg[p])
        lag = np.radians(cfg.i_angle_deg[p])
        v[:, p] = _wave(theta, cfg.v_rms[p], cfg.v_harmonics)
        i[:, p] = _wave(theta - lag, cfg.i_rms[p], cfg.i_harmonics)
    if cfg.v_noise:
        v[:, :nph] += rng.normal(0.0, cfg.v_noise, (n, nph))
    if cfg.i_noise:
        i[:, :nph] += rng.normal(0.0, cfg.i_noise, (n, nph))
    if cfg.neutral and cfg.poly_phase:
        i[:, 3] = -i[:, :3].sum(axis=1)
    return v, i


def _wave(theta: np.ndarray, rms: float, harmonics: dict[int, float]) -> np.ndarray:
    amp = rms * np.sqrt(2.0)
    x = amp * np.sin(theta)
    for h, rel in harmonics.items():
        x += amp * rel * np.sin(h * theta)
    return x


def quantise(v: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Physical values -> raw field values (round to nearest LSB)."""
    return np.rint(v / V_LSB).astype(np.int64), np.rint(i / I_LSB).astype(np.int64)


def synth_frames(cfg: SynthConfig, start: int = 0, stop: int | None = None,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Frames ``start``..``stop`` (default all) as (n, 45) uint8, before faults."""
    stop = cfg.frames if stop is None else stop
    v_raw, i_raw = quantise(*synth_values(cfg, start, stop, rng))
    seq = cfg.seq_start + np.arange(start, stop)
    return encode_frames(v_raw, i_raw, seq=seq, meter_id=cfg.meter_id, info=cfg.info,
                         sampling=cfg.sampling, freq_mhz=int(round(cfg.freq_hz * 1000)))


def frames_to_stream(rows: np.ndarray, *, shared_flags: bool = False, corrupt_fcs=(), drop=(),
                     garbage: dict[int, int] | None = None, trailing_bytes: int = 0, seed: int = 0,
                     first_index: int = 0, after_flag: bool = False, final: bool = True,
                     rng: np.random.Generator | None = None) -> bytes:
    """Lay frames on the line, applying faults (indices refer to the whole stream, ``rows`` holding frames
    ``first_index``.. of it). For a stream laid block by block: ``after_flag`` says the line's last byte is a
    closing flag, ``final`` marks the last block (garbage after the last frame, truncated frame), and one
    ``rng`` serves all blocks."""
    rows = np.array(rows, dtype=np.uint8, copy=True)
    n = rows.shape[0]
    rng = np.random.default_rng([seed, 0x51]) if rng is None else rng

    def here(indices) -> list[int]:
        return [int(k) - first_index for k in indices if first_index <= k < first_index + n]

    if corrupt := here(corrupt_fcs):
        rows[corrupt, _OFF_FCS] ^= 0x5A
    sent = np.ones(n, dtype=bool)
    sent[here(drop)] = False
    garbage = {int(k) - first_index: int(v) for k, v in (garbage or {}).items()
               if v > 0 and (first_index <= k < first_index + n or (final and k == first_index + n))}
    mask = np.ones((n, FRAME_LEN), dtype=bool)
    if shared_flags:
        # Drop the opening flag where the previous byte on the line is a closing flag.
        idx = np.flatnonzero(sent)
        follows = np.zeros(n, dtype=bool)
        follows[idx[1:]] = True
        if idx.size and after_flag:
            follows[idx[0]] = True
        for g in garbage:  # garbage sits before the next frame actually sent, which then needs its flag
            later = idx[idx >= g]
            if later.size:
                follows[later[0]] = False
        mask[follows, 0] = False
    mask[~sent] = False
    trailing_bytes = trailing_bytes if final else 0
    if not garbage and not trailing_bytes:
        return rows[mask].tobytes()
    # Assemble in pieces around garbage insertions.
    out = []
    prev = 0
    for g in sorted(garbage):
        out.append(rows[prev:g][mask[prev:g]].tobytes())
        out.append(_garbage(rng, garbage[g]))
        prev = g
    out.append(rows[prev:][mask[prev:]].tobytes())
    if trailing_bytes:
        out.append(rows[-1, :trailing_bytes].tobytes() if n else bytes([FLAG]) + HEADER[:trailing_bytes - 1])
    return b"".join(out)


def _garbage(rng: np.random.Generator, nbytes: int) -> bytes:
    """Random bytes without flags, so they can never fake a frame start."""
    g = rng.integers(0, 256, nbytes, dtype=np.uint8)
    g[g == FLAG] = 0x00
    return g.tobytes()


def synth_chunks(cfg: SynthConfig, block_frames: int = BLOCK_FRAMES) -> Iterator[bytes]:
    """The byte stream a meter configured as ``cfg`` would send, faults included, block by block."""
    values_rng = np.random.default_rng(cfg.seed)
    garbage_rng = np.random.default_rng([cfg.seed, 0x51])
    after_flag = False
    for start in range(0, max(cfg.frames, 1), block_frames):
        stop = min(start + block_frames, cfg.frames)
        data = frames_to_stream(synth_frames(cfg, start, stop, values_rng), shared_flags=cfg.shared_flags,
                                corrupt_fcs=cfg.corrupt_fcs, drop=cfg.drop, garbage=cfg.garbage,
                                trailing_bytes=cfg.trailing_bytes, first_index=start, after_flag=after_flag,
                                final=stop == cfg.frames, rng=garbage_rng)
        if data:
            after_flag = data[-1] == FLAG
            yield data


def synth_stream(cfg: SynthConfig) -> bytes:
    """The whole stream of :func:`synth_chunks` in memory."""
    return b"".join(synth_chunks(cfg))
