"""The Celery app of the layer lab, configured from Django settings (``CELERY_*``).

Two queues (docs/INTERFACES.md, section 3): ``eval`` for evaluations and
rerank jobs (minutes to hours, one per worker process) and ``control`` for
short bookkeeping (advance a search, reap stale candidates). They are served
by different worker processes, so bookkeeping never waits behind a training
run. Reliability options come from settings: late acks, reject on worker
loss, prefetch 1, JSON only, a visibility timeout above the eval time limit.

Start a worker with ``celery -A workers.celery_app worker -Q eval`` (or let
``manage.py lab`` / ``manage.py gpu_workers`` do it); beat with
``celery -A workers.celery_app beat``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from celery import Celery, bootsteps
from kombu import Exchange, Queue

if TYPE_CHECKING:
    from celery.worker.consumer import Consumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")

from django.conf import settings  # noqa: E402 - needs DJANGO_SETTINGS_MODULE

from webapp.queues import (  # noqa: E402 - the names the web app's producer sends with
    CONTROL_QUEUE,
    EVAL_QUEUE,
    TASK_ADVANCE,
    TASK_EVALUATE,
    TASK_QUEUES,
    TASK_REAP,
    TASK_RECOVER,
    TASK_RERANK,
)

__all__ = ["CONTROL_QUEUE", "EVAL_QUEUE", "TASK_ADVANCE", "TASK_EVALUATE", "TASK_REAP", "TASK_RECOVER",
           "TASK_RERANK", "app"]


app = Celery("layerlab", include=["workers.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # Each queue on its own direct exchange, keyed by its name: the same shape
    # Celery gives a queue created on the fly, so the web app's producer (which
    # sends with queue=... and declares nothing) and the workers agree.
    task_queues=tuple(Queue(q, Exchange(q, type="direct"), routing_key=q) for q in (EVAL_QUEUE, CONTROL_QUEUE)),
    task_default_queue=CONTROL_QUEUE,
    task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
    broker_connection_retry_on_startup=True,
    # Keep an evaluation running when the broker connection drops (a Redis
    # restart): its result goes to the database, which is what counts; the
    # message itself is gone with the old Redis anyway.
    worker_cancel_long_running_tasks_on_connection_loss=False,
    # Workers do not need each other: no gossip, mingle or heartbeat events.
    worker_send_task_events=False,
    beat_schedule={
        "reap-stale-candidates": {
            "task": TASK_REAP,
            "schedule": float(settings.LAB_REAPER_INTERVAL),
            # A reaper run that waited longer than one interval is redundant.
            "options": {"queue": CONTROL_QUEUE, "expires": float(settings.LAB_REAPER_INTERVAL)},
        },
    },
)


class BrokerRecovery(bootsteps.StartStopStep):
    """Each time a control worker's consumer (re)connects to the broker, it asks for queued work to be
    enqueued again (``recover_queued_work``).

    Celery restarts a consumer's steps after every lost connection, so this
    runs at start-up and after each Redis outage or restart: work queued in the
    database whose message Redis lost (or never got, while it was down) runs
    without waiting for the reaper's clock (beat).
    """

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def start(self, c: Consumer) -> None:
        if CONTROL_QUEUE in {q.name for q in c.task_consumer.queues}:
            c.app.send_task(TASK_RECOVER, queue=CONTROL_QUEUE)


app.steps["consumer"].add(BrokerRecovery)
