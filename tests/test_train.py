"""Training: a tiny run lowers the loss, is deterministic, sets lr per iteration, caches."""
import pytest
import torch
from torch import nn

from lossviz.base import data
from lossviz.base.schedules import Schedule
from lossviz.compute import train
from lossviz.compute.train import TrainConfig

TINY = TrainConfig(model="resnet20", dataset="synthetic", train_subset=256, test_subset=128, epochs=3,
                   batch_size=32, schedule=Schedule("constant", 0.05), checkpoint_epochs=(0, 1, 1.5, 3))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    return train.train(TINY, cache_dir=tmp_path_factory.mktemp("cache"), progress=False)


def test_tiny_run_lowers_the_loss_and_logs_each_epoch(tiny_run):
    log = tiny_run.log
    assert [e["epoch"] for e in log] == [1, 2, 3]
    assert log[-1]["train_loss"] < log[0]["train_loss"]
    assert log[-1]["train_loss"] < 2.1  # below chance-level cross-entropy log(10) = 2.30
    assert set(tiny_run.checkpoints) == {0.0, 1.0, 1.5, 3.0}
    for key, value in tiny_run.state.items():
        assert torch.equal(tiny_run.checkpoints[3.0][key], value)
    assert not torch.equal(tiny_run.checkpoints[0.0]["conv1.weight"], tiny_run.state["conv1.weight"])


def test_training_is_deterministic_on_cpu(tiny_run, tmp_path):
    again = train.train(TINY, cache_dir=tmp_path, progress=False)
    for key, value in tiny_run.state.items():
        assert torch.equal(again.state[key], value), key


def test_cache_hit_does_not_retrain(tmp_path, monkeypatch):
    config = TINY.replace(epochs=1, checkpoint_epochs=())
    train.train(config, cache_dir=tmp_path, progress=False)
    monkeypatch.setattr(train, "fit", lambda *a, **k: pytest.fail("retrained a cached run"))
    result = train.train(config, cache_dir=tmp_path, progress=False)
    assert result.config == config


def test_learning_rate_is_set_every_iteration(monkeypatch):
    seen = []
    original = torch.optim.SGD.step

    def step(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)
    monkeypatch.setattr(torch.optim.SGD, "step", step)
    config = TINY.replace(epochs=1, schedule=Schedule("snapshot", 0.1, cycles=2), checkpoint_epochs=())
    torch.manual_seed(0)
    model = train.models.get("resnet20")
    train.fit(model, *train.splits(config), config, progress=False)
    from lossviz.base.schedules import snapshot_lr
    assert seen == [snapshot_lr(i, 8, 2, 0.1) for i in range(1, 9)]


def test_the_optimizers_take_the_steps_of_their_formulas():
    """One step from w = (1, -2) with the gradient g = (0.5, 0.25) and weight decay 0.1 (g + 0.1 w): plain momentum
    starts with w - lr g, Nesterov with w - lr (1 + momentum) g, Adam with w - lr sign(g) (its bias-corrected first
    step); by hand, not by a second optimizer."""
    w0, grad, wd, lr = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.25]), 0.1, 0.05
    g = grad + wd * w0  # (0.6, 0.05)
    expected = {"sgd": w0 - lr * g, "nesterov": w0 - lr * 1.9 * g, "adam": w0 - lr * torch.sign(g)}
    configs = {"sgd": TINY.replace(weight_decay=wd), "nesterov": TINY.replace(nesterov=True, weight_decay=wd),
               "adam": TINY.replace(optimizer="adam", weight_decay=wd)}
    for name, config in configs.items():
        assert config.momentum == 0.9 and config.schedule.lr == lr
        w = torch.nn.Parameter(w0.clone())
        optimizer = train.make_optimizer(config, [w])
        w.grad = grad.clone()
        optimizer.step()
        torch.testing.assert_close(w.detach(), expected[name], rtol=1e-6, atol=1e-6, msg=name)


