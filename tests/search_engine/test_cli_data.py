"""`python -m search_engine data cifar10`: the explicit download, tested on a local archive."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import search_engine.datasets as datasets
from search_engine.cli import main
from tests.search_engine.test_datasets import _write_cifar


def _local_archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the published URL, size and MD5 at a tiny archive in the real layout."""
    import tarfile

    _write_cifar(tmp_path / "src")
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    data = archive.read_bytes()
    monkeypatch.setattr(datasets, "CIFAR10_URL", archive.as_uri())
    monkeypatch.setattr(datasets, "CIFAR10_ARCHIVE_BYTES", len(data))
    monkeypatch.setattr(datasets, "CIFAR10_ARCHIVE_MD5", hashlib.md5(data).hexdigest())
    return archive


def test_data_cifar10_downloads_into_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture) -> None:
    _local_archive(tmp_path, monkeypatch)
    dest = tmp_path / "data"
    assert main(["data", "cifar10", "--data-dir", str(dest)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(dest / "cifar-10-batches-bin")
    assert "downloading file://" in err
    assert datasets.dataset_available("cifar10", dest)
    assert main(["data", "cifar10", "--data-dir", str(dest)]) == 0
    assert "already" in capsys.readouterr().err


def test_data_cifar10_reports_a_bad_archive_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    _local_archive(tmp_path, monkeypatch)
    monkeypatch.setattr(datasets, "CIFAR10_ARCHIVE_MD5", "0" * 32)
    assert main(["data", "cifar10", "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("python -m search_engine: error: ") and "MD5" in err
    assert not datasets.dataset_available("cifar10", tmp_path / "data")


def test_data_names_only_known_data_sets(capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "imagenet"]) == 2
    assert "invalid choice: 'imagenet'" in capsys.readouterr().err
