"""Supply safety, proven in-process against the pyvisa-sim supply: limit set before output on, output
off after every ending (PASS and every injected fault), read back from the simulated instrument."""
from __future__ import annotations

import pytest

from bringup import instruments, runner, station
from bringup.measurement import Outcome
from bringup.sim import FAULTS
from bringup_helpers import fast_station_dict


@pytest.mark.parametrize("fault", [None, *FAULTS])
def test_supply_sequence_and_off_after_run(tmp_path, monkeypatch, fault):
    commands: list[str] = []
    orig_write = instruments.ScpiInstrument.write

    def spy(self, cmd):
        if self.role == "supply":
            commands.append(cmd)
        return orig_write(self, cmd)

    monkeypatch.setattr(instruments.ScpiInstrument, "write", spy)
    st = station.from_dict(fast_station_dict(), "test")
    result = runner.run(st, "S1", str(tmp_path), inject=fault)
    assert result.passed is (fault is None), [r.to_dict() for r in result.steps]

    # The output went on only after voltage and current limit were set, and was switched off last.
    assert commands[0] == "OUTP OFF"
    on = commands.index("OUTP ON")
    volt = max(i for i, c in enumerate(commands[:on]) if c.startswith("VOLT "))
    curr = max(i for i, c in enumerate(commands[:on]) if c.startswith("CURR "))
    assert volt < on and curr < on
    assert float(commands[curr].split()[1]) <= 0.260
    assert [c for c in commands if c.startswith("OUTP")][-1] == "OUTP OFF"

    # Ask the simulated instrument itself.
    rm = instruments._resource_manager(st.supply.visa_library)
    res = rm.open_resource(st.supply.resource)
    res.read_termination = res.write_termination = "\n"
    assert res.query("OUTP?").strip() == "OFF"
    res.close()
    assert result.supply_output_after == "OFF"


def test_lost_supply_is_reported_loudly(tmp_path):
    """If the supply cannot be read back, the record says so instead of claiming OFF."""

    class DeadSupply:
        def output(self, on):
            raise instruments.InstrumentError("supply gone")

        def output_state(self):
            raise instruments.InstrumentError("supply gone")

    from bringup.steps import Bench

    bench = Bench(station.from_dict(fast_station_dict(), "test"))
    bench.supply = DeadSupply()
    state = runner.supply_off(bench)
    assert state.startswith("UNKNOWN") and "supply gone" in state
