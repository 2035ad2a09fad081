"""The one error base of the firmware's host tools: a tool (esptool, mpremote, the MicroPython unix port) or an
input that cannot be used, named with what and where (one line, exit 2, on the command line)."""


class FirmwareError(Exception):
    pass
