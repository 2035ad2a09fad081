"""Manufacturing output: the PNG and the table are byte-identical run to run."""

from hwtools.facts import load_facts
from hwtools.si import report as si_report
from hwtools.si.model import Case, DataPath, Resistor
from hwtools.si.stimulus import TELEGRAM, Stimulus, worst_window
from hwtools.si.sweep import Report, _judge, simulate


def _path():
    r = lambda ref, ohms, a, b: Resistor(ref, ohms, (a, b))  # noqa: E731
    return DataPath(r("R2", 2200, "P1_5V", "P1_DATA"), r("R1", 1000, "P1_DATA", "Q1_BASE"),
                    r("R3", 2200, "+3V3", "RX"), "Q1", ("RX", "Q1_BASE", "GND"), r("R4", 220, "DRQ_LED", "GPIO"),
                    r("R5", 10, "DRQ_EMITTER", "P1_DRQ"), "U2", {1: "DRQ_LED", 2: "GND", 4: "DRQ_EMITTER", 5: "P1_5V"},
                    "P1_5V", "P1_DATA", "P1_DRQ", "+3V3", "RX", "GPIO", "GND")


def test_png_and_table_are_reproducible(tmp_path):
    facts = load_facts()
    path, case = _path(), Case("nominal")
    short = simulate(path, case, Stimulus(worst_window(), 115200), facts, keep_wave=True)
    eye = simulate(path, case, Stimulus(TELEGRAM[:24], 115200), facts, keep_wave=True)
    rep = Report(path, runs=[short], drq=[(case, 4.5, 4.5)], max_baud=115200)
    rep.baud_runs = {115200: [short]}
    _judge(rep, facts)
    a = si_report.write(rep, short, eye, tmp_path / "a")
    b = si_report.write(rep, short, eye, tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    png = a[0].read_bytes()
    assert png.startswith(b"\x89PNG") and b"matplotlib" not in png.lower()
    assert "| duty-cycle distortion of a bit |" in a[1].read_text()
