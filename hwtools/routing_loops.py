"""The router's hot loops, compiled with Cython: the A* search, the pour's connected components and the distance
from a convex polygon (part bodies, via keep-outs).

The search is the one hot loop of a board build (about a million heap operations per board). Compiled, it does
the same float operations in the same order as the plain-Python loop it replaced, and its heap is CPython's
heapq algorithm on rows that compare like Python tuples, so it pops states in the same order and finds the same
paths (tests/pcb/test_routing_loops.py checks it against heapq).

This file is Python in Cython's "pure Python" form: `make setup` compiles it (`cythonize`) into an extension
module beside it, which Python imports instead of this file. The compiled module starts at once, where a JIT
(numba, before) cost each board job about a second. Run uncompiled it is correct but far too slow to route a
board: the router refuses it (`not_compiled()`).

States are single ints: `(layer * n_cells + cell) * n_modes + mode`, where the mode is the direction of the
last step, or NO_DIR / AT_PAD at a source (hwtools/routing.py `Router._moves`).
"""

import math
import os

import cython
import numpy as np
from cython.cimports.libc.math import hypot  # C's, as numpy's formula used (Python's math.hypot rounds otherwise)

UNSET, SOURCE = -2, -1  # parent of a state never reached, and of a source state
INF = cython.declare(cython.double, math.inf)


def not_compiled() -> str | None:
    """Why this module cannot route a board: not compiled, or compiled from an older version of this file."""
    if not cython.compiled:
        return "hwtools/routing_loops.py is not compiled: run `make setup`"
    source = os.path.join(os.path.dirname(__file__), "routing_loops.py")
    if os.path.getmtime(source) > os.path.getmtime(__file__):
        return (f"hwtools/routing_loops.py changed after it was compiled into {os.path.basename(__file__)}: "
                "run `make setup`")
    return None


def move_arrays(tables):
    """`Router._moves()` tables as arrays [layer, mode, i]: offset, double, side1, side2, step, single, next
    mode; plus the number of moves per [layer, mode]."""
    n_layers, n_modes = len(tables), len(tables[0])
    width = max(len(moves) for table in tables for moves in table)
    ints = np.zeros((5, n_layers, n_modes, width), dtype=np.int64)  # off, double, side1, side2, next mode
    floats = np.zeros((2, n_layers, n_modes, width), dtype=np.float64)  # step, single
    counts = np.zeros((n_layers, n_modes), dtype=np.int64)
    for layer, table in enumerate(tables):
        for mode, moves in enumerate(table):
            counts[layer, mode] = len(moves)
            for i, (off, double, side1, side2, step, single, nd) in enumerate(moves):
                ints[:, layer, mode, i] = (off, int(double), side1, side2, nd)
                floats[:, layer, mode, i] = (step, single)
    return ints, floats, counts


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _less(a: cython.p_double, b: cython.p_double) -> cython.bint:
    """Row a < row b, as Python compares the tuples."""
    if a[0] != b[0]:
        return a[0] < b[0]
    if a[1] != b[1]:
        return a[1] < b[1]
    if a[2] != b[2]:
        return a[2] < b[2]
    return a[3] < b[3]


