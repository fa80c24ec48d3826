"""CIFAR-10/100 and a synthetic CIFAR-shaped dataset, held as uint8 tensors in memory."""
from __future__ import annotations

import functools
import hashlib
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lossviz.base import devices, directions, folders

# Li et al. reference normalization (loss-landscape/cifar10/dataloader.py).
CIFAR_MEAN = (125.3 / 255, 123.0 / 255, 113.9 / 255)
CIFAR_STD = (63.0 / 255, 62.1 / 255, 66.7 / 255)

DATASETS = ("cifar10", "cifar100", "synthetic")
FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}
_FILES = {
    ("cifar10", True): [f"data_batch_{i}" for i in range(1, 6)],
    ("cifar10", False): ["test_batch"],
    ("cifar100", True): ["train"],
    ("cifar100", False): ["test"],
}
_LABEL_KEY = {"cifar10": "labels", "cifar100": "fine_labels"}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "synthetic": 10}
# images in each full split: {dataset: (train, test)}; synthetic: the default sizes of `load`
SIZES = {"cifar10": (50_000, 10_000), "cifar100": (50_000, 10_000), "synthetic": (2_000, 500)}


@dataclass(frozen=True)
class Split:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of one dataset split."""

    images: torch.Tensor
    labels: torch.Tensor
    name: str = ""

    def __len__(self) -> int:
        return len(self.labels)

    @functools.cached_property
    def prefixes(self) -> dict[int, Split]:
        """The subsets `first` made of this split, by size (made once, so their sha256 is computed once)."""
        return {}

    @functools.cached_property
    def copies(self) -> dict[str, Split]:
        """This split on other devices, by device (made once by `on_device`)."""
        return {}

    @functools.cached_property
    def sha256(self) -> str:
        """The sha256 of the images and labels (computed once per split)."""
        return directions.fingerprint([self.images, self.labels])

    @property
    def num_classes(self) -> int:
        """Number of classes (from the dataset name, else the largest label + 1)."""
        return NUM_CLASSES.get(self.name.split(":")[0], int(self.labels.max()) + 1)


def fingerprint(*splits: Split) -> str:
    """A sha256 hex digest of the splits' images and labels (for keying results on the data they saw)."""
    if len(splits) == 1:
        return splits[0].sha256
    return hashlib.sha256(":".join(split.sha256 for split in splits).encode()).hexdigest()


def default_root() -> Path:
    """The data root: `$LOSSVIZ_DATA` if set, else `data/` in the project folder."""
    return folders.data_root()


def check_dataset(name: str) -> None:
    """Raise ValueError unless `name` is a known dataset."""
    if name not in DATASETS:
        raise ValueError(f"dataset={name!r} is not known; valid choices: {', '.join(DATASETS)}")


