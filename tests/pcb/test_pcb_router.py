"""The grid router on small made-up boards: what it lays by construction, and GND through the pour."""

import math

from hwtools.geometry import is_octilinear
from hwtools.routing import Body, Pad, Router


def _pad(ref, net, x, y, d=1.6):
    return Pad(ref, "1", net, x, y, d, d)


def _width(net):
    return 0.25


def test_tracks_are_octilinear_and_end_inside_the_pads():
    """Pads off the grid and at odd angles to each other still get 0/45/90° tracks, ending in their copper."""
    pads = [_pad("A", "/N", 2.9, 3.1), _pad("B", "/N", 16.7, 11.3), _pad("C", "/N", 5.05, 16.93)]
    router = Router(20.0, 20.0, pads, [], _width)
    router.route_net("/N")
    segs = router.routes.segments
    assert segs and all(is_octilinear(s.start, s.end) for s in segs)
    for p in pads:
        assert any(math.dist(e, (p.x, p.y)) < 0.8 for s in segs for e in (s.start, s.end)), p.ref
    for s in segs:  # a piece shorter than 0.5 mm must touch a pad
        if math.dist(s.start, s.end) < 0.5:
            assert any(math.dist(e, (p.x, p.y)) < 0.8 for p in pads for e in (s.start, s.end))


def test_top_copper_goes_around_a_foreign_body_or_below_it():
    """A body across the direct line: the net has no pad on it, so no F.Cu inside its outline."""
    pads = [_pad("A", "/N", 3.0, 10.0), _pad("B", "/N", 17.0, 10.0)]
    hull = [(8.0, 7.0), (12.0, 7.0), (12.0, 13.0), (8.0, 13.0)]
    router = Router(20.0, 20.0, pads, [], _width, bodies=[Body("R9", hull, frozenset({"/OTHER"}))])
    router.route_net("/N")
    for s in router.routes.segments:
        if s.layer == "F.Cu":
            for t in (i / 50 for i in range(51)):
                x = s.start[0] + t * (s.end[0] - s.start[0])
                y = s.start[1] + t * (s.end[1] - s.start[1])
                assert not (8.0 < x < 12.0 and 7.0 < y < 13.0), (x, y)


def test_the_via_map_keeps_vias_off_keepouts_and_pads():
    """Courtyards and silkscreen (keep-outs) and every pad are closed to vias; open board stays open."""
    pads = [_pad("A", "/N", 3.0, 10.0), _pad("B", "/N", 17.0, 10.0)]
    keepout = [(5.0, 5.0), (8.5, 5.0), (8.5, 15.0), (5.0, 15.0)]
    router = Router(20.0, 20.0, pads, [], _width, via_keepouts=[keepout])
    allowed = router._via_allowed(router.net_ids["/N"])

    def at(x, y):
        ix, iy = router.grid.cell(x, y)
        return allowed[iy * router.grid.nx + ix]

    assert at(6.7, 10.0) == 0 and at(8.5 + 0.3, 10.0) == 0  # inside, and within a via's radius of the edge
    assert at(3.0, 10.0) == 0  # on a pad
    assert at(12.0, 4.0) == 1 and at(12.0, 16.0) == 1


def test_gnd_pads_the_pour_cannot_reach_get_a_track_and_only_those():
    """A B.Cu track of another net cuts the pour: the pad beyond it is joined by a track and a via."""
    pads = [_pad("G1", "/GND", 4.0, 10.0), _pad("G2", "/GND", 17.0, 10.0), _pad("G3", "/GND", 4.0, 4.0),
            _pad("S1", "/SIG", 14.0, 1.0), _pad("S2", "/SIG", 14.0, 19.0)]
    router = Router(20.0, 20.0, pads, [], lambda net: 0.5 if net == "/GND" else 0.25)
    router._claim_segment(router.net_ids["/SIG"], 1, (14.0, 0.5), (14.0, 19.5), 0.25)  # a bottom wall
    assert [p.ref for p in router.ground_islands("/GND")] == ["G2"]
    router.route_to_pour("/GND")
    assert router.routes.pour_tracks == ["G2.1"]
    assert len(router.routes.vias) == 1 and router.routes.vias[0].at[0] < 14.0


def test_a_top_only_gnd_pad_reaches_the_pour_through_a_via():
    """An SMD pad has no B.Cu copper: the pour cannot reach it, a short track and a via can."""
    smd = Pad("C9", "2", "/GND", 10.0, 10.0, 1.0, 1.2, round=False, layers=(0,))
    pads = [smd, _pad("G1", "/GND", 3.0, 3.0), _pad("S1", "/SIG", 12.0, 10.0), _pad("S2", "/SIG", 17.0, 17.0)]
    router = Router(20.0, 20.0, pads, [], lambda net: 0.5 if net == "/GND" else 0.25)
    router.route_net("/SIG")
    assert [p.ref for p in router.ground_islands("/GND")] == ["C9"]
    router.route_to_pour("/GND")
    assert router.routes.pour_tracks == ["C9.2"]
    gnd = [s for s in router.routes.segments if s.net == "/GND"]
    assert gnd and all(s.layer == "F.Cu" for s in gnd)
    assert [v.net for v in router.routes.vias] == ["/GND"]
    assert sum(math.dist(s.start, s.end) for s in gnd) < 5.0


def test_tracks_keep_clear_of_a_large_npth_hole():
    """A 3.2 mm hole right on the direct line: the track goes around with AISLER's 0.25 mm to its edge."""
    pads = [_pad("A", "/N", 3.0, 10.0), _pad("B", "/N", 17.0, 10.0)]
    router = Router(20.0, 20.0, pads, [(10.0, 10.0, 3.2)], _width)
    router.route_net("/N")
    for s in router.routes.segments:
        for t in (i / 100 for i in range(101)):
            x = s.start[0] + t * (s.end[0] - s.start[0])
            y = s.start[1] + t * (s.end[1] - s.start[1])
            assert math.hypot(x - 10.0, y - 10.0) - 1.6 - s.width / 2 >= 0.25 - 1e-6, (x, y)
