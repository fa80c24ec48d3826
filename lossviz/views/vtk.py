"""Export a loss surface to VTK XML PolyData (.vtp, ASCII) for ParaView, like the reference's h52vtp.py.

Grid point (x[i], y[j]) with value z[j, i] becomes point k = j * nx + i at (x[i], y[j], z[j, i]); each grid
cell becomes two triangles; the value is also stored as a point-data scalar array for coloring. Where z is
NaN the loss is undefined: the point-data array `defined` holds 0 there (1 elsewhere) and no triangle
touches the point, so ParaView shows a hole instead of a plane at some made-up height.
"""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from lossviz.base import files


def _surface(x, y, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check x (nx,), y (ny,), z (ny, nx) and return them as float arrays."""
    x, y, z = (np.asarray(v, dtype=float) for v in (x, y, z))
    for name, c in (("x", x), ("y", y)):
        if c.ndim != 1 or c.size < 2 or not np.all(np.isfinite(c)):
            raise ValueError(f"{name} must be 1-D with >= 2 finite coordinates, got shape {c.shape}")
    if z.shape != (y.size, x.size):
        raise ValueError(f"z must have shape (len(y), len(x)) = ({y.size}, {x.size}) with z[j, i] at "
                         f"(x[i], y[j]), got {z.shape}")
    if not np.isfinite(z).any():
        raise ValueError("z has no finite values")
    return x, y, z


def heights(z, *, zmax: float | None = None, log: bool = False) -> np.ndarray:
    """The written values: z clipped at zmax, NaN/inf set to the clip level (or the finite max), log10 if asked."""
    z = np.asarray(z, dtype=float)
    finite = np.isfinite(z)
    cap = float(z[finite].max()) if zmax is None else float(zmax)
    out = np.where(finite, np.minimum(z, cap), cap)
    if log:
        if out.min() <= 0:
            raise ValueError(f"log=True takes log10 of z, which needs z > 0 (and zmax > 0); min is {out.min():.3g}")
        out = np.log10(out)
    return out


def triangles(nx: int, ny: int) -> np.ndarray:
    """Point indices (2 (nx-1) (ny-1), 3) of two counter-clockwise triangles per grid cell."""
    j, i = np.meshgrid(np.arange(ny - 1), np.arange(nx - 1), indexing="ij")
    k = (j * nx + i).ravel()
    lower = np.stack([k, k + 1, k + nx + 1], axis=1)
    upper = np.stack([k, k + nx + 1, k + nx], axis=1)
    return np.stack([lower, upper], axis=1).reshape(-1, 3)


def _ascii(values: np.ndarray, fmt: str) -> str:
    """Whitespace-separated numbers, six per line."""
    flat = [fmt % v for v in np.ravel(values)]
    return "\n" + "\n".join(" ".join(flat[k:k + 6]) for k in range(0, len(flat), 6)) + "\n"


def write_vtp(path: str | os.PathLike, x, y, z, *, zmax: float | None = None, log: bool = False,
              name: str = "train_loss") -> Path:
    """Write the surface z[j, i] over (x[i], y[j]) as an ASCII .vtp of triangles, atomically; returns the path."""
    x, y, z = _surface(x, y, z)
    if not name or not name.replace("_", "").isalnum() or name == "defined":
        raise ValueError(f"name={name!r} must be a non-empty identifier (letters, digits, _) other than 'defined'")
    h = heights(z, zmax=zmax, log=log).astype(np.float32)
    defined = ~(np.isnan(z) | (z == -np.inf))  # +inf is a loss above every clip level: drawn at the clip
    X, Y = np.meshgrid(x, y)
    pts = np.stack([X.ravel(), Y.ravel(), h.ravel()], axis=1).astype(np.float32)
    tri = triangles(x.size, y.size)
    tri = tri[defined.ravel()[tri].all(axis=1)]  # undefined points are holes, not part of the surface
    root = ET.Element("VTKFile", type="PolyData", version="0.1", byte_order="LittleEndian")
    piece = ET.SubElement(ET.SubElement(root, "PolyData"), "Piece", NumberOfPoints=str(len(pts)),
                          NumberOfVerts="0", NumberOfLines="0", NumberOfStrips="0", NumberOfPolys=str(len(tri)))
    pd = ET.SubElement(piece, "PointData", Scalars=name)
    ET.SubElement(pd, "DataArray", type="Float32", Name=name, NumberOfComponents="1", format="ascii",
                  RangeMin=f"{h[defined].min():.9g}", RangeMax=f"{h[defined].max():.9g}").text = _ascii(h, "%.9g")
    ET.SubElement(pd, "DataArray", type="UInt8", Name="defined", NumberOfComponents="1", format="ascii",
                  RangeMin=str(int(defined.min())), RangeMax=str(int(defined.max()))).text = _ascii(defined, "%d")
    ET.SubElement(ET.SubElement(piece, "Points"), "DataArray", type="Float32", Name="Points",
                  NumberOfComponents="3", format="ascii").text = _ascii(pts, "%.9g")
    polys = ET.SubElement(piece, "Polys")
    ET.SubElement(polys, "DataArray", type="Int64", Name="connectivity", format="ascii").text = _ascii(tri, "%d")
    ET.SubElement(polys, "DataArray", type="Int64", Name="offsets", format="ascii").text = \
        _ascii(3 * np.arange(1, len(tri) + 1), "%d")
    ET.indent(root, space="  ")
    return files.write_bytes(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def write_path_vtp(path: str | os.PathLike, xyz) -> Path:
    """Write a path (an optimizer trajectory or a curve, (n, 3) points) as an ASCII .vtp polyline, atomically."""
    pts = np.asarray(xyz, dtype=np.float32)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) < 2 or not np.isfinite(pts).all():
        raise ValueError(f"xyz must be an (n >= 2, 3) array of finite points, got shape {pts.shape}")
    root = ET.Element("VTKFile", type="PolyData", version="0.1", byte_order="LittleEndian")
    piece = ET.SubElement(ET.SubElement(root, "PolyData"), "Piece", NumberOfPoints=str(len(pts)),
                          NumberOfVerts="0", NumberOfLines="1", NumberOfStrips="0", NumberOfPolys="0")
    ET.SubElement(ET.SubElement(piece, "Points"), "DataArray", type="Float32", Name="Points",
                  NumberOfComponents="3", format="ascii").text = _ascii(pts, "%.9g")
    lines = ET.SubElement(piece, "Lines")
    ET.SubElement(lines, "DataArray", type="Int64", Name="connectivity", format="ascii").text = \
        _ascii(np.arange(len(pts)), "%d")
    offsets = ET.SubElement(lines, "DataArray", type="Int64", Name="offsets", format="ascii")
    offsets.text = _ascii(np.array([len(pts)]), "%d")
    ET.indent(root, space="  ")
    return files.write_bytes(path, ET.tostring(root, encoding="utf-8", xml_declaration=True))


def stem(label: str) -> str:
    """A file-name stem of a label: "b=128, wd=0" -> "b128_wd0" (no '=', ', ' -> '_', spaces -> '_')."""
    return label.replace("=", "").replace(", ", "_").replace(" ", "_")


def export(stem_path: str | os.PathLike, surface, key: str = "train_loss", *, path_xy=None,
           path_name: str = "path", zmax: float | None = 10.0, log: bool = True) -> list[Path]:
    """Write a `lossviz.base.io.Surface`'s `key` to `<stem_path>.vtp` and, given `path_xy` ((n, 2) on the grid),
    that path lifted onto the same heights to `<stem_path>_<path_name>.vtp`; return the files written."""
    from lossviz.views.gallery import lift

    stem_path = Path(stem_path)
    x, y, z = surface.xcoordinates, surface.ycoordinates, surface[key]
    written = [write_vtp(stem_path.with_name(stem_path.name + ".vtp"), x, y, z, zmax=zmax, log=log)]
    if path_xy is not None:
        on = lift(x, y, heights(z, zmax=zmax, log=log), path_xy)
        written.append(write_path_vtp(stem_path.with_name(f"{stem_path.name}_{path_name}.vtp"),
                                      [(*xy, h) for xy, h in zip(path_xy, on)]))
    return written
