"""The bring-up sequence and the bench's lifecycle.

``run()`` opens the bench (the simulated one for ``kind: sim``), runs the steps in order, writes the
record after every step and stops at the first FAIL/ERROR. Whatever happens — a normal end, a failed
step, an exception, Ctrl-C, SIGTERM, a lost port — the ``finally`` turns the supply output off, reads
back its state into the record, and closes ports and instruments, each in bounded time.
"""
from __future__ import annotations

import signal
import threading
import time
import traceback
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Callable

from .instruments import InstrumentError
from .interrupts import Interrupted
from .measurement import Outcome, StepResult
from meter.link import PortError
from .record import RunRecord, utc_now
from .station import Station
from .bench import Bench
from .steps import STEPS, StepFailure, StepSkipped


class Aborted(BaseException):
    """SIGTERM/SIGHUP during a run (Ctrl-C arrives as KeyboardInterrupt)."""


@dataclass
class RunResult:
    outcome: Outcome
    record_path: str
    failed: StepResult | None
    steps: list[StepResult]
    supply_output_after: str
    bench: Bench
    run_id: str = ""
    aborted: bool = False
    record_error: str | None = None  # "<path>: <error>" when the record could not be written

    @property
    def passed(self) -> bool:
        return self.outcome in (Outcome.PASS, Outcome.MARGINAL) and not self.aborted

    @property
    def verdict(self) -> str:
        return "ABORTED" if self.aborted else ("PASS" if self.passed else "FAIL")


