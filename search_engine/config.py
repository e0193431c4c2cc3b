"""Search and evaluation settings: frozen dataclasses with strict validation.

A configuration travels as JSON (the web app stores it, the CLI reads it), so
`from_dict` is the one entry point that checks every value and names the
offending field with a dotted path (``eval.steps``). Missing keys take the
dataclass defaults (the paper's B-search values); unknown keys are an error so
that a typo never silently falls back to a default.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

DATASETS = ("synthetic", "digits", "cifar10")
ARCHITECTURE_NAMES = ("resnet50", "mobilenetv2", "efficientnet_b0")
SCHEDULES = ("constant", "cosine")
MODES = ("B", "S")
STRATEGIES = ("evolution", "random")
MAX_GRAPH_NODES = 256  # GRAPH_FORMAT.md's hard cap
MAX_WALL_SECONDS = 366 * 24 * 3600  # a year: past that a wall-time limit means none


class ConfigError(ValueError):
    """A configuration that cannot be used; `.code` is machine-readable, `.field` dotted."""

    def __init__(self, code: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


# --- small typed checkers; each raises ConfigError naming the field -----------------


def _int(name: str, value: Any, *, lo: int | None = None, hi: int | None = None) -> int:
    # bool is an int subclass in Python; a JSON true must not pass as 1 step.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("bad_value", name, f"{name} must be an integer, got {value!r}")
    if lo is not None and value < lo:
        raise ConfigError("bad_value", name, f"{name} must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError("bad_value", name, f"{name} must be <= {hi}, got {value}")
    return value


def _float(
    name: str,
    value: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError("bad_value", name, f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ConfigError("bad_value", name, f"{name} must be finite, got {value!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        op = ">" if lo_open else ">="
        raise ConfigError("bad_value", name, f"{name} must be {op} {lo}, got {value}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        op = "<" if hi_open else "<="
        raise ConfigError("bad_value", name, f"{name} must be {op} {hi}, got {value}")
    return v


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError("bad_value", name, f"{name} must be true or false, got {value!r}")
    return value


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(
            "bad_value", name, f"{name} must be one of {', '.join(choices)}; got {value!r}"
        )
    return value


def _optional(name: str, value: Any, check, **kw):  # noqa: ANN001, ANN202
    return None if value is None else check(name, value, **kw)


def _check_keys(prefix: str, data: Any, allowed: set[str]) -> None:
    if not isinstance(data, dict):
        raise ConfigError("bad_value", prefix or None, f"{prefix or 'config'} must be an object")
    for key in data:
        if key not in allowed:
            name = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError("unknown_key", name, f"unknown setting {name!r}")


@dataclass(frozen=True)
class EvalConfig:
    """How one candidate layer is evaluated (proxy task, rejection protocols).

    `warmup_steps` is our addition, not the paper's (PAPER.md trains at the
    base rate from the first step): the learning rate rises linearly from
    lr/warmup_steps to lr over the first `warmup_steps` steps, then follows
    `schedule` over the remaining steps. 0 means no warmup. Stored configs
    written before the field existed load with the default 0.

    `grad_clip` is ours too: before each optimiser step the gradients are
    rescaled so that their global L2 norm is at most this value (None: never;
    why the paper presets use 1.0 is at presets._PAPER_EVAL). Stored configs
    written before the field existed load with None.

    `image_size` is ours where it is not 32: images are resized to
    image_size x image_size (area interpolation) when the data set is loaded;
    training crops are 3/4 of it (the paper's 24 of 32) and validation uses
    the full images. `branch_init` is the initial scale of the
    affine step that ends each residual branch; the paper's reference
    placement uses 0 (PAPER.md), which cpu-quick departs from (see
    presets.py). Stored configs written before these fields existed load
    with 32 and 0.0.

    `stats_batches` is ours too (0: off, the paper's protocol): before every
    validation the running estimates of the batch statistics are recomputed
    as a plain average over this many training batches, in training mode
    without gradients ("precise BN", Wu & Johnson 2021, "Rethinking Batch in
    BatchNorm"). The running estimates of a short run lag the weights, so a
    layer with batch statistics otherwise reads worse in evaluation mode than
    it is (presets.py has the measurements). Stored configs written before
    the field existed load with 0.
    """

    dataset: str = "cifar10"
    data_dir: str | None = None
    architectures: tuple[str, ...] = ARCHITECTURE_NAMES
    width: float = 1.0
    depth: float = 1.0
    steps: int = 2000
    batch_size: int = 128
    eval_batch_size: int = 512
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    schedule: str = "constant"
    warmup_steps: int = 0
    grad_clip: float | None = None
    bf16: bool = False
    quality_steps: int = 100
    quality_threshold: float | None = None
    stability_steps: int = 100
    stability_threshold: float = 1e8
    progress_every: int = 50
    train_examples: int | None = None
    val_examples: int | None = None
    image_size: int = 32
    branch_init: float = 0.0
    stats_batches: int = 0

    def __post_init__(self) -> None:
        _validate_eval(self)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["architectures"] = list(self.architectures)
        return d

    @classmethod
    def from_dict(cls, d: dict, *, prefix: str = "eval") -> EvalConfig:
        _check_keys(prefix, d, {f.name for f in fields(cls)})
        data = dict(d)
        if "architectures" in data:
            archs = data["architectures"]
            if isinstance(archs, str) or not isinstance(archs, list | tuple):
                raise ConfigError(
                    "bad_value", f"{prefix}.architectures", "architectures must be a list"
                )
            data["architectures"] = tuple(archs)
        try:
            return cls(**data)
        except ConfigError as err:
            # Validation names fields without the prefix; add it for nested use.
            if err.field and prefix and not err.field.startswith(prefix + "."):
                raise ConfigError(err.code, f"{prefix}.{err.field}", f"{prefix}.{err}") from None
            raise

    def chance(self, num_classes: int) -> float:
        return 1.0 / num_classes

    def quality_gate(self, num_classes: int) -> float:
        """The quality test's threshold: explicit, or twice chance (20% for 10 classes)."""
        if self.quality_threshold is not None:
            return self.quality_threshold
        return 2.0 / num_classes


def _validate_eval(c: EvalConfig) -> None:
    _choice("dataset", c.dataset, DATASETS)
    if c.data_dir is not None and not isinstance(c.data_dir, str):
        raise ConfigError("bad_value", "data_dir", "data_dir must be a string or null")
    archs = c.architectures
    if not isinstance(archs, tuple) or not archs:
        raise ConfigError("bad_value", "architectures", "architectures must be a non-empty list")
    for a in archs:
        _choice("architectures", a, ARCHITECTURE_NAMES)
    if len(set(archs)) != len(archs):
        raise ConfigError("bad_value", "architectures", "architectures must not repeat")
    _float("width", c.width, lo=0.0, hi=4.0, lo_open=True)
    _float("depth", c.depth, lo=0.0, hi=4.0, lo_open=True)
    _int("steps", c.steps, lo=1, hi=10_000_000)
    _int("batch_size", c.batch_size, lo=1, hi=65536)
    _int("eval_batch_size", c.eval_batch_size, lo=1, hi=65536)
    _float("lr", c.lr, lo=0.0, hi=100.0, lo_open=True)
    _float("momentum", c.momentum, lo=0.0, hi=1.0, hi_open=True)
    _bool("nesterov", c.nesterov)
    if c.nesterov and c.momentum == 0:
        raise ConfigError("bad_value", "nesterov", "nesterov needs momentum > 0")
    _float("weight_decay", c.weight_decay, lo=0.0, hi=1.0)
    _choice("schedule", c.schedule, SCHEDULES)
    _int("warmup_steps", c.warmup_steps, lo=0, hi=c.steps - 1)
    _optional("grad_clip", c.grad_clip, _float, lo=0.0, hi=1e6, lo_open=True)
    _bool("bf16", c.bf16)
    _int("quality_steps", c.quality_steps, lo=0, hi=c.steps)
    _optional("quality_threshold", c.quality_threshold, _float, lo=0.0, hi=1.0)
    _int("stability_steps", c.stability_steps, lo=0, hi=100_000)
    _float("stability_threshold", c.stability_threshold, lo=0.0, hi=1e30, lo_open=True)
    _int("progress_every", c.progress_every, lo=1, hi=10_000_000)
    _optional("train_examples", c.train_examples, _int, lo=1, hi=100_000_000)
    _optional("val_examples", c.val_examples, _int, lo=1, hi=100_000_000)
    _int("image_size", c.image_size, lo=8, hi=32)
    if c.image_size % 4:
        raise ConfigError("bad_value", "image_size",
                          f"image_size must be a multiple of 4 (crops are 3/4 of it), got {c.image_size}")
    _float("branch_init", c.branch_init, lo=0.0, hi=1.0)
    _int("stats_batches", c.stats_batches, lo=0, hi=10_000)


@dataclass(frozen=True)
class SearchConfig:
    """A whole search: evolution settings plus the per-candidate EvalConfig.

    `strategy` is "evolution" (tournaments and mutation) or "random" (the
    paper's baseline: random layers only, with the same rejection and
    screening). `bootstrap` is our addition to the paper: selection starts at
    the first survivor, with near-misses as parents until the population can
    hold a tournament (search_engine.evolution); False gives the paper's
    behaviour. Stored configs written before either field existed load with
    the defaults ("evolution", True).
    """

    mode: str = "B"
    strategy: str = "evolution"
    bootstrap: bool = True
    population_size: int = 100
    tournament_size: int = 25
    budget: int = 5000
    max_wall_seconds: float | None = None
    parallel: int = 1
    initial_nodes: int = 4
    max_nodes: int = 16
    rerank_top_k: int = 10
    rerank_keep: int = 3
    rerank_seeds: int = 3
    rerank_steps: int = 10000
    eval: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self) -> None:
        _choice("mode", self.mode, MODES)
        _choice("strategy", self.strategy, STRATEGIES)
        _bool("bootstrap", self.bootstrap)
        _int("population_size", self.population_size, lo=2, hi=100_000)
        _int("tournament_size", self.tournament_size, lo=1, hi=self.population_size)
        _int("budget", self.budget, lo=1, hi=10_000_000)
        _optional("max_wall_seconds", self.max_wall_seconds, _float, lo=0.0, hi=MAX_WALL_SECONDS, lo_open=True)
        _int("parallel", self.parallel, lo=1, hi=4096)
        _int("initial_nodes", self.initial_nodes, lo=1, hi=MAX_GRAPH_NODES)
        _int("max_nodes", self.max_nodes, lo=self.initial_nodes, hi=MAX_GRAPH_NODES)
        _int("rerank_top_k", self.rerank_top_k, lo=0, hi=10_000)
        _int("rerank_keep", self.rerank_keep, lo=0, hi=self.rerank_top_k)
        _int("rerank_seeds", self.rerank_seeds, lo=1, hi=100)
        if not isinstance(self.eval, EvalConfig):
            raise ConfigError("bad_value", "eval", "eval must be an EvalConfig")
        # The rerank retrains with eval's settings over rerank_steps, warmup included.
        _int("rerank_steps", self.rerank_steps, lo=self.eval.warmup_steps + 1, hi=10_000_000)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "eval"}
        d["eval"] = self.eval.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SearchConfig:
        _check_keys("", d, {f.name for f in fields(cls)})
        data = dict(d)
        if "eval" in data:
            data["eval"] = EvalConfig.from_dict(data["eval"], prefix="eval")
        return cls(**data)


def deep_merge(base: dict, overrides: dict, *, prefix: str = "") -> dict:
    """`base` with `overrides` applied recursively; dicts merge, other values replace.

    Keys unknown to `base` are an error here too, so that the field named in
    the message is the one the user wrote.
    """
    if not isinstance(overrides, dict):
        raise ConfigError("bad_value", prefix or None, f"{prefix or 'overrides'} must be an object")
    out = dict(base)
    for key, value in overrides.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if key not in base:
            raise ConfigError("unknown_key", name, f"unknown setting {name!r}")
        if isinstance(base[key], dict):
            out[key] = deep_merge(base[key], value, prefix=name)
        else:
            out[key] = value
    return out