def test_decay_shrink_is_what_torchs_sgd_does_to_a_weight_without_a_loss_gradient():
    """`decay_shrink` against torch.optim.SGD stepping a weight whose loss gradient is 0 through the run's schedule
    (step decay: the lr drops 10x at its milestones), and, over a long run, against exp(-sum lr wd / (1 - momentum))
    to 5% in the exponent."""
    import math
    config = TINY.replace(weight_decay=5e-3, schedule=Schedule("step", 0.1), epochs=4)  # 8 steps an epoch
    assert train.steps(config) == 32
    w = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    optimizer = train.make_optimizer(config, [w])
    for i in range(1, 33):
        optimizer.param_groups[0]["lr"] = config.schedule.at(i, 32, 8)
        w.grad = torch.zeros_like(w)
        optimizer.step()
    assert train.decay_shrink(config) == pytest.approx(w.item(), rel=1e-12)
    lrs = sum(config.schedule.at(i, 32, 8) for i in range(1, 33))
    assert math.log(train.decay_shrink(config.replace(epochs=400))) == pytest.approx(-100 * lrs * 5e-3 / 0.1,
                                                                                      rel=0.05)
    assert train.decay_shrink(config.replace(weight_decay=0.0)) == 1.0
    with pytest.raises(ValueError, match="decay_shrink follows plain SGD with momentum; got optimizer='adam'"):
        train.decay_shrink(config.replace(optimizer="adam"))


@pytest.mark.parametrize("change, message", [
    ({"model": "resnet21"}, "model='resnet21'.*resnet20"),
    ({"optimizer": "rmsprop"}, "optimizer='rmsprop'.*sgd, adam"),
    ({"precision": "fp16"}, "precision='fp16'.*fp32, bf16"),
    ({"dataset": "mnist"}, "dataset='mnist'"),
    ({"checkpoint_epochs": (4,)}, "checkpoint_epochs"),
])
def test_bad_config_is_rejected(change, message):
    with pytest.raises(ValueError, match=message):
        TINY.replace(**change)


def test_split_loss_gives_percent_and_leaves_the_model_as_it_was():
    torch.manual_seed(0)
    model = train.models.get("resnet20").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    split = train.data.synthetic(20)
    loss, acc = train.split_loss(model, split)
    assert model.training and all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    model.eval()
    with torch.no_grad():
        logits = model(train.data.normalize(split.images))
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(logits, split.labels)), rel=1e-5)
    assert acc == pytest.approx(100.0 * float((logits.argmax(1) == split.labels).float().mean()))


def test_log_accuracies_are_percent_and_test_error_is_their_complement(tiny_run):
    for e in tiny_run.log:
        assert set(e) >= {"train_acc_pct", "test_acc_pct"} and not {"train_acc", "test_acc"} & set(e)
        assert 0.0 <= e["train_acc_pct"] <= 100.0 and 0.0 <= e["test_acc_pct"] <= 100.0
    model = tiny_run.model()
    test = train.splits(TINY)[1]
    assert tiny_run.log[-1]["test_acc_pct"] == pytest.approx(train.split_loss(model, test)[1])
    assert tiny_run.test_error == pytest.approx(100.0 - tiny_run.log[-1]["test_acc_pct"])


def test_measuring_the_test_set_less_often_leaves_the_weights_as_they_were(tiny_run, tmp_path):
    sparse = train.train(TINY, cache_dir=tmp_path, progress=False, test_every=2)
    for key, value in tiny_run.state.items():
        assert torch.equal(sparse.state[key], value), key
    assert [("test_loss" in e, "test_acc_pct" in e) for e in sparse.log] == [(False, False), (True, True), (True, True)]
    assert all("test_loss" in e for e in tiny_run.log)
    assert sparse.test_error == tiny_run.test_error  # the last epoch is always measured, on the same weights
    assert train.measured_epochs(10, 5) == {5, 10} and train.measured_epochs(7, 5) == {5, 7}


def test_test_every_is_not_part_of_the_cache_key(tmp_path, monkeypatch):
    config = TINY.replace(epochs=2, checkpoint_epochs=())
    first = train.train(config, cache_dir=tmp_path, progress=False, test_every=2)
    monkeypatch.setattr(train, "fit", lambda *a, **k: pytest.fail("retrained a cached run"))
    again = train.train(config, cache_dir=tmp_path, progress=False, test_every=1)
    assert again.log == first.log  # a cached run keeps the log it was trained with


