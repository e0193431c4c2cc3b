"""Download file names made from users' names: safe on every file system, importable when .py."""

from __future__ import annotations

import pytest

from webapp.services.names import download_filename


@pytest.mark.parametrize("name, suffix, expected", [
    ("EvoNorm-B0", ".py", "evonorm_b0.py"),
    ("My layer (v2).final", ".py", "my_layer_v2_final.py"),
    ("2nd try", ".py", "layer_2nd_try.py"),
    ("cpu-quick search candidate 12", ".zip", "cpu-quick_search_candidate_12.zip"),
    ("Évolution — ß/ü", ".zip", "Evolution_u.zip"),
    ('../../etc/passwd"; x=1', ".zip", "etc_passwd_x_1.zip"),
    ("...", ".py", "fallback.py"),
    ("日本語", ".zip", "fallback.zip"),
])
def test_download_filename(name, suffix, expected):
    assert download_filename(name=name, suffix=suffix, fallback="fallback") == expected


def test_long_names_are_cut():
    name = download_filename(name="a" * 300, suffix=".zip", fallback="f")
    assert name == "a" * 80 + ".zip"
