"""Command line: search, evaluate and export layers without the web application.

    python -m search_engine search --preset cpu-quick --budget 50 --seed 1 --out results.json
    python -m search_engine search --out results.json --resume
    python -m search_engine evaluate LAYER.json --preset cpu-quick
    python -m search_engine export LAYER.json
    python -m search_engine presets
    python -m search_engine data cifar10 [--data-dir DIR]

LAYER may be a layer-graph/1 file or the name of a reference layer
(``evonorm_s0``). Mistakes in arguments, layer files or settings print one
line and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, NoReturn

from search_engine.config import ConfigError, SearchConfig
from search_engine.evolution import EvolutionError
from search_engine.graph import GraphError, LayerGraph

PROG = "python -m search_engine"
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A user mistake: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


# --- argument parsing ---------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Search, evaluate and export "
                     "normalization-activation layers (the layer lab's engine).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    search = sub.add_parser("search", help="run or resume an evolutionary search")
    search.add_argument("--preset", help="starting configuration (see `presets`)")
    search.add_argument("--budget", type=int,
                        help="candidates to train; layers refused by the free checks (static "
                        "checks, numeric probe) do not count")
    search.add_argument("--strategy", choices=("evolution", "random"),
                        help="evolution (default) or random search, the paper's baseline "
                        "(same checks and rejections)")
    search.add_argument("--seed", type=int, help="random seed (default 0)")
    search.add_argument("--out", default="results.json", help="results file (default %(default)s)")
    search.add_argument("--resume", action="store_true",
                        help="continue the search saved in --out")
    search.add_argument("--workers", type=int,
                        help="evaluations in parallel processes (default: the config's parallel)")
    _add_common(search)
    search.add_argument("--seed-layer", action="append", default=[], metavar="FILE",
                        help="start the population with this layer (repeatable)")
    search.add_argument("--seed-reference", action="append", default=[], metavar="NAME",
                        help="start with a reference layer, e.g. evonorm_s0 (repeatable)")
    search.add_argument("--quiet", action="store_true", help="no progress bar")

    evaluate = sub.add_parser("evaluate", help="evaluate one layer and print the result as JSON")
    evaluate.add_argument("layer", metavar="LAYER", help="layer file or reference name")
    evaluate.add_argument("--preset", required=True, help="evaluation settings (see `presets`)")
    evaluate.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    _add_common(evaluate)

    export = sub.add_parser("export", help="print the layer as a PyTorch module")
    export.add_argument("layer", metavar="LAYER", help="layer file or reference name")
    export.add_argument("--class-name", default="EvolvedNorm", help="default %(default)s")

    sub.add_parser("presets", help="list the presets")

    data = sub.add_parser("data", help="download a data set that is not bundled (needs internet)")
    data.add_argument("dataset", choices=("cifar10",),
                      help="cifar10: the binary release, checked against its published size and MD5")
    data.add_argument("--data-dir", default=None,
                      help="folder to put it in, the eval.data_dir of searches (default: ./data)")
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", help="torch device, e.g. cpu or cuda (default: automatic)")
    parser.add_argument("--override", action="append", default=[], metavar="KEY=VALUE",
                        help="change one setting, e.g. eval.steps=50 (repeatable)")


def parse_overrides(items: Sequence[str], template: dict) -> dict:
    """``["eval.steps=50", ...]`` as the nested overrides shape of build_config.

    Values are JSON where they parse (50, 0.1, true, null, ["a"]), else text;
    text for a list setting is split at commas (eval.architectures=resnet50,mobilenetv2).
    """
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        path = key.strip().split(".")
        if not sep or not all(path):
            raise UsageError(f"--override {item!r}: expected KEY=VALUE, e.g. eval.steps=50")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(value, str) and isinstance(_lookup(template, path), list):
            value = [part.strip() for part in value.split(",") if part.strip()]
        target = overrides
        for part in path[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise UsageError(f"--override {item!r}: {part!r} is set twice")
        target[path[-1]] = value
    return overrides


def _lookup(doc: Any, path: Sequence[str]) -> Any:
    for part in path:
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def make_config(preset: str, overrides: Sequence[str], budget: int | None = None,
                strategy: str | None = None) -> SearchConfig:
    from search_engine.presets import build_config, get_preset

    parsed = parse_overrides(overrides, get_preset(preset).to_dict())
    if budget is not None:
        parsed["budget"] = budget
    if strategy is not None:
        parsed["strategy"] = strategy
    return build_config(preset, parsed)


def load_layer(spec: str) -> LayerGraph:
    """A layer from a file, or a reference layer by name when no such file exists."""
    path = Path(spec)
    if path.is_file():
        try:
            return LayerGraph.from_json(path.read_bytes())
        except GraphError as err:
            raise UsageError(f"{spec}: {err}") from None
        except OSError as err:
            raise UsageError(f"{spec}: cannot read ({err.strerror})") from None
    from search_engine.library import load_reference

    try:
        return load_reference(spec)
    except (KeyError, ValueError, GraphError):
        raise UsageError(f"{spec}: no such file, and no reference layer of that name") from None


# --- commands ----------------------------------------------------------------------


def cmd_search(args: argparse.Namespace) -> int:
    from search_engine.runner import ResultsFileError, load_results, run_search

    if args.resume and (args.seed_layer or args.seed_reference):
        raise UsageError("--seed-layer/--seed-reference only apply when a search starts, "
                         "not with --resume")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1")
    config, seed = _search_config(args, load_results if args.resume else None)
    seeds = [load_layer(s) for s in args.seed_layer] + [load_layer(s) for s in args.seed_reference]
    for graph in seeds:
        if config.mode == "S" and graph.mode == "B":
            raise UsageError(f"seed layer {graph.name[:40]!r} uses batch statistics; "
                             "an S search allows none")
    workers = args.workers or config.parallel
    bar = _progress_bar(args, config, Path(args.out))
    try:
        doc = run_search(config, seed, out_path=args.out, resume=args.resume, workers=workers,
                         device=args.device, progress=bar, seed_graphs=seeds)
    except ResultsFileError as err:
        raise UsageError(str(err)) from None
    finally:
        if bar is not None:
            bar.close()
    print(_summary(doc, args.out))
    return 0


def _search_config(
    args: argparse.Namespace, load_results: Callable[[Path], dict] | None
) -> tuple[SearchConfig, int]:
    """The config and seed to run: from the arguments, or from the file when resuming
    (where arguments that are given must agree with the file)."""
    if load_results is None:
        if not args.preset:
            raise UsageError("search needs --preset (or --resume to continue --out)")
        return make_config(args.preset, args.override, args.budget, args.strategy), args.seed or 0
    from search_engine.runner import ResultsFileError

    try:
        saved = load_results(Path(args.out))
        config = SearchConfig.from_dict(saved["config"])
    except (ResultsFileError, ConfigError) as err:
        raise UsageError(str(err)) from None
    seed = int(saved["seed"])
    if args.preset and make_config(args.preset, args.override, args.budget,
                                   args.strategy) != config:
        raise UsageError(f"{args.out} holds a search with another config; leave out "
                         "--preset/--override/--budget/--strategy to resume it as saved")
    if not args.preset and (args.override or args.budget is not None or args.strategy):
        raise UsageError("--override/--budget/--strategy need --preset; a resumed search "
                         "keeps its config")
    if args.seed is not None and args.seed != seed:
        raise UsageError(f"{args.out} holds a search with seed {seed}, not {args.seed}")
    return config, seed


class _Bar:
    """A tqdm bar of budget slots spent, fed by run_search's progress callback."""

    def __init__(self, total: int, initial: int) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, initial=initial, unit="cand", file=sys.stderr,
                         dynamic_ncols=True)
        self._told = initial

    def __call__(self, event: dict) -> None:
        c = event["counts"]
        self._bar.update(event["spent"] - self._told)
        self._told = event["spent"]
        self._bar.set_postfix(evaluated=c["evaluated"], rejected=c["rejected"],
                              failed=c["failed"], front=len(event["front"]))

    def close(self) -> None:
        self._bar.close()


