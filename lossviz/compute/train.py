"""Seeded training on in-memory tensors, with per-iteration learning rates, checkpoints and a disk cache."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from lossviz.base import cache, data, devices, models
from lossviz.base import precision as precisions
from lossviz.base.directions import Weights
from lossviz.base.precision import autocast
from lossviz.base.schedules import Schedule
from lossviz.compute import surface

OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (and so its cache key)."""

    model: str = "resnet20"
    dataset: str = "cifar10"
    train_subset: int | None = None  # the first N training images; None = all
    test_subset: int | None = None  # the first N test images for the per-epoch log; None = all
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    schedule: Schedule = field(default_factory=Schedule)
    augment: bool = True
    seed: int = 0
    precision: str = "fp32"  # fp32 or bf16: resolve "auto" first (lossviz.base.precision.resolve)
    checkpoint_epochs: tuple[float, ...] = ()  # save the weights after these (possibly fractional) epochs
    init: TrainConfig | None = None  # start from the final weights of this run (e.g. FGE)
    init_epoch: float | None = None  # with init: start from its checkpoint at this epoch instead (FGE)

    def __post_init__(self) -> None:
        data.check_dataset(self.dataset)
        if self.model not in models.names():
            raise ValueError(f"model={self.model!r} is not in the zoo; valid choices: {', '.join(models.names())}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={self.optimizer!r}; valid choices: {', '.join(OPTIMIZERS)}")
        precisions.check(self.precision, allow_auto=False)
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs={self.epochs} and batch_size={self.batch_size} must be >= 1")
        if any(not 0 <= e <= self.epochs for e in self.checkpoint_epochs):
            raise ValueError(f"checkpoint_epochs={self.checkpoint_epochs} must lie in 0..epochs={self.epochs}")
        if self.init_epoch is not None and (self.init is None or self.init_epoch not in self.init.checkpoint_epochs):
            raise ValueError(f"init_epoch={self.init_epoch} must be one of init.checkpoint_epochs "
                             f"{() if self.init is None else self.init.checkpoint_epochs}")

    def replace(self, **changes) -> TrainConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class TrainResult:
    """Final weights (a state dict on the CPU), checkpoints by epoch and the per-epoch log.

    Each log entry: epoch, lr, train_loss, train_acc_pct (running, over the epoch's augmented batches), seconds,
    and test_loss, test_acc_pct (after the epoch) on the epochs the test subset was measured (`fit`'s `test_every`;
    always the last). Accuracies are in percent, as everywhere in lossviz."""

    config: TrainConfig
    state: Weights
    checkpoints: dict[float, Weights]
    log: list[dict]

    @property
    def test_error(self) -> float:
        """Test error in percent after the last epoch."""
        return 100.0 - self.log[-1]["test_acc_pct"]

    def model(self, device: str | torch.device = "cpu", epoch: float | None = None) -> nn.Module:
        """The run's network holding its final weights (or its checkpoint at `epoch`), on `device`, in eval mode."""
        if epoch is not None and float(epoch) not in self.checkpoints:
            raise ValueError(f"epoch={epoch} is not a checkpoint of the run; valid choices: {sorted(self.checkpoints)}")
        return network(self.config, self.state if epoch is None else self.checkpoints[float(epoch)], device).eval()


def network(config: TrainConfig, state: Weights | None = None, device: str | torch.device = "cpu") -> nn.Module:
    """The registry network a run trains (freshly initialized, or holding `state`), on `device`: the one place a
    network is built for a run."""
    net = models.get(config.model, data.NUM_CLASSES[config.dataset])
    if state is not None:
        net.load_state_dict(state)
    return net.to(device)


def split_loss(model: nn.Module, split: data.Split, precision: str = "fp32",
               device: str | torch.device = "cpu") -> tuple[float, float]:
    """Mean cross-entropy and accuracy in % of `model` (eval mode, BN running statistics as they are) on a split,
    at the evaluation batch size of `device` (`surface.evaluate`); `model` is not changed."""
    return surface.evaluate(model, None, data.batches(split, data.eval_batch_size(device), device=device),
                            precision=precision)


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov, weight decay) or Adam as the config says."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.schedule.lr, momentum=config.momentum,
                               nesterov=config.nesterov, weight_decay=config.weight_decay)
    return torch.optim.Adam(params, lr=config.schedule.lr, weight_decay=config.weight_decay)


