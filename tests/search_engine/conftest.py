"""Shared fixtures for the graph-core tests: reference layers, loading generated code,
and one torch thread for the suites that train tiny models."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator

import pytest
import torch

from search_engine.graph import LayerGraph
from search_engine.library import reference_layers


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One torch thread (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``): tiny
    models run faster so, and other suites share the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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

