"""Regeneration is byte-identical, the committed kicad/ files are current, KiCad's ERC is clean and live,
and bad input ends in a clear error that leaves the committed files untouched."""

import shutil
import os
import subprocess
import sys

import pytest

from hwtools import circuit, generate, kicad_cli
from hwtools.variant import P1, P1S1
from design_paths import KICAD, REPO


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("kicad")
    generate.generate(out, log=lambda m: None)
    return out


@pytest.mark.parametrize("rel", P1.project_files)
def test_committed_file_is_current(regenerated, rel):
    assert (regenerated / rel).read_bytes() == (KICAD / rel).read_bytes(), (
        f"kicad/{rel} is stale: run `make fab` and commit the result")


def test_regeneration_reports_no_change_when_current(regenerated):
    assert generate.generate(regenerated, log=lambda m: None) == []


def test_generated_files_carry_no_date_or_machine_path():
    for rel in P1.project_files:
        text = (KICAD / rel).read_text(encoding="utf-8")
        assert "/tmp/" not in text and str(REPO) not in text, rel
        assert "(date \"" not in text, rel


def test_erc_is_clean_on_the_committed_schematic(tmp_path):
    shutil.copytree(KICAD, tmp_path / "kicad")
    report = generate.check_erc(tmp_path / "kicad")
    assert kicad_cli.active_violations(report) == []


def test_erc_catches_an_undriven_power_net(tmp_path):
    """Proof the ERC gate is live: drop the P1 supply's power flag and KiCad must complain."""
    shutil.copytree(KICAD, tmp_path / "kicad")
    sch = tmp_path / "kicad" / "p1reader.kicad_sch"
    text = sch.read_text(encoding="utf-8")
    assert '(reference "#FLG03")' in text  # the flag of +5V, which feeds U1's power input
    start = text.rindex('\t(symbol (lib_id "power:PWR_FLAG")', 0, text.index('(reference "#FLG03")'))
    end = text.index("\n\t)", start) + 3
    sch.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(generate.GenerationError, match="power_pin_not_driven"):
        generate.check_erc(tmp_path / "kicad")


def _snapshot():
    return {rel: (KICAD / rel).read_bytes() for rel in P1.project_files}


def test_floating_net_is_named_and_kicad_untouched(monkeypatch, tmp_path):
    before = _snapshot()
    real_d32 = circuit.d32_module

    def d32_with_stub(b, *nets):
        real_d32(b, *nets)
        stub = b.net("ORPHAN")
        b.board.parts["M1"]["GPIO4"].disconnect()
        stub += b.board.parts["M1"]["GPIO4"]

    monkeypatch.setattr(circuit, "d32_module", d32_with_stub)
    with pytest.raises(circuit.CircuitError, match="net ORPHAN joins 1 pin"):
        generate.generate(KICAD, log=lambda m: None)
    assert _snapshot() == before


def test_unknown_library_part_is_named(monkeypatch):
    def bad_build(lib_dir, variant=P1):
        b = circuit._Builder({}, lib_dir)
        b.part("U9", "Regulator_Linear:LM9999-3.3", "LM9999", "Package_TO_SOT_THT:TO-220-3_Vertical", "X", "Y")

    before = _snapshot()
    with pytest.raises(circuit.CircuitError, match="U9: cannot load symbol 'Regulator_Linear:LM9999-3.3'"):
        generate.generate(KICAD, log=lambda m: None, build=bad_build)
    assert _snapshot() == before


def test_missing_footprint_is_named(monkeypatch):
    real = circuit.build_board

    def bad_build(lib_dir, variant=P1):
        board = real(lib_dir=lib_dir, variant=variant)
        board.parts["R5"].footprint = "Resistor_THT:R_Axial_NoSuchSize"
        return board

    before = _snapshot()
    with pytest.raises(generate.GenerationError, match="R5: footprint 'Resistor_THT:R_Axial_NoSuchSize' not found"):
        generate.generate(KICAD, log=lambda m: None, build=bad_build)
    assert _snapshot() == before


def test_broken_generated_file_is_reported(tmp_path):
    shutil.copytree(KICAD, tmp_path / "kicad")
    sch = tmp_path / "kicad" / "p1reader.kicad_sch"
    sch.write_text(sch.read_text(encoding="utf-8")[:5000], encoding="utf-8")  # cut mid-file
    with pytest.raises(kicad_cli.KicadCliError, match="sch erc"):
        generate.check_erc(tmp_path / "kicad")


