"""Command handling shared by the firmware and the simulated board (firmware/console.py)."""

from firmware import console as cm


def make():
    drq = []
    con = cm.Console(drq.append, lambda: "@H fake", "1.0.0", 1)
    return con, drq


def test_commands_and_replies():
    con, drq = make()
    assert con.feed(b"VERSION\r\n") == ["@R VERSION fw=1.0.0 proto=1"]
    assert con.feed(b"DRQ 1\n") == ["@R DRQ 1"] and drq == [True] and con.drq
    assert con.feed(b"DRQ 0\r") == ["@R DRQ 0"] and drq == [True, False] and not con.drq
    assert con.feed(b"STATUS\r\n") == ["@H fake"]
    assert con.feed(b"  drq   1 \n") == ["@R DRQ 1"]  # case and spacing are forgiven
    assert con.feed(b"FLASH NOW\n") == ["@R ERR unknown-command FLASH NOW"]
    assert con.feed(b"DRQ 2\n") == ["@R ERR unknown-command DRQ 2"]
    assert drq == [True, False, True]  # bad arguments never touch the pin


def test_any_split_and_blank_lines():
    con, drq = make()
    replies = []
    for b in b"\r\n\nVERS" b"ION\r" b"\nDRQ 1\r\n":
        replies += con.feed(bytes([b]))
    assert replies == ["@R VERSION fw=1.0.0 proto=1", "@R DRQ 1"]
    assert con.feed("STATUS\n") == ["@H fake"]  # str input (MicroPython's text stdin) works too
    assert con.feed(b"VERSION") == []  # no line end yet: nothing happens


def test_non_printable_and_overlong_lines_stay_bounded():
    con, _ = make()
    assert con.feed(b"X\x1b\xff\n") == ["@R ERR unknown-command X??"]
    assert con.feed(b"A" * 5000 + b"\nVERSION\n") == ["@R ERR line-too-long", "@R VERSION fw=1.0.0 proto=1"]
    assert con.feed(b"B" * cm.MAX_COMMAND + b"\n") == ["@R ERR unknown-command " + "B" * cm.MAX_COMMAND]


class FakeS1:
    def __init__(self):
        self.asked = []

    def s1_status(self):
        return "@S fake"

    def s1_frames(self, n):
        self.asked.append(n)
        return ["@F %02d" % k for k in range(min(n, 2))]

    def s1_reset(self):
        self.asked.append("reset")


def test_s1_commands():
    s1 = FakeS1()
    con = cm.Console(lambda on: None, lambda: "@H fake", "1.1.0", 2, s1)
    assert con.feed(b"S1 STATUS\r\n") == ["@S fake"]
    assert con.feed(b"s1 frames 3\n") == ["@F 00", "@F 01", "@R S1 FRAMES 2"]
    assert con.feed(b"S1 FRAMES 0\n") == ["@R S1 FRAMES 0"]
    assert con.feed(b"S1 Reset\n") == ["@R S1 RESET"]
    assert s1.asked == [3, 0, "reset"]
    for bad in (b"S1 FRAMES -1", b"S1 FRAMES 99999", b"S1 FRAMES", b"S1", b"S1 STATUS 2"):
        assert con.feed(bad + b"\n") == ["@R ERR unknown-command " + bad.decode()]
    assert s1.asked == [3, 0, "reset"]


def test_s1_commands_without_s1():
    con, _ = make()
    assert con.feed(b"S1 STATUS\n") == ["@R ERR s1-disabled"]
    assert con.feed(b"S1 FRAMES 2\n") == ["@R ERR s1-disabled"]
    assert con.feed(b"S1 RESET\n") == ["@R ERR s1-disabled"]
    assert con.feed(b"S1 BOGUS\n") == ["@R ERR unknown-command S1 BOGUS"]
