"""The bring-up sequence: :func:`run` enters the bench with the run's declarations, runs the steps in order,
checks every measurement a step returns against them, writes the record after every step and stops at the
first FAIL or ERROR. Whatever ends the run — a signal included — the bench is left (supply off first) with
further signals held off, and the record ends with the outcome and its category (bringup/README.md).
"""
from __future__ import annotations

import signal
import threading
import time
import traceback
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Callable

from meter.link import PortError

from . import limits
from .bench import Bench
from .instruments import InstrumentError
from .interrupts import SIGNALS, Interrupted
from .measurement import Category, Outcome, StepResult
from .plan import Plan, check as check_plan
from .record import RunRecord, utc_now
from .station import Station
from .steps import STEPS, Step, StepFailure, StepSkipped


@dataclass
class RunResult:
    outcome: Outcome
    category: Category
    record_path: str
    failed: StepResult | None
    steps: list[StepResult]
    supply_output_after: str
    bench: Bench | None  # None when the (simulated) bench could not start
    record_error: str | None = None  # "<path>: <error>" when the record could not be written

    @property
    def aborted(self) -> bool:
        return self.category == Category.ABORTED

    @property
    def passed(self) -> bool:
        return self.category == Category.PASS

    @property
    def verdict(self) -> str:
        return "ABORTED" if self.aborted else ("PASS" if self.passed else "FAIL")


