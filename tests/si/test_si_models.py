"""The SPICE models against their datasheet test circuits, and ngspice against hand calculations."""

import numpy as np
import pytest

from hwtools.facts import load_facts
from hwtools.si import spice
from hwtools.si.model import bc547_card, meter_card, photocurrent, pwl

FACTS = load_facts()


def test_rc_charge_matches_hand_calculation():
    """The runner end to end: 1 kΩ into 1 nF reaches 1 - 1/e of the step at t = RC."""
    plots = spice.run("* rc\nV1 in 0 PWL(0 0 1n 1)\nR1 in out 1k\nC1 out 0 1n\n.tran 1n 5u 0 5n\n.end\n")
    t, v = plots[0]["time"], plots[0]["v(out)"]
    assert np.interp(1e-6 + 0.5e-9, t, v) == pytest.approx(1 - np.exp(-1), abs=0.01)


def test_broken_deck_raises_with_ngspice_message():
    with pytest.raises(spice.NgspiceError):
        spice.run("* broken\nR1 a 0 1k\nQ1 a b 0 NOSUCHMODEL\n.tran 1n 1u\n.end\n")


def test_bc547_storage_time_is_the_fitted_figure():
    """onsemi 2N3904/D ts test (IC 10 mA, IB1 = IB2 = 1 mA): the card stores what parts.toml says it does."""
    deck = f"""* ts test
{bc547_card(FACTS, FACTS['bc547_spice']['hfe_typ'])}
VCC vcc 0 3
RC vcc c 290
Q1 c b 0 QBC547
RB in b 10k
VIN in 0 PWL(0 10.7 2u 10.7 2.001u -9.3)
.tran 1n 6u 0 1n
.end
"""
    p = spice.run(deck)[0]
    t, ic = p["time"], (3 - p["v(c)"]) / 290
    ic_sat = ic[t < 1.9e-6][-1]
    assert ic_sat == pytest.approx(10e-3, rel=0.05)
    ts = t[np.nonzero((t > 2e-6) & (ic < 0.9 * ic_sat))[0][0]] - 2e-6
    assert ts * 1e9 == pytest.approx(FACTS["bc547_spice"]["ts_test_ns"], rel=0.1)


def _opto_tplh(rl, ic_ma):
    m = FACTS["meter_opto"]
    iph = photocurrent(FACTS, ic_ma)
    deck = f"""* coupler switching test
{meter_card(FACTS)}
VCC vcc 0 5
RL vcc c {rl}
CL c 0 {m['test_cl_pf'] + m['cce_pf']}p
Q c b 0 QMETER
IPH 0 b {pwl([(0, 0), (1e-6, 0), (1.02e-6, iph), (20e-6, iph), (20.02e-6, 0)])}
.tran 2n 80u 0 2n
.end
"""
    p = spice.run(deck)[0]
    t, v = p["time"], p["v(c)"]
    return t[np.nonzero((t > 20e-6) & (v > 1.5))[0][0]] - 20e-6


def test_meter_coupler_within_datasheet_max_and_slower_with_bigger_pullup():
    m = FACTS["meter_opto"]
    tplh = _opto_tplh(m["test_rl_ohm"], m["ic_sink_min_ma"])
    assert 0.3e-6 < tplh <= m["test_tp_max_us"] * 1e-6
    assert _opto_tplh(47e3, m["ic_sink_min_ma"]) > 5 * tplh  # the field failure: turn-off grows with R
