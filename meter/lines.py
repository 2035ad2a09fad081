"""The meter's two serial lines as the host sees them: rates and what they carry per second.

The rates and the S1 frame length have their one home in the firmware (which runs on the device and cannot
import the host's packages); the host's figures derive from them here.
"""

from firmware.p1frame import P1_BAUD
from firmware.s1frame import FRAME_LEN as S1_FRAME_LEN, S1_BAUD

BITS_PER_BYTE = 10  # 8N1: a start bit, 8 data bits, a stop bit
LINE_BYTES_PER_S = P1_BAUD / BITS_PER_BYTE  # 11,520 bytes/s
S1_LINE_FRAMES_PER_S = S1_BAUD / BITS_PER_BYTE / S1_FRAME_LEN  # 4,444 frames/s back to back

__all__ = ["BITS_PER_BYTE", "LINE_BYTES_PER_S", "P1_BAUD", "S1_BAUD", "S1_FRAME_LEN", "S1_LINE_FRAMES_PER_S"]
