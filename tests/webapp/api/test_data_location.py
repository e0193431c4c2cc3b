"""Issue 11, item 1: where data sets live is the server's setting, never a client's.

A signed-in user could name any server folder in ``eval.data_dir`` and have a
worker read (for CIFAR-10: unpickle) what it found there.
"""

from __future__ import annotations

import pytest

from tests.webapp.helpers import small_overrides
from webapp.models import Search

pytestmark = pytest.mark.django_db


def _create(api, **overrides):
    return api.post_json("/api/searches", {"name": "run", "preset": "cpu-quick",
                                           "overrides": small_overrides(**overrides), "seed": 1})


@pytest.mark.parametrize("data_dir", ["/tmp/planted", "relative/dir", "", "."])
def test_a_data_dir_from_the_client_is_refused_naming_the_field(api, data_dir):
    response = _create(api, eval={"data_dir": data_dir})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == "eval.data_dir"
    assert "data_dir" in error["message"] and "dataset" in error["message"]
    assert not Search.objects.exists()  # nothing stored


def test_null_data_dir_means_the_servers_and_is_stored_as_null(api):
    response = _create(api, eval={"data_dir": None})
    assert response.status_code == 201, response.content
    assert Search.objects.get().config["eval"]["data_dir"] is None


def test_clone_of_a_search_stored_with_a_path_drops_the_path(api, user):
    created = _create(api)
    assert created.status_code == 201
    search = Search.objects.get()
    # A search written before the API refused paths.
    search.config = {**search.config, "eval": {**search.config["eval"], "data_dir": "/tmp/planted"}}
    search.save(update_fields=["config"])
    response = api.post_json(f"/api/searches/{search.pk}/clone", {"name": "again"})
    assert response.status_code == 201, response.content
    assert response.json()["config"]["eval"]["data_dir"] is None


def test_the_server_lists_its_data_sets_and_whether_it_has_each(api, settings, tmp_path):
    settings.LAB_DATA_DIR = tmp_path  # no CIFAR-10 files here
    offered = {d["name"]: d for d in api.get("/api/datasets").json()}
    assert set(offered) == {"cifar10", "digits", "synthetic"}
    assert offered["digits"]["available"] and offered["synthetic"]["available"]
    assert not offered["cifar10"]["available"]


def test_a_data_set_the_server_lacks_is_refused_by_name(api, settings, tmp_path):
    settings.LAB_DATA_DIR = tmp_path
    response = _create(api, eval={"dataset": "cifar10"})
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == "eval.dataset" and error["code"] == "dataset_unavailable"
    assert "digits" in error["message"] and str(tmp_path) not in error["message"]
    assert not Search.objects.exists()
