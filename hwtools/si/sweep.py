"""Corners and Monte Carlo of the P1 input over ngspice, in parallel; the worst case decides.

Each transient is short on purpose: the three telegram bytes hardest on the stage (`worst_window`), after
an idle line (the DC operating point is an idle line of any length). Every edge type, the longest runs
and single-bit pulses are in it, so a longer stretch would add simulation time, not information. The eye
diagram uses a longer stretch of the telegram, once, at the worst case.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .. import procs
from ..facts import bc547_models
from . import spice
from .limits import BAUD, MAX_BAUD, TIMING, electrical
from .measure import Metrics, measure
from .model import Case, DataPath, data_deck, drq_deck, drq_scope, line_low_deck
from .stimulus import STANDARD_BAUDS, TELEGRAM, Stimulus, worst_window

WORKERS = 2
BATCHES_PER_WORKER = 4  # several batches per worker: a slow one does not leave the other worker idle
EYE_BYTES = 24  # the eye diagram: the telegram's first 24 bytes (header, blank line, version line)


@dataclass
class Run:
    case: Case
    baud: float
    metrics: Metrics
    wave: tuple | None = None  # (t, rx, data) when asked for


@dataclass
class WorstCaseResult:
    """One checked figure: its worst value over every case, the limit, and which case set it."""

    name: str
    key: str
    value: float
    limit: str
    passed: bool
    unit: str
    where: str
    why: str

    def __str__(self):
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict}  {self.name}: {_fmt(self.value)} {self.unit} (limit {self.limit}; worst: {self.where})"


@dataclass
class Report:
    path: DataPath
    runs: list = field(default_factory=list)
    drq: list = field(default_factory=list)  # (case, volts, mA)
    results: list = field(default_factory=list)
    worst: dict = field(default_factory=dict)
    worst_case: Case | None = None
    max_baud: int = 0
    baud_runs: dict = field(default_factory=dict)
    line_low: list = field(default_factory=list)  # (case, [(line V, RX V)])
    line_low_max_v: float = 0.0
    temp_c: tuple = (25.0, 25.0)
    models: dict = field(default_factory=dict)  # BC547 model → its worst figures at 115200 Bd (`per_model`)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def summary(self) -> dict:
        """The JSON figures of `p1reader si --json`: worst over corners and Monte Carlo."""
        w = {k: (v if math.isfinite(v) else None) for k, v in self.worst.items()}  # JSON has no Infinity
        r = (lambda key, nd: None if w[key] is None else round(w[key], nd))
        return {
            "rise_ns": r("rise_ns", 1), "fall_ns": r("fall_ns", 1),
            "delay_rise_ns": r("delay_rise_ns", 1), "delay_fall_ns": r("delay_fall_ns", 1),
            "distortion_pct": r("distortion_pct", 2), "eye_margin_v": r("eye_margin_v", 3),
            "sample_margin_pct": r("sample_margin_pct", 1), "line_ma": r("line_ma", 2),
            "max_baud": self.max_baud, "drq_volts": r("drq_volts", 3), "drq_ma": r("drq_ma", 3),
            "line_low_max_v": round(self.line_low_max_v, 2), "temp_c": [self.temp_c[0], self.temp_c[1]],
            "cases": len(self.runs), "worst_case": self.worst_case.name if self.worst_case else None,
            "worst_model": self.worst_case.model if self.worst_case else None, "models": self.models,
            "pass": self.passed,
        }


def _fmt(v):
    if not math.isfinite(v):
        return "no edge (RX never crossed the level within its bit run)"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


# --- cases -------------------------------------------------------------------------------------------------

def _signs(path: DataPath):
    """Resistor tolerance patterns for the transient corners: all low and all high (each resistor's effect on
    timing is monotonic and small at ±1 %; the full 2^4 factorial would quadruple the cost for no new corner)."""
    refs = [r.ref for r in (path.base, path.pullup, path.collector, path.base_pulldown) if r is not None]
    return [tuple((ref, s) for ref in refs) for s in (-1, 1)]


def _temps(facts):
    op = facts["operating"]
    return (float(op["ambient_min_c"]), float(op["ambient_max_c"]))


def model_names(facts: dict) -> list[str]:
    """The BC547 storage-time models every corner runs with (parts.toml [bc547_models]), in file order."""
    return list(bc547_models(facts))


def corner_cases(facts: dict, path: DataPath, models: list[str] | None = None) -> list[Case]:
    """Full factorial of the extremes: resistors (all -tol / all +tol), both supplies, BC547 gain, meter CTR, cable
    length, ambient 0/60 °C and the meter's MARK level at 0 and its 1.0 V maximum — with each BC547 model."""
    tol = facts["resistor_mfr50"]["tolerance"]
    c, q, m, cab = facts["si_corners"], facts["bc547"], facts["meter_opto"], facts["p1_cable"]
    cases = []
    for model, signs, v5, v33, hfe, ic, cable, temp, low in itertools.product(
            models or model_names(facts), _signs(path), c["p1_supply_v"], c["rail_3v3_v"],
            (q["hfe_min"], q["hfe_max"]), (m["ic_sink_min_ma"], m["ic_sink_max_ma"]),
            (cab["length_min_m"], cab["length_max_m"]), _temps(facts), (0.0, facts["p1_port"]["data_low_max_v"])):
        mult = tuple((ref, 1 + s * tol) for ref, s in signs)
        name = (f"R{'+' if signs[0][1] > 0 else '-'} {v5:g}V {v33:g}V hFE{hfe:g} sink{ic:g}mA {cable:g}m {temp:g}C "
                f"low{low:g}V {model}")
        cases.append(Case(name, mult, v5, v33, hfe, ic, cable, temp, low, model))
    return cases


