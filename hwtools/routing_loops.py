"""The router's hot loops, compiled with numba: the A* search, the pour's connected components and the distance
from a convex polygon (part bodies, via keep-outs).

The search is the one hot loop of a board build (about a million heap operations per board). Compiled, it does
the same float operations in the same order as the plain-Python loop it replaced, and its heap is CPython's
heapq algorithm on rows that compare like Python tuples, so it pops states in the same order and finds the same
paths (tests/pcb/test_routing_loops.py checks it against heapq). The compiled code is cached beside this module
(numba `cache=True`; `make setup` compiles it once).

States are single ints: `(layer * n_cells + cell) * n_modes + mode`, where the mode is the direction of the
last step, or NO_DIR / AT_PAD at a source (hwtools/routing.py `Router._moves`).
"""

import math

import numpy as np
from numba import njit

UNSET, SOURCE = -2, -1  # parent of a state never reached, and of a source state


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


# --- a binary heap of (f, h, state, cost) rows: CPython's heapq algorithm, on one float array ----------------
# (state as a float is exact: states stay far below 2**53). Rows compare as Python compares the tuples.

@njit(cache=True)
def _less(f1, h1, s1, c1, f2, h2, s2, c2):
    if f1 != f2:
        return f1 < f2
    if h1 != h2:
        return h1 < h2
    if s1 != s2:
        return s1 < s2
    return c1 < c2


@njit(cache=True)
def _copy_row(heap, src, dst):
    heap[dst, 0], heap[dst, 1], heap[dst, 2], heap[dst, 3] = heap[src, 0], heap[src, 1], heap[src, 2], heap[src, 3]


@njit(cache=True)
def _siftdown(heap, startpos, pos):
    f, h, s, c = heap[pos, 0], heap[pos, 1], heap[pos, 2], heap[pos, 3]
    while pos > startpos:
        parentpos = (pos - 1) >> 1
        if _less(f, h, s, c, heap[parentpos, 0], heap[parentpos, 1], heap[parentpos, 2], heap[parentpos, 3]):
            _copy_row(heap, parentpos, pos)
            pos = parentpos
            continue
        break
    heap[pos, 0], heap[pos, 1], heap[pos, 2], heap[pos, 3] = f, h, s, c


@njit(cache=True)
def _siftup(heap, endpos, pos):
    startpos = pos
    f, h, s, c = heap[pos, 0], heap[pos, 1], heap[pos, 2], heap[pos, 3]
    childpos = 2 * pos + 1
    while childpos < endpos:
        rightpos = childpos + 1
        if rightpos < endpos and not _less(heap[childpos, 0], heap[childpos, 1], heap[childpos, 2],
                                           heap[childpos, 3], heap[rightpos, 0], heap[rightpos, 1],
                                           heap[rightpos, 2], heap[rightpos, 3]):
            childpos = rightpos
        _copy_row(heap, childpos, pos)
        pos = childpos
        childpos = 2 * pos + 1
    heap[pos, 0], heap[pos, 1], heap[pos, 2], heap[pos, 3] = f, h, s, c
    _siftdown(heap, startpos, pos)


@njit(cache=True)
def _push(heap, n, f, h, s, c):
    """Push a row onto heap[:n]; returns the heap (a larger copy when it was full)."""
    if n == heap.shape[0]:
        bigger = np.empty((2 * n, 4))
        bigger[:n] = heap
        heap = bigger
    heap[n, 0], heap[n, 1], heap[n, 2], heap[n, 3] = f, h, s, c
    _siftdown(heap, 0, n)
    return heap


@njit(cache=True)
def _pop(heap, n):
    """Pop the smallest row of heap[:n] (n ≥ 1) and return its values; the heap is heap[:n - 1] after."""
    n -= 1
    f, h, s, c = heap[n, 0], heap[n, 1], heap[n, 2], heap[n, 3]
    if n > 0:
        rf, rh, rs, rc = heap[0, 0], heap[0, 1], heap[0, 2], heap[0, 3]
        heap[0, 0], heap[0, 1], heap[0, 2], heap[0, 3] = f, h, s, c
        _siftup(heap, n, 0)
        return rf, rh, rs, rc
    return f, h, s, c


