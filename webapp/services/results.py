"""The ``search_engine.evaluate.EvalResult.to_dict()`` shape, built in one place.

A result the engine never produced (a malformed worker report, a duplicate proposal, a
candidate lost or cancelled, an engine that raised in the worker) is still told to the engine
and stored in this shape. Imports nothing from Django: the workers use it too.
"""

from __future__ import annotations


def eval_result(*, status: str, rejection_reason: str | None, message: str, scores: dict | None = None,
                curves: dict | None = None, timings: dict | None = None, device: str = "") -> dict:
    """An ``EvalResult.to_dict()``-shaped dict (without ``gate_scores``, which the app never stores)."""
    return {
        "status": status,
        "rejection_reason": rejection_reason,
        "message": message,
        "scores": scores if scores is not None else {},
        "curves": curves if curves is not None else {},
        "timings": timings if timings is not None else {},
        "device": device,
    }


def failed_result(*, reason: str, message: str, device: str = "") -> dict:
    """A failure with nothing measured: ``status`` ``failed``, ``reason`` as its rejection reason."""
    return eval_result(status="failed", rejection_reason=reason, message=message, device=device)
