"""Serial links are opened exclusively: a port another program holds is named as busy, in the step that
opens it, instead of a silent console ("no reply to VERSION") blamed on the board."""
from __future__ import annotations

import pytest
import serial

from bringup import runner, station
from bringup.console import BoardConsole
from meter.link import PortBusy
from meter.simulator import MeterPort
from bringup.sim.bench import INSTRUMENTS_YAML, PtyPair


@pytest.fixture
def ptys(tmp_path):
    """Two socat pty pairs (real serial ports): the meter link and the console."""
    pairs = [PtyPair(tmp_path / "meter.log"), PtyPair(tmp_path / "console.log")]
    yield pairs
    for p in pairs:
        p.close()


def test_a_held_port_is_named_busy(ptys):
    meter, console = ptys
    holder = serial.Serial(console.a, exclusive=True)  # another program's open, as a terminal holds it
    try:
        with pytest.raises(PortBusy, match=f"^console port {console.a} is busy: another program holds it$"):
            BoardConsole(console.a)
        m = MeterPort(meter.a)  # the free one opens, and holds its port in turn
        try:
            with pytest.raises(PortBusy, match=f"^meter port {meter.a} is busy"):
                MeterPort(meter.a)
        finally:
            m.close()
    finally:
        holder.close()
    BoardConsole(console.a).close()  # free again


def test_a_bench_with_a_busy_console_fails_self_check_naming_it(tmp_path, ptys):
    """A bench station (pyvisa-sim instruments, pty links) whose console another program holds: step 1
    says so; the supply, opened first, is off afterwards."""
    meter, console = ptys
    lib = f"{INSTRUMENTS_YAML}@sim"
    st = station.from_dict({
        "kind": "bench",
        "supply": {"resource": "ASRL1::INSTR", "visa_library": lib, "timeout_ms": 1000},
        "dmm": {"resource": "ASRL2::INSTR", "visa_library": lib, "timeout_ms": 1000},
        "meter": {"url": meter.a}, "console": {"url": console.a}}, str(tmp_path / "bench.yaml"))
    holder = serial.Serial(console.a, exclusive=True)
    try:
        result = runner.run(st, "BUSY-1", str(tmp_path / "records"))
    finally:
        holder.close()
    assert result.failed.name == "self_check" and result.supply_output_after == "OFF"
    assert result.failed.error == f"console port {console.a} is busy: another program holds it"
