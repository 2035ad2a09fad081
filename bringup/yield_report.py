"""The batch page: yield, Pareto of failing measurements, histograms against limits, runs per station
and day, and every serial with links to its own run reports — one self-contained HTML file made from
the results store (``p1reader-bringup report``).

Counting rules (a run is sorted into exactly one category by :func:`category`):
- ``pass`` / ``fail``: the board got a verdict.
- ``aborted``: the operator stopped the run (Ctrl-C, SIGTERM) — not a board failure.
- ``station error``: the bench could not test (set-up or self-check failed, or an internal error) —
  not a board failure either.
First-pass yield = serials whose first verdict was PASS ÷ serials with a verdict; final yield =
serials whose last verdict was PASS ÷ serials with a verdict. Serials with no verdict yet are listed apart.
"""
from __future__ import annotations

import base64
import io
import os
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .store import StoredMeasurement, StoredRun

PASS, FAIL, ABORTED, STATION_ERROR = "pass", "fail", "aborted", "station error"
STATION_STEPS = ("setup", "self_check")  # a failure here is the bench's, not the board's
CPK_MIN_N = 10


def category(run: StoredRun) -> str:
    if run.outcome == "PASS":
        return PASS
    if run.outcome == "ABORTED" or run.reason.startswith("aborted"):
        return ABORTED
    step = (run.failed_step or "").split(" ", 1)[-1]
    if step in STATION_STEPS or run.reason.startswith("internal error"):
        return STATION_ERROR
    return FAIL


@dataclass
class Histogram:
    step: str
    name: str
    unit: str
    values: list[float]
    low: float | None
    high: float | None
    failed: int

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def cpk(self) -> float | None:
        """Process capability against the limits there are; None below n = 10, without a limit or
        without spread."""
        if self.n < CPK_MIN_N or (self.low is None and self.high is None):
            return None
        sd = statistics.stdev(self.values)
        if sd == 0:
            return None
        sides = []
        if self.high is not None:
            sides.append((self.high - self.mean) / (3 * sd))
        if self.low is not None:
            sides.append((self.mean - self.low) / (3 * sd))
        return min(sides)


@dataclass
class SerialRow:
    serial: str
    runs: list[tuple[StoredRun, str]]  # (run, category) in start order
    first_verdict: str | None
    last_verdict: str | None


@dataclass
class Summary:
    runs: int
    by_category: Counter
    serials: list[SerialRow]
    pareto: list[tuple[str, int]]  # ("step: measurement", failing runs), most first
    histograms: list[Histogram]
    exact: list[tuple[str, str, float, int, int]]  # step, name, expected count, runs, runs off
    per_station_day: dict[tuple[str, str], int]

    @property
    def with_verdict(self) -> list[SerialRow]:
        return [s for s in self.serials if s.first_verdict is not None]

    @property
    def first_pass(self) -> int:
        return sum(s.first_verdict == PASS for s in self.with_verdict)

    @property
    def final_pass(self) -> int:
        return sum(s.last_verdict == PASS for s in self.with_verdict)

    @property
    def first_pass_yield(self) -> float | None:
        n = len(self.with_verdict)
        return self.first_pass / n if n else None

    @property
    def final_yield(self) -> float | None:
        n = len(self.with_verdict)
        return self.final_pass / n if n else None


def _failing(ms: list[StoredMeasurement]) -> list[StoredMeasurement]:
    return [m for m in ms if m.outcome in ("FAIL", "ERROR")]


def summarize(runs: list[StoredRun]) -> Summary:
    cats = [(r, category(r)) for r in sorted(runs, key=lambda r: (r.started, r.run_uuid))]
    by_serial: dict[str, list[tuple[StoredRun, str]]] = defaultdict(list)
    for r, c in cats:
        by_serial[r.board_serial].append((r, c))
    serials = []
    for sn in sorted(by_serial):
        verdicts = [c for _, c in by_serial[sn] if c in (PASS, FAIL)]
        serials.append(SerialRow(sn, by_serial[sn], verdicts[0] if verdicts else None,
                                 verdicts[-1] if verdicts else None))

    # Pareto: in each failed board run, its failing measurements; a step that failed without one
    # (a port lost, no status line) counts as the step itself.
    pareto: Counter = Counter()
    for r, c in cats:
        if c != FAIL:
            continue
        bad = _failing(r.measurements)
        keys = {f"{m.step}: {m.name}" for m in bad}
        if not keys:
            keys = {f"{(r.failed_step or '?').split(' ', 1)[-1]}: step failed"}
        pareto.update(keys)

    values: dict[tuple[str, str], list[StoredMeasurement]] = defaultdict(list)
    order: dict[tuple[str, str], int] = {}
    for r, c in cats:
        if c not in (PASS, FAIL):
            continue
        for m in r.measurements:
            if m.value is not None:
                key = (m.step, m.name)
                order.setdefault(key, m.step_index * 1000 + len(order))
                values[key].append(m)
    histograms, exact = [], []
    for key in sorted(values, key=order.__getitem__):
        ms = values[key]
        low, high = _common_limits(ms)
        off = sum(m.outcome in ("FAIL", "ERROR") for m in ms)
        if low is not None and low == high:
            exact.append((key[0], key[1], low, len(ms), off))
        else:
            histograms.append(Histogram(key[0], key[1], ms[0].unit, [m.value for m in ms], low, high, off))

    per_station_day: Counter = Counter()
    for r, _ in cats:
        per_station_day[(r.station, r.started.strftime("%Y-%m-%d"))] += 1
    return Summary(len(cats), Counter(c for _, c in cats), serials,
                   sorted(pareto.items(), key=lambda kv: (-kv[1], kv[0])), histograms, exact,
                   dict(sorted(per_station_day.items())))


