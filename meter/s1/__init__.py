"""The Fluvius S1 port on the host: ``frames`` decodes the 2 Mbit/s byte stream, ``synth`` makes one,
``analysis`` turns sample sets into RMS, power and harmonics, ``windows`` does that on an endless stream,
``plot`` draws them, ``source`` reads files, stdin and ports, ``jsonl`` writes frames as JSON lines and ``cli``
is ``p1reader s1``. The decoder's names are re-exported here.
"""

from .frames import (DecodeResult, DecodeStats, S1Decoder, S1Frames, crc16_x25, crc16_x25_rows,  # noqa: F401
                     decode_bytes)
