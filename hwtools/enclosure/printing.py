"""Printability of the STL files as written: watertight and manifold (trimesh, manifold3d), overhangs in the print
orientation, volume and mass.

Print orientation (mech/README.md): the base on its floor, the lid on its outer face (upside down). A downward
face more than `overhang_max_deg` from vertical is allowed only as a horizontal bridge no longer than
`bridge_max_mm`; each bridge is listed with its span. Faces on the bed are not overhangs.
"""

from __future__ import annotations

import math

import numpy as np

from .results import Result

BED = 0.01  # mm: a face this close to the lowest point lies on the bed
FLAT = 0.999  # |normal z| above this: a horizontal face


def _mesh(path, flip: bool):
    import trimesh

    mesh = trimesh.load_mesh(path, process=True)
    if flip:
        mesh.apply_transform(np.diag([1.0, -1.0, -1.0, 1.0]))  # a half turn about x: upside down
    return mesh


def _manifold(mesh) -> bool:
    import manifold3d

    m = manifold3d.Manifold(manifold3d.Mesh(vert_properties=np.asarray(mesh.vertices, dtype=np.float32),
                                            tri_verts=np.asarray(mesh.faces, dtype=np.uint32)))
    return m.status() == manifold3d.Error.NoError and not m.is_empty()


def _groups(faces, adjacency) -> list[list[int]]:
    """The faces in connected groups (union-find over shared edges): one overhang or bridge each."""
    parent = {int(f): int(f) for f in faces}

    def root(f):
        while parent[f] != f:
            parent[f] = parent[parent[f]]
            f = parent[f]
        return f

    for a, b in adjacency:
        parent[root(int(a))] = root(int(b))
    groups: dict[int, list[int]] = {}
    for f in parent:
        groups.setdefault(root(f), []).append(f)
    return sorted(groups.values())


def overhangs(mesh, max_deg: float):
    """(bridges [(span, z)], steep [(span, z)]) of the mesh's downward faces off the bed, grouped by shared edges."""
    limit = -math.sin(math.radians(max_deg))  # normal z below this: more than max_deg from vertical
    low = mesh.bounds[0][2]
    z = mesh.triangles_center[:, 2]
    down = np.nonzero((mesh.face_normals[:, 2] < limit) & (z > low + BED))[0]
    adjacency = mesh.face_adjacency[np.all(np.isin(mesh.face_adjacency, down), axis=1)]
    bridges, steep = [], []
    for group in _groups(down, adjacency):
        pts = mesh.vertices[mesh.faces[group].ravel()]
        span = float(min(np.ptp(pts[:, 0]), np.ptp(pts[:, 1])))
        flat = bool(np.all(mesh.face_normals[group, 2] < -FLAT))
        (bridges if flat else steep).append((round(span, 2), round(float(pts[:, 2].mean()), 2)))
    return sorted(bridges), sorted(steep)


def check(folder, prefix: str, cfg: dict) -> list[Result]:
    out = []
    for part, flip in (("base", False), ("lid", True)):
        mesh = _mesh(folder / f"{prefix}-{part}.stl", flip)
        sound = bool(mesh.is_watertight and mesh.is_winding_consistent and mesh.is_volume) and _manifold(mesh)
        out.append(Result("printable", sound, part, float(sound), 1.0,
                          f"{part}.stl watertight and manifold (trimesh, manifold3d): {'yes' if sound else 'NO'}"))
        bridges, steep = overhangs(mesh, cfg["overhang_max_deg"])
        long = [b for b in bridges if b[0] > cfg["bridge_max_mm"]]
        listed = ", ".join(f"{s} mm at z {z}" for s, z in bridges) or "none"
        out.append(Result("overhang", not steep and not long, part, len(steep) + len(long), 0,
                          f"{part} as printed: {len(steep)} overhang(s) beyond {cfg['overhang_max_deg']}° from "
                          f"vertical, bridges ≤ {cfg['bridge_max_mm']} mm: {listed}"))
        grams = mesh.volume / 1000 * cfg["density_g_cm3"]
        out.append(Result("material", True, part, round(mesh.volume / 1000, 2), 0,
                          f"{part}: {mesh.volume / 1000:.1f} cm³, {grams:.0f} g of {cfg['material']} (solid)"))
    return out
