"""Gradient-to-weight ratios per layer: against autograd by hand, no side effects, the plain-network explosion."""
import pytest
import torch
from torch import nn

from lossviz.base import models
from lossviz.compute import gradient_scale, train
from lossviz.course import profiles, tables
from lossviz.course.recipes import Course


def _batch(n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_ratios_match_autograd_by_hand(tiny_net):
    net = tiny_net(0)
    x, y = _batch()
    ratios = gradient_scale.layer_ratios(net, x, y)
    assert list(ratios) == ["conv1.weight", "conv2.weight", "fc.weight"]  # 2-D and 4-D weights: no biases, no BN
    weights = [net.conv1.weight, net.conv2.weight, net.fc.weight]
    grads = torch.autograd.grad(nn.functional.cross_entropy(net.train()(x), y), weights)
    for (name, ratio), w, g in zip(ratios.items(), weights, grads):
        assert ratio == pytest.approx((g.norm() / w.norm()).item(), rel=1e-5), name


def test_the_model_is_left_as_it_was():
    torch.manual_seed(0)
    net = models.get("resnet20", 10).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    gradient_scale.layer_ratios(net, *_batch())
    assert not net.training and all(p.grad is None for p in net.parameters())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # BN running statistics too


def test_layers_run_from_input_to_output():
    names = gradient_scale.weight_layers(models.get("resnet20_noshort", 10))
    assert names[0] == "conv1.weight" and names[-1] == "linear.weight" and len(names) == 20


def test_without_shortcuts_the_first_layers_gradient_explodes_with_depth():
    """Yang et al. 2019: batch-normalized plain networks have gradients that grow exponentially towards the input;
    shortcuts remove most of it. At initialization, on one batch, the first layer's relative gradient of
    ResNet-56-NS exceeds ResNet-56's and ResNet-20-NS's by more than 10x."""
    x, y = _batch(32)
    first = {}
    for name in ("resnet20_noshort", "resnet56", "resnet56_noshort"):
        torch.manual_seed(0)
        first[name] = next(iter(gradient_scale.layer_ratios(models.get(name, 10), x, y).values()))
    assert first["resnet56_noshort"] > 10 * max(first["resnet56"], first["resnet20_noshort"])


def test_bad_batch():
    x, y = _batch(4)
    with pytest.raises(ValueError, match="one batch"):
        gradient_scale.layer_ratios(models.get("resnet20", 10), x, y[:3])


def test_course_ratios_start_where_training_starts(tmp_path):
    """The recipe measures the initialization of the run it names (its seed), so it is the network that trains."""
    course = Course.from_profile("smoke", data_root=tmp_path / "d", out_dir=tmp_path / "o")
    ratios = course.init_gradient_ratios(("resnet20", "resnet20_noshort"), batch_size=8)
    assert list(ratios) == ["resnet20", "resnet20_noshort"]
    assert len(ratios["resnet20_noshort"]) == 20 and all(r > 0 for r in ratios["resnet20"].values())
    assert ratios == course.init_gradient_ratios(("resnet20", "resnet20_noshort"), batch_size=8)


def test_growth_per_layer_of_a_geometric_sequence_is_its_factor():
    ratios = [8.0, 4.0, 2.0, 1.0, 0.5, 100.0]  # halves towards the output; the classifier (last) is left out
    assert gradient_scale.growth_per_layer(ratios) == pytest.approx(2.0, rel=1e-12)
    assert gradient_scale.growth_per_layer([1.0, 1.0, 1.0]) == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(ValueError, match="ratios"):
        gradient_scale.growth_per_layer([1.0, 2.0])


def test_gradient_summary_reads_the_first_layer_and_the_growth(capsys):
    rows = tables.gradient_summary({"resnet56_noshort": {"a": 8.0, "b": 4.0, "c": 2.0, "linear": 9.0}})
    assert rows["resnet56_noshort"]["first"] == 8.0 and rows["resnet56_noshort"]["median"] == 6.0
    assert rows["resnet56_noshort"]["growth"] == pytest.approx(2.0, rel=1e-12)
    assert "ResNet-56-NS" in capsys.readouterr().out


def test_the_recipe_measures_the_network_training_starts_from():
    """`train.initial_model` is the one place a run's starting network is made: the same seed, the same network."""
    config = profiles.SMOKE.landscape.run("resnet20", "synthetic", 3, "fp32")
    a, b = train.initial_model(config), train.initial_model(config)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.conv1.weight, train.initial_model(config.replace(seed=4)).conv1.weight)
