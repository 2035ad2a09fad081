"""Ctrl-C, SIGTERM and SIGHUP from the program's first line: one line on stderr, exit 1, no traceback.

``p1reader bringup`` (p1reader/cli.py) installs the handlers before it imports anything heavy (the database
driver, pydantic, pyvisa take ~0.6 s; only this module's standard-library imports run before) and ``cli.main``
is wrapped by :func:`guard`: a signal before the run raises :class:`Interrupted`, which the guard turns into
the one line — nothing powered, no record written. During the run the runner's handlers take over
(``runner._signals_abort``: the supply goes off, the record says ABORTED, later signals are ignored).
"""
from __future__ import annotations

import functools
import signal
import sys

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGHUP last: once it is caught, all are
EXIT_ABORTED = 1  # as an ABORTED run (bringup/README.md)


class Interrupted(BaseException):
    """A signal arrived (BaseException, like KeyboardInterrupt: no ``except Exception`` swallows it): before
    the run the guard says so in one line; during the run the runner aborts the run with it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def reason(self) -> str:
        """As the runner words it in a record."""
        if self.signum == signal.SIGINT:
            return "aborted by operator (Ctrl-C)"
        return f"aborted ({signal.Signals(self.signum).name})"


def _interrupt(signum, frame):
    ignore()  # the first signal counts; the program is on its way out
    raise Interrupted(signum)


def install() -> dict:
    """Signals raise :class:`Interrupted` from now on; returns the handlers they replace."""
    return {s: signal.signal(s, _interrupt) for s in SIGNALS}


def ignore() -> None:
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)


def report(e: Interrupted, argv: list[str]) -> int:
    """Say that a signal came before a board was powered (one line on stderr); the exit status."""
    what = " before the board was powered: no record written" if argv[:1] == ["run"] else ""
    print(f"{e.reason}{what}", file=sys.stderr, flush=True)
    return EXIT_ABORTED


def guard(main):
    """Wrap a ``main(argv=None) -> int``: :class:`Interrupted` becomes one line on stderr and exit 1.

    Called as the program (``argv`` None), signals stay ignored once main has its exit status, so a
    late one cannot change it; called in-process with an ``argv``, the caller's handlers come back."""

    @functools.wraps(main)
    def guarded(argv: list[str] | None = None, **kwargs) -> int:
        args = sys.argv[1:] if argv is None else argv
        try:
            before = install()
            try:
                return main(argv, **kwargs)
            finally:
                if argv is None:
                    ignore()
                else:
                    for s, h in before.items():
                        signal.signal(s, h)
        except Interrupted as e:
            return report(e, args)

    return guarded
