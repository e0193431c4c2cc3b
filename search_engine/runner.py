"""A whole search in one process: the Evolution engine driving ``evaluate``.

This is the command line's search loop (the web app runs the same engine
through its database and workers instead). After every result it rewrites
``results.json`` atomically (temporary file, then rename) with every candidate
so far, the Pareto front and the engine's state, so a killed run continues
with ``--resume`` and loses at most the evaluations that were in flight.

Results are told to the engine in the order the candidates were proposed,
whatever order the worker processes finish in. That costs some idle time
when a slow evaluation holds up faster ones, and buys determinism: the same
seed and the same number of workers give the same search, resumed or not.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from search_engine.config import SearchConfig
from search_engine.evolution import Evolution, Proposal
from search_engine.graph import LayerGraph

RESULTS_FORMAT = "layer-lab-results/1"
STOPPED = "stopped"


class ResultsFileError(ValueError):
    """A results file that cannot be resumed (missing, not JSON, another search)."""


# --- evaluation, in this process or a worker process -----------------------------


def evaluate_document(
    document: dict, eval_config: dict, seed: int, device: str | None, deadline: float | None
) -> dict:
    """Evaluate one layer document; always returns an ``EvalResult`` dict.

    Top-level and argument-only so a worker process can run it; an exception
    becomes a "failed" result rather than killing the search.
    """
    from search_engine.config import EvalConfig
    from search_engine.evaluate import evaluate

    def should_stop() -> bool:
        return deadline is not None and time.time() > deadline

    try:
        result = evaluate(LayerGraph.from_dict(document), EvalConfig.from_dict(eval_config),
                          seed=seed, device=device, should_stop=should_stop)
        return result.to_dict()
    except Exception as exc:  # noqa: BLE001 - one bad candidate must not end the search
        return {"status": "failed", "rejection_reason": "error",
                "message": f"{type(exc).__name__}: {exc}", "scores": {}, "curves": {},
                "timings": {}, "device": device or "cpu"}


def _limit_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


# One torch thread per evaluation process. The proxy's tensors are small, so a
# second thread mostly spins and synchronises: at cpu-quick size it buys little
# wall time and costs CPU time (benchmarks.proxy_cost, --threads 2). Parallelism
# comes from evaluating several candidates at once (--workers), one per core.
EVAL_THREADS = 1


class _InlineExecutor(Executor):
    """Runs each call at submit time, with `threads` torch threads: one worker, no process."""

    def __init__(self, threads: int = EVAL_THREADS) -> None:
        self.threads = threads

    def submit(self, fn, /, *args, **kwargs) -> Future:  # noqa: ANN001
        import torch

        future: Future = Future()
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            future.set_result(fn(*args, **kwargs))
        finally:
            torch.set_num_threads(before)
        return future


def make_executor(workers: int, threads: int = EVAL_THREADS) -> Executor:
    """`workers` evaluation processes (or this one, for 1), each with `threads` torch threads."""
    if workers <= 1:
        return _InlineExecutor(threads)
    # spawn, not fork: forking a process whose torch thread pool is running can hang
    return ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                               initializer=_limit_threads, initargs=(threads,))


# --- results.json ------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None (strict JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_atomic(path: Path, doc: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(json_safe(doc), indent=1, allow_nan=False))
    os.replace(tmp, path)


def load_results(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: no such file to resume") from None
    except (OSError, ValueError) as exc:
        raise ResultsFileError(f"{path}: not a readable results file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != RESULTS_FORMAT or "state" not in doc:
        raise ResultsFileError(f"{path}: not a {RESULTS_FORMAT} file with a saved state")
    return doc


def candidate_record(index: int, proposal: Proposal, result: dict) -> dict:
    return {
        "index": index,
        "key": proposal.key,
        "document": proposal.graph.to_dict(),
        "parent": proposal.parent,
        "mutation": proposal.mutation,
        "tournament": proposal.tournament,
        "status": result.get("status"),
        "rejection_reason": result.get("rejection_reason"),
        "message": result.get("message", ""),
        "scores": result.get("scores") or {},
        "timings": result.get("timings") or {},
        "device": result.get("device"),
    }


def results_document(evo: Evolution, candidates: list[dict], *, elapsed: float,
                     stopped_reason: str | None) -> dict:
    return {
        "format": RESULTS_FORMAT,
        "config": evo.config.to_dict(),
        "seed": evo.seed,
        "candidates": candidates,
        "pareto_front": evo.pareto_front(),
        "population": [m["key"] for m in evo.population],
        "counts": evo.counts,
        "funnel": evo.funnel,
        "refusals": evo.refusals,
        "finished": evo.done,
        "stopped_reason": stopped_reason,
        "elapsed_seconds": elapsed,
        "state": evo.state_dict(),
    }


# --- the loop ----------------------------------------------------------------------


def _start(config: SearchConfig, seed: int, out_path: Path, resume: bool,
           seed_graphs: Sequence[LayerGraph], probe: bool) -> tuple[Evolution, list[dict], float]:
    screen = None
    if probe:
        from search_engine.rejection import probe_screen

        screen = probe_screen(seed)  # evaluate_document evaluates with this seed too
    if not resume:
        return Evolution(config, seed=seed, seed_graphs=seed_graphs, screen=screen), [], 0.0
    saved = load_results(out_path)
    evo = Evolution.from_state_dict(saved["state"], screen=screen)
    if evo.config != config or evo.seed != seed:
        raise ResultsFileError(
            f"{out_path}: holds a search with another config or seed; resume it without "
            "changing them, or write to a new --out")
    return evo, list(saved.get("candidates", [])), float(saved.get("elapsed_seconds", 0.0))


def run_search(
    config: SearchConfig,
    seed: int,
    *,
    out_path: str | Path,
    resume: bool = False,
    workers: int = 1,
    device: str | None = None,
    progress: Callable[[dict], None] | None = None,
    seed_graphs: Sequence[LayerGraph] = (),
    probe: bool = True,
) -> dict:
    """Run (or resume) a search to its budget or ``config.max_wall_seconds``.

    With ``probe`` (the default) the engine screens each generated layer with
    the numeric probe before handing it out, so refused layers cost no budget
    slot (tests with a fake evaluator turn it off).
    ``max_wall_seconds`` counts from this call. Evaluations cut off by it stay
    in flight in the saved state, so ``--resume`` evaluates them again.
    ``progress`` gets ``{"told", "budget", "counts", "key", "status", "front"}``
    after every result. Returns the final results document.
    """
    out_path = Path(out_path)
    evo, candidates, elapsed_before = _start(config, seed, out_path, resume, seed_graphs, probe)
    started = time.time()
    deadline = None if config.max_wall_seconds is None else started + config.max_wall_seconds
    eval_config = config.eval.to_dict()
    stopped_reason: str | None = None

    def save() -> dict:
        doc = results_document(evo, candidates, elapsed=elapsed_before + time.time() - started,
                               stopped_reason=stopped_reason)
        write_atomic(out_path, doc)
        return doc

    def submit(proposal: Proposal) -> tuple[Proposal, Future]:
        return proposal, executor.submit(evaluate_document, proposal.graph.to_dict(),
                                         eval_config, evo.seed, device, deadline)

    save()
    executor = make_executor(workers)
    halted = False  # a cut-off evaluation was met: tell nothing after it
    try:
        pending: deque[tuple[Proposal, Future]] = deque()
        for proposal in evo.in_flight:  # left over from an interrupted run
            pending.append(submit(proposal))
        while True:
            if stopped_reason is None and deadline is not None and time.time() > deadline:
                stopped_reason = "max_wall_seconds"
            while stopped_reason is None and len(pending) < workers:
                proposal = evo.ask()
                if proposal is None:
                    break
                pending.append(submit(proposal))
            if not pending:
                break
            proposal, future = pending.popleft()
            result = future.result()
            if halted or result.get("rejection_reason") == STOPPED:
                # Keep it, and to keep the order everything after it, in flight
                # in the saved state so that --resume evaluates them again.
                halted = True
                stopped_reason = stopped_reason or "max_wall_seconds"
                continue
            evo.tell(proposal.key, result)
            candidates.append(candidate_record(len(candidates), proposal, result))
            save()
            if progress is not None:
                progress({"told": len(candidates), "budget": config.budget,
                          "counts": evo.counts, "key": proposal.key,
                          "status": result.get("status"), "front": evo.pareto_front()})
    finally:
        # after Ctrl-C, do not wait for evaluations nobody will record
        executor.shutdown(wait=False, cancel_futures=True)
    return save()
