"""Raw telegrams on TCP and the state over HTTP, from the reader firmware under MicroPython: three clients get
every telegram byte for byte (and dsmr_parser decodes what they got as it decodes what the UART got), a client
that does not read is closed and counted; /api/telegram and /api/state against what was sent and published."""

import json
import socket
import threading
import time
import urllib.error
import urllib.request

from reader_helpers import TELEGRAM_DIR, big_telegram, wait_for
from meter import flavours
from meter import telegrams as tg


def sample_telegrams() -> list[bytes]:
    real = [p.read_bytes() for p in sorted(TELEGRAM_DIR.glob("*.txt"))]
    built = [tg.build(s) for s in tg.standard_set()] + [big_telegram()]
    return (real + built) * 3


class Collector:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.data = bytearray()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while chunk := self.sock.recv(65536):
            self.data += chunk


def test_three_clients_byte_identical_and_a_slow_one_closed(running):
    r = running()
    port = r.config["tcp_port"]
    clients = [Collector(port) for _ in range(3)]
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # and it never reads
    slow.connect(("127.0.0.1", port))
    wait_for(lambda: r.counter("tcp_clients") == 4, "four TCP clients accepted")
    sent = sample_telegrams()
    for telegram in sent:
        r.send(telegram)
        time.sleep(0.02)  # pacing only: a meter sends one a second
    expected = b"".join(sent)
    wait_for(lambda: all(len(c.data) >= len(expected) for c in clients), "every telegram at every client")
    for c in clients:
        assert bytes(c.data) == expected
    got = [bytes(x.telegram) for x in flavours_frames(bytes(clients[0].data))]
    assert len(got) == len(sent)
    for mine, theirs in zip(got, sent):
        profile = flavours.detect(theirs).profile
        assert str(flavours.parse(mine, profile)[0]) == str(flavours.parse(theirs, profile)[0])
    wait_for(lambda: r.counter("slow_clients") >= 1 and r.counter("tcp_clients") == 3, "the slow client closed")
    slow.settimeout(60)
    while slow.recv(65536):
        pass  # what it was sent before it was closed, then the end
    assert len(clients[0].data) == len(expected)  # nothing more, nothing twice


def flavours_frames(data: bytes):
    from firmware.p1frame import Framer

    return [rep for rep in Framer().feed(data) if rep.telegram]


def get(port: int, path: str):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as resp:
            return resp.status, resp.headers.get("Content-Type"), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()


def test_http_telegram_and_state_match_the_topics(running, observer):
    r = running()
    port = r.config["http_port"]
    status, _, _ = get(port, "/api/telegram")  # the server listens before the firmware's first console line
    assert status == 503
    telegram = (TELEGRAM_DIR / "fluvius-3ph-gas-water-50217-a.txt").read_bytes()
    r.send(telegram)
    wait_for(lambda: r.counter("telegrams_ok") == 1 and r.counter("pending") == 0, "the telegram published")
    status, kind, body = get(port, "/api/telegram")
    assert (status, kind, body) == (200, "text/plain", telegram)
    status, kind, body = get(port, "/api/state")
    state = json.loads(body)
    def state_topics():
        topics = {t[len("p1test/"):] for t in observer.topics() if t.startswith("p1test/")}
        return topics - {"status", "event/alert", "quarter/history"}

    wait_for(lambda: set(state) <= state_topics(), "every state key published")
    assert set(state) == state_topics() and len(state) > 40
    for key, value in state.items():
        if not key.startswith("diag/"):  # diagnostics move every second
            assert observer.last("p1test/" + key).decode() == value, key
