"""Hessian: HVPs and Krylov estimates against dense Hessians (autograd.functional.hessian + eigvalsh)."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossviz.compute import eigenmaps
from lossviz.compute import hessian as H
from lossviz.views import plot

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def net(tiny_net) -> nn.Module:
    """The shared tiny network, small (2 and 4 channels, 3 classes: 193 parameters), smooth (tanh) and in float64,
    in train mode with non-trivial BN parameters and running statistics."""
    model = tiny_net(0, classes=3, widths=(2, 4), activation="tanh", dtype=torch.float64)
    with torch.no_grad():
        for bn in (model.bn1, model.bn2):
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.3, 0.3)
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 2.0)
    return model


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.randn(40, 3, 6, 6, generator=gen, dtype=torch.float64), torch.randint(3, (40,), generator=gen)


def dense(model: nn.Module, batch, params: str = "all", theta=None) -> torch.Tensor:
    """The Hessian of the mean loss over `batch` (eval mode) w.r.t. the selected flattened parameters."""
    twin = copy.deepcopy(model).eval()
    state = {**dict(twin.named_parameters()), **dict(twin.named_buffers()), **(theta or {})}
    state = {k: v.detach() for k, v in state.items()}
    names = [n for n, p in twin.named_parameters() if params == "all" or p.dim() > 1]

    def loss(w: torch.Tensor) -> torch.Tensor:
        chunks = w.split([state[n].numel() for n in names])
        parts = {n: c.view(state[n].shape) for n, c in zip(names, chunks)}
        return F.cross_entropy(torch.func.functional_call(twin, {**state, **parts}, (batch[0],)), batch[1])

    return torch.autograd.functional.hessian(loss, torch.cat([state[n].reshape(-1) for n in names]))


@pytest.fixture(scope="module")
def hess(net, batch) -> torch.Tensor:
    return dense(net, batch)


@pytest.fixture(scope="module")
def quadratic() -> tuple[H.Operator, torch.Tensor, torch.Tensor]:
    """0.5 x^T A x with A = Q diag(lam) Q^T, lam in [-2, 5] (distinct), as a function operator."""
    gen = torch.Generator().manual_seed(2)
    lam = torch.cat([torch.linspace(-2.0, 3.0, 47), torch.tensor([4.0, 4.5, 5.0])]).double()
    q, _ = torch.linalg.qr(torch.randn(50, 50, generator=gen, dtype=torch.float64))
    a = q @ torch.diag(lam) @ q.T
    op = H.of_function(lambda x: 0.5 * x @ a @ x, torch.randn(50, generator=gen, dtype=torch.float64))
    return op, a, lam


def close(value: float, expected: float, rtol: float = 1e-4) -> bool:
    return abs(value - expected) <= rtol * abs(expected)


@pytest.mark.parametrize("method", H.METHODS)
@pytest.mark.parametrize("params", H.PARAMS)
def test_hvp_matches_dense_hessian(net, batch, params, method):
    hd = dense(net, batch, params)
    op = H.operator(net, [batch], params=params, method=method)
    assert op.dim == hd.shape[0] == sum(p.numel() for p in net.parameters() if params == "all" or p.dim() > 1)
    v = torch.randn(op.dim, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    torch.testing.assert_close(op(v), hd @ v, rtol=1e-9, atol=1e-11)


def test_quadratic_hvp_is_a_times_v(quadratic):
    op, a, _ = quadratic
    v = torch.randn(50, dtype=torch.float64)
    torch.testing.assert_close(op(v), a @ v)


def test_multibatch_hvp_is_the_size_weighted_mean(net, batch):
    x, y = batch
    v = torch.randn(sum(p.numel() for p in net.parameters()), generator=torch.Generator().manual_seed(4),
                    dtype=torch.float64)
    full = H.operator(net, [batch])(v)
    parts = [(x[:15], y[:15]), (x[15:30], y[15:30]), (x[30:], y[30:])]  # unequal sizes 15, 15, 10
    split = H.operator(net, parts)(v)
    torch.testing.assert_close(split, full, rtol=1e-10, atol=1e-12)
    assert (split - 3 * full).norm() > 0.5 * full.norm()  # a mean, not the reference's sum


def test_model_is_not_mutated(net, batch):
    before = copy.deepcopy(net.state_dict())
    op = H.operator(net, [batch], theta={k: 2 * p.detach() for k, p in net.named_parameters()})
    H.extremes(op, tol=1e-3)
    assert net.training and all(m.training for m in net.modules())
    for k, t in net.state_dict().items():
        assert torch.equal(t, before[k]), k  # BN running statistics included: eval mode was used
    assert all(p.grad is None and p.requires_grad for p in net.parameters())


def test_hvp_at_a_perturbed_point(net, batch):
    gen = torch.Generator().manual_seed(5)
    theta = {k: p.detach() + 0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype)
             for k, p in net.named_parameters()}
    hd = dense(net, batch, theta=theta)
    v = torch.randn(hd.shape[0], generator=gen, dtype=torch.float64)
    torch.testing.assert_close(H.operator(net, [batch], theta)(v), hd @ v, rtol=1e-9, atol=1e-11)


def test_extremes_and_top_k_of_the_network(net, batch, hess):
    lam = torch.linalg.eigvalsh(hess).tolist()
    op = H.operator(net, [batch])
    e = H.extremes(op, tol=1e-8)
    assert e.converged and e.hvps <= op.dim
    assert close(e.lambda_min, lam[0]) and close(e.lambda_max, lam[-1])
    assert lam[0] < 0 < lam[-1]
    assert e.ratio == pytest.approx(abs(lam[0] / lam[-1]), rel=1e-4)
    top = H.top_k(op, 3, tol=1e-8)
    assert top.converged and all(close(t, x) for t, x in zip(top.values, lam[::-1][:3]))


def test_extremes_matrices_only(net, batch):
    lam = torch.linalg.eigvalsh(dense(net, batch, "matrices")).tolist()
    e = H.extremes(H.operator(net, [batch], params="matrices"), tol=1e-8)
    assert close(e.lambda_min, lam[0]) and close(e.lambda_max, lam[-1])


def test_quadratic_spectrum(quadratic):
    op, _, lam = quadratic
    e = H.extremes(op, tol=1e-8)
    assert e.converged and close(e.lambda_min, -2.0) and close(e.lambda_max, 5.0)
    assert all(close(t, x) for t, x in zip(H.top_k(op, 3, tol=1e-8).values, (5.0, 4.5, 4.0)))
    assert all(close(t, x) for t, x in zip(H.top_k(op, 2, "smallest", tol=1e-8).values, lam[:2].tolist()))
    assert all(close(t, x) for t, x in zip(H.top_k(op, 2, "magnitude", tol=1e-8).values, (5.0, 4.5)))
    s = H.extremes(H.shifted(op, 1.5), tol=1e-8)
    assert close(s.lambda_min, -3.5) and close(s.lambda_max, 3.5)


def test_floor_accepts_a_small_end_sooner():
    lam = torch.cat([torch.tensor([-1e-3]), torch.linspace(0.01, 1.0, 200)]).double()  # lambda_min ~ 0
    op = H.from_matrix(torch.diag(lam))
    strict, loose = H.extremes(op, tol=1e-3), H.extremes(op, tol=1e-3, floor=1e-2)
    assert loose.hvps < strict.hvps and loose.converged
    assert close(strict.lambda_min, -1e-3, 1e-3) and abs(loose.lambda_min + 1e-3) <= 1e-3 * 1e-2


def test_extremes_stops_early_and_says_so(quadratic):
    e = H.extremes(quadratic[0], tol=1e-10, max_steps=3)
    assert e.hvps == 3 and not e.converged
    assert -2.0 <= e.lambda_min <= e.lambda_max <= 5.0  # Ritz values lie inside the spectrum


def test_hutchinson_trace():
    lam = torch.linspace(-1.0, 3.0, 30, dtype=torch.float64)
    t = H.trace(H.from_matrix(torch.diag(lam)), samples=5, seed=0)
    assert close(t.value, float(lam.sum()), 1e-12) and t.std_error == 0 and t.hvps == 5  # z^T D z = tr D


def test_hutchinson_trace_is_unbiased_with_the_right_error(quadratic, hess, net, batch):
    for op, mat in ((quadratic[0], quadratic[1]), (H.operator(net, [batch]), hess)):
        t = H.trace(op, samples=400, seed=1)
        offdiag = float((mat**2).sum() - (mat.diagonal() ** 2).sum())
        assert abs(t.value - float(mat.trace())) <= 4 * t.std_error
        assert t.std_error == pytest.approx((2 * offdiag / 400) ** 0.5, rel=0.2)  # Var z^T A z = 2 sum_{i!=j} a_ij^2
    assert H.trace(quadratic[0], samples=500, seed=1, tol=0.05).hvps < 500


def test_slq_density(quadratic):
    op, a, lam = quadratic
    d = H.density(op, runs=6, steps=80, seed=0)
    assert np.trapezoid(d.density, d.grid) == pytest.approx(1.0, abs=1e-3)
    assert np.allclose(d.weights.sum(axis=1), 1.0)
    assert d.nodes.shape == (6, 50) and d.hvps == 6 * 50
    np.testing.assert_allclose(np.sort(d.nodes, axis=1), np.tile(lam.numpy(), (6, 1)), atol=1e-8)  # m = n: exact
    # Gauss quadrature integrates t exactly: the density's mean is the Hutchinson estimate with the same vectors / n
    mean = np.trapezoid(d.grid * d.density, d.grid)
    hutch = H.trace(op, samples=6, seed=0)
    assert mean == pytest.approx(hutch.value / 50, abs=1e-4)
    assert abs(mean - float(a.trace()) / 50) <= 4 * hutch.std_error / 50


def test_slq_density_of_the_network(net, batch, hess):
    d = H.density(H.operator(net, [batch]), runs=3, steps=30, seed=0)
    lam = torch.linalg.eigvalsh(hess)
    assert np.trapezoid(d.density, d.grid) == pytest.approx(1.0, abs=1e-3)
    assert d.grid[0] < float(lam[0]) and d.grid[-1] > float(lam[-1]) - 1e-6
    assert d.nodes[d.weights > 0].min() >= float(lam[0]) - 1e-9


def test_eigen_map(net, batch):
    gen = torch.Generator().manual_seed(6)
    theta = {k: p.detach().clone() for k, p in net.named_parameters()}
    delta = {k: torch.randn(t.shape, generator=gen, dtype=t.dtype) * 0.2 for k, t in theta.items()}
    eta = {k: torch.randn(t.shape, generator=gen, dtype=t.dtype) * 0.2 for k, t in theta.items()}
    xs, ys = [-1.0, 0.5], [0.0, 1.0, 2.0]
    m = eigenmaps.eigen_map(net, [batch], theta, delta, eta, xs, ys, eigenmaps.Lanczos(tol=1e-8, max_steps=200))
    # z[j, i] as np.meshgrid(xs, ys) and io.Surface: rows follow ys, columns xs (a transposed map fails here)
    assert m.lambda_min.shape == m.lambda_max.shape == m.ratio.shape == m.converged.shape == (3, 2)
    assert m.converged.all()
    for i, j in ((0, 0), (1, 2), (0, 2), (1, 1)):
        point = {k: theta[k] + xs[i] * delta[k] + ys[j] * eta[k] for k in theta}
        lam = torch.linalg.eigvalsh(dense(net, batch, theta=point)).tolist()
        assert close(m.lambda_min[j, i], lam[0]) and close(m.lambda_max[j, i], lam[-1])
    np.testing.assert_allclose(m.ratio, np.abs(m.lambda_min / m.lambda_max))
    fig = plot.eigen_ratio(m.xs, m.ys, m.lambda_min, m.lambda_max)  # takes the map as it is: z[j, i] at (xs[i], ys[j])
    np.testing.assert_allclose(np.asarray(fig.axes[0].collections[0].get_array()).reshape(3, 2), m.ratio, rtol=1e-12)
    plot.plt.close("all")


def test_ratio():
    assert H.ratio(-1.0, 4.0) == 0.25
    np.testing.assert_allclose(H.ratio(np.array([-1.0, 0.0]), np.array([2.0, 3.0])), [0.5, 0.0])


def test_bad_inputs(net, batch, quadratic):
    op = quadratic[0]
    with pytest.raises(ValueError, match="params='biases'.*all, matrices"):
        H.operator(net, [batch], params="biases")
    with pytest.raises(ValueError, match="method='magic'.*cached"):
        H.operator(net, [batch], method="magic")
    with pytest.raises(ValueError, match="theta has keys"):
        H.operator(net, [batch], theta={"nope": torch.zeros(1)})
    with pytest.raises(ValueError, match="batches is empty"):
        H.operator(net, [])
    with pytest.raises(ValueError, match="k=0"):
        H.top_k(op, 0)
    with pytest.raises(ValueError, match="k=51"):
        H.top_k(op, 51)
    with pytest.raises(ValueError, match="which='middle'.*largest"):
        H.top_k(op, 1, which="middle")
    for tol in (0.0, -1e-3):
        with pytest.raises(ValueError, match="tol="):
            H.extremes(op, tol=tol)
    with pytest.raises(ValueError, match="floor=-0.1"):
        H.extremes(op, floor=-0.1)
    with pytest.raises(ValueError, match="max_steps=0"):
        H.extremes(op, max_steps=0)
    with pytest.raises(ValueError, match="samples=0"):
        H.trace(op, samples=0)
    with pytest.raises(ValueError, match="runs=0"):
        H.density(op, runs=0)
    with pytest.raises(ValueError, match="sigma=0"):
        H.density(op, sigma=0.0)
    with pytest.raises(ValueError, match="square"):
        H.from_matrix(torch.zeros(2, 3))
    theta = dict(net.named_parameters())
    with pytest.raises(ValueError, match="same keys"):
        eigenmaps.eigen_map(net, [batch], theta, {"fc.bias": theta["fc.bias"]}, {}, [0.0], [0.0])


def test_warm_start_from_a_neighbour_converges_sooner_to_the_same_ends():
    """A slowly changing symmetric matrix (a map's neighbouring points): started from the previous point's end
    Ritz vectors, Lanczos needs fewer products and finds the same extremes as a cold start (and the dense eigh)."""
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(300, 300, generator=gen, dtype=torch.float64))
    spectrum = torch.cat([torch.tensor([-3.0]), torch.linspace(-0.5, 5.0, 298, dtype=torch.float64),
                          torch.tensor([40.0])])
    a0 = q @ torch.diag(spectrum) @ q.T
    bump = torch.randn(300, 300, generator=gen, dtype=torch.float64)
    a1 = a0 + 0.05 * (bump + bump.T)
    previous = H.extremes(H.from_matrix(a0), tol=1e-6, max_steps=300)
    cold = H.extremes(H.from_matrix(a1), tol=1e-6, max_steps=300)
    warm = H.extremes(H.from_matrix(a1), tol=1e-6, max_steps=300, start=H.warm_start(previous.vectors))
    exact = torch.linalg.eigvalsh(a1)
    for e in (cold, warm):
        assert e.converged and abs(e.lambda_min - exact[0]) < 1e-4 and abs(e.lambda_max - exact[-1]) < 1e-4
    assert warm.hvps < cold.hvps
    assert warm.vectors.shape == (2, 300)  # unit Ritz vectors of the two ends: A u = lambda u nearly
    assert torch.allclose(a1 @ warm.vectors[1], warm.lambda_max * warm.vectors[1], atol=1e-3)
    with pytest.raises(ValueError, match="start has shape"):
        H.extremes(H.from_matrix(a1), start=torch.ones(3))
    with pytest.raises(ValueError, match="vectors must be"):
        H.warm_start(torch.ones(3))