def mc_cases(facts: dict, path: DataPath, runs: int, seed: int, models: list[str] | None = None) -> list[Case]:
    """Monte Carlo: resistors normal with the tolerance as 3 σ (clipped); everything else uniform in its range;
    the BC547 models take turns."""
    models = models or model_names(facts)
    rng = np.random.default_rng(seed)
    tol = facts["resistor_mfr50"]["tolerance"]
    c, q, m, cab = facts["si_corners"], facts["bc547"], facts["meter_opto"], facts["p1_cable"]
    refs = [r.ref for r in (path.base, path.pullup, path.collector, path.drq_led, path.drq_out, path.base_pulldown)
            if r is not None]
    cases = []
    for i in range(runs):
        mult = tuple((ref, float(1 + np.clip(rng.normal(0, tol / 3), -tol, tol))) for ref in refs)
        cases.append(Case(f"MC{i:03d} {models[i % len(models)]}", mult, float(rng.uniform(*c["p1_supply_v"])),
                          float(rng.uniform(*c["rail_3v3_v"])), float(rng.uniform(q["hfe_min"], q["hfe_max"])),
                          float(rng.uniform(m["ic_sink_min_ma"], m["ic_sink_max_ma"])),
                          float(rng.uniform(cab["length_min_m"], cab["length_max_m"])),
                          float(rng.uniform(*_temps(facts))),
                          float(rng.uniform(0.0, facts["p1_port"]["data_low_max_v"])), models[i % len(models)]))
    return cases


def drq_cases(facts: dict, path: DataPath) -> list[Case]:
    """Data Request: supplies, R4/R5 tolerance and 0/60 °C at the worst CTR (the CTR is fixed in the deck)."""
    tol = facts["resistor_mfr50"]["tolerance"]
    c = facts["si_corners"]
    return [Case(f"DRQ {v5:g}V {v33:g}V R4{s4:+g}% R5{s5:+g}% {t:g}C",
                 ((path.drq_led.ref, 1 + s4 * tol), (path.drq_out.ref, 1 + s5 * tol)), v5, v33, temp_c=t)
            for v5, v33, s4, s5, t in itertools.product(c["p1_supply_v"], c["rail_3v3_v"], (-1, 1), (-1, 1),
                                                        _temps(facts))]


LINE_LOW_SWEEP_V = (1.5, 0.05)  # up to and past DSMR's 1.0 V, in 0.05 V steps: the figure shows its margin