def _read_batches(folder: Path, files: list[str], label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Read pickled CIFAR batches (the standard python format) into arrays.

    The batches are pickles, which can run code when read: like torchvision, lossviz trusts the files
    under the data root (downloaded from the CIFAR site, or copied there by you). A damaged file is a
    ValueError naming it.
    """
    images, labels = [], []
    for file in files:
        path = folder / file
        try:
            with open(path, "rb") as f:
                entry = pickle.load(f, encoding="latin1")
            x = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(entry[label_key], dtype=np.int64)
        except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, IndexError) as error:
            raise ValueError(f"{path} is not a readable CIFAR batch ({type(error).__name__}: "
                             f"{' '.join(str(error).split())[:120]}); replace it with the original file, "
                             f"or remove its folder to download it again") from None
        if len(x) != len(y):
            raise ValueError(f"{path} holds {len(x)} images but {len(y)} labels; replace it with the original file")
        images.append(x)
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels)


def _download(name: str, root: Path) -> None:
    """Download a CIFAR dataset with torchvision, or explain both remedies when offline."""
    import torchvision

    cls = torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
    try:
        cls(root=str(root), train=True, download=True)
    except Exception as error:  # network errors come in many types (URLError, OSError, ...)
        raise FileNotFoundError(
            f"{name} was not found under {root / FOLDERS[name]} and could not be downloaded "
            f"({type(error).__name__}: {error}). Either place the extracted '{FOLDERS[name]}/' "
            f"folder (standard python pickles) in {root}, set LOSSVIZ_DATA to a folder that holds "
            f"it, or run once with internet access so torchvision can download it."
        ) from error


def load_cifar(
    name: str = "cifar10", train: bool = True, root: str | Path | None = None, download: bool = True
) -> Split:
    """Load a CIFAR split from the pickled python batches under `root`, downloading if missing.

    A root that does not exist is refused (a mistyped path is not made into an empty folder by the download),
    except the project's own `data/`, which the first download creates."""
    if name not in FOLDERS:
        raise ValueError(f"name={name!r} is not a CIFAR dataset; valid choices: {', '.join(FOLDERS)}")
    root = Path(root) if root is not None else default_root()
    if not root.is_dir() and root.absolute() != (folders.project_dir() / "data").absolute():
        problem = "is a file, not a folder" if root.exists() else "does not exist"
        raise ValueError(f"data root {root} {problem}: correct the path, or create the folder first")
    folder = root / FOLDERS[name]
    files = _FILES[(name, train)]
    if not all((folder / f).exists() for f in files):
        if not download:
            raise FileNotFoundError(
                f"{name} was not found under {folder}; place the extracted '{FOLDERS[name]}/' folder "
                f"in {root} (or set LOSSVIZ_DATA), or pass download=True when online."
            )
        _download(name, root)
    stamp = tuple((s.st_mtime_ns, s.st_size) for s in ((folder / file).stat() for file in files))
    return _read_split(name, train, str(folder.resolve()), stamp)


@functools.lru_cache(maxsize=4)
def _read_split(name: str, train: bool, folder: str, stamp: tuple) -> Split:
    """A CIFAR split read from its pickles once per process while the files (their `stamp`: times and sizes) stay
    the same; the tensors are shared: treat them as read-only."""
    images, labels = _read_batches(Path(folder), _FILES[(name, train)], _LABEL_KEY[name])
    return Split(torch.from_numpy(images), torch.from_numpy(labels), f"{name}:{'train' if train else 'test'}")


@functools.lru_cache(maxsize=16)
def synthetic(n: int, num_classes: int = 10, seed: int = 0, noise: float = 40.0) -> Split:
    """A learnable CIFAR-shaped dataset: one smooth random pattern per class plus pixel noise."""
    if n < 1:
        raise ValueError(f"n={n} must be a positive number of images")
    pattern_gen = torch.Generator().manual_seed(12345)  # the class patterns are fixed for all seeds
    coarse = torch.rand(num_classes, 3, 4, 4, generator=pattern_gen)
    patterns = torch.nn.functional.interpolate(coarse, size=(32, 32), mode="bilinear", align_corners=False)
    patterns = 60.0 + 135.0 * patterns
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(num_classes, (n,), generator=gen)
    images = patterns[labels] + noise * torch.randn(n, 3, 32, 32, generator=gen)
    return Split(images.round().clamp(0, 255).to(torch.uint8), labels, f"synthetic:{seed}")


def load(
    name: str, train: bool = True, root: str | Path | None = None, n: int | None = None, seed: int = 0
) -> Split:
    """Load a split of `cifar10`, `cifar100` or `synthetic` (then `n` images, default 2,000/500)."""
    check_dataset(name)
    if name == "synthetic":
        size = n if n is not None else SIZES[name][0 if train else 1]
        return synthetic(size, seed=seed if train else seed + 1_000_003)
    split = load_cifar(name, train, root)
    return first(split, n) if n is not None else split


def first(split: Split, n: int) -> Split:
    """The first `n` images in file order, so other tools can reproduce the subset."""
    if not 1 <= n <= len(split):
        raise ValueError(f"n={n} must lie in 1..{len(split)} (the size of {split.name})")
    return split.prefixes.setdefault(n, Split(split.images[:n], split.labels[:n], split.name))


def balanced(split: Split, n: int, seed: int = 0) -> Split:
    """A seeded class-balanced subset of `n` images (n must be a multiple of the class count)."""
    classes = split.labels.unique()
    if n < 1 or n % len(classes):
        raise ValueError(f"n={n} must be a positive multiple of the number of classes ({len(classes)})")
    gen = torch.Generator().manual_seed(seed)
    per_class = n // len(classes)
    picks = []
    for c in classes:
        members = torch.nonzero(split.labels == c).flatten()
        if len(members) < per_class:
            raise ValueError(f"n={n} asks {per_class} images of class {int(c)}, only {len(members)} exist")
        picks.append(members[torch.randperm(len(members), generator=gen)[:per_class]])
    index = torch.cat(picks).sort().values
    return Split(split.images[index], split.labels[index], split.name)


def normalize(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 images -> float, standardized with the Li et al. mean and std."""
    mean = torch.tensor(CIFAR_MEAN, dtype=dtype, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD, dtype=dtype, device=images.device).view(1, 3, 1, 1)
    return (images.to(dtype) / 255.0 - mean) / std


def augment(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip, for a whole uint8 batch at once, on the batch's
    device; the offsets and flips are drawn from `generator` on the CPU, so a seed gives the same batch anywhere."""
    n, _, h, w = images.shape
    dy = torch.randint(2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(2 * padding + 1, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    device = images.device
    dy, dx, flip = dy.to(device), dx.to(device), flip.to(device)
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    rows = dy.view(n, 1) + torch.arange(h, device=device).view(1, h)
    cols = torch.arange(w, device=device).view(1, w).expand(n, w)
    cols = torch.where(flip.view(n, 1), w - 1 - cols, cols) + dx.view(n, 1)
    picked = padded[torch.arange(n, device=device).view(n, 1, 1), :, rows.view(n, h, 1), cols.view(n, 1, w)]
    return picked.permute(0, 3, 1, 2).contiguous()


def eval_batch_size(device: str | torch.device = "cpu") -> int:
    """The evaluation batch size that is fast on `device` (`lossviz.base.devices.rules`: 128 on CPUs, 1,000 on CUDA)."""
    return devices.rules(device).eval_batch_size


def on_device(split: Split, device: str | torch.device) -> Split:
    """The split with its uint8 images and labels on `device` (copied once per split and device; the CPU split
    itself on the CPU): data a training run reads every epoch stays where the network is."""
    device = torch.device(device)
    if split.images.device == device:
        return split
    return split.copies.setdefault(str(device), Split(split.images.to(device), split.labels.to(device), split.name))


def batches(
    split: Split,
    batch_size: int,
    shuffle: bool = False,
    augmented: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
    channels_last: bool | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield normalized (x, y) batches on `device`; the order and the augmentation are drawn from a seeded CPU
    generator, so they do not depend on where the split lives (gathered and augmented there, then moved).
    `channels_last`: the image layout (default: the device's, `lossviz.base.devices.rules`)."""
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be positive")
    layout = (devices.rules(device).memory_format if channels_last is None
              else torch.channels_last if channels_last else torch.contiguous_format)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(split), generator=gen) if shuffle else torch.arange(len(split))
    home = split.images.device
    for start in range(0, len(split), batch_size):
        index = order[start : start + batch_size].to(home)
        images = split.images[index]
        if augmented:
            images = augment(images, gen)
        x = normalize(images.to(device, non_blocking=True))
        yield x.contiguous(memory_format=layout), split.labels[index].to(device, non_blocking=True)


def size(name: str, train: bool = True, n: int | None = None) -> int:
    """Images in a split of `name` limited to the first `n` (None: all), without loading it."""
    check_dataset(name)
    full = SIZES[name][0 if train else 1]
    return full if n is None else min(n, full)


def iterations_per_epoch(images: int, batch_size: int) -> int:
    """ceil(images / batch size): the iterations of one epoch, the last batch smaller (as `batches` yields)."""
    if images < 1 or batch_size < 1:
        raise ValueError(f"images={images} and batch_size={batch_size} must be positive")
    return -(-images // batch_size)


@dataclass(frozen=True)
class Sample:
    """Which images a surface is evaluated on: the first N training (and test) images of a dataset."""

    dataset: str
    train_subset: int
    test_subset: int = 0  # 0: no test split
    batch_size: int = 128  # fast on CPUs (lossviz.base.data.EVAL_BATCH_SIZES); BN recomputation also uses it

    def splits(self, root: str | Path | None = None) -> dict[str, Split]:
        """The named splits: {"train": ..., "test": ...} (test only when test_subset > 0)."""
        found = {"train": load(self.dataset, True, root, self.train_subset)}
        if self.test_subset:
            found["test"] = load(self.dataset, False, root, self.test_subset)
        return found

    def fingerprints(self, root: str | Path | None = None) -> dict[str, str]:
        """{split: sha256 of its images and labels}: what a result computed on this sample depends on."""
        return {name: split.sha256 for name, split in self.splits(root).items()}

    def batches(self, root: str | Path | None = None) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
        """Normalized batches of each split, ready for `lossviz.compute.surface`."""
        return {name: list(batches(split, self.batch_size)) for name, split in self.splits(root).items()}
