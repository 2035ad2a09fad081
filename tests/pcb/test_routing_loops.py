"""The router's compiled loops (hwtools/routing_loops.py) against plain Python doing the same thing.

The board files are byte-identical only if the compiled search pops states in exactly the order Python's heapq
would, and finds the same path: these tests compare both on random inputs full of ties.
"""

import heapq
import math
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from hwtools import routing_loops
from hwtools.routing import AT_PAD, NO_DIR, VIA_COST, Router, RoutingError, segment_distance


def test_heap_pops_rows_in_the_order_heapq_pops_tuples():
    rng = random.Random(7)
    heap, reference = routing_loops.Heap(4), []  # 4 rows: the heap must grow
    popped, expected = [], []
    for _ in range(3000):
        if reference and rng.random() < 0.4:
            popped.append(heap.pop())
            expected.append(heapq.heappop(reference))
        else:  # few distinct values: ties on f, on h and on the state, as in a real search
            row = (float(rng.randint(0, 5)), float(rng.randint(0, 3)), float(rng.randint(0, 9)), rng.random())
            heap.push(*row)
            heapq.heappush(reference, row)
    while reference:
        popped.append(heap.pop())
        expected.append(heapq.heappop(reference))
    assert len(expected) > 1000
    assert popped == expected and len(heap) == 0


def _components_python(mask):
    ny, nx = mask.shape
    labels, current = np.zeros((ny, nx), dtype=np.int32), 0
    for y in range(ny):
        for x in range(nx):
            if mask[y, x] and not labels[y, x]:
                current += 1
                todo = [(y, x)]
                labels[y, x] = current
                while todo:
                    cy, cx = todo.pop()
                    for ny_, nx_ in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                        if 0 <= ny_ < ny and 0 <= nx_ < nx and mask[ny_, nx_] and not labels[ny_, nx_]:
                            labels[ny_, nx_] = current
                            todo.append((ny_, nx_))
    return labels


def test_components_match_a_plain_flood_fill():
    mask = np.random.default_rng(3).random((40, 57)) < 0.55
    labels = routing_loops.components(mask)
    assert labels.max() > 5  # several pieces, or the test proves little
    assert np.array_equal(labels, _components_python(mask))


def _search_python(n_cells, moves, passable, via_ok, sources, targets, h):
    """The router's search as it was written in plain Python (the reference the compiled one must match)."""
    modes = AT_PAD + 1
    best = [math.inf] * (2 * n_cells * modes)
    parent, heap = {}, []
    for (layer, k), at_pad in sorted(sources.items()):
        s = (layer * n_cells + k) * modes + (AT_PAD if at_pad else NO_DIR)
        best[s], parent[s] = 0.0, None
        heap.append((h[k], h[k], s, 0.0))
    heapq.heapify(heap)
    targets = {layer * n_cells + k for layer, k in targets}
    while heap:
        _, _, s, cost = heapq.heappop(heap)
        if cost > best[s]:
            continue
        base, mode = divmod(s, modes)
        if base in targets and parent[s] is not None:
            path = []
            while s is not None:
                path.append(s)
                s = parent[s]
            return path[::-1]
        layer, k = divmod(base, n_cells)
        pas = passable[layer]
        for off, double, side1, side2, step, single, nd in moves[layer][mode]:
            j = k + off
            if not pas[j] or (side1 and not (pas[k + side1] and pas[k + side2])):
                continue
            if double:
                if base + off in targets:
                    ns = (base + off) * modes + nd
                    if cost + single < best[ns]:
                        best[ns], parent[ns] = cost + single, s
                        heapq.heappush(heap, (cost + single + h[j], h[j], ns, cost + single))
                m, j = j, j + off
                if not pas[j] or (side1 and not (pas[m + side1] and pas[m + side2])):
                    continue
                ns = (base + 2 * off) * modes + nd
            else:
                ns = (base + off) * modes + nd
            ncost = cost + step
            if ncost < best[ns]:
                best[ns], parent[ns] = ncost, s
                heapq.heappush(heap, (ncost + h[j], h[j], ns, ncost))
        if via_ok[k] and mode < NO_DIR and passable[1 - layer][k]:
            ns = ((1 - layer) * n_cells + k) * modes + NO_DIR
            ncost = cost + VIA_COST
            if ncost < best[ns]:
                best[ns], parent[ns] = ncost, s
                heapq.heappush(heap, (ncost + h[k], h[k], ns, ncost))
    return None


