"""Host-side tools for the Fluvius S1 port: decode, synthesise and analyse captures.

``frames`` decodes the 2 Mbit/s byte stream, ``synth`` generates one, ``analysis`` turns sample
sets into RMS, power and harmonics, ``plot`` draws them, ``cli`` is the ``p1reader-s1`` command.
"""

from .frames import (DecodeResult, DecodeStats, S1Decoder, S1Frames, crc16_x25, crc16_x25_rows,
                     decode_bytes, decode_file)

__all__ = ["DecodeResult", "DecodeStats", "S1Decoder", "S1Frames", "crc16_x25", "crc16_x25_rows",
           "decode_bytes", "decode_file"]
