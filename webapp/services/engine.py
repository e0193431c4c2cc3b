"""The web app's door into ``search_engine``'s search half: configs and evolution state.

Engine errors caused by a client's input become ``InvalidInput`` with the
engine's code and field.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from webapp.errors import InvalidInput

log = logging.getLogger(__name__)


def config_build(*, preset: Any, overrides: Any) -> Any:
    """A validated ``SearchConfig`` from a preset name and overrides (``to_dict`` shape).

    Where data sets live is the operator's business (``LAB_DATA_DIR``, read by
    each worker), never a client's: a path in ``eval.data_dir`` is refused.
    """
    from search_engine.config import ConfigError
    from search_engine.presets import build_config

    if overrides is not None and not isinstance(overrides, dict):
        raise InvalidInput("overrides must be an object", code="bad_value", field="overrides")
    eval_overrides = (overrides or {}).get("eval")
    if isinstance(eval_overrides, dict) and eval_overrides.get("data_dir") is not None:
        raise InvalidInput(
            "eval.data_dir cannot be set: the server decides where data sets are stored; "
            "choose one by name with eval.dataset",
            code="not_allowed", field="eval.data_dir",
        )
    try:
        return build_config(preset, overrides or None)
    except ConfigError as err:
        raise InvalidInput(str(err), code=err.code, field=err.field) from err
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        log.warning("engine raised %r on a client config", err)
        raise InvalidInput(f"invalid configuration: {err}", code="bad_value", field="overrides") from err


def config_load(*, config: dict) -> Any:
    """The ``SearchConfig`` stored with a search."""
    from search_engine.config import SearchConfig

    return SearchConfig.from_dict(config)


def reference_graph(*, name: Any) -> Any:
    from search_engine.library import load_reference

    try:
        return load_reference(name)
    except (KeyError, TypeError, AttributeError) as err:
        raise InvalidInput(f"unknown reference layer {name!r}", code="unknown_reference",
                           field="seed_references") from err


def evolution_new(*, config: Any, seed: int, seed_graphs: Sequence[Any]) -> Any:
    """A fresh engine state; seed layers that do not fit the search are a client error.

    The engine screens every layer it generates with the numeric probe before
    handing it out (refused layers cost no budget). Workers evaluate every
    candidate with the search's seed, so the probe uses that seed too.
    """
    from search_engine.config import ConfigError
    from search_engine.evolution import Evolution
    from search_engine.graph import GraphError
    from search_engine.rejection import probe_screen

    try:
        return Evolution(config, seed=seed, seed_graphs=list(seed_graphs), screen=probe_screen(seed))
    except (ConfigError, GraphError) as err:
        raise InvalidInput(str(err), code=err.code, field="seed_layer_ids") from err
    except ValueError as err:
        raise InvalidInput(str(err), code="bad_value", field="seed_layer_ids") from err


def evolution_load(*, state: dict, is_known: Callable[[str], bool]) -> Any:
    """The engine of a stored search, screening with the probe at the search's seed
    (the seed its candidates are evaluated with; see ``evolution_new``)."""
    from search_engine.evolution import Evolution
    from search_engine.rejection import probe_screen

    return Evolution.from_state_dict(state, is_known=is_known, screen=probe_screen(int(state["seed"])))