def _progress_bar(args: argparse.Namespace, config: SearchConfig, out: Path) -> _Bar | None:
    if args.quiet or not sys.stderr.isatty():
        return None
    initial = 0
    if args.resume:
        from search_engine.evolution import slots_spent

        doc = json.loads(out.read_text())
        counts = doc.get("counts", {})
        told = sum(counts.get(k, 0) for k in ("evaluated", "rejected", "failed"))
        initial = slots_spent(told, (doc.get("funnel") or {}).get("unstable", 0), config.budget)
    return _Bar(config.budget, initial)


def funnel_line(funnel: dict) -> str:
    """The funnel in one line: ``drawn 412 > refused: static 80, probe 190 > sent 142 > ...``."""
    f = funnel
    sent = f["drawn"] - f["refused_static"] - f["refused_probe"]
    trained = f["low_quality"] + f["rejected_other"] + f["failed"] + f["evaluated"]
    return (f"funnel: drawn {f['drawn']} > refused free: static {f['refused_static']}, "
            f"probe {f['refused_probe']} > sent {sent}: unstable {f['unstable']}, "
            f"in flight {f['in_flight']} > reached training {trained} (the budget): "
            f"low quality {f['low_quality']}, other rejections {f['rejected_other']}, "
            f"failed {f['failed']}, evaluated {f['evaluated']}")