def line_low_cases(facts: dict, path: DataPath) -> list[Case]:
    """Static MARK-level sweep corners: the resistors at the edge that lifts the base most (R1 low, R10 and R3
    high), both supplies and rails, BC547 gain min/max, 0 and 60 °C."""
    tol = facts["resistor_mfr50"]["tolerance"]
    c, q = facts["si_corners"], facts["bc547"]
    mult = [(path.base.ref, 1 - tol), (path.collector.ref, 1 + tol)]
    if path.base_pulldown is not None:
        mult.append((path.base_pulldown.ref, 1 + tol))
    return [Case(f"LOW {v5:g}V {v33:g}V hFE{hfe:g} {t:g}C", tuple(mult), v5, v33, hfe, temp_c=t, cable_m=0.0)
            for v5, v33, hfe, t in itertools.product(c["p1_supply_v"], c["rail_3v3_v"], (q["hfe_min"], q["hfe_max"]),
                                                     _temps(facts))]


# --- one simulation (runs in a worker process) -------------------------------------------------------------

def max_step(baud: float) -> float:
    """Time step cap: 1/200 of a bit. ngspice refines at edges by itself; a 10 ns cap changed no figure by
    more than 1 ns (rise 64.1 vs 63.6 ns at 115200 Bd) and took 2.5 × longer."""
    return 1 / baud / 200


def thresholds(facts: dict, vdd: float) -> tuple[float, float]:
    esp = facts["esp32"]
    return esp["vil_max_frac"] * vdd, esp["vih_min_frac"] * vdd


def _measured(path: DataPath, case: Case, stim: Stimulus, facts: dict, plot: dict, keep_wave=False) -> Run:
    t, rx = plot["time"], plot[f"v({path.node(path.rx).lower()})"]
    data, line_i = plot[f"v({path.node(path.data).lower()})"], plot["i(vml)"]
    vil, vih = thresholds(facts, case.v33)
    metrics = measure(t, rx, line_i, stim, case.v33, vil, vih)
    return Run(case, stim.baud, metrics, (t, rx, data) if keep_wave else None)


def _deck(path: DataPath, case: Case, stim: Stimulus, facts: dict) -> str:
    return data_deck(path, case, stim.light(), stim.duration_s, max_step(stim.baud), facts)


def simulate(path: DataPath, case: Case, stim: Stimulus, facts: dict, keep_wave=False) -> Run:
    """One case in its own ngspice process."""
    plot = spice.run(_deck(path, case, stim, facts))[0]
    return _measured(path, case, stim, facts, plot, keep_wave)


def simulate_batch(path: DataPath, jobs: list[tuple[Case, Stimulus]], facts: dict) -> list[Run]:
    """Many cases in one ngspice process (same figures as `simulate` one by one)."""
    plots = spice.run_batch([_deck(path, case, stim, facts) for case, stim in jobs])
    return [_measured(path, case, stim, facts, p[0]) for (case, stim), p in zip(jobs, plots)]


def simulate_drq(path: DataPath, case: Case, facts: dict) -> tuple[Case, float, float]:
    return _drq_result(path, case, spice.run(drq_deck(path, case, facts))[0])


def _drq_result(path: DataPath, case: Case, op: dict) -> tuple[Case, float, float]:
    return case, float(op[f"v({path.node(path.drq).lower()})"][0]), float(op["i(vdrq)"][0]) * 1e3


def simulate_drq_batch(path: DataPath, cases: list[Case], facts: dict) -> list[tuple[Case, float, float]]:
    plots = spice.run_batch([drq_deck(path, case, facts) for case in cases])
    return [_drq_result(path, case, p[0]) for case, p in zip(cases, plots)]


def _run_batched(pool, path: DataPath, jobs: list[tuple[Case, Stimulus]], facts: dict, workers: int) -> list[Run]:
    work = functools.partial(simulate_batch, path, facts=facts)
    return [run for result in pool.map(work, spice.batches(jobs, workers, BATCHES_PER_WORKER)) for run in result]


def _line_low_result(path: DataPath, case: Case, dc: dict) -> tuple[Case, list]:
    line = dc.get("v(v-sweep)", dc.get("v-sweep"))
    rx = dc[f"v({path.node(path.rx).lower()})"]
    return case, [(round(float(a), 3), float(b)) for a, b in zip(line, rx)]


def simulate_line_low_batch(path: DataPath, cases: list[Case], facts: dict) -> list[tuple[Case, list]]:
    top, step = LINE_LOW_SWEEP_V
    plots = spice.run_batch([line_low_deck(path, case, top, step, facts) for case in cases])
    return [_line_low_result(path, case, p[0]) for case, p in zip(cases, plots)]


