"""S1 port frame decoder (Fluvius e-MUCS H 1.3 §4): bytes from the 2 Mbit/s line -> sample sets.

Frame layout (45 bytes, offsets within the frame)::

    0      7E               opening flag
    1..2   80 2B            frame format (type 8, length 0x02B = 43)
    3      FF               address
    4      03               control (UI)
    5..18  meter id         14 B ASCII
    19     info             bit0 poly phase, bit1 per-period sampling, bit2 4-wire,
                            bit3 samples valid, bit4 neutral measured, bits5-7 version
    20     sampling         signed: samples per period, or x100 Hz when sampled per second
    21..22 frequency        unsigned, 1 mHz/LSB
    23     sequence         wraps at 256
    24..41 V L1, I L1, V L2, I L2, V L3, I L3, I N
                            V: 2 B signed, 25 mV/LSB; I: 3 B signed, 1 mA/LSB; all big-endian
    42..43 FCS              CRC-16/X-25 over bytes 1..41, sent LSB first
    44     7E               closing flag

Assumption: the specification shows fixed 45-byte frames and says nothing about HDLC byte
stuffing, so none is undone here: a 0x7E or 0x7D inside the data is taken literally. A frame is
therefore recognised by its fixed shape (flag, the four header bytes, a flag 44 bytes later)
and confirmed by its FCS. Frames may be separated by their own flags (``... 7E 7E ...``), share
one flag (``... 7E ...``), or be separated by garbage. A candidate with a good FCS wins over an
overlapping one with a bad FCS; candidates with a bad FCS that overlap no good frame are counted
as FCS errors. Bytes that belong to no frame (garbage, extra idle flags, a truncated final
frame, a frame whose flag or header was hit by an error) are counted as skipped.

The search, the FCS and the field decoding are vectorised with numpy. :class:`S1Decoder` takes the
stream in chunks of any size and returns each chunk's frames, so memory is bounded by the chunk size
whatever the length of the stream; :func:`decode_bytes` decodes a capture already in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from firmware.s1frame import FRAME_LEN  # the frame length's one home

FLAG = 0x7E
HEADER = bytes([0x80, 0x2B, 0xFF, 0x03])
DATA_LEN = 37
V_LSB = 0.025  # volts per LSB
I_LSB = 0.001  # amperes per LSB
FREQ_LSB = 0.001  # hertz per LSB
PHASES = ("L1", "L2", "L3")
CURRENTS = ("L1", "L2", "L3", "N")

# Byte offsets inside a frame.
_OFF_ID, _OFF_INFO, _OFF_SAMPLING, _OFF_FREQ, _OFF_SEQ = 5, 19, 20, 21, 23
_OFF_V = (24, 29, 34)
_OFF_I = (26, 31, 36, 39)
_OFF_FCS = 42

INFO_POLY_PHASE = 0x01
INFO_PER_PERIOD = 0x02
INFO_FOUR_WIRE = 0x04
INFO_VALID = 0x08
INFO_NEUTRAL = 0x10


def _x25_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint16)
    for b in range(256):
        crc = b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table[b] = crc
    return table


CRC_TABLE = _x25_table()
_CRC_LIST = CRC_TABLE.tolist()


def crc16_x25(data: bytes) -> int:
    """CRC-16/X-25 (reflected 0x1021, init 0xFFFF, xorout 0xFFFF) of ``data``."""
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ _CRC_LIST[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF


def _x25_pair_table() -> np.ndarray:
    """CRC step over two bytes at once: for a 16-bit register, crc' = T2[crc ^ (b0 | b1 << 8)]."""
    w = np.arange(1 << 16, dtype=np.uint32)
    t = CRC_TABLE[w & 0xFF].astype(np.uint32)
    return ((t >> 8) ^ CRC_TABLE[((w >> 8) ^ t) & 0xFF]).astype(np.uint16)


CRC_PAIR_TABLE = _x25_pair_table()


