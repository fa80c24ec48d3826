"""Directions: filter normalization (Li et al. 2018 Sec. 4), ignored 1-D tensors, Gram-Schmidt, bad input."""
import pytest
import torch
from torch import nn

from lossviz.base import directions as dirs


def one_direction(model_or_theta, seed, **options):
    """The first of `random_directions` (seeded: the same whatever the count)."""
    return dirs.random_directions(model_or_theta, seed, count=1, **options)[0]


def filter_norms(delta):
    """Norm of every filter (slice along dim 0) of every tensor with dim >= 2."""
    return {k: d.float().reshape(len(d), -1).norm(dim=1) for k, d in delta.items() if d.dim() >= 2}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def net(tiny_net) -> nn.Module:
    model = tiny_net(0, classes=4)
    with torch.no_grad():
        model(torch.randn(16, 3, 8, 8))  # non-trivial BN running statistics
    return model.eval()


def test_weights_keys_order_and_copy(net):
    theta = dirs.weights(net)
    assert list(theta) == [k for k, _ in net.named_parameters()]
    states = dirs.weights(net, "states")
    assert list(states) == list(net.state_dict())
    theta["conv1.weight"].zero_()
    assert net.conv1.weight.abs().sum() > 0  # a copy, not a view of the model


def test_filter_normalization_matches_filter_norms(net):
    theta = dirs.weights(net)
    delta = one_direction(net, seed=3)
    for k in ("conv1.weight", "conv2.weight", "fc.weight"):
        per_filter = theta[k].reshape(len(theta[k]), -1).norm(dim=1)
        torch.testing.assert_close(filter_norms(delta)[k], per_filter, rtol=1e-5, atol=1e-6)
    for k in ("bn1.weight", "bn1.bias", "conv2.bias", "fc.bias"):
        assert torch.count_nonzero(delta[k]) == 0  # ignore="biasbn"


def test_normalizations_against_the_raw_draw(net):
    theta = dirs.weights(net)
    raw = one_direction(net, seed=5, norm="none", ignore="none")
    layer = one_direction(net, seed=5, norm="layer", ignore="none")
    weight = one_direction(net, seed=5, norm="weight", ignore="none")
    flt = one_direction(net, seed=5, norm="filter", ignore="none")
    for k, t in theta.items():
        torch.testing.assert_close(weight[k], raw[k] * t)
        torch.testing.assert_close(layer[k], raw[k] * t.norm() / raw[k].norm())
        if t.dim() >= 2:
            rows = raw[k].reshape(len(t), -1)
            factor = t.reshape(len(t), -1).norm(dim=1) / rows.norm(dim=1)
            torch.testing.assert_close(flt[k], (rows * factor[:, None]).reshape(t.shape))
        else:  # ignore="none": a 1-D tensor is one filter
            torch.testing.assert_close(flt[k].norm(), t.norm())


def test_states_directions_cover_buffers(net):
    states = dirs.weights(net, "states")
    delta = one_direction(net, 0, kind="states")
    assert list(delta) == list(states)
    assert delta["bn1.num_batches_tracked"].dtype == torch.int64 and int(delta["bn1.num_batches_tracked"]) == 0
    assert torch.count_nonzero(delta["bn1.running_mean"]) == 0
    nonzero = one_direction(net, 0, ignore="none", kind="states")
    torch.testing.assert_close(nonzero["bn1.running_var"].norm(), states["bn1.running_var"].norm())
    moved = dirs.add(states, nonzero, 0.5)
    assert torch.equal(moved["bn1.num_batches_tracked"], states["bn1.num_batches_tracked"])


def test_seeded_and_device_dtype(net):
    a, b = dirs.random_directions(net, 7, count=2)
    assert all(torch.equal(a[k], v) for k, v in one_direction(net, 7).items())
    assert not torch.equal(a["conv1.weight"], b["conv1.weight"])
    assert not torch.equal(a["conv1.weight"], one_direction(net, 8)["conv1.weight"])
    double = one_direction(net.double(), 7)
    assert double["conv1.weight"].dtype == torch.float64
    torch.testing.assert_close(double["conv1.weight"].float(), a["conv1.weight"])


def test_between_add_scale(net):
    theta1 = dirs.weights(net, "states")
    theta2 = dirs.add(theta1, one_direction(theta1, 1, ignore="none"), 1.0)
    delta = dirs.between(theta1, theta2)
    for k, v in dirs.add(theta1, delta).items():
        torch.testing.assert_close(v, theta2[k])
    torch.testing.assert_close(dirs.norm(dirs.scale(delta, -2.0)), 2 * dirs.norm(delta))
    assert dirs.flatten(delta).numel() == sum(v.numel() for v in delta.values() if v.is_floating_point())


def test_orthogonalize_and_cosine(net):
    delta, eta = dirs.random_directions(net, 0, 2)
    eta = dirs.add(eta, delta, 0.7)  # make them clearly correlated
    assert dirs.cosine(delta, eta) > 0.5
    assert abs(dirs.cosine(delta, dirs.orthogonalize(eta, delta))) < 1e-6  # float32 storage
    assert dirs.cosine(delta, dirs.scale(delta, 3.0)) == pytest.approx(1.0)


def test_fingerprint_tracks_values(net):
    theta = dirs.weights(net)
    same = dirs.fingerprint(dirs.weights(net))
    assert dirs.fingerprint(theta) == same
    theta["fc.bias"][0] += 1e-6
    assert dirs.fingerprint(theta) != same


@pytest.mark.parametrize("kwargs, name, choice", [
    ({"norm": "filte"}, "norm", "filter"),
    ({"ignore": "bias"}, "ignore", "biasbn"),
    ({"kind": "weights"}, "kind", "states"),
])
def test_bad_choices_name_the_parameter(net, kwargs, name, choice):
    with pytest.raises(ValueError, match=rf"{name}=.*valid choices:.*{choice}"):
        one_direction(net, 0, **kwargs)


def test_mismatched_keys_and_zero_directions(net, tiny_net):
    theta = dirs.weights(net)
    other = dirs.weights(tiny_net(1, classes=5))
    with pytest.raises(ValueError, match="shape"):
        dirs.between(theta, other)
    with pytest.raises(ValueError, match="missing"):
        dirs.add(theta, {"conv1.weight": theta["conv1.weight"]})
    with pytest.raises(ValueError, match="zero direction"):
        dirs.orthogonalize(theta, dirs.scale(theta, 0.0))


def test_weight_norm_counts_conv_and_linear_weights_only():
    """||theta|| of Li et al. Fig. 2: conv and linear weights, by hand; BN's weights and every bias are left out."""
    state = {"conv.weight": torch.full((2, 1, 3, 3), 2.0), "bn.weight": torch.full((2,), 100.0),
             "bn.bias": torch.ones(2), "fc.weight": torch.full((1, 2), 3.0), "fc.bias": torch.ones(1)}
    assert set(dirs.layer_weights(state)) == {"conv.weight", "fc.weight"}
    assert dirs.weight_norm(state) == pytest.approx((18 * 4 + 2 * 9) ** 0.5)