@pytest.mark.parametrize("seed", range(6))
def test_search_finds_the_path_plain_python_finds(seed):
    rng = np.random.default_rng(seed)
    nx, ny = 48, 36
    n_cells, modes = nx * ny, AT_PAD + 1
    passable = rng.random((2, ny, nx)) < 0.8
    passable[:, [0, -1], :] = passable[:, :, [0, -1]] = False  # the router blocks the board edge too
    passable = passable.reshape(2, n_cells).astype(np.uint8)
    via_ok = (rng.random(n_cells) < 0.3).astype(np.uint8)
    free = np.flatnonzero(passable[0])
    sources = {(0, int(k)): bool(i == 0) for i, k in enumerate(rng.choice(free[free < n_cells // 3], 3))}
    targets = {(int(layer), int(k)) for layer, k in zip(rng.integers(0, 2, 4), rng.choice(free[free > n_cells // 2], 4))}
    ty, tx = divmod(min(k for _, k in targets), nx)
    h = [max(abs(k % nx - tx), abs(k // nx - ty)) * (0.5 if seed % 2 else 0.0) for k in range(n_cells)]
    moves = Router._moves(SimpleNamespace(grid=SimpleNamespace(nx=nx)))

    expected = _search_python(n_cells, moves, [bytearray(p.tobytes()) for p in passable], via_ok, sources,
                              targets, h)
    states = np.array([(layer * n_cells + k) * modes + (AT_PAD if at_pad else NO_DIR)
                       for (layer, k), at_pad in sorted(sources.items())], dtype=np.int64)
    is_target = np.zeros(2 * n_cells, dtype=np.uint8)
    for layer, k in targets:
        is_target[layer * n_cells + k] = 1
    best, parent = routing_loops.scratch(2 * n_cells * modes)
    args = (n_cells, modes, NO_DIR, VIA_COST, *routing_loops.move_arrays(moves), passable, via_ok, states, is_target,
            np.asarray(h, dtype=np.float64), best, parent)
    got = routing_loops.search(*args)

    assert expected is not None and len(expected) > 5
    assert got.tolist() == expected
    assert np.isinf(best).all() and (parent == routing_loops.UNSET).all()  # left as found: the next search reuses them
    assert routing_loops.search(*args).tolist() == expected


def _polygon_distance_numpy(X, Y, hull):
    """The router's polygon distance as it was written with numpy (the reference the compiled one must match)."""
    inside = np.ones(np.shape(X), dtype=bool)
    dist = np.full(np.shape(X), np.inf)
    n = len(hull)
    area2 = sum(hull[i][0] * hull[(i + 1) % n][1] - hull[(i + 1) % n][0] * hull[i][1] for i in range(n))
    sign = 1.0 if area2 > 0 else -1.0
    for i in range(n):
        p, q = hull[i], hull[(i + 1) % n]
        cross = (q[0] - p[0]) * (Y - p[1]) - (q[1] - p[1]) * (X - p[0])
        inside &= sign * cross >= 0
        dist = np.minimum(dist, segment_distance(X, Y, p, q))
    return np.where(inside, -dist, dist)


def test_polygon_distance_is_the_numpy_formula_bit_for_bit():
    rng = np.random.default_rng(1)
    X, Y = np.meshgrid(np.arange(0, 20, 0.3175), np.arange(0, 20, 0.3175))
    insides = 0
    for trial in range(60):  # convex polygons of 3-8 corners, both windings
        corners = np.sort(rng.random(rng.integers(3, 9)) * 2 * np.pi)
        cx, cy, radius = rng.random(3) * 10 + 0.5
        hull = [(cx + radius * np.cos(a), cy + radius * np.sin(a)) for a in corners][::1 if trial % 2 else -1]
        expected = _polygon_distance_numpy(X, Y, hull)
        assert np.array_equal(routing_loops.polygon_distance(X, Y, np.array(hull)), expected), trial
        insides += int((expected < 0).sum())
    assert insides > 1000  # points inside and outside were compared


def _octile_numpy(X, Y, boxes, grid_mm):
    """The router's heuristic as it was written with numpy (the reference the compiled one must match)."""
    best = np.full(X.shape, np.inf)
    for x0, y0, x1, y1 in boxes:
        dx = np.maximum(np.maximum(x0 - X, X - x1), 0.0) / grid_mm
        dy = np.maximum(np.maximum(y0 - Y, Y - y1), 0.0) / grid_mm
        best = np.minimum(best, np.maximum(dx, dy) + (math.sqrt(2) - 1) * np.minimum(dx, dy))
    return np.maximum(best - 1.0, 0.0).ravel()


def test_octile_heuristic_is_the_numpy_formula_bit_for_bit():
    rng = np.random.default_rng(2)
    X, Y = np.meshgrid(np.arange(0, 20, 0.3175), np.arange(0, 15, 0.3175))
    X.flags.writeable = Y.flags.writeable = False  # as the router's grid
    zeros = 0
    for trial in range(30):
        corners = rng.random((rng.integers(1, 7), 2)) * 20
        boxes = np.hstack([corners, corners + rng.random((len(corners), 2)) * 3])
        expected = _octile_numpy(X, Y, boxes, 0.3175)
        assert np.array_equal(routing_loops.octile_heuristic(X, Y, boxes, 0.3175), expected), trial
        zeros += int((expected == 0).sum())
    assert zeros > 100  # cells in and right beside the boxes were compared too


def _load(path, name="routing_loops"):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_router_uses_the_compiled_loops_and_refuses_them_uncompiled_or_stale(tmp_path, monkeypatch):
    import os
    import shutil

    from hwtools import routing

    assert routing_loops.not_compiled() is None and routing_loops.__file__.endswith(".so")
    source = Path(routing_loops.__file__).with_name("routing_loops.py")
    assert "not compiled: run `make setup`" in _load(source).not_compiled()  # the plain file, run as Python

    shutil.copy2(source, tmp_path / source.name)  # the compiled module beside a newer copy of its source
    shutil.copy2(routing_loops.__file__, tmp_path / Path(routing_loops.__file__).name)
    os.utime(tmp_path / source.name, (os.path.getmtime(routing_loops.__file__) + 10,) * 2)
    stale = _load(tmp_path / Path(routing_loops.__file__).name)
    assert stale.not_compiled().startswith("hwtools/routing_loops.py changed after it was compiled")
    monkeypatch.setattr(routing, "routing_loops", stale)
    with pytest.raises(RoutingError, match="changed after it was compiled.*run `make setup`"):
        Router(10, 10, [], [], {})
