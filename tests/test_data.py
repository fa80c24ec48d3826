"""Tests of lossviz.base.data: CIFAR reading, normalization, augmentation, subsets, synthetic data."""
import pickle

import numpy as np
import pytest
import torch

from lossviz.base import data, folders


def write_fake_cifar10(root, n_per_batch=20, seed=0):
    """Write a tiny CIFAR-10 folder in the standard pickled format; return its arrays."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    arrays = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = list(rng.integers(0, 10, n_per_batch))
        with open(folder / name, "wb") as f:
            pickle.dump({"data": images, "labels": labels}, f)
        arrays[name] = (images, labels)
    return arrays


def test_reads_standard_pickles_in_file_order(tmp_path):
    arrays = write_fake_cifar10(tmp_path)
    train = data.load_cifar("cifar10", True, tmp_path, download=False)
    test = data.load_cifar("cifar10", False, tmp_path, download=False)
    assert train.images.shape == (100, 3, 32, 32) and train.images.dtype == torch.uint8
    assert len(test) == 20
    expected = np.concatenate([arrays[f"data_batch_{i}"][0] for i in range(1, 6)]).reshape(-1, 3, 32, 32)
    assert np.array_equal(train.images.numpy(), expected)
    assert train.labels[:20].tolist() == arrays["data_batch_1"][1]
    assert data.first(train, 7).labels.tolist() == arrays["data_batch_1"][1][:7]


def test_data_root_from_environment(tmp_path, monkeypatch):
    write_fake_cifar10(tmp_path)
    monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path))
    assert len(data.load("cifar10", train=False)) == 20


def test_missing_offline_names_both_remedies(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        data.load_cifar("cifar10", True, tmp_path, download=False)
    assert "cifar-10-batches-py" in str(info.value) and "LOSSVIZ_DATA" in str(info.value)


def test_a_data_root_that_does_not_exist_is_refused_not_created(tmp_path, monkeypatch):
    """A mistyped root is not made into an empty folder by a download; only the project's own data/ is created."""
    downloads = []
    monkeypatch.setattr(data, "_download", lambda name, root: downloads.append(root) or write_fake_cifar10(root))
    with pytest.raises(ValueError, match=f"data root {tmp_path / 'dtaa'} does not exist"):
        data.load_cifar("cifar10", True, tmp_path / "dtaa")
    monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path / "typo"))
    with pytest.raises(ValueError, match="typo does not exist"):
        data.load("cifar10", train=False)
    assert downloads == [] and sorted(tmp_path.iterdir()) == []
    monkeypatch.delenv("LOSSVIZ_DATA")
    monkeypatch.setattr(folders, "project_dir", lambda: tmp_path)  # a fresh clone: data/ is made by the download
    assert len(data.load_cifar("cifar10", False)) == 20 and downloads == [tmp_path / "data"]


def test_unknown_dataset_lists_choices():
    with pytest.raises(ValueError, match="cifar10, cifar100, synthetic"):
        data.load("mnist")


def test_normalize_uses_reference_constants():
    images = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    x = data.normalize(images)
    for c in range(3):
        want = (1.0 - data.CIFAR_MEAN[c]) / data.CIFAR_STD[c]
        assert abs(x[0, c, 0, 0].item() - want) < 1e-5
    assert abs(data.CIFAR_MEAN[0] - 125.3 / 255) < 1e-12 and abs(data.CIFAR_STD[2] - 66.7 / 255) < 1e-12


def test_augment_is_a_shifted_or_flipped_crop_of_the_padded_image():
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(1, 256, (64, 3, 32, 32), dtype=torch.uint8)
    out = data.augment(images, gen)
    assert out.shape == images.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    for k in range(64):  # each output equals some crop (flipped or not) of the padded input
        found = any(
            torch.equal(out[k], crop) or torch.equal(out[k], crop.flip(-1))
            for dy in range(9) for dx in range(9)
            for crop in [padded[k, :, dy:dy + 32, dx:dx + 32]]
        )
        assert found
    assert not torch.equal(out, images)  # something moved


def test_augment_is_seeded():
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    a = data.augment(images, torch.Generator().manual_seed(3))
    b = data.augment(images, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_batches_keep_labels_and_cover_the_split():
    split = data.synthetic(50, seed=1)
    seen = []
    for x, y in data.batches(split, 16, shuffle=True, augmented=True, seed=5):
        assert x.dtype == torch.float32 and x.shape[1:] == (3, 32, 32)
        seen.append(y)
    assert sorted(torch.cat(seen).tolist()) == sorted(split.labels.tolist())


def test_balanced_subset_has_equal_classes_and_is_seeded():
    split = data.synthetic(400, seed=2)
    sub = data.balanced(split, 50, seed=1)
    assert torch.bincount(sub.labels, minlength=10).tolist() == [5] * 10
    assert torch.equal(sub.images, data.balanced(split, 50, seed=1).images)
    with pytest.raises(ValueError, match="n=55"):
        data.balanced(split, 55)


def test_synthetic_is_learnable_by_nearest_class_mean():
    train, test = data.synthetic(500, seed=0), data.synthetic(200, seed=1)
    means = torch.stack([train.images[train.labels == c].float().mean(0) for c in range(10)])
    dist = ((test.images.float().unsqueeze(1) - means.unsqueeze(0)) ** 2).flatten(2).sum(-1)
    accuracy = (dist.argmin(1) == test.labels).float().mean().item()
    assert accuracy > 0.9  # learnable, yet the noise makes single pixels uninformative
    assert train.images.float().std() > 30


def test_fingerprint_follows_the_contents_of_every_split():
    a, b = data.synthetic(8, seed=0), data.synthetic(8, seed=1)
    assert data.fingerprint(a) == data.fingerprint(data.synthetic(8, seed=0))
    changed = data.Split(a.images, a.labels.clone())
    changed.labels[3] = (changed.labels[3] + 1) % 10
    assert len({data.fingerprint(a), data.fingerprint(changed), data.fingerprint(b), data.fingerprint(a, b)}) == 4
    assert data.fingerprint(a, b) != data.fingerprint(b, a)