def line_low_max(report_line_low, facts: dict) -> float:
    """The highest MARK level up to which RX stays ≥ VIH in every corner (0 if even 0 V fails)."""
    best = math.inf
    for case, points in report_line_low:
        vih = thresholds(facts, case.v33)[1]
        ok = 0.0
        for line_v, rx in sorted(points):
            if rx < vih:
                break
            ok = line_v
        best = min(best, ok)
    return 0.0 if best is math.inf else best


# --- the sweep ---------------------------------------------------------------------------------------------

def _timing(m: Metrics, baud: float) -> dict:
    """The figures the TIMING limits judge, at `baud`."""
    edge_pct = max(m.rise_ns, m.fall_ns) / (1e9 / baud) * 100
    return {"distortion_pct": m.distortion_pct, "sample_margin_pct": m.sample_margin_pct,
            "eye_margin_v": m.eye_margin_v, "edge_pct": edge_pct}


def timing_ok(m: Metrics, baud: float) -> bool:
    return all(TIMING[key].ok(value) for key, value in _timing(m, baud).items())


def headroom(m: Metrics, baud: float) -> float:
    """How close a run is to a timing limit (smaller = worse), to pick the worst cases."""
    return min(TIMING[key].headroom(value) for key, value in _timing(m, baud).items())


def per_model(runs: list[Run], facts: dict) -> dict:
    """Each BC547 model's worst distortion and sampling margin over its runs, and whether all its runs pass."""
    out = {}
    for model, spec in bc547_models(facts).items():
        mine = [r for r in runs if r.case.model == model]
        if not mine:
            continue
        worst = max(mine, key=lambda r: r.metrics.distortion_pct)
        out[model] = {"tr_ns": round(spec["tr_s"] * 1e9, 3), "source": spec["source"], "cases": len(mine),
                      "distortion_pct": _json_round(worst.metrics.distortion_pct, 2), "worst_case": worst.case.name,
                      "sample_margin_pct": _json_round(min(r.metrics.sample_margin_pct for r in mine), 1),
                      "pass": all(timing_ok(r.metrics, BAUD) for r in mine)}
    return out


def _json_round(v: float, nd: int):
    return round(v, nd) if math.isfinite(v) else None


def analyse(board=None, facts: dict | None = None, mc_runs: int | None = None, workers: int = WORKERS,
            corners: bool = True, log=lambda msg: None, models: list[str] | None = None) -> Report:
    """Simulate every corner and Monte Carlo case; return the worst figures judged against the limits."""
    from ..facts import load_facts

    facts = facts or load_facts()
    if board is None:
        from ..circuit import build_board
        board = build_board()
    path = DataPath.from_board(board)
    spice.find_ngspice()  # fail early with a clear message
    c = facts["si_corners"]
    mc_runs = c["mc_runs"] if mc_runs is None else mc_runs
    models = models or model_names(facts)
    cases = (corner_cases(facts, path, models) if corners else []) + mc_cases(facts, path, mc_runs, c["mc_seed"], models)
    stim = Stimulus(worst_window(), BAUD)
    report = Report(path)
    log(f"{len(cases)} cases ({f'{len(cases) - mc_runs} corners + ' if corners else ''}{mc_runs} Monte Carlo) on {workers} worker(s), "
        f"stimulus {stim.data!r} at {BAUD} Bd, BC547 models {', '.join(models)}")
    # worker processes that die with this one (and take their ngspice along)
    with ProcessPoolExecutor(max_workers=workers, initializer=procs.pool_initializer, initargs=(os.getpid(),)) as pool:
        drq = pool.submit(simulate_drq_batch, path, drq_cases(facts, path), facts)  # operating points: one batch
        low = pool.submit(simulate_line_low_batch, path, line_low_cases(facts, path), facts)  # DC sweeps: one batch
        report.runs = _run_batched(pool, path, [(case, stim) for case in cases], facts, workers)
        report.drq = drq.result()
        report.line_low = low.result()
        # highest standard rate: the worst few cases at 115200 must also pass there (and at every rate below)
        suspects = sorted(report.runs, key=lambda r: headroom(r.metrics, BAUD))[:3]
        jobs = [(r.case, Stimulus(stim.data, baud)) for baud in STANDARD_BAUDS[1:] for r in suspects]
        for run in _run_batched(pool, path, jobs, facts, workers):
            report.baud_runs.setdefault(int(run.baud), []).append(run)
    report.baud_runs[BAUD] = report.runs
    report.line_low_max_v = line_low_max(report.line_low, facts)
    report.models = per_model(report.runs, facts)
    temps = [r.case.temp_c for r in report.runs] + [c.temp_c for c, *_ in report.drq]
    report.temp_c = (min(temps), max(temps))
    for baud in STANDARD_BAUDS:  # report.max_baud starts at 0
        if not all(timing_ok(r.metrics, baud) for r in report.baud_runs[baud]):
            break
        report.max_baud = baud
    _judge(report, facts)
    return report