def crc16_x25_rows(rows: np.ndarray) -> np.ndarray:
    """CRC-16/X-25 of every row of a 2-D uint8 array, vectorised over rows (one gather per two columns)."""
    rows = np.asarray(rows, dtype=np.uint8)
    if rows.ndim != 2:
        raise ValueError(f"expected a 2-D array of bytes, got shape {rows.shape}")
    pairs = rows.shape[1] // 2
    crc = np.full(rows.shape[0], 0xFFFF, dtype=np.uint16)
    if pairs:
        words = np.ascontiguousarray(rows[:, :2 * pairs]).view("<u2")  # b0 | b1 << 8
        for col in np.ascontiguousarray(words.T):  # each column contiguous
            crc = CRC_PAIR_TABLE[crc ^ col]
    if rows.shape[1] % 2:
        crc = (crc >> 8) ^ CRC_TABLE[(crc ^ rows[:, -1]) & 0xFF]
    return crc ^ np.uint16(0xFFFF)


def _be(rows: np.ndarray, off: int, width: int) -> np.ndarray:
    """Signed big-endian integers of ``width`` bytes at column ``off`` of every row."""
    val = np.zeros(rows.shape[0], dtype=np.int32)
    for k in range(width):
        val = (val << 8) | rows[:, off + k].astype(np.int32)
    sign = np.int32(1 << (8 * width - 1))
    return (val ^ sign) - sign


@dataclass
class S1Frames:
    """Decoded valid frames, one row per frame, as raw integers (scaled views are properties)."""

    offset: np.ndarray  # int64, byte offset of the opening flag in the capture
    meter_id: np.ndarray  # bytes 'S14' (trailing NULs dropped by numpy)
    info: np.ndarray  # uint8
    sampling: np.ndarray  # int8
    freq_mhz: np.ndarray  # int32, 1 mHz/LSB
    seq: np.ndarray  # uint8
    v_raw: np.ndarray  # (n, 3) int32, 25 mV/LSB
    i_raw: np.ndarray  # (n, 4) int32, 1 mA/LSB (L1, L2, L3, N)

    @classmethod
    def empty(cls) -> "S1Frames":
        return cls.from_rows(np.zeros((0, FRAME_LEN), np.uint8), np.zeros(0, np.int64))

    @classmethod
    def from_rows(cls, rows: np.ndarray, offsets: np.ndarray) -> "S1Frames":
        """Decode the fields of an (n, 45) array of whole frames (FCS not checked here)."""
        rows = np.asarray(rows, dtype=np.uint8)
        return cls(
            offset=np.asarray(offsets, dtype=np.int64),
            meter_id=np.ascontiguousarray(rows[:, _OFF_ID:_OFF_ID + 14]).view("S14").reshape(-1),
            info=rows[:, _OFF_INFO].copy(),
            sampling=rows[:, _OFF_SAMPLING].view(np.int8).copy(),
            freq_mhz=(rows[:, _OFF_FREQ].astype(np.int32) << 8) | rows[:, _OFF_FREQ + 1],
            seq=rows[:, _OFF_SEQ].copy(),
            v_raw=np.stack([_be(rows, o, 2) for o in _OFF_V], axis=1).reshape(-1, 3),
            i_raw=np.stack([_be(rows, o, 3) for o in _OFF_I], axis=1).reshape(-1, 4),
        )

    @classmethod
    def concat(cls, parts: list["S1Frames"]) -> "S1Frames":
        if not parts:
            return cls.empty()
        return cls(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__})

    def __len__(self) -> int:
        return len(self.seq)

    def __getitem__(self, sl) -> "S1Frames":
        """Rows selected by a slice, index array or boolean mask."""
        return S1Frames(**{f: getattr(self, f)[sl] for f in self.__dataclass_fields__})

    @property
    def v(self) -> np.ndarray:
        """Voltages in volts, (n, 3)."""
        return self.v_raw * V_LSB

    @property
    def i(self) -> np.ndarray:
        """Currents in amperes, (n, 4): L1, L2, L3, N."""
        return self.i_raw * I_LSB

    @property
    def freq_hz(self) -> np.ndarray:
        return self.freq_mhz * FREQ_LSB

    @property
    def poly_phase(self) -> np.ndarray:
        return (self.info & INFO_POLY_PHASE) != 0

    @property
    def per_period(self) -> np.ndarray:
        return (self.info & INFO_PER_PERIOD) != 0

    @property
    def sample_rate_hz(self) -> np.ndarray:
        """Samples per second: samples/period x frequency, or sampling x 100 Hz."""
        s = self.sampling.astype(np.float64)
        return np.where(self.per_period, s * self.freq_hz, s * 100.0)

    def records(self) -> Iterator[dict]:
        """One plain dict per frame (the CLI's JSON contract), values rounded to their LSB."""
        columns = (self.meter_id, self.poly_phase, self.per_period, self.sampling, self.freq_mhz, self.seq,
                   self.v_raw, self.i_raw, self.offset)
        for meter_id, poly, per, sampling, freq, seq, v, i, offset in zip(*(c.tolist() for c in columns)):
            yield {
                "meter_id": meter_id.decode("ascii", "replace"),
                "poly_phase": poly,
                "per_period": per,
                "sampling": sampling,
                "freq_hz": freq / 1000,
                "seq": seq,
                "v": [x / 40 for x in v],  # 25 mV = 1/40 V: exact decimal results
                "i": [x / 1000 for x in i],
                "offset": offset,
            }


