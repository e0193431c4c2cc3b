"""Proxy data sets held as tensors on the training device, with on-device augmentation.

Every data set is stored as uint8 images (N, 3, S, S) plus int64 labels on
the device, and normalised per channel when a batch is drawn; a CIFAR-10 copy
is 150 MB that way instead of 600 MB as float32. Batches are drawn by
`BatchSampler` entirely with device tensor ops (permutation, crop offsets and
flips from a device `torch.Generator`, one advanced-indexing gather), so the
training loop never copies from the host nor waits for the device.

S is 32 (the paper's CIFAR-10 size) unless `load_dataset(image_size=...)`
asks for smaller images, which are resized once at load time (area
interpolation). Training crops are 3/4 of S (the paper's 24 of 32);
validation uses the full images.

- ``cifar10``: the *binary* release (``cifar-10-batches-bin``: five training
  files and a test file of 10,000 records, each 1 label byte and 3072 pixel
  bytes, red then green then blue planes, row-major), parsed with NumPy. No
  pickle is read anywhere: data files may be user-influenced and must never
  be unpickled. Validation is a stratified 10% of the five training batches
  (5,000 images, 500 per class) carved out with a fixed seed; the test batch
  is never read here, so it never takes part in selection. The files come
  from an explicit download (`python -m search_engine data cifar10
  [--data-dir DIR]`, `download_cifar10`), which checks the archive's size
  and MD5 as published by the data set's site and extracts only the data
  files; nothing downloads implicitly.
- ``digits``: scikit-learn's bundled 8x8 digits (1797 images), upscaled to
  24x24 and zero-padded to 32x32, replicated to three channels. The padding
  keeps the whole digit inside most 24x24 training crops, as CIFAR objects are.
- ``synthetic``: generated class-conditional patterns for tests; learnable in
  a few dozen steps.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tarfile
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

CROP = 24
SIZE = 32
DEFAULT_DATA_DIR = "data"
DATASET_NAMES = ("synthetic", "digits", "cifar10")

# The binary release as published on https://www.cs.toronto.edu/~kriz/cifar.html
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR10_ARCHIVE_BYTES = 170_052_171
CIFAR10_ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
CIFAR10_DIR = "cifar-10-batches-bin"
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch.bin"
CIFAR10_RECORD_BYTES = 1 + 3 * SIZE * SIZE
CIFAR10_VAL_FRACTION = 0.1
DOWNLOAD_COMMAND = "python -m search_engine data cifar10 --data-dir DIR"


class DatasetError(RuntimeError):
    """The data set cannot be loaded (missing or damaged files, missing optional package)."""


@dataclass
class Dataset:
    """Images and labels on one device; `flip` says whether a mirror keeps the label."""

    name: str
    train_x: torch.Tensor  # uint8 (N, 3, S, S)
    train_y: torch.Tensor  # int64 (N,)
    val_x: torch.Tensor
    val_y: torch.Tensor
    mean: torch.Tensor  # float32 (1, 3, 1, 1), in [0, 255] units
    std: torch.Tensor
    num_classes: int
    flip: bool

    @property
    def device(self) -> torch.device:
        return self.train_x.device

    @property
    def size(self) -> int:
        """Side of the stored (validation) images."""
        return self.train_x.shape[-1]

    @property
    def crop(self) -> int:
        """Side of the training crops: 3/4 of the image (24 of 32, as in the paper)."""
        return self.size * 3 // 4

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x.float() - self.mean) / self.std

    def to(self, device: str | torch.device) -> Dataset:
        return Dataset(
            self.name,
            self.train_x.to(device),
            self.train_y.to(device),
            self.val_x.to(device),
            self.val_y.to(device),
            self.mean.to(device),
            self.std.to(device),
            self.num_classes,
            self.flip,
        )


# --- loaders (host side, once per process) -------------------------------------------


def _finish(
    name: str,
    train_x: np.ndarray,
    train_y: np.ndarray,
    val_x: np.ndarray,
    val_y: np.ndarray,
    num_classes: int,
    flip: bool,
) -> Dataset:
    tx = torch.from_numpy(np.ascontiguousarray(train_x, dtype=np.uint8))
    mean = tx.float().mean(dim=(0, 2, 3), keepdim=True)
    std = tx.float().std(dim=(0, 2, 3), keepdim=True).clamp_min(1.0)
    return Dataset(
        name,
        tx,
        torch.from_numpy(np.asarray(train_y, dtype=np.int64)),
        torch.from_numpy(np.ascontiguousarray(val_x, dtype=np.uint8)),
        torch.from_numpy(np.asarray(val_y, dtype=np.int64)),
        mean,
        std,
        num_classes,
        flip,
    )


def read_cifar10_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One binary CIFAR-10 file: uint8 images (N, 3, 32, 32) and int64 labels (N,)."""
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise DatasetError(f"cannot read CIFAR-10 file {path.name}: {err.strerror or err}") from None
    if raw.size == 0 or raw.size % CIFAR10_RECORD_BYTES:
        raise DatasetError(
            f"CIFAR-10 file {path.name} is truncated or not in the binary format: {raw.size} bytes "
            f"is not a whole number of {CIFAR10_RECORD_BYTES}-byte records; download it again "
            f"({DOWNLOAD_COMMAND})"
        )
    records = raw.reshape(-1, CIFAR10_RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DatasetError(
            f"CIFAR-10 file {path.name} has label {int(labels.max())} (labels are 0-9): "
            "not the binary release of CIFAR-10"
        )
    return records[:, 1:].reshape(-1, 3, SIZE, SIZE), labels


def _cifar10_root(data_dir: str | Path | None) -> Path:
    return Path(data_dir or DEFAULT_DATA_DIR) / CIFAR10_DIR


def load_cifar10(
    data_dir: str | Path | None = None,
    *,
    val_fraction: float = CIFAR10_VAL_FRACTION,
    split_seed: int = 0,
) -> Dataset:
    """CIFAR-10's training batches from ``<data_dir>/cifar-10-batches-bin`` (never downloads).

    Validation is a stratified `val_fraction` of the training batches, fixed
    by `split_seed`; the test batch is not read.
    """
    root = _cifar10_root(data_dir)
    missing = [n for n in CIFAR10_TRAIN_FILES if not (root / n).is_file()]
    if missing:
        raise DatasetError(
            f"CIFAR-10 binary files missing in {root}: {', '.join(missing)}. Download them with "
            f"'python -m search_engine data cifar10 --data-dir {data_dir or DEFAULT_DATA_DIR}' "
            f"(checks the archive's size and MD5), put the contents of {CIFAR10_ARCHIVE} there, "
            "or use the offline 'digits' data set."
        )
    parts = [read_cifar10_batch(root / n) for n in CIFAR10_TRAIN_FILES]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    train_idx, val_idx = _stratified_split(y, val_fraction, np.random.default_rng(split_seed))
    return _finish("cifar10", x[train_idx], y[train_idx], x[val_idx], y[val_idx], 10, flip=True)


def dataset_available(name: str, data_dir: str | Path | None = None) -> bool:
    """Whether `load_dataset(name, data_dir=...)` can load here, without loading it.

    cifar10: the five training files exist and each holds whole records;
    digits: scikit-learn is installed; synthetic: always. Unknown names: False.
    """
    if name == "synthetic":
        return True
    if name == "digits":
        return importlib.util.find_spec("sklearn") is not None
    if name == "cifar10":
        root = _cifar10_root(data_dir)
        for n in CIFAR10_TRAIN_FILES:
            try:
                size = (root / n).stat().st_size
            except OSError:
                return False
            if not (root / n).is_file() or size == 0 or size % CIFAR10_RECORD_BYTES:
                return False
        return True
    return False


def download_cifar10(
    data_dir: str | Path | None = None,
    *,
    url: str | None = None,
    expected_bytes: int | None = None,
    expected_md5: str | None = None,
    opener: Callable[[str], object] | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Fetch the binary CIFAR-10 archive into `data_dir`, check it, extract the data files.

    Only called on an explicit request (`python -m search_engine data
    cifar10`). An archive already in `data_dir` (copied there by hand on an
    offline machine) is checked and used instead of downloading. The size and
    MD5 must match the published ones; only the six ``.bin`` members of
    ``cifar-10-batches-bin/`` are extracted, as regular files written by this
    function (no links, no paths outside that folder). Returns the folder.
    `url`, `expected_bytes`, `expected_md5` and `opener` (urllib's urlopen)
    default to the published archive; tests pass a local one.
    """
    url = url or CIFAR10_URL
    expected_bytes = CIFAR10_ARCHIVE_BYTES if expected_bytes is None else expected_bytes
    expected_md5 = expected_md5 or CIFAR10_ARCHIVE_MD5
    opener = opener or urllib.request.urlopen
    dest = Path(data_dir or DEFAULT_DATA_DIR)
    root = dest / CIFAR10_DIR
    say = log or (lambda _msg: None)
    if dataset_available("cifar10", dest) and (root / CIFAR10_TEST_FILE).is_file():
        say(f"CIFAR-10 is already in {root}")
        return root
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / CIFAR10_ARCHIVE
    if archive.is_file():
        say(f"checking {archive}")
    else:
        _fetch(url, archive, expected_bytes, opener, say)
    _check_archive(archive, expected_bytes, expected_md5)
    _extract_cifar10(archive, root)
    archive.unlink()
    say(f"CIFAR-10 extracted to {root}")
    return root


def _fetch(url: str, archive: Path, expected_bytes: int, opener: Callable[[str], object],
           say: Callable[[str], None]) -> None:
    part = archive.with_name(archive.name + ".part")
    say(f"downloading {url} ({expected_bytes / 1e6:.0f} MB)")
    try:
        with opener(url) as response, open(part, "wb") as out:  # type: ignore[attr-defined]
            got = 0
            while chunk := response.read(1 << 20):
                got += len(chunk)
                if got > expected_bytes:
                    raise DatasetError(
                        f"{url} sent more than the expected {expected_bytes} bytes; not the CIFAR-10 archive"
                    )
                out.write(chunk)
    except OSError as err:
        part.unlink(missing_ok=True)
        raise DatasetError(f"could not download CIFAR-10 from {url}: {err}") from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, archive)


def _check_archive(archive: Path, expected_bytes: int, expected_md5: str) -> None:
    size = archive.stat().st_size
    md5 = hashlib.md5(usedforsecurity=False)
    with open(archive, "rb") as fh:
        while chunk := fh.read(1 << 20):
            md5.update(chunk)
    if size != expected_bytes or md5.hexdigest() != expected_md5:
        archive.unlink()
        raise DatasetError(
            f"{archive.name} is {size} bytes with MD5 {md5.hexdigest()}, expected {expected_bytes} "
            f"bytes with MD5 {expected_md5} (the published values); it was removed, try again"
        )


def _extract_cifar10(archive: Path, root: Path) -> None:
    wanted = {f"{CIFAR10_DIR}/{n}" for n in (*CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE)}
    root.mkdir(parents=True, exist_ok=True)
    found = set()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if name not in wanted or not member.isreg():
                    continue  # readme, metadata, and anything unexpected stay in the archive
                src = tar.extractfile(member)
                if src is None:
                    continue
                target = root / name.rsplit("/", 1)[1]
                tmp = target.with_name(target.name + ".part")
                with src, open(tmp, "wb") as out:
                    while chunk := src.read(1 << 20):
                        out.write(chunk)
                os.replace(tmp, target)
                found.add(name)
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DatasetError(f"{archive.name} could not be extracted: {err}") from None
    if found != wanted:
        missing = sorted(n.rsplit("/", 1)[1] for n in wanted - found)
        raise DatasetError(f"{archive.name} lacks {', '.join(missing)}: not the CIFAR-10 binary archive")


def load_digits(*, split_seed: int = 0, val_fraction: float = 0.2) -> Dataset:
    """scikit-learn's digits as 3x32x32 uint8; the train/val split is fixed by `split_seed`."""
    try:
        from sklearn.datasets import load_digits as sk_load_digits
    except ImportError as err:
        raise DatasetError(
            "the 'digits' data set needs scikit-learn; install it or use 'synthetic'"
        ) from err
    bunch = sk_load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0)[:, None]  # (N,1,8,8)
    up = F.interpolate(images, size=(CROP, CROP), mode="bilinear", align_corners=False)
    pad = (SIZE - CROP) // 2
    up = F.pad(up, (pad, pad, pad, pad))
    x = (up.clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1).numpy()
    y = bunch.target.astype(np.int64)
    train_idx, val_idx = _stratified_split(y, val_fraction, np.random.default_rng(split_seed))
    return _finish("digits", x[train_idx], y[train_idx], x[val_idx], y[val_idx], 10, flip=False)


def _stratified_split(
    y: np.ndarray, val_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    train, val = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n_val = int(round(len(idx) * val_fraction))
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))


def make_synthetic(
    *, num_classes: int = 10, train_size: int = 2000, val_size: int = 500, seed: int = 0
) -> Dataset:
    """Class templates (smooth random colour patterns) plus per-image noise and shifts.

    Each class is a low-frequency 3x32x32 pattern; an image is its class
    pattern at random contrast, shifted by up to 3 pixels, plus pixel noise.
    A small network separates the classes in tens of steps, yet the noise
    keeps accuracy informative (not 100% at step one).
    """
    g = torch.Generator().manual_seed(seed)
    templates = torch.randn(num_classes, 3, 4, 4, generator=g)
    templates = F.interpolate(templates, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    templates = templates / templates.flatten(1).std(dim=1).view(-1, 1, 1, 1)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = torch.randint(num_classes, (n,), generator=g)
        contrast = 0.6 + 0.8 * torch.rand(n, 1, 1, 1, generator=g)
        img = templates[y] * contrast
        shifts = torch.randint(-3, 4, (n, 2), generator=g)
        img = torch.stack(
            [torch.roll(im, (int(s[0]), int(s[1])), dims=(1, 2)) for im, s in zip(img, shifts, strict=True)]
        )
        img = img + 0.8 * torch.randn(img.shape, generator=g)
        x = (img * 40 + 128).clamp(0, 255).round().to(torch.uint8)
        return x.numpy(), y.numpy()

    tx, ty = sample(train_size)
    vx, vy = sample(val_size)
    return _finish("synthetic", tx, ty, vx, vy, num_classes, flip=False)


_CACHE: dict[tuple, Dataset] = {}


def resize(data: Dataset, size: int) -> Dataset:
    """`data` with every image resized to size x size (area interpolation), stats recomputed."""
    if size == data.size:
        return data

    def shrink(x: torch.Tensor) -> np.ndarray:
        out = F.interpolate(x.float(), size=(size, size), mode="area")
        return out.round().clamp(0, 255).to(torch.uint8).numpy()

    return _finish(data.name, shrink(data.train_x), data.train_y.numpy(), shrink(data.val_x),
                   data.val_y.numpy(), data.num_classes, data.flip)


def load_dataset(
    name: str,
    *,
    data_dir: str | None = None,
    device: str | torch.device = "cpu",
    train_examples: int | None = None,
    val_examples: int | None = None,
    image_size: int = SIZE,
) -> Dataset:
    """The named data set on `device`, optionally cut to the first N examples of each split.

    Host copies are cached per process, so a worker evaluating many candidates
    reads and decodes the files once.
    """
    key = (name, str(data_dir), image_size)
    if key not in _CACHE:
        full = (name, str(data_dir), SIZE)
        if full not in _CACHE:
            if name == "cifar10":
                _CACHE[full] = load_cifar10(data_dir)
            elif name == "digits":
                _CACHE[full] = load_digits()
            elif name == "synthetic":
                _CACHE[full] = make_synthetic()
            else:
                raise DatasetError(f"unknown data set {name!r}; known: {', '.join(DATASET_NAMES)}")
        _CACHE[key] = resize(_CACHE[full], image_size)
    ds = _CACHE[key]
    if train_examples is not None or val_examples is not None:
        # The stored order is already shuffled (or random for CIFAR), so a prefix is a sample.
        ds = Dataset(
            ds.name,
            ds.train_x[:train_examples],
            ds.train_y[:train_examples],
            ds.val_x[:val_examples],
            ds.val_y[:val_examples],
            ds.mean,
            ds.std,
            ds.num_classes,
            ds.flip,
        )
    return ds.to(device)


class BatchSampler:
    """Random crops (3/4 of the image side unless `crop` says otherwise; 24x24 of 32x32) and
    mirror flips where `flip`, of shuffled training images.

    Epochs are permutations drawn on the device; the position within an epoch
    is a host integer, so drawing a batch never syncs with the device.
    """

    def __init__(
        self,
        data: Dataset,
        batch_size: int,
        *,
        generator: torch.Generator,
        crop: int | None = None,
        channels_last: bool = False,
    ) -> None:
        self.data = data
        self.batch_size = batch_size
        self.g = generator
        self.crop = data.crop if crop is None else crop
        self.channels_last = channels_last
        self.n = data.train_x.shape[0]
        dev = data.device
        self._perm = torch.randperm(self.n, generator=self.g, device=dev)
        self._pos = 0
        self._ar = torch.arange(self.crop, device=dev)
        self._chan = torch.arange(3, device=dev).view(1, 3, 1, 1)

    def _indices(self) -> torch.Tensor:
        b = self.batch_size
        if b > self.n:  # tiny data sets (tests): sample with replacement
            return torch.randint(self.n, (b,), generator=self.g, device=self.data.device)
        if self._pos + b > self.n:
            self._perm = torch.randperm(self.n, generator=self.g, device=self.data.device)
            self._pos = 0
        idx = self._perm[self._pos : self._pos + b]
        self._pos += b
        return idx

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A normalised float32 batch (B, 3, crop, crop) and its labels, all on the device."""
        dev = self.data.device
        idx = self._indices()
        b = idx.shape[0]
        span = self.data.size - self.crop + 1
        oy = torch.randint(span, (b, 1), generator=self.g, device=dev)
        ox = torch.randint(span, (b, 1), generator=self.g, device=dev)
        rows = oy + self._ar  # (B, crop)
        cols = ox + self._ar
        if self.data.flip:
            mirror = torch.randint(2, (b, 1), generator=self.g, device=dev).bool()
            cols = torch.where(mirror, ox + (self.crop - 1) - self._ar, cols)
        # One gather: image, channel, row, column index tensors broadcast to (B,3,crop,crop).
        x = self.data.train_x[
            idx.view(b, 1, 1, 1), self._chan, rows.view(b, 1, -1, 1), cols.view(b, 1, 1, -1)
        ]
        x = self.data.normalize(x)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, self.data.train_y[idx]


def validation_batches(data: Dataset, batch_size: int):  # noqa: ANN201 - a generator
    """Full-size validation images, normalised, in order."""
    n = data.val_x.shape[0]
    for start in range(0, n, batch_size):
        yield data.normalize(data.val_x[start : start + batch_size]), data.val_y[start : start + batch_size]
