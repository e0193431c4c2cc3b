"""Enqueue Celery tasks by name, after the surrounding transaction commits.

The web app never imports ``workers``: it sends by task name through a
producer-only Celery app configured from the same ``CELERY_*`` settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache

from django.db import transaction

log = logging.getLogger(__name__)

EVAL_QUEUE = "eval"
CONTROL_QUEUE = "control"

TASK_EVALUATE = "workers.tasks.evaluate_candidate"
TASK_ADVANCE = "workers.tasks.advance_search"
TASK_RERANK = "workers.tasks.rerank_candidate"


@lru_cache(maxsize=1)
def _producer():
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