@cython.cclass
class Heap:
    """A binary heap of (f, h, state, cost) rows: CPython's heapq algorithm on one float array, the rows
    comparing as Python compares the tuples (a state as a float is exact: states stay far below 2**53)."""

    array: object  # the rows, n × 4, owned here; `rows` points into it
    rows: cython.p_double
    capacity: cython.Py_ssize_t
    n: cython.Py_ssize_t

    def __init__(self, capacity: cython.Py_ssize_t = 1024):
        self.n = 0
        self._grow(max(capacity, 1))

    def __len__(self):
        return self.n

    @cython.cfunc
    def _grow(self, capacity: cython.Py_ssize_t) -> cython.int:
        array = np.empty((capacity, 4))
        if self.n:
            array[:self.n] = self.array[:self.n]
        view: cython.double[:, ::1] = array
        self.array, self.rows, self.capacity = array, cython.address(view[0, 0]), capacity
        return 0

    @cython.ccall
    def push(self, f: cython.double, h: cython.double, s: cython.double, c: cython.double):
        self.append(f, h, s, c)
        self._siftdown(0, self.n - 1)

    @cython.cfunc
    def append(self, f: cython.double, h: cython.double, s: cython.double, c: cython.double) -> cython.int:
        """A row at the end, not yet sifted into place (a heapify or `_siftdown` follows)."""
        if self.n == self.capacity:
            self._grow(2 * self.capacity)
        row: cython.p_double = self.rows + 4 * self.n
        row[0], row[1], row[2], row[3] = f, h, s, c
        self.n += 1
        return 0

    def pop(self):
        """The smallest row as a tuple (the search reads the top row and calls `drop_top`)."""
        top = (self.rows[0], self.rows[1], self.rows[2], self.rows[3])
        self.drop_top()
        return top

    @cython.cfunc
    @cython.exceptval(check=False)
    def drop_top(self) -> cython.void:
        """Remove the smallest row (n ≥ 1), as heapq.heappop does: the last row goes to the top and sifts."""
        self.n -= 1
        if self.n > 0:
            _copy(self.rows, self.rows + 4 * self.n)
            self._siftup(0)

    @cython.cfunc
    @cython.exceptval(check=False)
    def _siftdown(self, startpos: cython.Py_ssize_t, pos: cython.Py_ssize_t) -> cython.void:
        item: cython.double[4]
        _copy(item, self.rows + 4 * pos)
        parentpos: cython.Py_ssize_t
        while pos > startpos:
            parentpos = (pos - 1) >> 1
            if _less(item, self.rows + 4 * parentpos):
                _copy(self.rows + 4 * pos, self.rows + 4 * parentpos)
                pos = parentpos
                continue
            break
        _copy(self.rows + 4 * pos, item)

    @cython.cfunc
    @cython.exceptval(check=False)
    def _siftup(self, pos: cython.Py_ssize_t) -> cython.void:
        rows: cython.p_double = self.rows
        endpos: cython.Py_ssize_t = self.n
        startpos: cython.Py_ssize_t = pos
        item: cython.double[4]
        _copy(item, rows + 4 * pos)
        childpos: cython.Py_ssize_t = 2 * pos + 1
        rightpos: cython.Py_ssize_t
        while childpos < endpos:
            rightpos = childpos + 1
            if rightpos < endpos and not _less(rows + 4 * childpos, rows + 4 * rightpos):
                childpos = rightpos
            _copy(rows + 4 * pos, rows + 4 * childpos)
            pos = childpos
            childpos = 2 * pos + 1
        _copy(rows + 4 * pos, item)
        self._siftdown(startpos, pos)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _copy(dst: cython.p_double, src: cython.p_double) -> cython.void:
    dst[0], dst[1], dst[2], dst[3] = src[0], src[1], src[2], src[3]


def scratch(n_states):
    """The search's per-state arrays (best cost, parent), made once per router: filling fresh ones for every
    search cost more than the search itself. `search` leaves them as it found them."""
    return np.full(n_states, math.inf), np.full(n_states, UNSET, dtype=np.int64)


