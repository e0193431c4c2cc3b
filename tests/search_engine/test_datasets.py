"""Proxy data: shapes, determinism, on-device augmentation, CIFAR file handling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from search_engine.datasets import (
    BatchSampler,
    DatasetError,
    load_cifar10,
    load_dataset,
    make_synthetic,
    validation_batches,
)


def test_synthetic_shapes_and_determinism() -> None:
    a = make_synthetic(train_size=64, val_size=32, seed=3)
    b = make_synthetic(train_size=64, val_size=32, seed=3)
    assert a.train_x.shape == (64, 3, 32, 32) and a.train_x.dtype == torch.uint8
    assert a.val_x.shape == (32, 3, 32, 32) and a.num_classes == 10 and not a.flip
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.train_y, b.train_y)
    assert not torch.equal(a.train_x, make_synthetic(train_size=64, val_size=32, seed=4).train_x)


def test_digits_are_3x32x32_with_a_fixed_split() -> None:
    d = load_dataset("digits")
    assert d.train_x.shape[1:] == (3, 32, 32) and d.val_x.shape[1:] == (3, 32, 32)
    assert d.train_x.shape[0] + d.val_x.shape[0] == 1797
    assert d.num_classes == 10 and d.flip is False  # a mirrored digit is another glyph
    assert torch.equal(d.train_x[:, 0], d.train_x[:, 2])
    assert set(d.val_y.tolist()) == set(range(10))
    again = load_dataset("digits", train_examples=100, val_examples=50)
    assert again.train_x.shape[0] == 100 and torch.equal(again.train_x, d.train_x[:100])


def test_sampler_crops_24_and_is_deterministic() -> None:
    d = make_synthetic(train_size=50, val_size=10)
    s1 = BatchSampler(d, 16, generator=torch.Generator().manual_seed(0))
    s2 = BatchSampler(d, 16, generator=torch.Generator().manual_seed(0))
    for _ in range(5):  # crosses an epoch boundary (50 / 16)
        (x1, y1), (x2, y2) = s1.next(), s2.next()
        assert x1.shape == (16, 3, 24, 24) and x1.dtype == torch.float32
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


def _crops(img: torch.Tensor, size: int = 24) -> list[torch.Tensor]:
    return [img[:, i : i + size, j : j + size] for i in range(9) for j in range(9)]


@pytest.mark.parametrize("flip", [False, True])
def test_each_sample_is_a_crop_and_flips_only_when_allowed(flip: bool) -> None:
    d = make_synthetic(train_size=8, val_size=4)
    d.flip = flip
    sampler = BatchSampler(d, 8, generator=torch.Generator().manual_seed(1))
    mirrored = 0
    for _ in range(6):
        idx_before = sampler._pos
        x, y = sampler.next()
        raw = (x * d.std + d.mean).round().to(torch.uint8)
        perm = sampler._perm[idx_before : idx_before + 8] if idx_before + 8 <= 8 else sampler._perm
        for k in range(8):
            src = d.train_x[perm[k]]
            plain = any(torch.equal(raw[k], c) for c in _crops(src))
            flipped = any(torch.equal(raw[k], c.flip(-1)) for c in _crops(src))
            assert plain or flipped
            assert d.train_y[perm[k]] == y[k]
            mirrored += int(flipped and not plain)
    assert (mirrored > 0) == flip


def test_validation_is_full_size_and_in_order() -> None:
    d = make_synthetic(train_size=8, val_size=10)
    batches = list(validation_batches(d, 4))
    assert [b[0].shape for b in batches] == [(4, 3, 32, 32), (4, 3, 32, 32), (2, 3, 32, 32)]
    assert torch.equal(torch.cat([b[1] for b in batches]), d.val_y)


def test_cifar_missing_files_give_a_clear_error(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(DatasetError, match="cifar-10-batches-py"):
        load_cifar10(tmp_path)


def test_cifar_reads_python_batches(tmp_path) -> None:  # noqa: ANN001
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                 b"labels": list(rng.integers(0, 10, 4))}
        with open(root / name, "wb") as fh:
            pickle.dump(batch, fh)
    d = load_cifar10(tmp_path)
    assert d.train_x.shape == (20, 3, 32, 32) and d.val_x.shape == (4, 3, 32, 32)
    assert d.flip is True and d.num_classes == 10
