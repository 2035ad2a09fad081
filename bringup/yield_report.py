"""The batch page (``p1reader bringup report``): yield, Pareto of failing measurements, histograms against
limits, runs per station and day, and every serial with links to its own run reports — one self-contained
HTML file made from the results store. A run counts by its :class:`~bringup.measurement.Category` only
(the counting rules: README.md, "Bring-up at batch scale").
"""
from __future__ import annotations

import base64
import io
import math
import os
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from hwtools.staging import atomic_write

from .measurement import Category
from .record import TEMPLATES
from .store import StoredMeasurement, StoredRun

CPK_MIN_N = 10


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
        return min((self.high - self.mean) / (3 * sd) if self.high is not None else math.inf,
                   (self.mean - self.low) / (3 * sd) if self.low is not None else math.inf)


@dataclass
class SerialRow:
    serial: str
    runs: list[StoredRun]  # in start order
    first_verdict: Category | None
    last_verdict: Category | None


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
        return sum(s.first_verdict == Category.PASS for s in self.with_verdict)

    @property
    def final_pass(self) -> int:
        return sum(s.last_verdict == Category.PASS for s in self.with_verdict)

    @property
    def first_pass_yield(self) -> float | None:
        n = len(self.with_verdict)
        return self.first_pass / n if n else None

    @property
    def final_yield(self) -> float | None:
        n = len(self.with_verdict)
        return self.final_pass / n if n else None


def summarize(runs: list[StoredRun]) -> Summary:
    runs = sorted(runs, key=lambda r: (r.started, r.run_uuid))
    by_serial: dict[str, list[StoredRun]] = defaultdict(list)
    for r in runs:
        by_serial[r.board_serial].append(r)
    serials = []
    for sn in sorted(by_serial):
        verdicts = [r.category for r in by_serial[sn] if r.category in (Category.PASS, Category.FAIL)]
        serials.append(SerialRow(sn, by_serial[sn], verdicts[0] if verdicts else None,
                                 verdicts[-1] if verdicts else None))

    # Pareto: in each failed board run, its failing measurements; a step that failed without one
    # (a port lost, no status line) counts as the step itself.
    pareto: Counter = Counter()
    for r in runs:
        if r.category == Category.FAIL:
            pareto.update({f"{m.step}: {m.name}" for m in r.measurements if m.outcome in ("FAIL", "ERROR")}
                          or {f"{r.failed_step_name or '?'}: step failed"})

    values: dict[tuple[str, str], list[StoredMeasurement]] = defaultdict(list)
    order: dict[tuple[str, str], int] = {}
    for r in runs:
        if r.category not in (Category.PASS, Category.FAIL):
            continue
        for m in r.measurements:
            if m.value is not None:
                key = (m.step, m.name)
                order.setdefault(key, m.step_index * 1000 + len(order))
                values[key].append(m)
    histograms, exact = [], []
    for key in sorted(values, key=order.__getitem__):
        ms = values[key]
        # the limits most runs were judged against (a station file may change them)
        (low, high), _ = Counter((m.low, m.high) for m in ms).most_common(1)[0]
        off = sum(m.outcome in ("FAIL", "ERROR") for m in ms)
        if low is not None and low == high:
            exact.append((key[0], key[1], low, len(ms), off))
        else:
            histograms.append(Histogram(key[0], key[1], ms[0].unit, [m.value for m in ms], low, high, off))

    per_station_day = Counter((r.station, r.started.strftime("%Y-%m-%d")) for r in runs)
    return Summary(len(runs), Counter(r.category for r in runs), serials,
                   sorted(pareto.items(), key=lambda kv: (-kv[1], kv[0])), histograms, exact,
                   dict(sorted(per_station_day.items())))


# ---------------------------------------------------------------- plots
def _png(fig) -> str:
    """The figure as a data URL; the figure is closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=80)
    finally:
        plt.close(fig)
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
    return _png(fig)


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
    return _png(fig)


# ---------------------------------------------------------------- page
def _report_link(run: StoredRun, page_dir: Path) -> tuple[str | None, str]:
    """(relative href, text): a link when the run's HTML report exists here, else its path as text."""
    html = Path(run.record_path).with_suffix(".html")
    if html.is_file():
        return Path(os.path.relpath(html, page_dir)).as_posix(), html.name
    return None, str(html)


def render(summary: Summary, out: Path, source: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    page_dir = out.resolve().parent
    top = summary.pareto[0][1] if summary.pareto else 1
    return TEMPLATES.get_template("yield.html").render(
        s=summary, source=source, generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        categories=tuple(Category),
        pareto=[{"name": k, "count": v, "width": round(100 * v / top, 1)} for k, v in summary.pareto],
        histograms=[{"h": h, "png": _histogram_png(h)} for h in summary.histograms],
        station_day_png=_station_day_png(summary.per_station_day) if summary.per_station_day else None,
        link=lambda run: _report_link(run, page_dir),
    )


def write(summary: Summary, out: str | Path, source: str) -> Path:
    out = Path(out)  # its folder must exist: a mistyped path is an error, not a new folder
    atomic_write(out, render(summary, out, source))
    return out
