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

    set_drq(bool) drives Data Request; heartbeat() returns the current '@H' line. `s1` is the S1
    port, an object with s1_status() (the '@S' line), s1_frames(n) (the '@F' lines of the last n
    frames) and s1_reset() (counting starts afresh); without one (None) the S1 commands answer
    '@R ERR s1-disabled'.
    """

    def __init__(self, set_drq, heartbeat, firmware_version, protocol_version, s1=None):
        self._set_drq = set_drq
        self._heartbeat = heartbeat
        self._s1 = s1
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
        if words[0] == "S1":
            return self._s1_command(words, text)
        return ["@R ERR unknown-command " + text]

    def _s1_command(self, words, text):
        frames = len(words) == 3 and words[1] == "FRAMES" and words[2].isdigit() and len(words[2]) <= 4
        if not (frames or words in (["S1", "STATUS"], ["S1", "RESET"])):
            return ["@R ERR unknown-command " + text]
        s1 = self._s1
        if s1 is None:
            return ["@R ERR s1-disabled"]
        if frames:
            lines = s1.s1_frames(int(words[2]))
            return lines + ["@R S1 FRAMES %d" % len(lines)]
        if words[1] == "RESET":
            s1.s1_reset()
            return ["@R S1 RESET"]
        return [s1.s1_status()]
