"""The API docs tell script users that an exported layer swaps itself into their model."""

from __future__ import annotations


def test_export_and_bundle_operations_mention_replace_norm_act() -> None:
    from webapp.api import api as ninja_api

    paths = ninja_api.get_openapi_schema()["paths"]
    for path in ("/api/layers/{layer_id}/export.py", "/api/candidates/{candidate_id}/export.py",
                 "/api/candidates/{candidate_id}/bundle.zip"):
        description = paths[path]["get"].get("description", "")
        assert "replace_norm_act" in description, (path, description)