@cython.ccall
@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def search(n_cells: cython.long, n_modes: cython.long, no_dir: cython.long, via_cost: cython.double,
           ints: cython.const_long[:, :, :, :], floats: cython.const_double[:, :, :, :],
           counts: cython.const_long[:, :], passable: cython.const_uchar[:, :], via_ok: cython.const_uchar[:],
           source_states: cython.const_long[:], is_target: cython.const_uchar[:], h: cython.const_double[:],
           best: cython.double[::1], parent: cython.long[::1]):
    """A* from `source_states` (sorted) to any cell with `is_target[layer * n_cells + k]`.

    `passable`: uint8 [2, n_cells]; `via_ok`, `h`: per cell; `best`, `parent`: `scratch()`. Returns the states
    of the cheapest path, source first (empty when there is none)."""
    touched = _LongList(1024)  # states whose best/parent this search set: reset at the end
    heap = Heap(max(1024, 2 * source_states.shape[0]))
    best_p: cython.p_double = cython.address(best[0])
    parent_p: cython.p_long = cython.address(parent[0])
    found: cython.long = -1
    i: cython.Py_ssize_t
    s: cython.long
    k: cython.long
    for i in range(source_states.shape[0]):
        s = source_states[i]
        k = (s // n_modes) % n_cells
        best_p[s] = 0.0
        parent_p[s] = SOURCE
        touched.add(s)
        heap.append(h[k], h[k], s, 0.0)
    for i in range(heap.n // 2 - 1, -1, -1):  # heapify
        heap._siftup(i)
    cost: cython.double
    base: cython.long
    mode: cython.long
    layer: cython.long
    off: cython.long
    nd: cython.long
    side1: cython.long
    side2: cython.long
    j: cython.long
    m: cython.long
    ns: cython.long
    while heap.n > 0:
        s, cost = cython.cast(cython.long, heap.rows[2]), heap.rows[3]
        heap.drop_top()
        if cost > best_p[s]:
            continue
        base, mode = s // n_modes, s % n_modes
        if is_target[base] and parent_p[s] != SOURCE:
            found = s
            break
        layer, k = base // n_cells, base % n_cells
        for i in range(counts[layer, mode]):
            off, side1, side2, nd = ints[0, layer, mode, i], ints[2, layer, mode, i], ints[3, layer, mode, i], \
                ints[4, layer, mode, i]
            j = k + off
            if not passable[layer, j] or (side1 != 0 and not (passable[layer, k + side1]
                                                             and passable[layer, k + side2])):
                continue  # blocked, or a diagonal cutting a corner
            if ints[1, layer, mode, i]:  # a double step
                if is_target[base + off]:  # a one-cell piece is fine when it ends in the target pad
                    _relax(best_p, parent_p, heap, touched, s, (base + off) * n_modes + nd,
                           cost + floats[1, layer, mode, i], h[j])
                m = j
                j = j + off
                if not passable[layer, j] or (side1 != 0 and not (passable[layer, m + side1]
                                                                 and passable[layer, m + side2])):
                    continue
                ns = (base + 2 * off) * n_modes + nd
            else:
                ns = (base + off) * n_modes + nd
            _relax(best_p, parent_p, heap, touched, s, ns, cost + floats[0, layer, mode, i], h[j])
        if via_ok[k] and mode < no_dir and passable[1 - layer, k]:
            ns = ((1 - layer) * n_cells + k) * n_modes + no_dir
            _relax(best_p, parent_p, heap, touched, s, ns, cost + via_cost, h[k])
    path = _path(parent, found) if found >= 0 else np.empty(0, dtype=np.int64)
    for i in range(touched.n):
        best_p[touched.data[i]] = INF
        parent_p[touched.data[i]] = UNSET
    return path


@cython.cclass
class _LongList:
    """A growing list of C longs."""

    array: object
    data: cython.p_long
    capacity: cython.Py_ssize_t
    n: cython.Py_ssize_t

    def __init__(self, capacity: cython.Py_ssize_t):
        self.n = 0
        self._resize(capacity)

    @cython.cfunc
    def _resize(self, capacity: cython.Py_ssize_t) -> cython.int:
        array = np.empty(capacity, dtype=np.int64)
        if self.n:
            array[:self.n] = self.array[:self.n]
        view: cython.long[::1] = array
        self.array, self.data, self.capacity = array, cython.address(view[0]), capacity
        return 0

    @cython.cfunc
    @cython.inline
    def add(self, s: cython.long) -> cython.int:
        if self.n == self.capacity:
            self._resize(2 * self.capacity)
        self.data[self.n] = s
        self.n += 1
        return 0


@cython.cfunc
@cython.inline
def _relax(best: cython.p_double, parent: cython.p_long, heap: Heap, touched: _LongList, s: cython.long,
           ns: cython.long, ncost: cython.double, hns: cython.double) -> cython.int:
    """Reach state `ns` from `s` at cost `ncost` (heuristic `hns`): when cheaper than its best so far, record it
    and push it."""
    if ncost < best[ns]:
        if best[ns] == INF:
            touched.add(ns)
        best[ns] = ncost
        parent[ns] = s
        heap.push(ncost + hns, hns, ns, ncost)
    return 0


@cython.boundscheck(False)
@cython.wraparound(False)
def _path(parent: cython.long[:], s: cython.long):
    """The states from the source to `s`, in order."""
    length: cython.Py_ssize_t = 0
    t: cython.long = s
    while t >= 0:
        length += 1
        t = parent[t]
    path = np.empty(length, dtype=np.int64)
    out: cython.long[:] = path
    i: cython.Py_ssize_t
    for i in range(length - 1, -1, -1):
        out[i] = s
        s = parent[s]
    return path


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def components(mask):
    """4-connected components of a boolean grid: labels numbered in scan order (0 = not in the mask)."""
    ny: cython.Py_ssize_t = mask.shape[0]
    nx: cython.Py_ssize_t = mask.shape[1]
    flat: cython.const_uchar[:] = np.ascontiguousarray(mask, dtype=np.uint8).ravel()
    labels = np.zeros(nx * ny, dtype=np.int32)
    lab: cython.int[:] = labels
    stack_array = np.empty(nx * ny, dtype=np.int64)
    stack: cython.long[:] = stack_array
    current: cython.int = 0
    start: cython.Py_ssize_t
    top: cython.Py_ssize_t
    k: cython.long
    x: cython.long
    j: cython.long
    d: cython.int
    for start in range(nx * ny):
        if not flat[start] or lab[start]:
            continue
        current += 1
        lab[start] = current
        top = 0
        stack[top] = start
        top += 1
        while top > 0:
            top -= 1
            k = stack[top]
            x = k % nx
            for d in range(4):  # up, down, left, right (scan order of the stack as before)
                if d == 0:
                    j = k - nx
                elif d == 1:
                    j = k + nx
                elif d == 2:
                    j = k - 1 if x > 0 else -1
                else:
                    j = k + 1 if x < nx - 1 else -1
                if 0 <= j < nx * ny and flat[j] and not lab[j]:
                    lab[j] = current
                    stack[top] = j
                    top += 1
    return labels.reshape(ny, nx)


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def octile_heuristic(X: cython.const_double[:, :], Y: cython.const_double[:, :], boxes: cython.const_double[:, :],
                     grid_mm: cython.double):
    """Per cell (flat): the octile distance in cells from its centre (X, Y) to the nearest box (x0, y0, x1, y1),
    less one cell (targets are cells, not box edges), never below 0: the numpy formula's float operations."""
    diagonal_extra: cython.double = math.sqrt(2) - 1
    result = np.empty(X.shape[0] * X.shape[1])
    out: cython.double[::1] = result
    r: cython.Py_ssize_t
    c: cython.Py_ssize_t
    b: cython.Py_ssize_t
    best: cython.double
    dx: cython.double
    dy: cython.double
    for r in range(X.shape[0]):
        for c in range(X.shape[1]):
            best = INF
            for b in range(boxes.shape[0]):
                dx = max(max(boxes[b, 0] - X[r, c], X[r, c] - boxes[b, 2]), 0.0) / grid_mm
                dy = max(max(boxes[b, 1] - Y[r, c], Y[r, c] - boxes[b, 3]), 0.0) / grid_mm
                best = min(best, max(dx, dy) + diagonal_extra * min(dx, dy))
            out[r * X.shape[1] + c] = max(best - 1.0, 0.0)
    return result


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
def polygon_distance(X: cython.const_double[:, :], Y: cython.const_double[:, :], hull: cython.const_double[:, :]):
    """Signed distance (negative inside) of each point of the grids X, Y from the convex polygon `hull` (n × 2),
    with the float operations of the numpy formula it replaced in the same order (kept in the test as reference)."""
    n: cython.Py_ssize_t = hull.shape[0]
    area2: cython.double = 0.0
    i: cython.Py_ssize_t
    for i in range(n):
        area2 += hull[i, 0] * hull[(i + 1) % n, 1] - hull[(i + 1) % n, 0] * hull[i, 1]
    sign: cython.double = 1.0 if area2 > 0 else -1.0
    result = np.empty((X.shape[0], X.shape[1]))
    out: cython.double[:, :] = result
    r: cython.Py_ssize_t
    c: cython.Py_ssize_t
    inside: cython.bint
    x: cython.double
    y: cython.double
    dist: cython.double
    px: cython.double
    py: cython.double
    qx: cython.double
    qy: cython.double
    cross: cython.double
    dx: cython.double
    dy: cython.double
    length2: cython.double
    t: cython.double
    for r in range(X.shape[0]):
        for c in range(X.shape[1]):
            x, y = X[r, c], Y[r, c]
            inside, dist = True, INF
            for i in range(n):
                px, py, qx, qy = hull[i, 0], hull[i, 1], hull[(i + 1) % n, 0], hull[(i + 1) % n, 1]
                cross = (qx - px) * (y - py) - (qy - py) * (x - px)
                inside = inside and sign * cross >= 0
                dx, dy = qx - px, qy - py
                length2 = dx * dx + dy * dy
                t = 0.0
                if length2 != 0:
                    t = min(max(((x - px) * dx + (y - py) * dy) / length2, 0.0), 1.0)
                dist = min(dist, hypot(x - px - t * dx, y - py - t * dy))
            out[r, c] = -dist if inside else dist
    return result
