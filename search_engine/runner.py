"""A whole search in one process: the Evolution engine driving ``evaluate``.

This is the command line's search loop (the web app runs the same engine
through its database and workers instead). It logs every proposal and result
to an append-only event log and checkpoints the engine now and then
(:mod:`search_engine.results_file`), so a killed run continues with
``--resume`` and loses at most the evaluations that were in flight.

Results are told to the engine in the order the candidates were proposed,
whatever order the worker processes finish in. That costs some idle time
when a slow evaluation holds up faster ones, and buys determinism: the same
seed and the same number of workers give the same search, resumed or not.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from search_engine.config import SearchConfig
from search_engine.evolution import Evolution, Proposal
from search_engine.graph import LayerGraph
from search_engine.results_file import (
    CHECKPOINT_EVERY,
    CHECKPOINT_SECONDS,
    RESULTS_FORMAT,
    EventLog,
    RecordingScreen,
    ResultsFileError,
    ask_event,
    candidates,
    events_path,
    json_safe,
    load_results,
    read_events,
    replay,
    tell_event,
    write_atomic,
)

__all__ = ["RESULTS_FORMAT", "ResultsFileError", "json_safe", "load_results", "run_search",
           "write_atomic"]

STOPPED = "stopped"


# --- evaluation, in this process or a worker process -----------------------------


def evaluate_document(
    document: dict, eval_config: dict, seed: int, device: str | None, deadline: float | None
) -> dict:
    """Evaluate one layer document; always returns an ``EvalResult`` dict, its
    ``timings["cpu"]`` the CPU-seconds this process spent on it.

    Top-level and argument-only so a worker process can run it; an exception
    becomes a "failed" result rather than killing the search.
    """
    from search_engine.config import EvalConfig
    from search_engine.evaluate import evaluate

    def should_stop() -> bool:
        return deadline is not None and time.time() > deadline

    cpu = time.process_time()
    try:
        result = evaluate(LayerGraph.from_dict(document), EvalConfig.from_dict(eval_config),
                          seed=seed, device=device, should_stop=should_stop).to_dict()
    except Exception as exc:  # noqa: BLE001 - one bad candidate must not end the search
        result = {"status": "failed", "rejection_reason": "error",
                  "message": f"{type(exc).__name__}: {exc}", "scores": {}, "curves": {},
                  "timings": {}, "device": device or "cpu"}
    result["timings"]["cpu"] = time.process_time() - cpu
    return result


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


# --- the summary document --------------------------------------------------------------


def results_document(evo: Evolution, *, events_file: str, events: int, elapsed: float,
                     cpu: float, stopped_reason: str | None,
                     finished_candidates: list[dict] | None) -> dict:
    """The summary; ``finished_candidates`` only when the run ends or stops."""
    doc = {
        "format": RESULTS_FORMAT,
        "config": evo.config.to_dict(),
        "seed": evo.seed,
        "funnel": evo.funnel,
        "refusals": evo.refusals,
        "counts": evo.counts,
        "pareto_front": evo.pareto_front(),
        "population": [m["key"] for m in evo.population],
        "finished": evo.done,
        "stopped_reason": stopped_reason,
        "elapsed_seconds": elapsed,
        "cpu_seconds": cpu,
        "events_file": events_file,
        "events": events,  # how many of its events the checkpoint below covers
        "state": evo.state_dict(compact=True),
    }
    if finished_candidates is not None:
        doc["candidates"] = finished_candidates
    return doc


# --- the loop ----------------------------------------------------------------------


class _Search:
    """The engine, its event log and the clocks of one run (fresh or resumed)."""

    def __init__(self, config: SearchConfig, seed: int, out_path: Path, resume: bool,
                 seed_graphs: Sequence[LayerGraph], probe: bool, workers: int) -> None:
        self.out_path = out_path
        self.pooled = workers > 1  # worker CPU is not this process's
        self.started, self.cpu_started = time.time(), time.process_time()
        self.elapsed_before = self.cpu_before = 0.0
        self.worker_cpu = 0.0
        self.told = 0
        screen = None
        if probe:
            from search_engine.rejection import probe_screen

            screen = probe_screen(seed)  # evaluate_document evaluates with this seed too
        if not resume:
            self.screen = RecordingScreen(screen) if screen else None
            self.evo = Evolution(config, seed=seed, seed_graphs=seed_graphs, screen=self.screen)
            self.events: list[dict] = []
            self.log = EventLog(out_path)
            return
        saved = load_results(out_path)
        events = read_events(out_path)
        covered = int(saved.get("events", 0))
        if len(events) < covered:
            raise ResultsFileError(f"{out_path}: the event log is shorter than its checkpoint")
        verdicts = {k: v for e in events if e["event"] == "ask" for k, v in e["screened"].items()}
        self.screen = RecordingScreen(screen, verdicts) if screen else None
        known = {e["key"] for e in events[:covered] if e["event"] == "ask"}
        self.evo = Evolution.from_state_dict(saved["state"], is_known=known.__contains__,
                                             screen=self.screen)
        if self.evo.config != config or self.evo.seed != seed:
            raise ResultsFileError(
                f"{out_path}: holds a search with another config or seed; resume it without "
                "changing them, or write to a new --out")
        told = list(replay(self.evo, events[covered:]))
        last = told[-1] if told else None
        self.elapsed_before = last["elapsed"] if last else float(saved["elapsed_seconds"])
        self.cpu_before = last["cpu"] if last else float(saved.get("cpu_seconds", 0.0))
        if self.screen is not None:
            self.screen.take_new()  # replayed verdicts are logged already
        self.events = events
        self.log = EventLog(out_path, keep=len(events))
        self.told = sum(e["event"] == "tell" for e in events)

    def elapsed(self) -> float:
        return self.elapsed_before + time.time() - self.started

    def cpu(self) -> float:
        return self.cpu_before + time.process_time() - self.cpu_started + self.worker_cpu

    def record(self, event: dict) -> None:
        self.events.append(event)
        self.log.append(event)

    def ask(self) -> Proposal | None:
        proposal = self.evo.ask()
        if proposal is not None:
            screened = self.screen.take_new() if self.screen is not None else {}
            self.record(ask_event(proposal, screened))
        return proposal

    def tell(self, proposal: Proposal, result: dict) -> None:
        self.evo.tell(proposal.key, result)
        if self.pooled:
            self.worker_cpu += float((result.get("timings") or {}).get("cpu", 0.0))
        self.told += 1
        self.record(tell_event(proposal.key, result, elapsed=self.elapsed(), cpu=self.cpu()))

    def save(self, stopped_reason: str | None, *, final: bool) -> dict:
        doc = results_document(self.evo, events_file=events_path(self.out_path).name,
                               events=self.log.count, elapsed=self.elapsed(),
                               cpu=self.cpu(), stopped_reason=stopped_reason,
                               finished_candidates=candidates(self.events) if final else None)
        write_atomic(self.out_path, doc)
        return doc


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
    ``progress`` gets ``{"told", "spent" (budget slots), "budget", "counts", "funnel", "key", "status",
    "front"}`` after every result. Returns the final summary document, with
    every candidate.
    """
    out_path = Path(out_path)
    run = _Search(config, seed, out_path, resume, seed_graphs, probe, workers)
    evo = run.evo
    deadline = None if config.max_wall_seconds is None else run.started + config.max_wall_seconds
    eval_config = config.eval.to_dict()
    stopped_reason: str | None = None

    def submit(proposal: Proposal) -> tuple[Proposal, Future]:
        return proposal, executor.submit(evaluate_document, proposal.graph.to_dict(),
                                         eval_config, evo.seed, device, deadline)

    run.save(None, final=False)
    last_save, since_save = time.time(), 0
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
                proposal = run.ask()
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
            run.tell(proposal, result)
            since_save += 1
            if since_save >= CHECKPOINT_EVERY or time.time() - last_save > CHECKPOINT_SECONDS:
                run.save(None, final=False)
                last_save, since_save = time.time(), 0
            if progress is not None:
                progress({"told": run.told, "spent": evo.spent, "budget": config.budget,
                          "counts": evo.counts,
                          "funnel": evo.funnel, "key": proposal.key,
                          "status": result.get("status"), "front": evo.pareto_front()})
    finally:
        # after Ctrl-C, do not wait for evaluations nobody will record
        executor.shutdown(wait=False, cancel_futures=True)
        run.log.close()
    return run.save(stopped_reason, final=True)
