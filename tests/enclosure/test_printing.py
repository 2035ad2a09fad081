"""The printability checks on STL files (hwtools/enclosure/printing.py) catch what they are for: a hole in the mesh,
an overhang steeper than 45° from vertical, a bridge longer than 10 mm — and list a short bridge with its span.
Meshes made here with trimesh; no OCCT in this process."""

from __future__ import annotations

import numpy as np

from hwtools.enclosure import printing
from hwtools.facts import load_facts
from tests.required import module

CFG = load_facts()["enclosure"]


def union(*boxes):
    trimesh = module("trimesh")
    return trimesh.boolean.union([trimesh.creation.box(extents=e, transform=trimesh.transformations.translation_matrix(c))
                                  for e, c in boxes], engine="manifold")


def table(top_width: float):
    """A 5 × 5 mm post 10 mm tall with a `top_width` × 5 mm slab on it: the slab's underside is flat, downward."""
    return union(((5, 5, 10), (0, 0, 5)), ((top_width, 5, 2), (0, 0, 11)))


def write(tmp_path, base, lid):
    for name, mesh in (("base", base), ("lid", lid)):
        mesh.export(tmp_path / f"t-{name}.stl")


def by_check(results, check, part):
    return next(r for r in results if r.check == check and r.part == part)


def test_a_short_bridge_is_listed_with_its_span_and_passes(tmp_path):
    write(tmp_path, table(9.0), module("trimesh").creation.box(extents=(20, 20, 2)))
    results = printing.check(tmp_path, "t", CFG)
    overhang = by_check(results, "overhang", "base")
    # the slab's underside either side of the post: two 2 × 5 mm faces, each listed with its span
    assert overhang.passed and "bridges ≤ 10 mm: 2.0 mm at z 10.0, 2.0 mm at z 10.0" in overhang.text, overhang.text
    assert by_check(results, "printable", "base").passed


def test_a_bridge_longer_than_the_limit_fails(tmp_path):
    wide = union(((5, 5, 10), (0, 0, 5)), ((25, 25, 2), (0, 0, 11)))
    write(tmp_path, wide, module("trimesh").creation.box(extents=(20, 20, 2)))
    overhang = by_check(printing.check(tmp_path, "t", CFG), "overhang", "base")
    assert not overhang.passed and "bridges ≤ 10 mm: 25.0 mm at z 10.0" in overhang.text, overhang.text


def test_a_downward_face_steeper_than_45_degrees_fails(tmp_path):
    trimesh = module("trimesh")
    # a block tilted 30° about x, on a foot: its underside is 60° from vertical
    tilt = trimesh.transformations.rotation_matrix(np.radians(30), (1, 0, 0))
    tilt[:3, 3] = (0, 0, 12)
    block = trimesh.creation.box(extents=(10, 10, 4), transform=tilt)
    foot = trimesh.creation.box(extents=(4, 4, 12), transform=trimesh.transformations.translation_matrix((0, 0, 6)))
    write(tmp_path, trimesh.boolean.union([block, foot], engine="manifold"), trimesh.creation.box(extents=(20, 20, 2)))
    overhang = by_check(printing.check(tmp_path, "t", CFG), "overhang", "base")
    assert not overhang.passed and "1 overhang(s) beyond 45° from vertical" in overhang.text, overhang.text


def test_a_mesh_with_a_hole_is_not_printable(tmp_path):
    trimesh = module("trimesh")
    box = trimesh.creation.box(extents=(10, 10, 10))
    holed = trimesh.Trimesh(box.vertices, box.faces[:-1], process=False)
    write(tmp_path, holed, box)
    results = printing.check(tmp_path, "t", CFG)
    assert not by_check(results, "printable", "base").passed and by_check(results, "printable", "lid").passed
