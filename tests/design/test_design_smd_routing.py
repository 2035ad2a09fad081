"""Rev 1.3's one SMD part (D3, SOT-23): the grid router reaches a pad only on the copper layers it has."""

from hwtools.routing import Pad, Router


def _route(layers_a, layers_b):
    pads = [Pad("A", "1", "N", 5.0, 10.0, 1.0, 1.0, layers=layers_a),
            Pad("B", "1", "N", 25.0, 10.0, 1.0, 1.0, layers=layers_b)]
    router = Router(30.0, 20.0, pads, [], lambda net: 0.25)
    router.route_net("N")
    return router.routes


def _layers_at(routes, x):
    return {s.layer for s in routes.segments if min(abs(s.start[0] - x), abs(s.end[0] - x)) < 0.6}


def test_route_between_pads_on_different_layers_changes_layer():
    # A only on B.Cu (a bottom SMD pad), B only on F.Cu (a top SMD pad): the straight F.Cu line is not allowed
    routes = _route((1,), (0,))
    assert _layers_at(routes, 5.0) == {"B.Cu"} and _layers_at(routes, 25.0) == {"F.Cu"}
    assert len(routes.vias) == 1


def test_through_hole_pads_take_the_straight_top_line():
    # the same pads on both layers: no reason to leave F.Cu (what a router ignoring pad layers would do above)
    routes = _route((0, 1), (0, 1))
    assert _layers_at(routes, 5.0) == _layers_at(routes, 25.0) == {"F.Cu"} and not routes.vias
