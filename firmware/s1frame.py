"""S1 frame counting (Fluvius e-MUCS H 1.3 section 4), shared by the board firmware and the host simulation.

Runs unchanged under CPython and MicroPython: no dataclasses, no typing, no f-strings. The S1 port
sends 45-byte HDLC UI frames at 2 Mbit/s 8N1::

    0      7E          opening flag
    1..4   80 2B FF 03 frame format, address, control
    5..41  37 data bytes: meter id 14, info 1, sampling 1, frequency 2, sequence 1 (offset 23), ...
    42..43 FCS, CRC-16/X-25 over bytes 1..41 (41 bytes), sent LSB first
    44     7E          closing flag (may double as the next frame's opening flag)

A frame is recognised by its shape (flag + header, a flag 44 bytes later) and judged by its FCS,
the same rules as the host decoder ``meter.s1.frames`` (no HDLC byte stuffing). The one
difference: frames are taken first come, first served, where the host decoder prefers a good frame
over an overlapping bad one; the two only disagree when a frame header appears inside frame data.

The board cannot decode 2,600+ frames a second in Python and has no use for the values: it
counts, and keeps the last few raw frames for the host to check.
"""

import binascii

S1_BAUD = 2000000  # the S1 port's fixed rate, 8N1 (e-MUCS H 1.3 section 4)
FRAME_LEN = 45  # bytes, flag to flag
START = b"\x7e\x80\x2b\xff\x03"  # opening flag + header: what a frame starts with
FLAG = 0x7E
SEQ_OFFSET = 23  # 5 header bytes + meter id 14 + info 1 + sampling 1 + frequency 2
FREQ_OFFSET = 21  # the mains frequency, big-endian, 1 mHz per LSB
FCS_OFFSET = 42
KEEP_FRAMES = 8  # raw frames kept for 'S1 FRAMES n'
IDLE_MS = 100  # a meter sends a frame every <= 0.5 ms: 100 ms of silence means the stream stopped
BUF_SIZE = 1024  # bytes scanned at a time; must hold a frame plus a partial one


def _make_table():
    # CRC-16/X-25: polynomial 0x1021 reflected = 0x8408, init 0xFFFF, final XOR 0xFFFF.
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _make_table()


def crc16_x25(data):
    """CRC-16/X-25 of the bytes in `data` (the S1 FCS)."""
    table = _TABLE
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc ^ 0xFFFF


class Counter:
    """Counts S1 frames, FCS errors, sequence gaps and skipped bytes in a byte stream fed in any split.

    Memory is allocated here once: a `BUF_SIZE` scan buffer and a ring of `keep` raw frames.
    Counters (all since creation):
      frames      frames with a good FCS
      fcs_errors  frame-shaped candidates whose FCS does not match
      seq_gaps    good frames whose sequence number is not the previous good frame's + 1 (mod 256);
                  a lost or corrupted frame makes one, a repeated number too
      skipped     bytes that belong to no frame (garbage, idle flags, frames whose flag or header
                  was hit); bytes still waiting to complete a frame are not counted yet
      bytes       bytes fed
    """

    def __init__(self, keep=KEEP_FRAMES, buf_size=BUF_SIZE):
        if buf_size < 2 * FRAME_LEN:
            raise ValueError("buf_size must hold two frames")
        self.keep = keep
        self._buf = bytearray(buf_size)
        self._mv = memoryview(self._buf)
        self._ring = bytearray(keep * FRAME_LEN)
        self.reset()

    def reset(self):
        """Forget everything: counters, kept frames and a frame in progress."""
        self._n = 0  # bytes in the buffer
        self._done = 0  # buffer index up to which bytes are accounted for (in a frame or skipped)
        self._ring_next = 0
        self._ring_count = 0
        self._last_seq = -1
        self.freq_mhz = None  # the mains frequency field of the last good frame
        self.frames = 0
        self.fcs_errors = 0
        self.seq_gaps = 0
        self.skipped = 0
        self.bytes = 0

    def feed(self, data):
        """Take bytes (any split of the stream); counters are up to date afterwards."""
        mv = memoryview(data)
        total = len(mv)
        self.bytes += total
        pos = 0
        size = len(self._buf)
        while pos < total:
            k = min(total - pos, size - self._n)
            self._mv[self._n:self._n + k] = mv[pos:pos + k]
            self._n += k
            pos += k
            self._scan()

    def _scan(self):
        buf = self._buf
        n = self._n
        i = 0 if self._done == 0 else self._done - 1  # a frame may reuse the last closing flag
        while True:
            k = buf.find(START, i, n)
            if k < 0:
                keep_from = max(i, n - (len(START) - 1))  # the tail may be the start of a START
                break
            if n - k < FRAME_LEN:
                keep_from = k  # wait for the rest of this candidate
                break
            if buf[k + FRAME_LEN - 1] != FLAG:
                i = k + 1  # not a frame (bytes lost or a header inside data): its bytes are skipped
                continue
            self._frame(k)
            if k > self._done:
                self.skipped += k - self._done
            self._done = k + FRAME_LEN
            i = k + FRAME_LEN - 1
        if keep_from > self._done:
            self.skipped += keep_from - self._done
        if keep_from:
            m = n - keep_from
            self._mv[0:m] = self._mv[keep_from:n]
            self._n = m
            self._done = max(self._done - keep_from, 0)

    def _frame(self, k):
        buf = self._buf
        table = _TABLE
        crc = 0xFFFF
        for j in range(k + 1, k + FCS_OFFSET):
            crc = (crc >> 8) ^ table[(crc ^ buf[j]) & 0xFF]
        crc ^= 0xFFFF
        if crc == buf[k + FCS_OFFSET] | (buf[k + FCS_OFFSET + 1] << 8):
            self.frames += 1
            seq = buf[k + SEQ_OFFSET]
            if self._last_seq >= 0 and (seq - self._last_seq) & 0xFF != 1:
                self.seq_gaps += 1
            self._last_seq = seq
            self.freq_mhz = buf[k + FREQ_OFFSET] << 8 | buf[k + FREQ_OFFSET + 1]
        else:
            self.fcs_errors += 1
        if self.keep:
            r = self._ring_next * FRAME_LEN
            self._ring[r:r + FRAME_LEN] = self._mv[k:k + FRAME_LEN]
            self._ring_next = (self._ring_next + 1) % self.keep
            if self._ring_count < self.keep:
                self._ring_count += 1

    @property
    def waiting(self):
        """Bytes held back because they may still become (part of) a frame."""
        return self._n - self._done

    def flush(self):
        """The stream has ended: count what is left (a cut-off frame, trailing garbage) as skipped."""
        if self._n > self._done:
            self.skipped += self._n - self._done
        self._n = 0
        self._done = 0

    def last_frames(self, n):
        """The last min(n, kept) frames (good or bad FCS) as bytes, oldest first."""
        n = min(n, self._ring_count)
        out = []
        for j in range(n):
            r = ((self._ring_next - n + j) % self.keep) * FRAME_LEN
            out.append(bytes(self._ring[r:r + FRAME_LEN]))
        return out


def status_line(counter, uart_errors=0):
    """The '@S' line (no line end)."""
    return "@S frames=%d fcs_errors=%d seq_gaps=%d skipped=%d bytes=%d uart_errors=%d" % (
        counter.frames, counter.fcs_errors, counter.seq_gaps, counter.skipped, counter.bytes, uart_errors)


def frame_lines(counter, n):
    """'@F <90 hex digits>' lines for the last n frames, oldest first (no line ends)."""
    return ["@F " + binascii.hexlify(f).decode().upper() for f in counter.last_frames(n)]