@dataclass
class DecodeStats:
    """Counts that give a verdict on a capture."""

    bytes_total: int = 0
    flags: int = 0  # 0x7E bytes seen anywhere (0 suggests wrong baud or no S1 stream)
    headers: int = 0  # frame starts (7E 80 2B FF 03) seen, whether complete or not
    frames: int = 0  # frames with a good FCS
    fcs_errors: int = 0
    seq_gaps: int = 0  # discontinuities in the sequence of good frames (a bad FCS also makes one)
    frames_missing: int = 0  # sequence numbers skipped over by those gaps
    bytes_skipped: int = 0
    truncated_tail: bool = False  # the capture ends inside a frame

    def summary(self) -> dict:
        """The CLI's summary object."""
        return {"frames": self.frames, "fcs_errors": self.fcs_errors, "seq_gaps": self.seq_gaps,
                "bytes_skipped": self.bytes_skipped}


_HDR = np.frombuffer(HEADER, dtype=np.uint8)


def _header_starts(buf: np.ndarray) -> np.ndarray:
    """Offsets in ``buf`` of every complete ``7E 80 2B FF 03``."""
    k = np.flatnonzero(buf[: max(buf.size - len(HEADER), 0)] == FLAG)
    for j, h in enumerate(_HDR, start=1):
        k = k[buf[k + j] == h]
    return k


def _select(starts: np.ndarray, floor: int) -> np.ndarray:
    """Greedy non-overlapping subset of sorted frame starts (a shared flag is allowed)."""
    if starts.size == 0:
        return starts
    if starts[0] >= floor and (starts.size < 2 or np.all(np.diff(starts) >= FRAME_LEN - 1)):
        return starts  # the usual case: no conflicts
    keep = []
    for s in starts.tolist():
        if s >= floor:
            keep.append(s)
            floor = s + FRAME_LEN - 1
    return np.asarray(keep, dtype=starts.dtype)


