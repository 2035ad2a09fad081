"""OCCT (OCP, the CadQuery project's wheel) as a few plain functions: prisms, booleans, volumes, distances, files.

Only the CAD child process imports this (hwtools/enclosure/build.py): pcbnew carries its own OCCT and the two
must never share a process. Booleans and meshing run single-threaded with fixed tolerances: the files come out
byte-identical from run to run.
"""

from __future__ import annotations

import contextlib
import os
import re

from OCP.BRepAlgoAPI import BRepAlgoAPI_Common, BRepAlgoAPI_Cut, BRepAlgoAPI_Fuse
from OCP.BRepBuilderAPI import BRepBuilderAPI_MakeFace, BRepBuilderAPI_MakePolygon
from OCP.BRepExtrema import BRepExtrema_DistShapeShape
from OCP.BRepGProp import BRepGProp
from OCP.BRepMesh import BRepMesh_IncrementalMesh
from OCP.BRepPrimAPI import BRepPrimAPI_MakeCylinder, BRepPrimAPI_MakePrism
from OCP.BRep import BRep_Builder
from OCP.GProp import GProp_GProps
from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt, gp_Vec
from OCP.ShapeUpgrade import ShapeUpgrade_UnifySameDomain
from OCP.STEPControl import STEPControl_AsIs, STEPControl_Writer
from OCP.StlAPI import StlAPI_Writer
from OCP.TopoDS import TopoDS_Compound
from OCP.collections import List_TopoDS_Shape as TopTools_ListOfShape

FIXED_TIME = "2000-01-01T00:00:00"


def polygon_prism(points3d, direction) -> object:
    """A planar polygon (3-D points, closed implicitly) extruded along `direction` (x, y, z)."""
    poly = BRepBuilderAPI_MakePolygon()
    for p in points3d:
        poly.Add(gp_Pnt(*map(float, p)))
    poly.Close()
    face = BRepBuilderAPI_MakeFace(poly.Wire(), True).Face()
    return BRepPrimAPI_MakePrism(face, gp_Vec(*map(float, direction))).Shape()


def prism(points, z0: float, z1: float):
    """A polygon in the xy plane extruded from z0 to z1."""
    return polygon_prism([(x, y, z0) for x, y in points], (0, 0, z1 - z0))


def box(x0, y0, z0, x1, y1, z1):
    return prism(((x0, y0), (x1, y0), (x1, y1), (x0, y1)), z0, z1)


def cylinder(x, y, r, z0, z1):
    return BRepPrimAPI_MakeCylinder(gp_Ax2(gp_Pnt(x, y, z0), gp_Dir(0, 0, 1)), r, z1 - z0).Shape()


def _shapes(items) -> TopTools_ListOfShape:
    out = TopTools_ListOfShape()
    for s in items:
        out.Append(s)
    return out


def _boolean(op, first, tools):
    op.SetArguments(_shapes([first]))
    op.SetTools(_shapes(tools))
    op.SetRunParallel(False)
    op.SetFuzzyValue(1e-6)
    op.Build()
    if not op.IsDone():
        raise RuntimeError("OCCT boolean failed")
    return op.Shape()


def clean(shape):
    """Coplanar faces merged: the files stay small and each wall is one face."""
    u = ShapeUpgrade_UnifySameDomain(shape, True, True, True)
    u.Build()
    return u.Shape()


def fuse(first, *others):
    return clean(_boolean(BRepAlgoAPI_Fuse(), first, others)) if others else first


def cut(first, *tools):
    return clean(_boolean(BRepAlgoAPI_Cut(), first, tools)) if tools else first


def compound(shapes):
    c, b = TopoDS_Compound(), BRep_Builder()
    b.MakeCompound(c)
    for s in shapes:
        b.Add(c, s)
    return c


def volume(shape) -> float:
    props = GProp_GProps()
    BRepGProp.VolumeProperties_s(shape, props)
    return props.Mass()


def common_volume(a, b) -> float:
    return volume(_boolean(BRepAlgoAPI_Common(), a, [b]))


def distance(a, b) -> float:
    d = BRepExtrema_DistShapeShape(a, b)
    if not d.IsDone():
        raise RuntimeError("OCCT distance failed")
    return d.Value()


@contextlib.contextmanager
def _quiet():
    """OCCT's STEP writer prints statistics on stdout (fd 1): kept out of the step's log."""
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def write_step(shape, path, name: str):
    """AP214 STEP with a normalised header: fixed time, the part's name, no author or machine."""
    writer = STEPControl_Writer()
    with _quiet():
        writer.Transfer(shape, STEPControl_AsIs)
        writer.Write(str(path))
    text = open(path, encoding="utf-8").read()
    header = f"FILE_NAME('{name}','{FIXED_TIME}',(''),(''),'','','');"
    text = re.sub(r"FILE_NAME\(.*?\);", lambda m: header, text, count=1, flags=re.S)
    text = re.sub(r"'Open CASCADE STEP translator [^']*'", f"'{name}'", text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_stl(shape, path, deflection: float, angle: float):
    """Binary STL, meshed single-threaded with absolute tolerances."""
    BRepMesh_IncrementalMesh(shape, deflection, False, angle, False)
    writer = StlAPI_Writer()
    writer.ASCIIMode = False
    if not writer.Write(shape, str(path)):
        raise RuntimeError(f"OCCT could not write {path}")