@pytest.mark.parametrize("test_every", [0, -1, 1.5, True, "5"])
def test_bad_test_every_is_rejected(test_every, tmp_path):
    with pytest.raises(ValueError, match="test_every"):
        train.train(TINY, cache_dir=tmp_path, progress=False, test_every=test_every)


def test_final_train_loss_is_the_eval_mode_loss_on_the_training_images(tiny_run, tmp_path):
    """Against a plain loop: eval mode, every training image once, summed cross-entropy over the count."""
    model = tiny_run.model()
    train_split, _ = train.splits(tiny_run.config)
    total = 0.0
    with torch.no_grad():
        for x, y in data.batches(train_split, 64, channels_last=False):
            total += float(nn.functional.cross_entropy(model(x), y, reduction="sum"))
    expected = total / len(train_split)
    assert abs(train.final_train_loss(tiny_run, cache_dir=tmp_path) - expected) < 1e-4 * expected
    at_one = train.final_train_loss(tiny_run, epoch=1.0, cache_dir=tmp_path)
    assert at_one != train.final_train_loss(tiny_run, cache_dir=tmp_path)  # the checkpoint, not the final weights
    with pytest.raises(ValueError, match="epoch=2"):
        train.final_train_loss(tiny_run, epoch=2, cache_dir=tmp_path)


def test_test_outcomes_count_the_logged_test_error(tiny_run, tmp_path):
    """Per-image outcomes of the final network: their share of errors is the log's last test error, on the same
    images; stats.paired_counts of a run with itself is (0, 0)."""
    from lossviz.base import stats
    right = train.test_outcomes(tiny_run, cache_dir=tmp_path, images=TINY.test_subset)
    assert right.dtype == torch.bool and len(right) == TINY.test_subset
    assert 100.0 * (1 - right.float().mean().item()) == pytest.approx(tiny_run.test_error, abs=1e-9)
    assert stats.paired_counts(right.tolist(), right.tolist()) == (0, 0)
    flipped = (~right).tolist()
    assert stats.paired_counts(right.tolist(), flipped) == (int((~right).sum()), int(right.sum()))


def test_test_outcomes_score_every_test_image_unless_told_fewer(tiny_run, tmp_path):
    """A run logged on a test subset is scored on all test images by default (its first images, the same as the
    log's), or on the first `images`; a count that is not a positive integer is a one-line error."""
    from lossviz.base import data
    every = train.test_outcomes(tiny_run, cache_dir=tmp_path)
    assert len(every) == data.size(TINY.dataset, False, None) > TINY.test_subset
    fewer = train.test_outcomes(tiny_run, cache_dir=tmp_path, images=TINY.test_subset)
    assert torch.equal(every[:TINY.test_subset], fewer)  # the subset is the first images, scored the same
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="images=.*positive number of test images, or None"):
            train.test_outcomes(tiny_run, cache_dir=tmp_path, images=bad)


def test_cached_results_are_keyed_by_the_device_and_the_data(tiny_run, tmp_path, monkeypatch):
    """A cached training loss is not reused for another device key (e.g. CUDA with TF32) or other images."""
    from lossviz.base import devices
    calls = []
    real = train.minimizer_loss
    monkeypatch.setattr(train, "minimizer_loss", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = train.final_train_loss(tiny_run, cache_dir=tmp_path)
    assert train.final_train_loss(tiny_run, cache_dir=tmp_path) == first and len(calls) == 1  # a hit
    monkeypatch.setattr(devices, "key", lambda device: "cuda+tf32")
    train.final_train_loss(tiny_run, cache_dir=tmp_path)
    assert len(calls) == 2  # another device key: a miss
    monkeypatch.setattr(devices, "key", lambda device: "cpu")
    images = train.splits(tiny_run.config)[0]
    reversed_images = data.Split(images.images.flip(0), images.labels.flip(0), images.name)
    monkeypatch.setattr(train, "splits", lambda config, root=None: (reversed_images, images))
    train.final_train_loss(tiny_run, cache_dir=tmp_path)
    assert len(calls) == 3  # other images: a miss