@contextmanager
def _signals_abort(hold_after: bool = False):
    """The first Ctrl-C / SIGTERM / SIGHUP of a run aborts it (KeyboardInterrupt or Aborted in the main
    thread, so `finally` runs); any later one is ignored, also after the run, so a second Ctrl-C can
    never cut the teardown short or turn the documented exit status 1 into 130. With `hold_after`
    (the command line) every signal stays ignored after the run, while its verdict is printed and stored.

    Yields ``arm``: a signal before ``arm()`` waits for it (the record is being created); one that
    came and was never armed (the record could not be created) leaves as ``Interrupted``."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None
        return
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    fired: list[int] = []
    armed: list[bool] = []

    def abort(signum: int):
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Aborted(signal.Signals(signum).name)

    def handler(signum, frame):
        if fired:
            return  # already shutting down
        fired.append(signum)
        if armed:
            abort(signum)

    def arm():
        armed.append(True)
        if fired:
            abort(fired[0])

    old = {s: signal.signal(s, handler) for s in sigs}
    try:
        yield arm
    finally:
        for s, h in old.items():
            signal.signal(s, signal.SIG_IGN if fired or hold_after else h)
        if fired and not armed:
            raise Interrupted(fired[0])  # before the record existed: nothing powered, nothing written


@contextmanager
def _signals_ignored():
    """Teardown must not be cut short by a second Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {s: signal.signal(s, signal.SIG_IGN) for s in sigs}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run(station: Station, board_serial: str, records_dir: str, inject: str | None = None,
        progress: Callable[[str, object], None] = lambda kind, obj: None, meta: dict | None = None,
        hold_signals: bool = False) -> RunResult:
    """Run the whole bring-up. ``progress(kind, obj)`` gets ('start', Step), ('done', StepResult) and
    ('note', text) from a long step; ``meta`` adds fields to the record (operator, harness provenance);
    ``hold_signals``: see :func:`_signals_abort`."""
    meta = {"inject": inject, "station_kind": station.kind, "station_source": station.source,
            "telegram_paths": list(station.telegrams), "profile": station.profile, **(meta or {})}
    results: list[StepResult] = []
    failed: StepResult | None = None
    supply_state = "not opened"
    aborted = False
    with ExitStack() as stack, _signals_abort(hold_signals) as arm:
        record = RunRecord(records_dir, board_serial, station.name, meta)
        bench = Bench(station)
        bench.note = lambda text: progress("note", text)
        try:
            arm()  # a signal while the record was created aborts the run now
            if station.kind == "sim":
                from .sim.bench import SimBench

                sim = stack.enter_context(SimBench(station, fault=inject))
                bench.station = sim.station  # wired to the ptys and simulated instruments (a copy)
                bench.extra["sim"] = sim
            for i, step in enumerate(STEPS, 1):
                res = StepResult(i, step.name, step.title, started=utc_now())
                results.append(res)
                progress("start", res)
                t0 = time.monotonic()
                try:
                    res.measurements = step.run(bench)
                except StepSkipped as e:
                    res.outcome, res.error = Outcome.SKIPPED, f"skipped: {e}"
                except (StepFailure, PortError, InstrumentError) as e:
                    res.outcome, res.error = Outcome.FAIL, str(e)
                except (KeyboardInterrupt, Aborted) as e:
                    res.outcome = Outcome.ERROR
                    res.error = "aborted by operator (Ctrl-C)" if isinstance(e, KeyboardInterrupt) else f"aborted ({e})"
                    res.duration_s = time.monotonic() - t0
                    raise
                except Exception as e:
                    res.outcome = Outcome.ERROR
                    res.error = f"internal error: {type(e).__name__}: {e}"
                    record.data.setdefault("tracebacks", {})[step.name] = traceback.format_exc()
                res.duration_s = time.monotonic() - t0
                res.finish()
                if bench.firmware:
                    record.data["firmware"] = bench.firmware
                if "telegrams" in bench.extra:  # the replay's per-telegram table
                    record.data["telegrams"] = bench.extra["telegrams"]
                record.add_step(res)
                progress("done", res)
                if res.outcome in (Outcome.FAIL, Outcome.ERROR):
                    failed = res
                    break
        except (KeyboardInterrupt, Aborted) as e:
            aborted = True
            recorded = {st["index"] for st in record.data["steps"]}
            if results and results[-1].index not in recorded:
                failed = results[-1]  # interrupted inside a step: that step is the ERROR
            else:  # interrupted between steps or while the bench started
                failed = StepResult(len(results) + 1, STEPS[len(results)].name if len(results) < len(STEPS) else "end",
                                    "Aborted", outcome=Outcome.ERROR, started=utc_now(),
                                    error="aborted by operator (Ctrl-C)" if isinstance(e, KeyboardInterrupt) else f"aborted ({e})")
                results.append(failed)
            record.add_step(failed)
            progress("done", failed)
        except Exception as e:  # the sim bench could not start: still a clean record (steps catch their own)
            res = StepResult(0, "setup", "Bench set-up", outcome=Outcome.FAIL,
                             error=f"{type(e).__name__}: {e}", started=utc_now())
            results.append(res)
            record.add_step(res)
            progress("done", res)
            failed = res
        finally:
            with _signals_ignored():
                supply_state = bench.close()  # supply off first, then everything in reverse order
                stack.close()  # stop the simulated bench (if any) while signals are still held off
                record.data["supply_output_after"] = supply_state
                if supply_state != "OFF" and bench.supply is not None:
                    record.data["warning"] = "SUPPLY OUTPUT MAY STILL BE ON — switch it off by hand"
                ran = {r.index for r in results}
                for i, step in enumerate(STEPS, 1):
                    if i not in ran and failed is not None:
                        skipped = StepResult(i, step.name, step.title, outcome=Outcome.SKIPPED,
                                             error=f"not run: step {failed.index} {failed.name} did not pass")
                        record.data["steps"].append(skipped.to_dict())
                # A step skipped for lack of station equipment (no S1 jig) does not fail the board.
                ran_outcomes = [r.outcome for r in results if r.outcome != Outcome.SKIPPED]
                outcome = Outcome.worst(ran_outcomes) if failed is None else failed.outcome
                if failed is None and len(results) < len(STEPS):
                    outcome = Outcome.ERROR
                console_log = bytes(bench.console.log) if bench.console is not None else b""
                record.finish(outcome, failed, console_log, aborted=aborted)
    return RunResult(outcome, str(record.path), failed, results, supply_state, bench, record.run_id, aborted,
                     record.write_error)
