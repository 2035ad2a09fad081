"""Sheet geometry: boxes, symbol transforms and the size of KiCad's stroke-font text.

Coordinates are KiCad schematic millimetres, y pointing down; library symbols have y up. Everything that
connects sits on the 1.27 mm grid, so the router works in whole grid steps.
"""

from dataclasses import dataclass

GRID = 1.27
TEXT_SIZE = 1.27  # the smallest text on the sheet: fields, labels, power values (readable on A3)
TITLE_SIZE = 2.0
# KiCad's stroke font: widest glyphs measured from `kicad-cli sch export svg` are 1.17 × size; the box
# leaves room for descenders (µ, p) and the stroke width.
CHAR_WIDTH = 1.22
TEXT_HALF_HEIGHT = 0.85


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def grow(self, m):
        return Box(self.x0 - m, self.y0 - m, self.x1 + m, self.y1 + m)

    def hits(self, other, margin=0.0):
        """True when the boxes overlap by more than touching (with `margin` kept between them)."""
        return (self.x0 < other.x1 + margin and other.x0 < self.x1 + margin
                and self.y0 < other.y1 + margin and other.y0 < self.y1 + margin)

    def union(self, other):
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    @staticmethod
    def around(points, pad=0.0):
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return Box(min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


def snap(v):
    """Millimetres → whole grid steps."""
    return round(v / GRID)


def mm(g):
    return round(g * GRID, 4)


@dataclass(frozen=True)
class Orientation:
    """A symbol's rotation (0, 90, 180, 270, counter-clockwise on the sheet) and mirror ("x", "y" or None)."""

    angle: int = 0
    mirror: str | None = None

    def vector(self, lx, ly):
        """A library vector (y up) as a sheet vector (y down)."""
        x, y = lx, -ly
        for _ in range((self.angle // 90) % 4):
            x, y = y, -x
        if self.mirror == "x":
            y = -y
        elif self.mirror == "y":
            x = -x
        return x, y

    def point(self, at, lx, ly):
        dx, dy = self.vector(lx, ly)
        return round(at[0] + dx, 4), round(at[1] + dy, 4)

    @property
    def upright_field_angle(self):
        """KiCad turns a field with its symbol; this angle keeps the text horizontal."""
        return 90 if self.angle in (90, 270) else 0


def text_box(text, x, y, size=TEXT_SIZE, halign="center", char_width=CHAR_WIDTH):
    """Glyph box of horizontal, vertically centred text anchored at (x, y)."""
    w = char_width * size * len(text)
    x0 = {"center": x - w / 2, "left": x, "right": x - w}[halign]
    return Box(x0, y - TEXT_HALF_HEIGHT * size, x0 + w, y + TEXT_HALF_HEIGHT * size)


def label_box(text, x, y, angle, size=TEXT_SIZE):
    """A local label's text: above its wire, running away from the anchor."""
    w = CHAR_WIDTH * size * len(text) + 0.5
    y0, y1 = y - 1.35 * size - 0.4, y - 0.15
    return Box(x, y0, x + w, y1) if angle == 0 else Box(x - w, y0, x, y1)


def segment_box(a, b, half_width=0.0):
    """A horizontal or vertical segment widened across its run (not along it)."""
    wx = half_width if a[0] == b[0] else 0.0
    wy = half_width if a[1] == b[1] else 0.0
    return Box(min(a[0], b[0]) - wx, min(a[1], b[1]) - wy, max(a[0], b[0]) + wx, max(a[1], b[1]) + wy)