def _common_limits(ms: list[StoredMeasurement]) -> tuple[float | None, float | None]:
    """The limits most runs of a measurement were judged against (a station file may change them)."""
    (low, high), _ = Counter((m.low, m.high) for m in ms).most_common(1)[0]
    return low, high


# ---------------------------------------------------------------- plots
def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _histogram_png(h: Histogram) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 2.6), layout="constrained")
    limits = [x for x in (h.low, h.high) if x is not None]
    lo, hi = min(h.values + limits), max(h.values + limits)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1.0
    ax.hist(h.values, bins=min(20, max(5, h.n // 3)), range=(lo - pad / 2, hi + pad / 2), color="#4c78a8")
    ax.set_xlim(lo - pad, hi + pad)
    for limit, label, y in ((h.low, "low", 0.98), (h.high, "high", 0.88)):
        if limit is not None:
            ax.axvline(limit, color="#cf222e", linestyle="--", linewidth=1.5)
            ax.annotate(label, (limit, y), xycoords=("data", "axes fraction"), va="top", ha="center",
                        fontsize=8, color="#cf222e", backgroundcolor="white")
    ax.set_xlabel(f"{h.name}" + (f" [{h.unit}]" if h.unit else ""), fontsize=8)
    ax.set_ylabel("runs", fontsize=8)
    ax.tick_params(labelsize=7)
    try:
        return _png(fig)
    finally:
        plt.close(fig)


def _station_day_png(per_station_day: dict[tuple[str, str], int]) -> str:
    import matplotlib.pyplot as plt

    days = sorted({d for _, d in per_station_day})
    stations = sorted({s for s, _ in per_station_day})
    fig, ax = plt.subplots(figsize=(6, 2.6), layout="constrained")
    bottom = [0] * len(days)
    for s in stations:
        counts = [per_station_day.get((s, d), 0) for d in days]
        ax.bar(days, counts, bottom=bottom, label=s)
        bottom = [b + c for b, c in zip(bottom, counts)]
    ax.set_ylabel("runs", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    try:
        return _png(fig)
    finally:
        plt.close(fig)


# ---------------------------------------------------------------- page
def _report_link(run: StoredRun, page_dir: Path) -> tuple[str | None, str]:
    """(relative href, text): a link when the run's HTML report exists here, else its path as text."""
    html = Path(run.record_path).with_suffix(".html")
    if html.is_file():
        return Path(os.path.relpath(html, page_dir)).as_posix(), html.name
    return None, str(html)


def render(summary: Summary, out: Path, source: str) -> str:
    import jinja2
    import matplotlib

    matplotlib.use("Agg")
    env = jinja2.Environment(loader=jinja2.PackageLoader("bringup", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    page_dir = out.resolve().parent
    serial_rows = [{"serial": s.serial, "first": s.first_verdict, "last": s.last_verdict,
                    "runs": [{"category": c, "started": r.started.strftime("%Y-%m-%d %H:%M:%S"),
                              "station": r.station, "link": _report_link(r, page_dir), "reason": r.reason}
                             for r, c in s.runs]}
                   for s in summary.serials]
    top = summary.pareto[0][1] if summary.pareto else 1
    return env.get_template("yield.html").render(
        s=summary, source=source, generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        categories=(PASS, FAIL, ABORTED, STATION_ERROR),
        pareto=[{"name": k, "count": v, "width": round(100 * v / top, 1)} for k, v in summary.pareto],
        histograms=[{"h": h, "png": _histogram_png(h)} for h in summary.histograms],
        station_day_png=_station_day_png(summary.per_station_day) if summary.per_station_day else None,
        serial_rows=serial_rows,
    )


def write(summary: Summary, out: str | Path, source: str) -> Path:
    from .record import atomic_write

    out = Path(out)  # its folder must exist: a mistyped path is an error, not a new folder
    atomic_write(out, render(summary, out, source))
    return out
