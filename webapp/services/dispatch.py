"""Enqueue Celery tasks by name, after the surrounding transaction commits; ask which
evaluation workers are online.

The web app never imports ``workers``: it sends by task name through a
producer-only Celery app configured from the same ``CELERY_*`` settings, with the queue
and task names the Celery app uses (``webapp.queues``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from django.db import transaction

from webapp.queues import CONTROL_QUEUE, EVAL_QUEUE, TASK_ADVANCE, TASK_EVALUATE, TASK_RERANK

__all__ = ["CONTROL_QUEUE", "EVAL_QUEUE", "TASK_ADVANCE", "TASK_EVALUATE", "TASK_RERANK", "task_enqueue"]

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _producer() -> Celery:
    from celery import Celery

    app = Celery("lab-webapp", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    return app


def _send(name: str, args: list, queue: str) -> None:
    _producer().send_task(name, args=args, queue=queue)


# Tests swap this for a recorder; production sends to the broker.
sender: Callable[[str, list, str], None] = _send


def task_enqueue(*, name: str, args: list, queue: str) -> None:
    """Send ``name(*args)`` to ``queue`` once the current transaction commits."""

    def send() -> None:
        try:
            sender(name, args, queue)
        except Exception:  # the reaper and the next advance recover lost sends
            log.exception("could not enqueue %s%r on %s", name, args, queue)

    transaction.on_commit(send)


def _inspect_eval_workers(timeout: float) -> dict[str, int]:
    """``{node name: processes}`` of the workers that answer within ``timeout`` s and consume
    the eval queue (Celery remote control over the broker)."""
    inspect = _producer().control.inspect(timeout=timeout)
    queues = inspect.active_queues() or {}
    stats = inspect.stats() or {} if queues else {}
    slots: dict[str, int] = {}
    for node, consumed in queues.items():
        if any(isinstance(q, dict) and q.get("name") == EVAL_QUEUE for q in consumed or []):
            pool = (stats.get(node) or {}).get("pool") or {}
            slots[node] = max(1, int(pool.get("max-concurrency") or 1))
    return slots


# Tests swap this for a fixed answer; production asks the workers over the broker.
eval_inspector: Callable[[float], dict[str, int]] = _inspect_eval_workers