@contextmanager
def _signals_abort(hold_after: bool = False):
    """The first Ctrl-C / SIGTERM / SIGHUP of a run aborts it (:class:`Interrupted` in the main thread, so
    `finally` runs); any later one is ignored, also after the run, so a second Ctrl-C can
    never cut the teardown short or turn the documented exit status 1 into 130. With `hold_after`
    (the command line) every signal stays ignored after the run, while its verdict is printed and stored.

    Yields ``(arm, held)``: a signal before ``arm()`` waits for it (the record is being created); one that
    came and was never armed (the record could not be created) leaves as ``Interrupted``. Inside ``with
    held():`` a signal waits too, until the block ends: child processes start there, and an abort
    raised inside ``subprocess.Popen`` would leave a started child that nobody stops."""
    if threading.current_thread() is not threading.main_thread():
        yield (lambda: None), nullcontext
        return
    fired: list[int] = []
    armed: list[bool] = []

    def handler(signum, frame):
        if fired:
            return  # already shutting down
        fired.append(signum)
        if armed:
            raise Interrupted(signum)

    def arm():
        armed.append(True)
        if fired:
            raise Interrupted(fired[0])

    @contextmanager
    def held():
        armed.clear()
        try:
            yield
        finally:
            arm()

    old = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield arm, held
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
    old = {s: signal.signal(s, signal.SIG_IGN) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def run(station: Station, board_serial: str, records_dir: str, inject: str | None = None,
        progress: Callable[[str, object], None] = lambda kind, obj: None, meta: dict | None = None,
        hold_signals: bool = False, plan: Plan | None = None) -> RunResult:
    """Run the whole bring-up. ``progress(kind, obj)`` gets ('start', Step), ('done', StepResult) and
    ('note', text) from a long step; ``meta`` adds fields to the record (operator, harness provenance);
    ``hold_signals``: see :func:`_signals_abort`; ``plan``: the station's checked plan with its captures
    framed (:func:`bringup.plan.check`; made here when not given)."""
    captures = (plan or check_plan(station)).captures
    meta = {"inject": inject, "station_kind": station.kind, "station_source": station.source,
            "telegram_paths": list(station.telegrams), "profile": station.profile, **(meta or {})}
    bench: Bench | None = None
    with ExitStack() as stack, _signals_abort(hold_signals) as (arm, held):
        seq = _Sequence(RunRecord(records_dir, board_serial, station.name, meta), progress)
        try:
            arm()  # a signal while the record was created aborts the run now
            with held():  # a signal while the (simulated) bench starts aborts it once it is on the stack
                bench = _enter_bench(stack, station, inject, captures)
            bench.note = lambda text: progress("note", text)
            seq.run_steps(bench)
        except (KeyboardInterrupt, Interrupted) as e:
            seq.aborted_by(e)
        except Exception as e:  # the sim bench could not start: still a clean record (steps catch their own)
            seq.setup_failed(e)
        finally:
            with _signals_ignored():
                stack.close()  # leave the bench (supply off first, then the rest in reverse), stop the sim bench
                seq.finish(bench)
    return seq.result(bench)


def _enter_bench(stack: ExitStack, station: Station, inject: str | None, captures) -> Bench:
    """The run's bench, entered on `stack` with the run's declared limits. A simulated station's bench is
    started first (ptys, simulated board and instruments), and the run uses its wired copy of the station."""
    if station.kind == "sim":
        from .sim.bench import SimBench

        station = stack.enter_context(SimBench(station, fault=inject)).station
    return stack.enter_context(Bench(station, limits.table(station, captures), captures))


def _abort_reason(e: BaseException) -> str:
    """How the record words an abort: by a signal, or a KeyboardInterrupt from elsewhere (as Ctrl-C)."""
    return (e if isinstance(e, Interrupted) else Interrupted(signal.SIGINT)).reason


class _Sequence:
    """The steps of one run as they happen: each result into the record when it ends; the first step that
    does not pass ends the run (:attr:`failed`)."""

    def __init__(self, record: RunRecord, progress: Callable[[str, object], None]):
        self.record, self.progress = record, progress
        self.results: list[StepResult] = []
        self.failed: StepResult | None = None
        self.aborted = False

    def _add(self, res: StepResult) -> None:
        self.record.add_step(res)
        self.progress("done", res)

    def run_steps(self, bench: Bench) -> None:
        for i, step in enumerate(STEPS, 1):
            res = self._run_step(i, step, bench)
            if bench.firmware:
                self.record.data["firmware"] = bench.firmware
            if bench.telegrams:  # the replay's per-telegram table
                self.record.data["telegrams"] = [row.model_dump() for row in bench.telegrams]
            self._add(res)
            if res.outcome in (Outcome.FAIL, Outcome.ERROR):
                self.failed = res
                return

    def _run_step(self, index: int, step: Step, bench: Bench) -> StepResult:
        """One step, its measurements checked against its declarations: an undeclared or mismatched one
        is an ERROR naming the step and the measurement (a harness bug, so a station error)."""
        res = StepResult(index, step.name, step.title, started=utc_now())
        self.results.append(res)
        self.progress("start", res)
        t0 = time.monotonic()
        try:
            res.measurements = step.run(bench)
            bench.limits.check(step.name, res.measurements)
        except StepSkipped as e:
            res.outcome, res.error = Outcome.SKIPPED, f"skipped: {e}"
        except (StepFailure, PortError, InstrumentError) as e:
            res.outcome, res.error = Outcome.FAIL, str(e)
        except (KeyboardInterrupt, Interrupted) as e:
            res.outcome, res.error = Outcome.ERROR, _abort_reason(e)
            res.duration_s = time.monotonic() - t0
            raise
        except Exception as e:
            res.outcome, res.error, res.station_fault = Outcome.ERROR, f"internal error: {type(e).__name__}: {e}", True
            self.record.data.setdefault("tracebacks", {})[step.name] = traceback.format_exc()
        res.duration_s = time.monotonic() - t0
        res.finish()
        if step.checks_station and res.outcome in (Outcome.FAIL, Outcome.ERROR):
            res.station_fault = True
        return res

    def aborted_by(self, e: BaseException) -> None:
        """Ctrl-C or SIGTERM: the step it interrupted is the ERROR, or (between steps, or while the bench
        started) the step that would have run next."""
        self.aborted = True
        recorded = {st["index"] for st in self.record.data["steps"]}
        if self.results and self.results[-1].index not in recorded:
            self.failed = self.results[-1]
            if self.failed.outcome is not Outcome.ERROR:  # the signal came between the step's start and its own
                self.failed.outcome, self.failed.error = Outcome.ERROR, _abort_reason(e)  # handler: not a PASS
        else:
            i = len(self.results)
            self.failed = StepResult(i + 1, STEPS[i].name if i < len(STEPS) else "end", "Aborted",
                                     outcome=Outcome.ERROR, started=utc_now(), error=_abort_reason(e))
            self.results.append(self.failed)
        self._add(self.failed)

    def setup_failed(self, e: Exception) -> None:
        self.failed = StepResult(0, "setup", "Bench set-up", outcome=Outcome.FAIL, error=f"{type(e).__name__}: {e}",
                                 started=utc_now(), station_fault=True)
        self.results.append(self.failed)
        self._add(self.failed)

    def outcome(self) -> Outcome:
        if self.failed is not None:
            return self.failed.outcome
        if len(self.results) < len(STEPS):
            return Outcome.ERROR
        # A step skipped for lack of station equipment (no S1 jig) does not fail the board.
        return Outcome.worst(r.outcome for r in self.results if r.outcome != Outcome.SKIPPED)

    def category(self) -> Category:
        if self.aborted:
            return Category.ABORTED
        if self.failed is not None and self.failed.station_fault:
            return Category.STATION_ERROR
        return Category.PASS if self.outcome() in (Outcome.PASS, Outcome.MARGINAL) else Category.FAIL

    def finish(self, bench: Bench | None) -> None:
        """The supply state, the steps not run and the verdict into the record, once the bench is closed."""
        data = self.record.data
        data["supply_output_after"] = supply_state = bench.supply_after if bench is not None else "not opened"
        if supply_state != "OFF" and bench is not None and bench.supply is not None:
            data["warning"] = "SUPPLY OUTPUT MAY STILL BE ON — switch it off by hand"
        ran = {r.index for r in self.results}
        for i, step in enumerate(STEPS, 1):
            if i not in ran and self.failed is not None:
                data["steps"].append(StepResult(i, step.name, step.title, outcome=Outcome.SKIPPED, error=(
                    f"not run: step {self.failed.index} {self.failed.name} did not pass")).to_dict())
        console_log = bytes(bench.console.log) if bench is not None and bench.console is not None else b""
        self.record.finish(self.outcome(), self.category(), self.failed, console_log)

    def result(self, bench: Bench | None) -> RunResult:
        return RunResult(self.outcome(), self.category(), str(self.record.path), self.failed, self.results,
                         self.record.data["supply_output_after"], bench, self.record.write_error)