def _judge(report: Report, facts: dict):
    runs = report.runs
    bit_ns = 1e9 / BAUD

    def worst(key, highest=True):
        pick = max if highest else min
        run = pick(runs, key=lambda r: getattr(r.metrics, key))
        return getattr(run.metrics, key), run.case.name

    w, where = {}, {}
    for key in ("rise_ns", "fall_ns", "delay_rise_ns", "delay_fall_ns", "distortion_pct", "line_ma"):
        w[key], where[key] = worst(key)
    for key in ("eye_margin_v", "sample_margin_pct"):
        w[key], where[key] = worst(key, highest=False)
    v_case = min(report.drq, key=lambda d: d[1])
    i_case = min(report.drq, key=lambda d: d[2])
    w["drq_volts"], where["drq_volts"] = v_case[1], v_case[0].name
    w["drq_ma"], where["drq_ma"] = i_case[2], i_case[0].name
    report.worst = w
    report.worst_case = min(runs, key=lambda r: headroom(r.metrics, BAUD)).case

    limits = {**TIMING, **electrical(facts)}
    edge = TIMING["edge_pct"]
    edge_ns = edge.high * bit_ns / 100
    results = [WorstCaseResult(f"10-90 % {key[:4]} at the ESP32 pin", key, w[key],
                               f"≤ {edge_ns:.0f} ns ({edge.high:g} % of a bit)", w[key] <= edge_ns, "ns", where[key],
                               edge.why) for key in ("rise_ns", "fall_ns")]
    for key, name in (("distortion_pct", "duty-cycle distortion of a bit"),
                      ("sample_margin_pct", "UART sampling-point margin"),
                      ("eye_margin_v", "eye opening beyond VIL/VIH"),
                      ("line_ma", "current into the P1 data line (simulated)"),
                      ("drq_volts", f"Data Request voltage at RJ12 pin 2 ({drq_scope(report.path, facts)})"),
                      ("drq_ma", f"Data Request current into RJ12 pin 2 ({drq_scope(report.path, facts)})")):
        lim = limits[key]
        results.append(WorstCaseResult(name, key, w[key], lim.text(), lim.ok(w[key]), lim.unit, where[key], lim.why))
    drq_hi = max(d[1] for d in report.drq), max(d[2] for d in report.drq)
    results[-2].passed &= limits["drq_volts"].ok(drq_hi[0])
    results[-1].passed &= limits["drq_ma"].ok(drq_hi[1])
    low_limit = facts["p1_port"]["data_low_max_v"]
    results.append(WorstCaseResult("highest MARK level read right in every corner", "line_low_max_v",
                                   report.line_low_max_v, f"≥ {low_limit:g} V", report.line_low_max_v >= low_limit,
                                   "V", f"{len(report.line_low)} DC sweeps 0-{LINE_LOW_SWEEP_V[0]:g} V",
                                   "DSMR P1: the meter's LOW may be anywhere in 0-1.0 V"))
    results.append(WorstCaseResult("highest standard baud rate with margin", "max_baud", report.max_baud,
                                   MAX_BAUD.text(), MAX_BAUD.ok(report.max_baud), "Bd", "worst 3 cases at 115200",
                                   MAX_BAUD.why))
    report.results = results


def worst_waveforms(report: Report, facts: dict | None = None):
    """The worst case again, keeping waveforms: its short window and a longer telegram stretch for the eye."""
    from ..facts import load_facts

    facts = facts or load_facts()
    case = report.worst_case
    short = simulate(report.path, case, Stimulus(worst_window(), BAUD), facts, keep_wave=True)
    eye = simulate(report.path, case, Stimulus(TELEGRAM[:EYE_BYTES], BAUD), facts, keep_wave=True)
    return short, eye

