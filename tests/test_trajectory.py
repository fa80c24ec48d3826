"""Trajectory: PCA of a path in a known plane, projections, random directions, bad input (Li et al. 2018 Sec. 7)."""
import numpy as np
import pytest
import torch

from lossviz.compute import trajectory as tr

SHAPES = {"conv.weight": (4, 3, 3, 3), "bn.weight": (4,), "bn.bias": (4,), "fc.weight": (5, 4), "fc.bias": (5,)}


def unflatten(v: torch.Tensor) -> dict[str, torch.Tensor]:
    sizes = [int(np.prod(s)) for s in SHAPES.values()]
    return {k: c.view(s) for (k, s), c in zip(SHAPES.items(), v.split(sizes))}


def flatten(d) -> torch.Tensor:
    return torch.cat([d[k].reshape(-1) for k in SHAPES])


def dim(ignore_biasbn: bool = False) -> int:
    return sum(int(np.prod(s)) for s in SHAPES.values() if not (ignore_biasbn and len(s) == 1))


@pytest.fixture
def plane():
    """A spiral path theta_i = theta_n + a_i u + b_i w in the plane of orthonormal u, w (zero on 1-D tensors)."""
    gen = torch.Generator().manual_seed(0)
    n = dim()
    mask = flatten({k: torch.full(s, float(len(s) > 1)) for k, s in SHAPES.items()}).double()
    basis, _ = torch.linalg.qr(torch.randn(n, 2, generator=gen, dtype=torch.float64) * mask[:, None])
    final = torch.randn(n, generator=gen, dtype=torch.float64)
    t = torch.linspace(0, 1, 12, dtype=torch.float64)
    ab = torch.stack([(1 - t) * 5 * torch.cos(3 * t), (1 - t) * 2 * torch.sin(3 * t)], dim=1)
    path = [unflatten(final + basis @ c) for c in ab]
    return path, basis, ab


def test_pca_recovers_the_plane(plane):
    path, basis, ab = plane
    p = tr.pca(path)
    assert sum(p.explained) == pytest.approx(1.0, abs=1e-9) and p.explained[0] >= p.explained[1] > 0
    d = torch.stack([flatten(x).double() for x in p.directions], dim=1)
    torch.testing.assert_close(d.T @ d, torch.eye(2, dtype=torch.float64))  # orthonormal
    sv = torch.linalg.svdvals(basis.T @ d)  # cosines of the principal angles between the two planes
    torch.testing.assert_close(sv, torch.ones(2, dtype=torch.float64))
    assert p.coords.shape == (12, 2)
    np.testing.assert_allclose(p.coords[-1], 0.0, atol=1e-12)  # the final point is the origin
    assert (p.coords[0] >= 0).all()
    # the coordinates reproduce the path: theta_i - theta_n = coords_i . directions
    for theta, c in zip(path, p.coords):
        torch.testing.assert_close(flatten(theta) - flatten(path[-1]), d @ torch.as_tensor(c))


def test_pca_ignores_biasbn_by_default(plane):
    path, _, _ = plane
    path = [{**theta, "bn.bias": theta["bn.bias"] + i} for i, theta in enumerate(path)]  # a large 1-D move
    p = tr.pca(path)
    assert set(p.directions[0]) == set(SHAPES)
    assert all(float(d[k].abs().max()) == 0 for d in p.directions for k in ("bn.weight", "bn.bias", "fc.bias"))
    assert sum(p.explained) == pytest.approx(1.0, abs=1e-9)
    kept = tr.pca(path, ignore=None)
    assert float(kept.directions[0]["bn.bias"].abs().max()) > 0.1


def test_uncentered_pca_matches_svd(plane):
    path, _, _ = plane
    p = tr.pca(path, center=False)
    m = torch.stack([flatten(x) - flatten(path[-1]) for x in path])
    s = torch.linalg.svdvals(m)
    assert p.explained[0] == pytest.approx(float(s[0] ** 2 / (s**2).sum()), rel=1e-9)


def test_random_directions_barely_see_the_path(plane):
    path, _, _ = plane
    pca_extent = np.abs(tr.pca(path).coords).max()
    rand = tr.random_path_projection(path, seed=0)
    assert rand.shape == (12, 2) and np.allclose(rand[-1], 0.0)
    assert np.abs(rand).max() < 0.25 * pca_extent  # ~ 1 / sqrt(dim) of the path length
    assert not np.allclose(rand, tr.random_path_projection(path, seed=1))


def test_project_handles_non_orthogonal_directions(plane):
    path, basis, ab = plane
    u, w = (unflatten(c.clone()) for c in basis.T)
    skew = {k: 2 * u[k] + w[k] for k in u}
    coords = tr.project(path, (skew, w))
    np.testing.assert_allclose(coords[:, 0] * 2, ab[:, 0].numpy(), atol=1e-10)
    np.testing.assert_allclose(coords[:, 1] + coords[:, 0], ab[:, 1].numpy(), atol=1e-10)


def test_integer_buffers_are_skipped(plane):
    path, _, _ = plane
    path = [{**theta, "bn.num_batches_tracked": torch.tensor(i)} for i, theta in enumerate(path)]
    p = tr.pca(path, ignore=None)
    assert "bn.num_batches_tracked" not in p.directions[0]


def test_bad_inputs(plane):
    path, _, _ = plane
    with pytest.raises(ValueError, match="at least 3"):
        tr.pca(path[:2])
    with pytest.raises(ValueError, match="differ in keys"):
        tr.pca(path[:-1] + [{k: v for k, v in path[-1].items() if k != "fc.bias"}])
    with pytest.raises(ValueError, match="ignore='bn'"):
        tr.pca(path, ignore="bn")
    line = [{k: v * s for k, v in path[0].items()} for s in (1.0, 2.0, 3.0)]
    with pytest.raises(ValueError, match="fewer than two dimensions"):
        tr.pca(line)
    with pytest.raises(ValueError, match="same keys"):
        tr.project(path, (path[0], {"fc.bias": path[0]["fc.bias"]}))