def _summary(doc: dict, out: str) -> str:
    c = doc["counts"]
    told = c["evaluated"] + c["rejected"] + c["failed"]
    unstable = doc["funnel"]["unstable"]
    text = (f"{told} candidates ({c['evaluated']} evaluated, {c['rejected']} rejected of which "
            f"{unstable} unstable, {c['failed']} failed), {told - unstable} reached training; "
            f"Pareto front: {len(doc['pareto_front'])} layer(s); results in {out}")
    if not doc["finished"]:
        text += f"; stopped ({doc['stopped_reason']}): continue with --resume"
    text += "\n" + funnel_line(doc["funnel"])
    if doc["finished"] and not doc["pareto_front"]:
        reasons = Counter(c["rejection_reason"] or c["status"] for c in doc["candidates"])
        text += ("\nno layer passed the rejection protocols ("
                 + ", ".join(f"{reason} {n}" for reason, n in reasons.most_common())
                 + "); a larger --budget gives the search more tries, or start from layers "
                 "that train: --seed-reference NAME (e.g. evonorm_s0) or --seed-layer FILE")
    return text


def cmd_evaluate(args: argparse.Namespace) -> int:
    graph = load_layer(args.layer)
    config = make_config(args.preset, args.override)
    from search_engine.evaluate import evaluate
    from search_engine.runner import json_safe

    result = evaluate(graph, config.eval, seed=args.seed, device=args.device)
    print(json.dumps(json_safe(result.to_dict()), indent=1))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from search_engine.codegen import generate_source

    graph = load_layer(args.layer)
    try:
        source = generate_source(graph, class_name=args.class_name)
    except ValueError as err:
        raise UsageError(f"--class-name: {err}") from None
    sys.stdout.write(source if source.endswith("\n") else source + "\n")
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from search_engine.presets import PRESETS

    for name, description in PRESETS.items():
        print(f"{name}: {description}")
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from search_engine.datasets import DatasetError, download_cifar10

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        root = download_cifar10(args.data_dir, log=log)
    except DatasetError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return EXIT_FAILURE
    print(root)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "search": cmd_search,
    "evaluate": cmd_evaluate,
    "export": cmd_export,
    "presets": cmd_presets,
    "data": cmd_data,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError, GraphError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (EvolutionError, BrokenProcessPool) as err:
        # the search stopped, not the user's mistake; results.json holds the state
        print(f"{PROG}: search stopped: {err or type(err).__name__}; "
              "continue with --resume", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; a search continues with --resume", file=sys.stderr)
        return EXIT_INTERRUPTED