def test_cli_reports_bad_input_without_traceback(tmp_path):
    """The command line maps a broken project to exit 2 and one clear message."""
    (tmp_path / "p1reader.kicad_sch").write_text("(kicad_sch (version", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "p1reader", "check", "--variant", "p1", "--kicad-dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "ERROR: kicad-cli sch erc" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_loggers_made_after_skidl_is_imported_take_any_message():
    import logging

    from hwtools import kicadlibs

    kicadlibs.import_skidl()
    logger = logging.getLogger("p1reader.test.after-skidl")  # a library imported later makes its loggers so
    logger.debug(object())  # skidl's logger class raises TypeError on a message that is not a str
    assert type(logger).__module__ == "logging"


def test_skidl_is_imported_without_its_spice_back_end_which_stays_importable():
    code = ("import sys; from hwtools import kicadlibs; kicadlibs.import_skidl(); "
            "print(sorted(m for m in ('InSpice', 'matplotlib') if m in sys.modules)); "
            "import InSpice; print('InSpice' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "True"]


def test_skidl_is_imported_without_the_slow_inspect_stack_which_comes_back(tmp_path):
    script = tmp_path / "build_it.py"  # a script: skidl names its logs after it, found on the call stack
    script.write_text("import inspect\ncalls, slow = [], inspect.stack\n"
                      "def counted(*a, **k):\n    calls.append(1)\n    return slow(*a, **k)\n"
                      "inspect.stack = counted\n"
                      "from hwtools import kicadlibs\nskidl = kicadlibs.import_skidl()\n"
                      "print(len(calls), inspect.stack is counted, skidl.scriptinfo.get_script_name())\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.split() == ["0", "True", "build_it"]


def test_skidl_is_imported_in_a_folder_of_its_own(tmp_path):
    """skidl's import writes `<script>.log` into the working folder and removes it again: in the working folder, a
    user's file of that name was deleted, and two processes importing skidl at once failed removing each other's
    file. The working folder is left exactly as it was."""
    script = tmp_path / "build_it.py"
    script.write_text("from hwtools import kicadlibs\nkicadlibs.import_skidl()\nimport os\nprint(os.getcwd())\n")
    (tmp_path / "build_it.log").write_text("the user's own log")
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    env = dict(os.environ, PYTHONPATH=str(REPO))
    runs = [subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(3)]  # at once, in one folder
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        assert out.strip() == str(tmp_path)  # the working folder is given back
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before


def test_skidl_notes_the_same_origin_for_each_part_as_with_inspect(monkeypatch):
    import inspect

    from hwtools import kicadlibs

    skidl = kicadlibs.import_skidl()
    assert skidl.scriptinfo.inspect is kicadlibs._CallStack

    def slow_stack(*args, **kwargs):
        raise AssertionError("inspect.stack() called while skidl has the fast one")

    traces = {}
    for stack in (kicadlibs._CallStack, inspect):
        with monkeypatch.context() as m:
            m.setattr(skidl.scriptinfo, "inspect", stack)
            if stack is not inspect:
                m.setattr(inspect, "stack", slow_stack)
            board = circuit.build_board(variant=P1S1)  # one call site for both: the traces share this line
        traces[stack] = {ref: part.skidl_trace for ref, part in board.parts.items()}
    fast, slow = traces.values()
    assert len(fast) >= 30 and fast == slow
    assert all(any(f.endswith("hwtools/circuit.py") for f, _ in t) for t in fast.values())


def test_a_reference_used_twice_is_named_as_a_duplicate(monkeypatch):
    """Two parts called R2 (a copy-paste that kept the reference): the error names R2 as used twice, not the
    part skidl would have renamed as missing from the placement."""
    real_part = circuit._Builder.part

    def part(self, ref, *args, **kwargs):
        return real_part(self, "R2" if ref == "R3" else ref, *args, **kwargs)

    monkeypatch.setattr(circuit._Builder, "part", part)
    with pytest.raises(circuit.CircuitError, match=r"^R2: reference used twice \(Device:R 1\.2 kOhm, then "
                                                   r"Device:R 2\.2 kOhm\)"):
        circuit.build_board()
