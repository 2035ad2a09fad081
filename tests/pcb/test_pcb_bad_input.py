"""Bad layouts end in a clear message naming the parts, and the committed files stay untouched."""

import math

import pytest

from hwtools import circuit, generate, layout, pcb
from hwtools.variant import P1, P1S1
from hwtools.routing import Pad, Router, RoutingError
import required
from pcb_paths import KICAD

required.module("pcbnew")


@pytest.fixture
def scratch(tmp_path):
    return tmp_path / "scratch.kicad_pcb"


def _placed_board(monkeypatch, scratch, **moves):
    places = [layout.Place(p.ref, *moves[p.ref]) if p.ref in moves else p for p in layout.PLACEMENT]
    monkeypatch.setattr(layout, "PLACEMENT", places)
    return pcb.build(KICAD / "p1reader.net", KICAD / "lib", scratch)


def test_committed_placement_is_clean(monkeypatch, scratch):
    assert pcb.check_placement(_placed_board(monkeypatch, scratch)) == []


def test_overlapping_parts_are_named(monkeypatch, scratch):
    board = _placed_board(monkeypatch, scratch, R1=(24.0, 26.5, 0))  # onto R2
    assert "R1 overlaps R2" in pcb.check_placement(board)


def test_part_off_the_board_is_named(monkeypatch, scratch):
    board = _placed_board(monkeypatch, scratch, C1=(36.0, -3.0, 0))
    assert "C1 leaves the board outline" in pcb.check_placement(board)


def test_unplaced_part_is_named(monkeypatch, scratch):
    monkeypatch.setattr(layout, "PLACEMENT", [p for p in layout.PLACEMENT if p.ref != "U2"])
    with pytest.raises(pcb.LayoutError, match="not placed: U2"):
        pcb.build(KICAD / "p1reader.net", KICAD / "lib", scratch)


def _round_pad(ref, net, x, y, d=1.6):
    return Pad(ref, "1", net, x, y, d, d)


def test_unroutable_net_is_named():
    """Two pads of net A walled off by a row of other-net pads across the whole board."""
    wall = [_round_pad(f"W{i}", "/WALL", 1.0 + 1.5 * i, 10.0) for i in range(14)]
    pads = [_round_pad("J1", "/A", 10.0, 3.0), _round_pad("J2", "/A", 10.0, 17.0)] + wall
    router = Router(20.0, 20.0, pads, [], lambda net: 0.25)
    with pytest.raises(RoutingError, match=r"net /A: no route to J2\.1"):
        router.route_net("/A")


def test_router_joins_every_pad_of_a_net():
    pads = [_round_pad("A", "/N", 3.0, 3.0), _round_pad("B", "/N", 17.0, 3.0), _round_pad("C", "/N", 10.0, 17.0),
            _round_pad("X", "/OTHER", 10.0, 3.0)]
    router = Router(20.0, 20.0, pads, [], lambda net: 0.25)
    router.route_net("/N")
    ends = [p for s in router.routes.segments for p in (s.start, s.end)]
    for x, y in [(3.0, 3.0), (17.0, 3.0), (10.0, 17.0)]:  # tracks end inside each pad's copper (r = 0.8)
        assert any(math.dist(e, (x, y)) < 0.8 for e in ends), (x, y)
    for seg in router.routes.segments:  # nothing of /N within 0.2 mm clearance of X's copper (r = 0.8)
        for t in (i / 20 for i in range(21)):
            x = seg.start[0] + t * (seg.end[0] - seg.start[0])
            y = seg.start[1] + t * (seg.end[1] - seg.start[1])
            assert math.hypot(x - 10.0, y - 3.0) - 0.8 - seg.width / 2 >= 0.2 - 1e-9


def test_layout_error_from_the_board_job_leaves_kicad_untouched(monkeypatch):
    """A part the placement table does not know stops generation with its name; kicad/ is unchanged."""
    before = {rel: (KICAD / rel).read_bytes() for rel in P1.project_files}
    real = circuit.build_board

    def with_extra_resistor(lib_dir, variant=P1):
        board = real(lib_dir=lib_dir, variant=variant)
        b = circuit._Builder({}, lib_dir)
        b.ckt, b.board = board.circuit, board
        r9 = b.part("R9", "Device:R", "10 kOhm", circuit.AXIAL, "MFR-50FBF52-10K", "Yageo")
        board.nets["+3V3"] += r9[1]
        board.nets["GND"] += r9[2]
        return board

    with pytest.raises(generate.GenerationError, match="not placed: R9"):
        generate.generate(KICAD, log=lambda m: None, build=with_extra_resistor)
    assert {rel: (KICAD / rel).read_bytes() for rel in P1.project_files} == before


def test_the_board_job_rebuilds_the_variant_from_its_name(tmp_path):
    """The variant crosses into the pcbnew process as its name; an unknown one is one line, exit 3."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "hwtools.board_job", str(tmp_path), "p2"], capture_output=True,
                          text=True, cwd=KICAD.parent)
    assert proc.returncode == 3, proc.stderr
    assert proc.stderr.strip() == "unknown board variant 'p2': choose one of p1, p1s1"


def test_a_variant_object_gets_its_own_silkscreen_labels():
    """layout asks the variant (has_s1), so the S1 receiver's pin is named on the p1s1 board only."""
    (s1_pin,) = layout.S1_D32_FUNCTIONS
    assert layout.for_variant(P1S1).d32_labels[s1_pin].endswith(" S1 RX")
    assert not layout.for_variant(P1).d32_labels[s1_pin].endswith(" S1 RX")
