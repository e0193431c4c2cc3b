"""The CLI search's results files: an append-only event log and checkpoints.

A search writes two files next to each other:

``results.json``
    the summary (format ``layer-lab-results/2``): config, seed, funnel,
    counts, Pareto front, population, whether it finished, and a checkpoint
    of the engine (its compact state, ``Evolution.state_dict(compact=True)``,
    O(population)) with the number of log events it covers. Rewritten
    atomically (temporary file, then rename) every ``CHECKPOINT_EVERY``
    results or ``CHECKPOINT_SECONDS``, and when the search ends or stops;
    only then does it also list every candidate (``"candidates"``).
``results.json.events.jsonl``
    one JSON object per line, appended as the search goes:
    ``{"event": "ask", "key", "document", "parent", "mutation", "tournament",
    "screened": {hash: reason | null}}`` for each proposal (with the screen's
    verdicts on the layers drawn for it) and ``{"event": "tell", "key",
    "result", "elapsed", "cpu"}`` for each result (without its training
    curves; wall and CPU seconds of the whole search so far, resumed runs
    included).

So the cost of writing grows linearly with the search (rewriting one
growing file after every result grew quadratically). ``--resume`` restores
the last checkpoint and replays the events after it: each ask must propose
the logged key again (the screen answers from the logged verdicts, so the
probe is not run twice), each tell is repeated. A torn last line (a kill in
mid-write) is dropped.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from search_engine.evolution import Evolution, Proposal

RESULTS_FORMAT = "layer-lab-results/2"
CHECKPOINT_EVERY = 200
CHECKPOINT_SECONDS = 30.0


class ResultsFileError(ValueError):
    """A results file that cannot be resumed (missing, not JSON, another search)."""


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
    """Write ``doc`` as strict JSON to ``path`` by a rename, so a reader never sees
    half a file (compact: the C encoder only writes without indentation)."""
    try:
        text = json.dumps(doc, allow_nan=False)
    except ValueError:  # a NaN or inf somewhere: written as null
        text = json.dumps(json_safe(doc), allow_nan=False)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def events_path(path: Path) -> Path:
    return path.with_name(path.name + ".events.jsonl")


def load_results(path: Path) -> dict:
    """The summary document at ``path`` (any saved checkpoint)."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultsFileError(f"{path}: no such file to resume") from None
    except (OSError, ValueError) as exc:
        raise ResultsFileError(f"{path}: not a readable results file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != RESULTS_FORMAT or "state" not in doc:
        raise ResultsFileError(f"{path}: not a {RESULTS_FORMAT} file with a saved state")
    return doc


def read_events(path: Path) -> list[dict]:
    """Every complete event in the log (a torn last line is left out)."""
    try:
        text = events_path(path).read_text()
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            break  # a torn line can only be the last one written
    return events


def candidate_record(index: int, ask: dict, tell: dict) -> dict:
    """One finished candidate, as listed in the summary's ``"candidates"``."""
    result = tell["result"]
    return {
        "index": index,
        "key": ask["key"],
        "document": ask["document"],
        "parent": ask["parent"],
        "mutation": ask["mutation"],
        "tournament": ask["tournament"],
        "status": result.get("status"),
        "rejection_reason": result.get("rejection_reason"),
        "message": result.get("message", ""),
        "scores": result.get("scores") or {},
        "gate_scores": result.get("gate_scores") or {},
        "timings": result.get("timings") or {},
        "device": result.get("device"),
        "elapsed": tell.get("elapsed"),
        "cpu": tell.get("cpu"),
    }


def candidates(events: list[dict]) -> list[dict]:
    """Finished candidates in the order their results were told."""
    asks = {e["key"]: e for e in events if e["event"] == "ask"}
    tells = [e for e in events if e["event"] == "tell"]
    return [candidate_record(i, asks[t["key"]], t) for i, t in enumerate(tells)]


def load_candidates(path: str | Path) -> list[dict]:
    """The candidates of the search saved at ``path``, finished or not."""
    return candidates(read_events(Path(path)))


class EventLog:
    """Appends events to the log; one line each, flushed at once."""

    def __init__(self, path: Path, *, keep: int | None = None) -> None:
        target = events_path(path)
        if keep is None:
            target.write_text("")
        else:  # drop what the checkpoint does not cover and cannot be replayed (a torn line)
            lines = target.read_text().splitlines(keepends=True) if target.exists() else []
            target.write_text("".join(lines[:keep]))
        self._file = target.open("a")
        self.count = keep or 0

    def append(self, event: dict) -> None:
        try:
            line = json.dumps(event, allow_nan=False)
        except ValueError:  # a NaN or inf somewhere: written as null
            line = json.dumps(json_safe(event), allow_nan=False)
        self._file.write(line + "\n")
        self._file.flush()
        self.count += 1

    def close(self) -> None:
        self._file.close()


def ask_event(proposal: Proposal, screened: dict[str, str | None]) -> dict:
    return {"event": "ask", **proposal.to_dict(), "screened": screened}


# what a tell event keeps of a result (training curves stay out of the log)
RESULT_FIELDS = ("status", "rejection_reason", "message", "scores", "gate_scores", "timings",
                 "device")


def tell_event(key: str, result: dict, *, elapsed: float, cpu: float) -> dict:
    return {"event": "tell", "key": key,
            "result": {k: result[k] for k in RESULT_FIELDS if k in result},
            "elapsed": elapsed, "cpu": cpu}


class RecordingScreen:
    """Wraps the engine's screen: remembers every verdict by hash (so a layer
    drawn twice is probed once) and hands out the new ones for the log."""

    def __init__(self, screen: Callable, known: dict[str, str | None] | None = None) -> None:
        self._screen = screen
        self._verdicts: dict[str, str | None] = dict(known or {})
        self._new: dict[str, str | None] = {}

    def __call__(self, graph) -> str | None:  # noqa: ANN001 - LayerGraph
        key = graph.canonical_hash()
        if key not in self._verdicts:
            self._verdicts[key] = self._new[key] = self._screen(graph)
        return self._verdicts[key]

    def take_new(self) -> dict[str, str | None]:
        new, self._new = self._new, {}
        return new


def replay(evo: Evolution, events: list[dict]) -> Iterator[dict]:
    """Repeat the logged asks and tells on ``evo``; yields each tell event.

    Raises ResultsFileError when an ask proposes another layer than the log says.
    """
    for event in events:
        if event["event"] == "ask":
            proposal = evo.ask()
            if proposal is None or proposal.key != event["key"]:
                raise ResultsFileError(
                    "the event log does not match the search it was written by (proposal "
                    f"{event['key'][:12]} expected); results may be from another version")
        elif event["event"] == "tell":
            evo.tell(event["key"], event["result"])
            yield event
