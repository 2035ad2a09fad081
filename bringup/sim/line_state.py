"""The sender's side of a simulated line, for the simulated board: inside a burst or not, and how many bytes
it has written (a one-line file, replaced atomically). The simulated board treats the line as silent only when
the sender is between bursts and every byte written has arrived, so a sender or socat that the scheduler holds
back mid-telegram never looks like a meter that stopped: on a busy machine pacing may slow, but no frame is cut
and no byte is lost. A real UART needs none of this (the adapter's FIFO keeps clocking bytes out)."""
from __future__ import annotations

from hwtools.staging import atomic_write


class LineState:
    def __init__(self, path: str):
        self.path = path

    def mark(self, busy: bool, sent: int) -> None:
        """MeterPort's `on_burst`."""
        atomic_write(self.path, f"{'busy' if busy else 'idle'} {sent}\n", durable=False)

    @staticmethod
    def quiet(path: str | None, received: int) -> bool:
        """True when the sender behind `path` is between bursts and `received` covers all it wrote."""
        if path is None:
            return True
        try:
            state, sent = open(path).read().split()
        except (OSError, ValueError):
            return True  # no sender yet
        return state == "idle" and received >= int(sent)
