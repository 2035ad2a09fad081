"""Supply safety, proven in-process against the pyvisa-sim supply: limit set before output on, output
off after every ending (PASS and every injected fault), read back from the simulated instrument."""
from __future__ import annotations

import pytest

from bringup import instruments, runner, station
from bringup.measurement import Outcome
from bringup.sim.faults import FAULTS
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

    # Ask the simulated instrument itself (the bench ran on the station wired to it).
    wired = result.bench.station.supply
    rm = instruments._resource_manager(wired.visa_library)
    res = rm.open_resource(wired.resource)
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

    from bringup.bench import Bench

    bench = Bench(station.from_dict(fast_station_dict(), "test"))
    bench.supply = DeadSupply()
    state = bench.close()
    assert state.startswith("UNKNOWN") and "supply gone" in state


def test_bench_opens_in_order_and_closes_in_reverse_supply_off_first(tmp_path):
    result = runner.run(station.from_dict(fast_station_dict(), "test"), "ORDER-1", str(tmp_path))
    assert result.passed
    assert result.bench.events == [
        "open supply", "open dmm", "open meter port", "open console", "open S1 port",
        "supply off: OFF", "close S1 port", "close console", "close meter port", "close dmm", "close supply"]


def test_bench_closes_what_it_opened_when_a_step_fails_early(tmp_path):
    """A DMM that never answers (step 3): the supply still goes off first, everything opened is closed."""
    result = runner.run(station.from_dict(fast_station_dict(), "test"), "ORDER-2", str(tmp_path),
                        inject="instrument-timeout")
    assert not result.passed and result.failed.name == "rails"
    events = result.bench.events
    assert events[events.index("supply off: OFF"):] == [
        "supply off: OFF", "close console", "close meter port", "close dmm", "close supply"]