def scratch(n_states):
    """The search's per-state arrays (best cost, parent), made once per router: filling fresh ones for every
    search cost more than the search itself. `search` leaves them as it found them."""
    return np.full(n_states, math.inf), np.full(n_states, UNSET, dtype=np.int64)


@njit(cache=True)
def _path(parent, s):
    """The states from the source to `s`, in order."""
    length, t = 0, s
    while t >= 0:
        length += 1
        t = parent[t]
    path = np.empty(length, dtype=np.int64)
    for i in range(length - 1, -1, -1):
        path[i] = s
        s = parent[s]
    return path


@njit(cache=True)
def search(n_cells, n_modes, no_dir, via_cost, ints, floats, counts, passable, via_ok, source_states,
           is_target, h, best, parent):
    """A* from `source_states` (sorted) to any cell with `is_target[layer * n_cells + k]`.

    `passable`: uint8 [2, n_cells]; `via_ok`, `h`: per cell; `best`, `parent`: `scratch()`. Returns the states
    of the cheapest path, source first (empty when there is none)."""
    touched = np.empty(1024, dtype=np.int64)  # states whose best/parent this search set: reset at the end
    n_touched = 0
    heap = np.empty((max(1024, 2 * len(source_states)), 4))
    n = 0
    found = -1
    for s in source_states:
        k = (s // n_modes) % n_cells
        best[s] = 0.0
        parent[s] = SOURCE
        touched, n_touched = _note(touched, n_touched, s)
        heap[n, 0], heap[n, 1], heap[n, 2], heap[n, 3] = h[k], h[k], s, 0.0
        n += 1
    for i in range(n // 2 - 1, -1, -1):  # heapify
        _siftup(heap, n, i)
    while n > 0:
        _, _, fs, cost = _pop(heap, n)
        n -= 1
        s = int(fs)
        if cost > best[s]:
            continue
        base, mode = s // n_modes, s % n_modes
        if is_target[base] and parent[s] != SOURCE:
            found = s
            break
        layer, k = base // n_cells, base % n_cells
        pas = passable[layer]
        for i in range(counts[layer, mode]):
            off, double, side1, side2, nd = (ints[0, layer, mode, i], ints[1, layer, mode, i],
                                             ints[2, layer, mode, i], ints[3, layer, mode, i],
                                             ints[4, layer, mode, i])
            step, single = floats[0, layer, mode, i], floats[1, layer, mode, i]
            j = k + off
            if not pas[j] or (side1 != 0 and not (pas[k + side1] and pas[k + side2])):
                continue  # blocked, or a diagonal cutting a corner
            if double:
                if is_target[base + off]:  # a one-cell piece is fine when it ends in the target pad
                    heap, n, touched, n_touched = _relax(best, parent, heap, n, touched, n_touched, s,
                                                         (base + off) * n_modes + nd, cost + single, h[j])
                m = j
                j = j + off
                if not pas[j] or (side1 != 0 and not (pas[m + side1] and pas[m + side2])):
                    continue
                ns = (base + 2 * off) * n_modes + nd
            else:
                ns = (base + off) * n_modes + nd
            heap, n, touched, n_touched = _relax(best, parent, heap, n, touched, n_touched, s, ns, cost + step, h[j])
        if via_ok[k] and mode < no_dir and passable[1 - layer][k]:
            ns = ((1 - layer) * n_cells + k) * n_modes + no_dir
            heap, n, touched, n_touched = _relax(best, parent, heap, n, touched, n_touched, s, ns, cost + via_cost,
                                                 h[k])
    path = _path(parent, found) if found >= 0 else np.empty(0, dtype=np.int64)
    for i in range(n_touched):
        best[touched[i]] = math.inf
        parent[touched[i]] = UNSET
    return path


@njit(cache=True)
def _relax(best, parent, heap, n, touched, n_touched, s, ns, ncost, hns):
    """Reach state `ns` from `s` at cost `ncost` (heuristic `hns`): when cheaper than its best so far, record it
    and push it. Returns the heap and the touched list, each with its count (either may have grown)."""
    if ncost < best[ns]:
        if best[ns] == math.inf:
            touched, n_touched = _note(touched, n_touched, ns)
        best[ns] = ncost
        parent[ns] = s
        heap = _push(heap, n, ncost + hns, hns, ns, ncost)
        n += 1
    return heap, n, touched, n_touched


@njit(cache=True)
def _note(touched, n, s):
    if n == touched.shape[0]:
        bigger = np.empty(2 * n, dtype=np.int64)
        bigger[:n] = touched
        touched = bigger
    touched[n] = s
    return touched, n + 1


@njit(cache=True)
def components(mask):
    """4-connected components of a boolean grid: labels numbered in scan order (0 = not in the mask)."""
    ny, nx = mask.shape
    flat = mask.ravel()
    labels = np.zeros(nx * ny, dtype=np.int32)
    stack = np.empty(nx * ny, dtype=np.int64)
    current = 0
    for start in range(nx * ny):
        if not flat[start] or labels[start]:
            continue
        current += 1
        labels[start] = current
        top = 0
        stack[top] = start
        top += 1
        while top > 0:
            top -= 1
            k = stack[top]
            x = k % nx
            for j in (k - nx, k + nx, k - 1 if x > 0 else -1, k + 1 if x < nx - 1 else -1):
                if 0 <= j < nx * ny and flat[j] and not labels[j]:
                    labels[j] = current
                    stack[top] = j
                    top += 1
    return labels.reshape(ny, nx)


@njit(cache=True)
def polygon_distance(X, Y, hull):
    """Signed distance (negative inside) of each point of the grids X, Y from the convex polygon `hull` (n × 2),
    with the float operations of the numpy formula it replaced in the same order (kept in the test as reference)."""
    n = hull.shape[0]
    area2 = 0.0
    for i in range(n):
        area2 += hull[i, 0] * hull[(i + 1) % n, 1] - hull[(i + 1) % n, 0] * hull[i, 1]
    sign = 1.0 if area2 > 0 else -1.0
    out = np.empty(X.shape)
    for r in range(X.shape[0]):
        for c in range(X.shape[1]):
            x, y = X[r, c], Y[r, c]
            inside, dist = True, math.inf
            for i in range(n):
                px, py, qx, qy = hull[i, 0], hull[i, 1], hull[(i + 1) % n, 0], hull[(i + 1) % n, 1]
                cross = (qx - px) * (y - py) - (qy - py) * (x - px)
                inside = inside and sign * cross >= 0
                dx, dy = qx - px, qy - py
                length2 = dx * dx + dy * dy
                t = 0.0
                if length2 != 0:
                    t = min(max(((x - px) * dx + (y - py) * dy) / length2, 0.0), 1.0)
                dist = min(dist, math.hypot(x - px - t * dx, y - py - t * dy))
            out[r, c] = -dist if inside else dist
    return out


def compile_all():
    """Compile (or load from the cache) every loop here, on a one-cell board: `make setup` runs this once."""
    ints, floats, counts = move_arrays([[[]] * 10] * 2)
    best, parent = scratch(20)
    search(1, 10, 8, 1.0, ints, floats, counts, np.zeros((2, 1), np.uint8), np.zeros(1, np.uint8),
           np.zeros(0, np.int64), np.zeros(2, np.uint8), np.zeros(1), best, parent)
    components(np.zeros((1, 1), dtype=np.bool_))
    cells = np.zeros((2, 2))
    cells.flags.writeable = False  # as the router passes them: windows (slices) of its read-only grid
    polygon_distance(cells[:1, :1], cells[:1, :1], np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))


if __name__ == "__main__":
    compile_all()
