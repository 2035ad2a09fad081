"""Looking things up in KiCad s-expressions parsed by sexpdata (lists headed by a Symbol)."""

from sexpdata import Symbol


def children(node, head):
    """The child lists of `node` that start with `head`, e.g. children(pin, "at")."""
    return [x for x in node if isinstance(x, list) and x and x[0] == Symbol(head)]


def value(node, head, default=None):
    """The first value of the first `(head value ...)` child, or `default`."""
    found = children(node, head)
    return found[0][1] if found else default
