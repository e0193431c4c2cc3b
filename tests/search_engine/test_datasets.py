"""Proxy data: shapes, determinism, on-device augmentation, the CIFAR-10 binary reader and download."""

from __future__ import annotations

import hashlib
import pickle
import socket
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np
import pytest
import torch

from search_engine.datasets import (
    CIFAR10_TRAIN_FILES,
    BatchSampler,
    DatasetError,
    dataset_available,
    download_cifar10,
    load_cifar10,
    load_dataset,
    make_synthetic,
    read_cifar10_batch,
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


# --- CIFAR-10: the binary release, on tiny files written in its real format -----------


def _image(index: int) -> np.ndarray:
    """A (3, 32, 32) image whose pixels encode (index, channel, row, column)."""
    c, r, w = np.meshgrid(np.arange(3), np.arange(32), np.arange(32), indexing="ij")
    img = ((index * 31 + c * 101 + r * 7 + w) % 256).astype(np.uint8)
    img[0, 0, :2] = (index % 256, index // 256)  # unique per index
    return img


def _write_batch(path: Path, labels: list[int], first_index: int) -> list[np.ndarray]:
    """One file of records: a label byte, then 1024 red, 1024 green, 1024 blue bytes, row-major."""
    images = [_image(first_index + k) for k in range(len(labels))]
    with open(path, "wb") as fh:
        for label, img in zip(labels, images, strict=True):
            fh.write(bytes([label]) + img.tobytes())
    return images


def _write_cifar(data_dir: Path, per_file: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Five training files (labels 0..9 repeated) and a test file; returns the training data."""
    root = data_dir / "cifar-10-batches-bin"
    root.mkdir(parents=True, exist_ok=True)
    xs, ys = [], []
    for i, name in enumerate(CIFAR10_TRAIN_FILES):
        labels = [(k + i) % 10 for k in range(per_file)]
        xs += _write_batch(root / name, labels, i * per_file)
        ys += labels
    _write_batch(root / "test_batch.bin", [3] * 4, 10_000)
    return np.stack(xs), np.array(ys)


def test_a_binary_record_is_parsed_as_label_then_rgb_planes(tmp_path: Path) -> None:
    images = _write_batch(tmp_path / "b.bin", [7, 0, 9], 5)
    x, y = read_cifar10_batch(tmp_path / "b.bin")
    assert x.shape == (3, 3, 32, 32) and x.dtype == np.uint8
    assert y.tolist() == [7, 0, 9] and y.dtype == np.int64
    assert np.array_equal(x, np.stack(images))
    # byte 1 + 1024 * c + 32 * r + w of a record is channel c, row r, column w
    raw = (tmp_path / "b.bin").read_bytes()
    assert x[1, 2, 3, 4] == raw[3073 + 1 + 1024 * 2 + 32 * 3 + 4]


def test_cifar_validation_is_a_stratified_part_of_the_training_batches(tmp_path: Path) -> None:
    x, y = _write_cifar(tmp_path)  # 100 training images, 10 per class
    d = load_cifar10(tmp_path)
    assert d.train_x.shape == (90, 3, 32, 32) and d.val_x.shape == (10, 3, 32, 32)
    assert sorted(d.val_y.tolist()) == list(range(10))  # 10% of each class
    assert d.flip is True and d.num_classes == 10
    # every image keeps its own label, and train + validation is exactly the training batches
    seen = {bytes(img.numpy().tobytes()): int(lab) for img, lab in
            zip(torch.cat([d.train_x, d.val_x]), torch.cat([d.train_y, d.val_y]), strict=True)}
    assert seen == {bytes(img.tobytes()): int(lab) for img, lab in zip(x, y, strict=True)}
    # the test batch (label 3 only, its own pixels) is not part of either split
    test_pixels = {bytes(_image(10_000 + k).tobytes()) for k in range(4)}
    assert not test_pixels & set(seen)
    again = load_cifar10(tmp_path)
    assert torch.equal(again.val_x, d.val_x) and torch.equal(again.train_y, d.train_y)
    other = load_cifar10(tmp_path, split_seed=1)
    assert not torch.equal(other.val_x, d.val_x)


def test_cifar_never_reads_the_test_batch(tmp_path: Path) -> None:
    _write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").write_bytes(b"not a record")
    assert load_cifar10(tmp_path).val_x.shape[0] == 10
    (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").unlink()
    assert load_cifar10(tmp_path).val_x.shape[0] == 10


def test_cifar_missing_files_name_the_download_command(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as err:
        load_cifar10(tmp_path)
    assert "python -m search_engine data cifar10 --data-dir" in str(err.value)
    assert "data_batch_1.bin" in str(err.value)
    _write_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-bin" / "data_batch_4.bin").unlink()
    with pytest.raises(DatasetError, match="data_batch_4.bin"):
        load_cifar10(tmp_path)


def test_a_truncated_cifar_file_is_an_error(tmp_path: Path) -> None:
    _write_cifar(tmp_path)
    path = tmp_path / "cifar-10-batches-bin" / "data_batch_2.bin"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DatasetError, match="data_batch_2.bin is truncated"):
        load_cifar10(tmp_path)
    assert not dataset_available("cifar10", tmp_path)
    path.write_bytes(b"")
    with pytest.raises(DatasetError, match="truncated"):
        load_cifar10(tmp_path)


def test_a_pickle_in_place_of_a_batch_is_refused_without_being_unpickled(tmp_path: Path) -> None:
    _write_cifar(tmp_path)
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self) -> tuple[Callable[[], None], tuple]:  # what an attacker's pickle would run
            return (marker.touch, ())

    blob = pickle.dumps(Payload())
    # padded to one whole record, so only the label check can refuse it
    (tmp_path / "cifar-10-batches-bin" / "data_batch_1.bin").write_bytes(blob.ljust(3073, b"\0"))
    with pytest.raises(DatasetError, match="label"):
        load_cifar10(tmp_path)
    assert not marker.exists()


def test_dataset_available(tmp_path: Path) -> None:
    assert dataset_available("synthetic") and dataset_available("digits")
    assert not dataset_available("cifar10", tmp_path)
    assert not dataset_available("imagenet", tmp_path)
    _write_cifar(tmp_path)
    assert dataset_available("cifar10", tmp_path)
    assert dataset_available("cifar10", str(tmp_path))


def test_loading_cifar_never_touches_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(DatasetError, match="missing"):
        load_dataset("cifar10", data_dir=str(tmp_path / "nowhere"))
    assert not (tmp_path / "nowhere").exists()


def _archive(tmp_path: Path, extra: bool = True) -> tuple[Path, int, str, np.ndarray, np.ndarray]:
    """A tar.gz shaped like cifar-10-binary.tar.gz (tiny), plus hostile members."""
    src = tmp_path / "src"
    x, y = _write_cifar(src)
    (src / "cifar-10-batches-bin" / "batches.meta.txt").write_text("airplane\n")
    path = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
        if extra:
            evil = tmp_path / "evil.txt"
            evil.write_text("outside")
            tar.add(evil, arcname="../evil.txt")
            link = tarfile.TarInfo("cifar-10-batches-bin/link.bin")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(link)
    data = path.read_bytes()
    return path, len(data), hashlib.md5(data).hexdigest(), x, y


def test_download_checks_the_archive_and_extracts_only_the_data_files(tmp_path: Path) -> None:
    archive, size, md5, x, _ = _archive(tmp_path)
    dest = tmp_path / "data"
    root = download_cifar10(dest, url=archive.as_uri(), expected_bytes=size, expected_md5=md5)
    assert root == dest / "cifar-10-batches-bin"
    assert sorted(p.name for p in root.iterdir()) == sorted([*CIFAR10_TRAIN_FILES, "test_batch.bin"])
    assert not (tmp_path / "data" / "evil.txt").exists() and not (dest / "cifar-10-binary.tar.gz").exists()
    d = load_cifar10(dest)
    assert d.train_x.shape[0] + d.val_x.shape[0] == len(x)
    assert dataset_available("cifar10", dest)


def test_download_refuses_an_archive_with_another_size_or_md5(tmp_path: Path) -> None:
    archive, size, md5, _, _ = _archive(tmp_path, extra=False)
    dest = tmp_path / "data"
    with pytest.raises(DatasetError, match="MD5"):
        download_cifar10(dest, url=archive.as_uri(), expected_bytes=size, expected_md5="0" * 32)
    with pytest.raises(DatasetError, match="more than the expected"):
        download_cifar10(dest, url=archive.as_uri(), expected_bytes=size - 1, expected_md5=md5)
    assert not dataset_available("cifar10", dest)
    assert sorted(p.name for p in dest.iterdir()) == []  # no archive or partial file left behind


def test_download_uses_an_archive_already_in_place(tmp_path: Path) -> None:
    archive, size, md5, _, _ = _archive(tmp_path, extra=False)
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / "cifar-10-binary.tar.gz").write_bytes(archive.read_bytes())

    def no_opener(url: str) -> NoReturn:
        raise AssertionError(f"downloaded {url}")

    download_cifar10(dest, expected_bytes=size, expected_md5=md5, opener=no_opener)
    assert dataset_available("cifar10", dest)
    # once there, a second call neither downloads nor rewrites anything
    download_cifar10(dest, expected_bytes=size, expected_md5=md5, opener=no_opener)


def test_download_errors_are_dataset_errors(tmp_path: Path) -> None:
    def refused(url: str) -> NoReturn:
        raise urllib.error.URLError("connection refused")

    with pytest.raises(DatasetError, match="could not download CIFAR-10 from .*connection refused"):
        download_cifar10(tmp_path / "d", opener=refused)
    assert not any((tmp_path / "d").iterdir())


def test_smaller_images_keep_labels_and_crop_three_quarters() -> None:
    full = load_dataset("synthetic")
    small = load_dataset("synthetic", image_size=16)
    assert small.train_x.shape[1:] == (3, 16, 16) and small.val_x.shape[1:] == (3, 16, 16)
    assert small.crop == 12 and full.crop == 24
    assert torch.equal(small.train_y, full.train_y)
    # area interpolation: each pixel is the mean of a 2x2 block of the original
    block = full.train_x[0, :, :2, :2].float().mean(dim=(1, 2))
    assert torch.allclose(small.train_x[0, :, 0, 0].float(), block.round(), atol=0.5)
    x, _ = BatchSampler(small, 4, generator=torch.Generator().manual_seed(0)).next()
    assert x.shape == (4, 3, 12, 12)
    assert [b[0].shape[-1] for b in validation_batches(small, 512)] == [16]
