"""BN recomputation against torch's own `update_bn` and against the mean of a layer's input over all the data."""
import copy

import pytest
import torch
from torch import nn
from torch.optim.swa_utils import update_bn

from lossviz.base import batchnorm, data
from lossviz.base import directions as dirs
from lossviz.compute import surface

pytestmark = pytest.mark.usefixtures("one_thread")


def moved(model: nn.Module) -> nn.Module:
    """`model` with BN parameters and statistics away from their initial 1/0, in eval mode."""
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for bn in (model.bn1, model.bn2):
            bn.weight.uniform_(0.5, 1.5, generator=gen)
            bn.bias.uniform_(-0.3, 0.3, generator=gen)
            bn.running_mean.uniform_(-1.0, 1.0, generator=gen)
            bn.running_var.uniform_(0.2, 3.0, generator=gen)
    return model.eval()


def test_recompute_bn_changes_only_bn_statistics_to_the_data_mean(tiny_net):
    model = moved(tiny_net(2))
    split = data.synthetic(48, seed=7)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batchnorm.recompute_bn(model, data.batches(split, 16))
    after = model.state_dict()
    assert not model.training
    assert all(m.momentum == 0.1 for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    for k, v in before.items():
        if "running" in k or "num_batches" in k:
            assert not torch.equal(v, after[k]), k
        else:
            assert torch.equal(v, after[k]), k  # every parameter unchanged
    # independent check: the first BN's mean is the mean of the first conv's output over all the data
    x = torch.cat([xb for xb, _ in data.batches(split, 48)])
    with torch.no_grad():
        expected = model.conv1(x).mean(dim=(0, 2, 3))
    assert torch.allclose(after["bn1.running_mean"], expected, atol=1e-5)
    assert int(after["bn1.num_batches_tracked"]) == 3


def test_recompute_bn_equals_torchs_update_bn(tiny_net):
    """Every running statistic as `torch.optim.swa_utils.update_bn` computes it, on batches of unequal sizes (a
    cumulative average weighs each batch alike, whatever its size)."""
    model = moved(tiny_net(4))
    batches = list(data.batches(data.synthetic(50, seed=8), 16))  # 16, 16, 16, 2
    assert [len(y) for _, y in batches] == [16, 16, 16, 2]
    expected = copy.deepcopy(model)
    with torch.no_grad():
        update_bn(batches, expected)
    batchnorm.recompute_bn(model, batches)
    want, got = expected.state_dict(), model.state_dict()
    assert list(got) == list(want)
    for k, v in want.items():
        if "running" in k:
            torch.testing.assert_close(got[k], v, rtol=1e-6, atol=1e-6)
        else:
            assert torch.equal(got[k], v), k  # parameters untouched, the same count of batches
    assert int(got["bn2.num_batches_tracked"]) == 4


def test_evaluator_with_recomputed_bn_is_update_bn_then_a_plain_forward_pass(tiny_net):
    """At a point away from the model, `bn="recompute"` gives the losses and accuracies of a copy holding the point,
    its statistics re-estimated by torch's update_bn on the first split, then evaluated in eval mode."""
    model = moved(tiny_net(5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_batches = list(data.batches(data.synthetic(40, seed=1), 16))
    test_batches = list(data.batches(data.synthetic(24, seed=2), 16))
    point = dirs.add(dirs.weights(model), dirs.random_directions(model, 0, 1)[0], 0.6)
    values = surface.evaluator(model, {"train": train_batches, "test": test_batches}, bn="recompute")(point)
    twin = copy.deepcopy(model)
    twin.load_state_dict(point, strict=False)
    with torch.no_grad():
        update_bn(train_batches, twin)
        twin.eval()
        for name, batches in (("train", train_batches), ("test", test_batches)):
            logits, labels = torch.cat([twin(x) for x, _ in batches]), torch.cat([y for _, y in batches])
            loss = float(nn.functional.cross_entropy(logits, labels))
            accuracy = 100.0 * float((logits.argmax(1) == labels).double().mean())
            assert values[f"{name}_loss"] == pytest.approx(loss, rel=1e-5), name
            assert values[f"{name}_acc"] == pytest.approx(accuracy), name
    eval_mode = surface.evaluator(model, {"train": train_batches})(point)["train_loss"]
    assert eval_mode != pytest.approx(values["train_loss"], rel=1e-3)  # the recomputation changed something
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # the model is untouched


def test_recompute_bn_leaves_a_model_without_bn_alone():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    assert not batchnorm.has_bn(model)
    assert batchnorm.recompute_bn(model, []) is model
