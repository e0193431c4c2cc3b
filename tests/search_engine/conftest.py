"""Shared fixtures for the graph-core tests: reference layers and loading generated code."""

from __future__ import annotations

import types
from collections.abc import Callable

import pytest

from search_engine.graph import LayerGraph
from search_engine.library import reference_layers


@pytest.fixture(scope="session")
def references() -> dict[str, LayerGraph]:
    return reference_layers()


def load_generated(source: str, module_name: str = "generated_layer") -> types.ModuleType:
    """Execute generated source as a fresh module (the way a user would import it)."""
    module = types.ModuleType(module_name)
    exec(compile(source, f"<{module_name}>", "exec"), module.__dict__)
    return module


@pytest.fixture
def generated() -> Callable[[str], types.ModuleType]:
    return load_generated

