"""Rev 1.3's one SMD part (D3, SOT-23): the grid router reaches an SMD pad on its own copper layer only."""

import math

from hwtools.routing import Pad, Router, segment_distance


def _pad(ref, x, y, layers=(0, 1)):
    return Pad(ref, "1", "N", x, y, lambda px, py: math.hypot(px - x, py - y) - 0.5, layers)


def test_route_to_an_smd_pad_ends_on_its_layer():
    # a blocking wall on F.Cu forces the route onto B.Cu; it must come back up before the F.Cu-only pad
    pads = [_pad("A", 5.0, 10.0), _pad("B", 25.0, 10.0, layers=(0,))]
    router = Router(30.0, 20.0, pads, [], lambda net: 0.25)
    router.grid.claim(0, -1, segment_distance(15.0, 0.0, 15.0, 20.0), (15.0, 0.0, 15.0, 20.0), 0.5)
    router.route_net("N")
    at_b = [s for s in router.routes.segments if (25.0, 10.0) in (s.start, s.end)]
    assert at_b and all(s.layer == "F.Cu" for s in at_b)
    assert router.routes.vias, "the wall on F.Cu makes the route change layers"
