"""The one error base of the meter package: a capture, serial link or S1 source that cannot be used, named
with what and where (one line, exit 2, on the command line)."""


class MeterError(Exception):
    pass
