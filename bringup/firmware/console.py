"""Host -> board command handling, shared by the board firmware and the host simulation.

Runs unchanged under CPython and MicroPython. Commands come one per line (CR or LF ends a line);
every reply is one line without line end, the caller adds CR LF.
"""

MAX_COMMAND = 80  # longer command lines are answered with '@R ERR line-too-long'


def _printable(data):
    # Replies must stay one printable ASCII line whatever the host sent.
    return "".join([chr(b) if 32 <= b < 127 else "?" for b in data])


class Console:
    """Turns command lines into reply lines.

    set_drq(bool) drives Data Request; heartbeat() returns the current '@H' line.
    """

    def __init__(self, set_drq, heartbeat, firmware_version, protocol_version):
        self._set_drq = set_drq
        self._heartbeat = heartbeat
        self._version = "@R VERSION fw=%s proto=%d" % (firmware_version, protocol_version)
        self._line = bytearray()
        self._too_long = False
        self.drq = False

    def feed(self, data):
        """Take console bytes in any split; return the reply lines of the commands they complete."""
        if isinstance(data, str):
            data = data.encode()
        replies = []
        for b in data:
            if b == 0x0D or b == 0x0A:
                if self._too_long:
                    replies.append("@R ERR line-too-long")
                else:
                    replies.extend(self.handle(_printable(self._line)))
                self._line = bytearray()
                self._too_long = False
            elif len(self._line) < MAX_COMMAND:
                self._line.append(b)
            else:
                self._too_long = True  # keep memory bounded; drop the rest of the line
        return replies

    def handle(self, line):
        """Reply lines for one command line (empty lines, e.g. the LF of a CR LF, get none)."""
        text = line.strip()
        words = text.upper().split()
        if not words:
            return []
        if words == ["VERSION"]:
            return [self._version]
        if words == ["STATUS"]:
            return [self._heartbeat()]
        if len(words) == 2 and words[0] == "DRQ" and words[1] in ("0", "1"):
            self.drq = words[1] == "1"
            self._set_drq(self.drq)
            return ["@R DRQ " + words[1]]
        return ["@R ERR unknown-command " + text]
