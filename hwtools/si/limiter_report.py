"""`python -m hwtools.si.limiter_report`: the figures of the board with its current limit (hwtools/si/limiter.py) at
each corner of the limit, as docs/rev-1.4.md gives them. Apart from `limiter` because it reads the rules, which read
`limiter`: no import circle."""

from __future__ import annotations

from ..facts import load_facts


def main():
    """`python -m hwtools.si.limiter_report`: the board's burst figures at each corner of its current limit (C1
    4700 µF, the deck takes it at −20 %)."""
    from ..circuit import build_board
    from ..rules.p1port import drq_lowest_during
    from ..rules.supply import bulk_min_v
    from ..rules.topology import Topology
    from . import burst
    from .limiter import corners, sense_tolerance

    facts = load_facts()
    board = build_board()
    top, p1 = Topology.of(board), facts["p1_port"]
    need = bulk_min_v(board, facts, top, facts["wifi_frame"])
    print(f"C1 {board.parts['C1'].value}, sense ±{sense_tolerance(facts):.2%}, offset "
          f"±{facts['lmc6482a']['vos_max_temp_mv']} mV")
    for corner in corners(facts):
        figs = burst.study(board, facts, corner=corner)
        peak = max(figs, key=lambda f: f.peak_ma)
        bulk = min((f for f in figs if f.meter.delivers_dsmr_minimum(p1)), key=lambda f: f.lowest_bulk_v)
        drq, where = drq_lowest_during(board, facts, top, figs)
        print(f"  {corner.name}: peak {peak.peak_ma:.1f} mA ({peak.corner()}); U1 input lowest "
              f"{bulk.lowest_bulk_v:.3f} V, needs {need:.3f} ({bulk.corner()}); Data Request lowest {drq:.3f} V ({where})")


if __name__ == "__main__":
    main()
