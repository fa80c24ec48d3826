"""BN recomputation (the wrapper of torch's update_bn) against the mean of the layer's input over all data."""
import torch
from torch import nn

from lossviz.base import batchnorm, data


def tiny_net(seed: int = 0) -> nn.Module:
    """A small conv net with BN."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(256, 10))


def test_recompute_bn_changes_only_bn_statistics_to_the_data_mean():
    model = tiny_net(2)
    split = data.synthetic(48, seed=7)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.eval()
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
        expected = model[0](x).mean(dim=(0, 2, 3))
    assert torch.allclose(after["1.running_mean"], expected, atol=1e-5)
    assert int(after["1.num_batches_tracked"]) == 3




def test_recompute_bn_leaves_a_model_without_bn_alone():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    assert not batchnorm.has_bn(model)
    assert batchnorm.recompute_bn(model, []) is model
