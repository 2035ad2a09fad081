"""The stimulus: a real Fluvius telegram's bytes as the meter's LED sends them, 8N1, logically inverted.

On the wire MARK (1, also the idle state) is the meter's coupler ON, pulling the line LOW; SPACE (0) is the
coupler OFF and the pull-up taking the line HIGH. The board's inverter turns that back into normal UART
polarity at the ESP32: RX HIGH for 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

# The first lines of a real Fluvius telegram (1-phase meter with gas, 50217), byte-exact
# (published in the DsmrHub tests; CRC FCCF checked over the whole telegram).
TELEGRAM = (b"/FLU5\\253770234_A\r\n\r\n0-0:96.1.4(50217)\r\n0-0:96.1.1(3153414731313030303537373239)\r\n"
            b"0-0:1.0.0(221220204556W)\r\n1-0:1.8.1(003457.591*kWh)\r\n")

STANDARD_BAUDS = (115200, 230400, 460800, 921600)


def frame_bits(data: bytes) -> list[int]:
    """UART 8N1 bits, first to last: start 0, eight data bits LSB first, stop 1."""
    bits = []
    for byte in data:
        bits += [0] + [(byte >> i) & 1 for i in range(8)] + [1]
    return bits


def worst_window(data: bytes = TELEGRAM, n: int = 3) -> bytes:
    """The `n` consecutive telegram bytes hardest on the input stage.

    Hardest = the longest run of SPACE (Q1 saturated longest → most storage delay on the next edge) and of
    MARK (the meter's coupler saturated longest → slowest turn-off), and single-bit pulses of both polarities
    (they show pulse-width distortion first). First window wins a tie, so the choice is deterministic.
    """
    def score(window):
        runs = [(b, len(list(same))) for b, same in groupby([1, 1] + frame_bits(window))]  # idle line before: MARK
        longest = {v: max((k for b, k in runs if b == v), default=0) for v in (0, 1)}
        singles = {v: any(b == v and k == 1 for b, k in runs[1:-1]) for v in (0, 1)}
        return (singles[0] and singles[1], longest[0], longest[1])

    windows = [data[i:i + n] for i in range(len(data) - n + 1)]
    return max(windows, key=score)


@dataclass(frozen=True)
class Stimulus:
    """A bit sequence on a time grid: bit k occupies [k·T, (k+1)·T). `frames` are start-bit indices."""

    data: bytes
    baud: float
    idle_before: int = 3
    idle_after: int = 3
    edge_s: float = 20e-9

    @property
    def bit_s(self) -> float:
        return 1.0 / self.baud

    @property
    def bits(self) -> list[int]:
        return [1] * self.idle_before + frame_bits(self.data) + [1] * self.idle_after

    @property
    def frames(self) -> list[int]:
        return [self.idle_before + 10 * i for i in range(len(self.data))]

    @property
    def duration_s(self) -> float:
        return len(self.bits) * self.bit_s

    def light(self) -> list[tuple[float, int]]:
        """The meter LED (1 = on = MARK) as PWL breakpoints, with finite edges."""
        bits, t = self.bits, self.bit_s
        points = [(0.0, bits[0])]
        for k in range(1, len(bits)):
            if bits[k] != bits[k - 1]:
                points += [(k * t, bits[k - 1]), (k * t + self.edge_s, bits[k])]
        points.append((len(bits) * t, bits[-1]))
        return points