class S1Decoder:
    """Incremental decoder: ``feed`` byte chunks, then ``finish``; counts go into ``stats``.

    Chunk boundaries are invisible: a frame split between two chunks is found whole.
    """

    def __init__(self) -> None:
        self.stats = DecodeStats()
        self._buf = np.zeros(0, dtype=np.uint8)
        self._base = 0  # absolute offset of _buf[0]
        self._pos = 0  # absolute offset of the first byte not yet accounted for
        self._last_seq: int | None = None
        self._hdr_counted = 0  # headers at offsets below this are already counted
        self._finished = False
        self.fcs_error_offsets = np.zeros(0, np.int64)  # where the last feed found frames with a bad FCS

    def feed(self, data: bytes) -> S1Frames:
        """The frames completed by ``data``, in order (none may be returned twice)."""
        if self._finished:
            raise RuntimeError("decoder already finished")
        self.fcs_error_offsets = np.zeros(0, np.int64)
        new = np.frombuffer(data, dtype=np.uint8)
        self.stats.bytes_total += new.size
        self.stats.flags += int(np.count_nonzero(new == FLAG))
        buf = np.concatenate([self._buf, new]) if self._buf.size else new
        base, n = self._base, buf.size
        frames = S1Frames.empty()
        if n >= FRAME_LEN:
            frames = self._scan(buf, base)
        # Keep what may still start a frame: the last 44 bytes, and the last frame's closing flag.
        keep_from = max(self._pos - 1, base + n - (FRAME_LEN - 1), base)
        if keep_from > self._pos:
            self.stats.bytes_skipped += keep_from - self._pos
            self._pos = keep_from
        self._buf = buf[keep_from - base:].copy()
        self._base = keep_from
        return frames

    def _scan(self, buf: np.ndarray, base: int) -> S1Frames:
        n = buf.size
        last = n - (FRAME_LEN - 1)  # starts below this have a whole frame in the buffer
        k = _header_starts(buf)
        # Count each header once, when it is first whole in the buffer (a fake one inside a frame too).
        self.stats.headers += int(np.count_nonzero(k + base >= self._hdr_counted))
        self._hdr_counted = base + n - len(HEADER)
        k = k[k < last]
        k = k[buf[k + FRAME_LEN - 1] == FLAG]
        if k.size == 0:
            return S1Frames.empty()
        windows = np.lib.stride_tricks.sliding_window_view(buf, FRAME_LEN)
        rows = windows[k]
        crc = crc16_x25_rows(rows[:, 1:_OFF_FCS])
        fcs = rows[:, _OFF_FCS].astype(np.uint16) | (rows[:, _OFF_FCS + 1].astype(np.uint16) << 8)
        good = crc == fcs
        floor = self._pos - 1 - base  # a frame may reuse the previous closing flag
        ok = _select(k[good], floor)
        bad = k[~good]
        if bad.size and ok.size:
            # A bad candidate counts only where it overlaps no good frame.
            j = np.searchsorted(ok, bad)
            prev_ok = (j == 0) | (bad - ok[np.maximum(j - 1, 0)] >= FRAME_LEN - 1)
            next_ok = (j == ok.size) | (ok[np.minimum(j, ok.size - 1)] - bad >= FRAME_LEN - 1)
            bad = bad[prev_ok & next_ok]
        bad = _select(bad, floor)
        used = np.sort(np.concatenate([ok, bad])) if bad.size else ok  # disjoint by construction
        if used.size:
            ends = np.concatenate([[self._pos - base], used[:-1] + FRAME_LEN])
            gaps = used - ends  # -1 where a flag is shared
            self.stats.bytes_skipped += int(np.maximum(gaps, 0).sum())
            self._pos = base + int(used[-1]) + FRAME_LEN
        self.stats.fcs_errors += int(bad.size)
        self.fcs_error_offsets = bad.astype(np.int64) + base
        # Usually every good candidate is kept; np.isin (a sort) only when some were dropped.
        keep = good if ok.size == np.count_nonzero(good) else np.isin(k, ok)
        frames = S1Frames.from_rows(rows[keep], ok + base)
        self._count_seq(frames.seq)
        self.stats.frames += len(frames)
        return frames

    def _count_seq(self, seq: np.ndarray) -> None:
        if seq.size == 0:
            return
        s = seq.astype(np.int16)
        if self._last_seq is not None:
            s = np.concatenate([[self._last_seq], s])
        step = (np.diff(s) % 256).astype(np.int64)
        gap = step != 1
        self.stats.seq_gaps += int(np.count_nonzero(gap))
        # A repeated number (step 0) counts as a gap of 255 lost frames: it cannot be told apart.
        self.stats.frames_missing += int(((step[gap] - 1) % 256).sum())
        self._last_seq = int(seq[-1])

    def finish(self) -> DecodeStats:
        """Account for the bytes left after the last frame; returns the final counts."""
        if not self._finished:
            self._finished = True
            tail = self._buf[self._pos - self._base:]
            if tail.size:
                self.stats.bytes_skipped += int(tail.size)
                self._pos += int(tail.size)
                # A frame cut off by the end of the capture: a flag, then (part of) the header.
                for i in np.flatnonzero(tail == FLAG).tolist():
                    part = tail[i + 1:i + 5].tobytes()
                    if part and HEADER.startswith(part) and tail.size - i < FRAME_LEN:
                        self.stats.truncated_tail = True
                        break
            k = _header_starts(self._buf)
            self.stats.headers += int(np.count_nonzero(k + self._base >= self._hdr_counted))
        return self.stats


@dataclass
class DecodeResult:
    frames: S1Frames
    stats: DecodeStats = field(default_factory=DecodeStats)


def decode_bytes(data: bytes, chunk_size: int = 1 << 22) -> DecodeResult:
    """Decode a whole capture held in memory."""
    dec = S1Decoder()
    view = memoryview(data)
    parts = [dec.feed(view[o:o + chunk_size]) for o in range(0, len(data), chunk_size)]
    return DecodeResult(S1Frames.concat(parts), dec.finish())
