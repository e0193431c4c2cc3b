"""Proxy data sets held as tensors on the training device, with on-device augmentation.

Every data set is stored as uint8 images (N, 3, 32, 32) plus int64 labels on
the device, and normalised per channel when a batch is drawn; a CIFAR-10 copy
is 150 MB that way instead of 600 MB as float32. Batches are drawn by
`BatchSampler` entirely with device tensor ops (permutation, crop offsets and
flips from a device `torch.Generator`, one advanced-indexing gather), so the
training loop never copies from the host nor waits for the device.

- ``cifar10``: the python-format batches in ``<data_dir>/cifar-10-batches-py``;
  downloaded only by an explicit call to `download_cifar10`.
- ``digits``: scikit-learn's bundled 8x8 digits (1797 images), upscaled to
  24x24 and zero-padded to 32x32, replicated to three channels. The padding
  keeps the whole digit inside most 24x24 training crops, as CIFAR objects are.
- ``synthetic``: generated class-conditional patterns for tests; learnable in
  a few dozen steps.
"""

from __future__ import annotations

import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CROP = 24
SIZE = 32
DEFAULT_DATA_DIR = "data"


class DatasetError(RuntimeError):
    """The data set cannot be loaded (missing files, missing optional package)."""


@dataclass
class Dataset:
    """Images and labels on one device; `flip` says whether a mirror keeps the label."""

    name: str
    train_x: torch.Tensor  # uint8 (N, 3, 32, 32)
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


def load_cifar10(data_dir: str | Path | None = None) -> Dataset:
    """CIFAR-10 from ``<data_dir>/cifar-10-batches-py`` (never downloads)."""
    root = Path(data_dir or DEFAULT_DATA_DIR) / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if not (root / n).is_file()]
    if missing:
        raise DatasetError(
            f"CIFAR-10 files missing in {root}: {', '.join(missing)}. Put the python-format "
            f"batches there (from {CIFAR10_URL}), ask for a download explicitly "
            "(search_engine.datasets.download_cifar10 / the CLI's download flag), "
            "or use the offline 'digits' data set."
        )

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        with open(root / name, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")  # noqa: S301 - the data set's own format
        return batch[b"data"].reshape(-1, 3, SIZE, SIZE), np.asarray(batch[b"labels"])

    parts = [read(n) for n in names[:5]]
    train_x = np.concatenate([p[0] for p in parts])
    train_y = np.concatenate([p[1] for p in parts])
    val_x, val_y = read("test_batch")
    return _finish("cifar10", train_x, train_y, val_x, val_y, 10, flip=True)


def download_cifar10(dest: str | Path) -> Path:
    """Download and unpack CIFAR-10 into `dest`; only called on the user's explicit request."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest / "cifar-10-python.tar.gz"
    if not (dest / "cifar-10-batches-py" / "test_batch").is_file():
        try:
            urllib.request.urlretrieve(CIFAR10_URL, archive)  # noqa: S310 - fixed https URL
        except OSError as err:
            raise DatasetError(f"could not download CIFAR-10 from {CIFAR10_URL}: {err}") from err
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
        archive.unlink(missing_ok=True)
    return dest / "cifar-10-batches-py"


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


def load_dataset(
    name: str,
    *,
    data_dir: str | None = None,
    device: str | torch.device = "cpu",
    train_examples: int | None = None,
    val_examples: int | None = None,
) -> Dataset:
    """The named data set on `device`, optionally cut to the first N examples of each split.

    Host copies are cached per process, so a worker evaluating many candidates
    reads and decodes the files once.
    """
    key = (name, str(data_dir))
    if key not in _CACHE:
        if name == "cifar10":
            _CACHE[key] = load_cifar10(data_dir)
        elif name == "digits":
            _CACHE[key] = load_digits()
        elif name == "synthetic":
            _CACHE[key] = make_synthetic()
        else:
            raise DatasetError(f"unknown data set {name!r}")
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
    """Random 24x24 crops (and mirror flips where `flip`) of shuffled training images.

    Epochs are permutations drawn on the device; the position within an epoch
    is a host integer, so drawing a batch never syncs with the device.
    """

    def __init__(
        self,
        data: Dataset,
        batch_size: int,
        *,
        generator: torch.Generator,
        crop: int = CROP,
        channels_last: bool = False,
    ) -> None:
        self.data = data
        self.batch_size = batch_size
        self.g = generator
        self.crop = crop
        self.channels_last = channels_last
        self.n = data.train_x.shape[0]
        dev = data.device
        self._perm = torch.randperm(self.n, generator=self.g, device=dev)
        self._pos = 0
        self._ar = torch.arange(crop, device=dev)
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
        span = SIZE - self.crop + 1
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
    """Full 32x32 validation images, normalised, in order."""
    n = data.val_x.shape[0]
    for start in range(0, n, batch_size):
        yield data.normalize(data.val_x[start : start + batch_size]), data.val_y[start : start + batch_size]
