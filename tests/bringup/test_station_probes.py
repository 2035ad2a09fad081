"""Each DMM measurement names the board's test point it probes (`dmm.rail_probe`, `dmm.drq_probe`): the shipped
stations name TP3 (+3V3) and TP7 (P1_DRQ), the measurements' notes say so, and a probe that is not the board's
test point on that net is a station error naming the key, the file and the test points there are."""

from pathlib import Path

import pytest

from bringup import station, steps
from hwtools.facts import load_facts

STATIONS = Path(station.__file__).with_name("stations")


@pytest.mark.parametrize("name", ["example.yaml", "sim.yaml"])
def test_shipped_stations_name_the_test_points(name):
    st = station.load(STATIONS / name)
    points = load_facts()["test_points"]["points"]
    assert (st.dmm.rail_probe, st.dmm.drq_probe) == ("TP3", "TP7")
    assert (points[st.dmm.rail_probe], points[st.dmm.drq_probe]) == ("+3V3", "P1_DRQ")


def test_the_measurement_notes_name_the_probes():
    notes = {spec.name: spec.note for spec in steps.rails_specs(station.load(STATIONS / "example.yaml"), None)}
    assert notes["rail_3v3_v"] == "DMM on TP3 (+3V3)"
    assert notes["drq_v"].startswith("DMM on TP7 (P1_DRQ")


@pytest.mark.parametrize("key, value, words", [
    ("rail_probe", "TP7", ["'TP7' is not the board's test point on +3V3 (TP3", "TP7 P1_DRQ"]),
    ("drq_probe", "TP9", ["'TP9' is not the board's test point on P1_DRQ (TP7"]),
])
def test_a_probe_off_its_net_is_a_station_error(tmp_path, key, value, words):
    path = tmp_path / "station.yaml"
    path.write_text(f"kind: sim\ndmm:\n  {key}: {value}\n", encoding="utf-8")
    with pytest.raises(station.StationError) as e:
        station.load(path)
    assert e.value.key == f"dmm.{key}" and str(path) in str(e.value)
    for word in words:
        assert word in str(e.value), (word, str(e.value))
