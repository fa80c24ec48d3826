"""The .vtp export round-trips points, scalars and triangles; clipping and log act as documented."""
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from lossviz.base import io
from lossviz.views import vtk

X = np.linspace(-3.0, 3.0, 7)
Y = np.linspace(-1.0, 1.0, 5)
XX, YY = np.meshgrid(X, Y)
BOWL = XX**2 + 2 * YY**2 + 0.1  # z[j, i] at (X[i], Y[j])


def read_vtp_points(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Read an ASCII .vtp back (independently of the writer): points (n, 3), point-data arrays by name, triangles
    (m, 3)."""
    piece = ET.parse(path).getroot().find("PolyData/Piece")
    if piece is None:
        raise ValueError(f"{path} is not a VTK PolyData file (no PolyData/Piece element)")

    def values(el: ET.Element, dtype) -> np.ndarray:
        """The numbers of an ASCII DataArray."""
        if el.get("format") != "ascii":
            raise ValueError(f"{path}: DataArray {el.get('Name')!r} has format={el.get('format')!r}; "
                             "only format='ascii' is read")
        return np.array((el.text or "").split(), dtype=dtype)

    points = values(piece.find("Points/DataArray"), float).reshape(-1, 3)
    scalars = {el.get("Name"): values(el, float) for el in piece.findall("PointData/DataArray")}
    polys = {el.get("Name"): values(el, np.int64) for el in piece.findall("Polys/DataArray")}
    conn, offs = polys.get("connectivity", np.zeros(0, np.int64)), polys.get("offsets", np.zeros(0, np.int64))
    if len(offs) and not np.array_equal(np.diff(np.concatenate([[0], offs])), np.full(len(offs), 3)):
        raise ValueError(f"{path}: polygons are not all triangles")
    if len(points) != int(piece.get("NumberOfPoints", len(points))):
        raise ValueError(f"{path}: NumberOfPoints does not match the Points array")
    return points, scalars, conn.reshape(-1, 3)


def test_round_trip_points_and_scalars(tmp_path):
    path = vtk.write_vtp(tmp_path / "bowl.vtp", X, Y, BOWL)
    points, scalars, tri = read_vtp_points(path)
    want = np.stack([XX.ravel(), YY.ravel(), BOWL.ravel()], axis=1)  # point j * nx + i = (x_i, y_j, z[j, i])
    np.testing.assert_allclose(points, want.astype(np.float32), rtol=1e-7)
    np.testing.assert_allclose(scalars["train_loss"], BOWL.ravel().astype(np.float32), rtol=1e-7)
    assert list(scalars) == ["train_loss", "defined"] and np.all(scalars["defined"] == 1)


def test_triangles_cover_the_grid_counter_clockwise(tmp_path):
    points, _, tri = read_vtp_points(vtk.write_vtp(tmp_path / "s.vtp", X, Y, BOWL))
    nx, ny = len(X), len(Y)
    assert tri.shape == (2 * (nx - 1) * (ny - 1), 3)
    assert tri.min() == 0 and tri.max() == nx * ny - 1
    a, b, c = (points[tri[:, k], :2] for k in range(3))
    u, v = b - a, c - a
    signed = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]  # z of the normal in the (x, y) plane
    np.testing.assert_allclose(signed.sum(), 2 * np.ptp(X) * np.ptp(Y))  # the triangles tile the rectangle once
    assert np.all(signed > 0)


def test_xml_is_well_formed_polydata_in_ascii(tmp_path):
    path = vtk.write_vtp(tmp_path / "s.vtp", X, Y, BOWL, name="test_loss")
    root = ET.parse(path).getroot()
    assert root.tag == "VTKFile" and root.get("type") == "PolyData"
    piece = root.find("PolyData/Piece")
    assert piece.get("NumberOfPoints") == str(len(X) * len(Y))
    assert piece.get("NumberOfPolys") == str(2 * (len(X) - 1) * (len(Y) - 1))
    assert piece.find("PointData").get("Scalars") == "test_loss"
    assert {a.get("format") for a in root.iter("DataArray")} == {"ascii"}
    offsets = [a for a in root.iter("DataArray") if a.get("Name") == "offsets"][0]
    np.testing.assert_array_equal(np.array(offsets.text.split(), int), 3 * np.arange(1, 2 * 6 * 4 + 1))


def test_zmax_clips_heights_and_scalars(tmp_path):
    points, scalars, _ = read_vtp_points(vtk.write_vtp(tmp_path / "s.vtp", X, Y, BOWL, zmax=2.0))
    assert points[:, 2].max() == pytest.approx(2.0)
    np.testing.assert_allclose(scalars["train_loss"], np.minimum(BOWL, 2.0).ravel(), rtol=1e-6)


def test_log_is_log10_after_clipping(tmp_path):
    points, _, _ = read_vtp_points(vtk.write_vtp(tmp_path / "s.vtp", X, Y, BOWL, zmax=5.0, log=True))
    np.testing.assert_allclose(points[:, 2], np.log10(np.minimum(BOWL, 5.0)).ravel(), rtol=1e-6)
    with pytest.raises(ValueError, match="log=True"):
        vtk.write_vtp(tmp_path / "bad.vtp", X, Y, BOWL - 1.0, log=True)


def test_nonfinite_values_become_the_clip_level(tmp_path):
    z = BOWL.copy()
    z[0, 0], z[1, 2] = np.nan, np.inf
    points, _, _ = read_vtp_points(vtk.write_vtp(tmp_path / "s.vtp", X, Y, z, zmax=3.0))
    assert np.all(np.isfinite(points))
    assert points[0, 2] == pytest.approx(3.0) and points[1 * len(X) + 2, 2] == pytest.approx(3.0)


def test_nan_points_are_marked_undefined_and_left_out_of_the_surface(tmp_path):
    z = BOWL.copy()
    z[2, 3] = np.nan  # an interior point: it touches 6 triangles
    z[4, 6] = np.inf  # a corner: a loss too large to represent, drawn at the clip level
    points, scalars, tri = read_vtp_points(vtk.write_vtp(tmp_path / "s.vtp", X, Y, z, zmax=3.0))
    nan_k, inf_k = 2 * len(X) + 3, 4 * len(X) + 6
    assert scalars["defined"][nan_k] == 0 and np.sum(scalars["defined"] == 0) == 1
    assert nan_k not in tri and inf_k in tri
    assert len(tri) == 2 * (len(X) - 1) * (len(Y) - 1) - 6
    assert points[inf_k, 2] == pytest.approx(3.0)
    full = vtk.triangles(len(X), len(Y))
    kept = {tuple(t) for t in tri}
    assert kept == {tuple(t) for t in full if nan_k not in t}  # every triangle away from the hole is kept
    with pytest.raises(ValueError, match="other than 'defined'"):
        vtk.write_vtp(tmp_path / "s.vtp", X, Y, BOWL, name="defined")


def test_bad_inputs_name_the_parameter(tmp_path):
    with pytest.raises(ValueError, match=r"z must have shape \(len\(y\), len\(x\)\) = \(5, 7\)"):
        vtk.write_vtp(tmp_path / "s.vtp", X, Y, BOWL.T)
    with pytest.raises(ValueError, match="name"):
        vtk.write_vtp(tmp_path / "s.vtp", X, Y, BOWL, name="train loss<")


def test_write_is_atomic(tmp_path):
    path = vtk.write_vtp(tmp_path / "deep" / "s.vtp", X, Y, BOWL)
    vtk.write_vtp(path, X, Y, 2 * BOWL)  # overwrite in place
    assert os.listdir(path.parent) == ["s.vtp"]
    np.testing.assert_allclose(read_vtp_points(path)[1]["train_loss"], 2 * BOWL.ravel(), rtol=1e-6)


def test_path_is_written_as_one_polyline(tmp_path):
    import xml.etree.ElementTree as ET

    xyz = np.array([[0.0, 0.0, 1.0], [0.5, 0.1, 0.7], [1.0, 0.3, 0.2]])
    out = vtk.write_path_vtp(tmp_path / "path.vtp", xyz)
    piece = ET.parse(out).getroot().find("PolyData/Piece")
    assert piece.get("NumberOfLines") == "1" and piece.get("NumberOfPolys") == "0"
    points = np.array(piece.find("Points/DataArray").text.split(), float).reshape(-1, 3)
    assert np.allclose(points, xyz, atol=1e-6)
    lines = {el.get("Name"): el.text.split() for el in piece.findall("Lines/DataArray")}
    assert lines["connectivity"] == ["0", "1", "2"] and lines["offsets"] == ["3"]
    for bad in (xyz[:1], xyz[:, :2], np.array([[0, 0, np.nan], [1, 1, 1]])):
        with pytest.raises(ValueError, match="xyz"):
            vtk.write_path_vtp(tmp_path / "bad.vtp", bad)
    assert not (tmp_path / "bad.vtp").exists()


def test_export_writes_the_surface_and_its_lifted_path(tmp_path):
    x, y = np.linspace(-1, 1, 3), np.linspace(-1, 1, 5)
    z = np.add.outer(y, 2 * x) + 4.0  # z[j, i] = y_j + 2 x_i + 4: bilinear lifting is exact
    s = io.Surface(x, y, {"train_loss": z}, np.ones(z.shape, bool))
    written = vtk.export(tmp_path / f"10_pca_{vtk.stem('b=128, wd=0')}", s, path_xy=[[0.0, 0.0], [0.5, -1.0]],
                         zmax=None, log=False)
    assert [p.name for p in written] == ["10_pca_b128_wd0.vtp", "10_pca_b128_wd0_path.vtp"]
    piece = ET.parse(written[1]).getroot().find("PolyData/Piece")
    points = np.array(piece.find("Points/DataArray").text.split(), float).reshape(-1, 3)
    np.testing.assert_allclose(points, [[0.0, 0.0, 4.0], [0.5, -1.0, 4.0]], atol=1e-9)