def steps(config: TrainConfig) -> int:
    """The SGD steps of a run: epochs times the iterations of an epoch over its training images."""
    return config.epochs * data.iterations_per_epoch(data.size(config.dataset, True, config.train_subset),
                                                     config.batch_size)


def decay_shrink(config: TrainConfig) -> float:
    """The factor weight decay alone would shrink a weight by over a run (a zero loss gradient): SGD's exact recurrence
    v <- momentum v + wd theta, theta <- theta - lr_t v over the run's steps and schedule (about
    exp(-sum lr_t wd / (1 - momentum)))."""
    if config.optimizer != "sgd" or config.nesterov:
        raise ValueError(f"decay_shrink follows plain SGD with momentum; got optimizer={config.optimizer!r}, "
                         f"nesterov={config.nesterov}")
    total = steps(config)
    per_epoch = total // config.epochs
    theta, velocity = 1.0, 0.0
    for i in range(1, total + 1):
        velocity = config.momentum * velocity + config.weight_decay * theta
        theta -= config.schedule.at(i, total, per_epoch) * velocity
    return theta


def _cpu_state(model: nn.Module) -> Weights:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def check_test_every(test_every: int) -> int:
    """`test_every` as given, or a ValueError unless it is a whole number >= 1."""
    if isinstance(test_every, bool) or not isinstance(test_every, int) or test_every < 1:
        raise ValueError(f"test_every={test_every!r} must be a whole number of epochs >= 1 (1: after every epoch)")
    return test_every


def measured_epochs(epochs: int, test_every: int) -> set[int]:
    """The epochs after which the log measures the test subset: every `test_every`-th, and always the last."""
    check_test_every(test_every)
    return {e for e in range(1, epochs + 1) if e % test_every == 0} | {epochs}


