"""The simulated bench: socat pty pairs for the serial links (meter, console, and S1 when the station
has an ``s1:`` section), the simulated board process, and pyvisa-sim instruments
(``instruments.yaml``). :class:`SimBench` fills a ``kind: sim`` station with their URLs/resources, so
the run itself cannot tell it from a real bench.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from hwtools import procs

from ..errors import BringupError

INSTRUMENTS_YAML = Path(__file__).with_name("instruments.yaml")

from .faults import BOARD_FAULTS, FAULTS


class SimError(BringupError):
    """The simulated bench could not be started (socat missing, ptys not created, board died)."""


class PtyPair:
    """Two linked ptys from ``socat -d -d pty,raw,echo=0 pty,raw,echo=0``; socat's log (where it names
    the ptys) goes to `log`, removed once they are up."""

    def __init__(self, log: Path, timeout_s: float = 5.0):
        socat = shutil.which("socat")
        if not socat:
            raise SimError("socat not found on PATH (apt-get install socat)")
        self._log = open(log, "wb")
        # dies with the harness, even a SIGKILLed one: a killed run leaves no socat behind
        self.proc = procs.popen([socat, "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=self._log, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        self.a = self.b = ""
        while time.monotonic() < deadline:
            text = Path(self._log.name).read_text(errors="replace")
            ptys = re.findall(r"PTY is (\S+)", text)
            if len(ptys) >= 2 and "starting data transfer loop" in text:
                self.a, self.b = ptys[0], ptys[1]
                self._drop_log()  # socat keeps its descriptor; nothing is left behind if we are killed
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        self.close()
        raise SimError(f"socat did not create a pty pair within {timeout_s} s: {text.strip()[-300:]}")

    def _drop_log(self) -> None:
        try:
            self._log.close()
            os.unlink(self._log.name)
        except OSError:
            pass

    def close(self) -> None:
        _stop(self.proc)
        self._drop_log()


def _stop(proc: subprocess.Popen | None, grace_s: float = 2.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace_s)
    except ProcessLookupError:
        pass


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a live process (Linux /proc), for the benchmark's CPU-per-telegram figure."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class SimBench:
    """Context manager: start pty pairs + simulated board, tear everything down. :attr:`station` is a
    copy of the station given, wired to the ptys and pyvisa-sim resources (the one given is never
    changed)."""

    def __init__(self, station, fault: str | None = None):
        self.station = station  # replaced by the wired copy in start()
        self.fault = fault if fault is not None else station.sim.fault
        if self.fault is not None and self.fault not in FAULTS:
            raise SimError(f"unknown fault {self.fault!r}; one of {', '.join(FAULTS)}")
        self.pairs: list[PtyPair] = []
        self.board: subprocess.Popen | None = None
        self._stopping = False
        self._cleanup = ExitStack()  # the temp folder (line-state files, socat logs)

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self) -> None:
        st = self.station
        self.pairs = []  # filled as they start, so stop() closes whatever did
        procs.remove_stale()  # the folders of runs that were killed (their PID is in the name)
        folder = self._cleanup.enter_context(procs.temp_dir("sim"))  # p1reader-<pid>-sim-…
        meter_state = str(folder / "meter.line")
        meter = PtyPair(folder / "socat-meter.log")
        self.pairs.append(meter)
        console = PtyPair(folder / "socat-console.log")
        self.pairs.append(console)
        cmd = [sys.executable, "-m", "bringup.sim.board", "--meter", meter.b, "--console", console.b,
               "--baud", str(st.meter.baud), "--console-baud", str(st.console.baud),
               "--heartbeat", str(st.sim.heartbeat_s), "--line-state", meter_state]
        s1_cfg = None
        if st.s1 is not None:
            s1 = PtyPair(folder / "socat-s1.log")
            self.pairs.append(s1)
            s1_state = str(folder / "s1.line")
            s1_cfg = st.s1.model_copy(update={"url": s1.a, "line_state": s1_state})
            cmd += ["--s1", s1.b, "--s1-line-state", s1_state]
        if self.fault in BOARD_FAULTS:
            cmd += ["--fault", self.fault]
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.board = procs.popen(cmd, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self._stopping = False
        threading.Thread(target=self._watch_board, name="simboard watcher", daemon=True).start()
        lib = f"{st.sim.instruments_yaml or INSTRUMENTS_YAML}@sim"
        self.station = st.model_copy(update={  # the station given stays as it was
            "meter": st.meter.model_copy(update={"url": meter.a, "drq_via": "dmm", "line_state": meter_state}),
            "console": st.console.model_copy(update={"url": console.a}),
            "s1": s1_cfg,
            "supply": st.supply.model_copy(update={
                "visa_library": lib, "resource": "ASRL3::INSTR" if self.fault == "over-current" else "ASRL1::INSTR"}),
            "dmm": st.dmm.model_copy(update={
                "visa_library": lib, "resource": "ASRL4::INSTR" if self.fault == "instrument-timeout" else "ASRL2::INSTR",
                "timeout_ms": min(st.dmm.timeout_ms, 300) if self.fault == "instrument-timeout" else st.dmm.timeout_ms,
                "rail_channel": "101", "drq_channel": "102"}),
        })

    def _watch_board(self) -> None:
        # A real board that dies takes its USB console with it: the device node disappears. socat keeps
        # a pty master open after its slave closes, so the ptys are removed here to do the same.
        board = self.board
        board.wait()
        if not self._stopping:
            for p in list(self.pairs):
                p.close()

    def stop(self) -> None:
        self._stopping = True
        _stop(self.board)
        for p in self.pairs:
            p.close()
        self.pairs = []
        self._cleanup.close()
