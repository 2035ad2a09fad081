"""The assembly and an exploded view as PNG: matplotlib's 3-D axes (Agg) drawing the STL files as written and the
board with its bodies as prisms, flat-shaded from one light above the camera, back faces culled. Same input, same
pixels (no date in the file).
"""

from __future__ import annotations

import numpy as np

from .case import Design
from .model import Board

ELEV = 40.0  # the camera's elevation, degrees; its azimuth per picture
SORT_SIZE = 12.0  # mm: the longest edge drawn
COLOURS = {"base": (0.55, 0.6, 0.7), "lid": (0.8, 0.82, 0.9), "board": (0.1, 0.45, 0.2), "body": (0.25, 0.25, 0.3)}


def _shaded(polys, normals, colour, alpha, light_dir):
    light = 0.35 + 0.65 * np.clip(normals @ light_dir, 0, 1)
    return [(*(np.array(colour) * k), alpha) for k in light], polys


def _stl(path, dz: float):
    import trimesh

    mesh = trimesh.load_mesh(path, process=True)
    mesh = mesh.subdivide_to_size(SORT_SIZE)  # small faces: matplotlib sorts faces, not pixels
    return mesh.triangles + np.array([0, 0, dz]), mesh.face_normals


def _prisms(prisms, dz: float):
    polys, normals = [], []
    for p in prisms:
        pts = list(p.points)
        polys.append([(x, y, p.z1 + dz) for x, y in pts])
        normals.append((0, 0, 1))
        for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]):
            polys.append([(ax, ay, p.z0 + dz), (bx, by, p.z0 + dz), (bx, by, p.z1 + dz), (ax, ay, p.z1 + dz)])
            n = np.array([by - ay, -(bx - ax), 0.0])
            normals.append(tuple(n / (np.linalg.norm(n) or 1)))
    return polys, np.array(normals)


def _towards_camera(azim: float) -> np.ndarray:
    e, a = np.radians(ELEV), np.radians(azim)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])


def _draw(path, layers, title: str, bounds, azim: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    fig = plt.figure(figsize=(8, 6), dpi=100)
    ax = fig.add_subplot(projection="3d")
    camera = _towards_camera(azim)
    light = (camera + np.array([0.3, 0.0, 1.0])) / np.linalg.norm(camera + np.array([0.3, 0.0, 1.0]))  # over the eye
    for polys, normals, colour, alpha in layers:
        front = np.nonzero(np.asarray(normals) @ camera > 0)[0]  # back faces culled: fewer to draw and mis-sort
        faces, _ = _shaded(polys, np.asarray(normals)[front], colour, alpha, light)
        kept = [polys[i] for i in front]
        ax.add_collection3d(Poly3DCollection(kept, facecolors=faces, edgecolors=faces, linewidths=0.2))
    (x0, y0, z0), (x1, y1, z1) = bounds
    ax.set(xlim=(x0, x1), ylim=(y0, y1), zlim=(z0, z1), title=title)
    ax.set_box_aspect((x1 - x0, y1 - y0, z1 - z0))
    ax.view_init(elev=ELEV, azim=azim)
    ax.set_axis_off()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def pictures(board: Board, d: Design, folder, prefix: str, title: str):
    """{prefix}-assembly.png (the lid see-through) and {prefix}-exploded.png (board and lid lifted)."""
    plate = type(board.parts[0].prisms[0])(board.outline, 0.0, board.thickness)
    bodies = [p for part in board.parts for p in part.prisms]
    x0, y0, x1, y1 = d.outer
    lift = d.lid_bottom + 10  # the board lifted clear of the walls, the lid as far again
    # the closed case from the RJ12's end and the display cable's side; the exploded view from the USB end
    for name, board_dz, lid_dz, alpha, azim in (("assembly", 0.0, 0.0, 1.0, 118.0), ("exploded", lift, 2 * lift, 1.0,
                                                                                    -62.0)):
        layers = [(*_stl(folder / f"{prefix}-base.stl", 0.0), COLOURS["base"], 1.0),
                  (*_prisms([plate], board_dz), COLOURS["board"], 1.0),
                  (*_prisms(bodies, board_dz), COLOURS["body"], 1.0),
                  (*_stl(folder / f"{prefix}-lid.stl", lid_dz), COLOURS["lid"], alpha)]
        top = d.lid_top + lid_dz
        _draw(folder / f"{prefix}-{name}.png", layers, f"{title}: {name}",
              ((x0, y0, d.floor_bottom), (x1, y1, top)), azim)
