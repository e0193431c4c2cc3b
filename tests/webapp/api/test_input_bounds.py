"""Issue 11, item 3: no input makes a 500. Numbers past a double, settings past their range, deep or big bodies."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from tests.webapp.helpers import small_overrides
from webapp.models import Layer, Search

pytestmark = pytest.mark.django_db


def _numeric_settings() -> list[str]:
    from search_engine.config import EvalConfig, SearchConfig

    def numeric(cls, prefix: str) -> list[str]:
        out = []
        for f in fields(cls):
            kind = str(f.type)
            if ("int" in kind or "float" in kind) and "tuple" not in kind:
                out.append(prefix + f.name)
        return out

    return numeric(SearchConfig, "") + numeric(EvalConfig, "eval.")


def test_the_numeric_settings_are_found() -> None:
    names = _numeric_settings()
    assert {"max_wall_seconds", "budget", "eval.grad_clip", "eval.stability_threshold", "eval.progress_every",
            "eval.train_examples", "eval.val_examples", "eval.steps"} <= set(names)


@pytest.mark.parametrize("name", _numeric_settings())
@pytest.mark.parametrize("value", [10**31, 1e300])
def test_every_numeric_setting_has_an_upper_bound(api, name, value) -> None:
    overrides = small_overrides()
    if name.startswith("eval."):
        overrides["eval"] = {name[5:]: value}
    else:
        overrides[name] = value
    response = api.post_json("/api/searches", {"name": "x", "preset": "cpu-quick", "overrides": overrides})
    assert response.status_code == 400, (name, response.status_code, response.content[:300])
    assert response.json()["error"]["field"] == name
    assert not Search.objects.exists()


def test_a_year_of_wall_time_is_fine_and_more_is_refused(api) -> None:
    ok = api.post_json("/api/searches", {"name": "x", "preset": "cpu-quick",
                                         "overrides": small_overrides(max_wall_seconds=366 * 24 * 3600)})
    assert ok.status_code == 201, ok.content
    too_long = api.post_json("/api/searches", {"name": "x", "preset": "cpu-quick",
                                               "overrides": small_overrides(max_wall_seconds=2.5e11)})
    assert too_long.status_code == 400 and too_long.json()["error"]["field"] == "max_wall_seconds"


def test_a_number_too_large_for_a_double_is_refused_anywhere_in_a_document(api, s0_doc) -> None:
    body = json.dumps({"name": "x", "document": {**s0_doc, "ui": {"zoom": 1.5}}}).replace("1.5", "1e999")
    assert "1e999" in body
    for path in ("/api/layers", "/api/layers/validate", "/api/layers/numeric-check"):
        response = api.post(path, body, content_type="application/json")
        assert response.status_code == 400, (path, response.content[:300])
        assert "too large" in response.json()["error"]["message"]
    assert not Layer.objects.exists()


def test_an_integer_with_thousands_of_digits_is_a_400(api) -> None:
    body = '{"name": "x", "preset": "cpu-quick", "seed": 1' + "0" * 5000 + "}"
    response = api.post("/api/searches", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_deeply_nested_bodies_are_a_400(api, depth) -> None:
    body = '{"document": ' + "[" * depth + "]" * depth + "}"
    response = api.post("/api/layers/validate", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "invalid_request"