def fit(model: nn.Module, train: data.Split, test: data.Split, config: TrainConfig,
        device: str | torch.device = "cpu", progress: bool = True,
        test_every: int = 1) -> tuple[dict[float, Weights], list[dict]]:
    """Train `model` in place as `config` says; return checkpoints by epoch and the per-epoch log, which measures
    the test subset after every `test_every`-th epoch and the last (the weights do not depend on it).

    The images stay on `device` (uint8) and are augmented there, from offsets drawn by the run's seeded CPU
    generator; the running loss and accuracy are summed on the device and read once per epoch."""
    measured = measured_epochs(config.epochs, test_every)
    device = torch.device(device)
    rules = devices.rules(device)
    model.to(device).to(memory_format=rules.memory_format).train()
    train, test = data.on_device(train, device), data.on_device(test, device)
    optimizer = make_optimizer(config, model.parameters())
    iters_per_epoch = -(-len(train) // config.batch_size)
    total = config.epochs * iters_per_epoch
    wanted = {round(e * iters_per_epoch): e for e in config.checkpoint_epochs}
    checkpoints = {0.0: _cpu_state(model)} if 0 in wanted else {}
    log, i = [], 0
    bar = tqdm(range(1, config.epochs + 1), desc=config.model, disable=not progress, leave=False)
    for epoch in bar:
        start, seen = time.perf_counter(), 0
        loss_sum = torch.zeros((), dtype=rules.accumulate, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for x, y in data.batches(train, config.batch_size, shuffle=True, augmented=config.augment,
                                 seed=config.seed * 100_003 + epoch, device=device):
            i += 1
            lr = config.schedule.at(i, total, iters_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            with autocast(config.precision, device):
                logits = model(x)
            loss = nn.functional.cross_entropy(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += len(y)
            loss_sum += loss.detach().to(rules.accumulate) * len(y)
            correct += (logits.argmax(1) == y).sum()
            if i in wanted:
                checkpoints[float(wanted[i])] = _cpu_state(model)
        entry = {"epoch": epoch, "lr": lr, "train_loss": float(loss_sum) / seen,  # the epoch's one read of the device
                 "train_acc_pct": 100.0 * int(correct) / seen}
        if epoch in measured:
            entry["test_loss"], entry["test_acc_pct"] = split_loss(model, test, config.precision, device)
        devices.synchronize(device)
        log.append({**entry, "seconds": time.perf_counter() - start})
        bar.set_postfix(loss=f"{entry['train_loss']:.3f}",
                        **({"test_acc": f"{entry['test_acc_pct']:.1f}%"} if "test_acc_pct" in entry else {}))
    return checkpoints, log


def check_images(images: int | None) -> None:
    """A count of test images to score on: a positive integer, or None for all of them."""
    if images is not None and (isinstance(images, bool) or not isinstance(images, int) or images < 1):
        raise ValueError(f"images={images!r}: give a positive number of test images, or None for all of them")


def splits(config: TrainConfig, root: str | Path | None = None) -> tuple[data.Split, data.Split]:
    """The training subset and the test subset a config names."""
    train = data.load(config.dataset, True, root, config.train_subset)
    test = data.load(config.dataset, False, root, config.test_subset)
    return train, test


def initial_model(config: TrainConfig) -> nn.Module:
    """The freshly initialized network a run starts from (seeded by the run's seed; before any `init` weights)."""
    torch.manual_seed(config.seed)
    return network(config)


def train(config: TrainConfig, root: str | Path | None = None, cache_dir: str | Path | None = None,
          device: str | torch.device = "cpu", progress: bool = True, test_every: int = 1) -> TrainResult:
    """Train a registry model as `config` says, or load the cached result of the same run.

    `test_every` (see `fit`) is not part of the run, so not of its cache key: it changes only how often the log
    measures the test subset, not the weights; a cached run keeps the log it was trained with."""
    check_test_every(test_every)
    train_split, test_split = splits(config, root)
    fingerprint = data.fingerprint(train_split, test_split)
    cache_key = cache.key("train", config, fingerprint, devices.key(device))

    def compute() -> TrainResult:
        model = initial_model(config)
        if config.init is not None:
            source = train(config.init, root, cache_dir, device, progress)
            model.load_state_dict(source.state if config.init_epoch is None
                                  else source.checkpoints[float(config.init_epoch)])
        checkpoints, log = fit(model, train_split, test_split, config, device, progress, test_every)
        return TrainResult(config, _cpu_state(model), checkpoints, log)

    return cache.cached(f"train-{config.model}", cache_key, compute, cache_dir)


def minimizer_loss(model: nn.Module, split: data.Split, device: str | torch.device = "cpu") -> tuple[float, float]:
    """The course's minimizer criterion: cross-entropy (and accuracy in %) of `model` on the images it was trained
    on, in eval mode, without augmentation, in fp32 whatever the run's precision; a "minimizer" has <= 0.10."""
    return split_loss(model, split, "fp32", device)


def final_train_loss(result: TrainResult, epoch: float | None = None, root: str | Path | None = None,
                     cache_dir: str | Path | None = None, device: str | torch.device = "cpu") -> float:
    """`minimizer_loss` of the run's final weights (or its checkpoint at `epoch`) on its training images, cached
    under the run, the epoch, the images' sha256 and the device type."""
    train_split, _ = splits(result.config, root)
    epoch = None if epoch is None else float(epoch)
    key = cache.key("final_train_loss", result.config, epoch, train_split.sha256, devices.key(device))
    return cache.cached(f"train-loss-{result.config.model}", key,
                        lambda: minimizer_loss(result.model(device, epoch), train_split, device)[0], cache_dir)


def test_outcomes(result: TrainResult, root: str | Path | None = None, cache_dir: str | Path | None = None,
                  device: str | torch.device = "cpu", images: int | None = None) -> torch.Tensor:
    """Whether the run's final network classifies each of the first `images` test images (None: all) correctly
    (bool, on the CPU), at the run's precision, cached: two runs' outcomes on the same images give the paired noise
    of their difference."""
    check_images(images)
    test_split = data.load(result.config.dataset, False, root, images)
    key = cache.key("test_outcomes", result.config, test_split.sha256, devices.key(device))

    def compute() -> torch.Tensor:
        model = result.model(device)
        with torch.inference_mode(), autocast(result.config.precision, device):
            right = [model(x).argmax(1) == y for x, y in data.batches(test_split, data.eval_batch_size(device),
                                                                       device=device)]
        return torch.cat(right).cpu()

    return cache.cached(f"outcomes-{result.config.model}", key, compute, cache_dir)
