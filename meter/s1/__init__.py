"""Host-side tools for the Fluvius S1 port: decode, synthesise and analyse captures and live streams.

``frames`` decodes the 2 Mbit/s byte stream, ``synth`` generates one, ``analysis`` turns sample
sets into RMS, power and harmonics, ``windows`` does that on an endless stream, ``plot`` draws them,
``source`` reads files, stdin and serial ports, ``jsonl`` formats frames as JSON lines, ``cli`` is the
``p1reader-s1`` command.
"""

from .frames import (DecodeResult, DecodeStats, S1Decoder, S1Frames, crc16_x25, crc16_x25_rows,
                     decode_bytes)

__all__ = ["DecodeResult", "DecodeStats", "S1Decoder", "S1Frames", "crc16_x25", "crc16_x25_rows",
           "decode_bytes"]
