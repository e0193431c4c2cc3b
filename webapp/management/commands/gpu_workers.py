"""``python manage.py gpu_workers``: one evaluation worker process per GPU slot on this host.

Each slot is a Celery worker on the ``eval`` queue with concurrency 1,
started with ``CUDA_VISIBLE_DEVICES=<its GPU>`` and ``LAB_DEVICE=cuda:0``,
so a process sees exactly one GPU. ``--slots-per-gpu K`` runs K processes
per GPU (small proxy tasks leave a big GPU mostly idle; K=2-4 fills it).
Workers restart if they die, and Ctrl-C / SIGTERM stops them (running
evaluations are abandoned and requeued by the reaper).

The host needs the web tier's database and Redis: ``DATABASE_URL`` and
``REDIS_URL`` (see docs/DEPLOY.md). ``--dry-run`` prints the plan only.
"""

from __future__ import annotations

import os
import signal
from argparse import ArgumentParser
from typing import Any

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from webapp.runtime.processes import ChildSpec, Supervisor
from webapp.runtime.redis import redis_ping
from workers.devices import Slot, slot_plan, visible_gpus, worker_argv


def parse_gpus(text: str) -> list[int]:
    try:
        gpus = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise CommandError(f"--gpus must be a comma-separated list of GPU indices, got {text!r}") from None
    if not gpus or any(g < 0 for g in gpus) or len(set(gpus)) != len(gpus):
        raise CommandError(f"--gpus must list distinct non-negative indices, got {text!r}")
    return gpus


class Command(BaseCommand):
    help = "Start one Celery evaluation worker per GPU slot, each pinned to its GPU."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--slots-per-gpu", type=int, default=1, help="worker processes per GPU (default 1)")
        parser.add_argument("--gpus", default="", help="GPU indices to use, e.g. 0,1 (default: every visible GPU)")
        parser.add_argument("--cpu-slots", type=int, default=0,
                            help="also run this many CPU-only evaluation processes (no GPU needed)")
        parser.add_argument("--loglevel", default="INFO")
        parser.add_argument("--dry-run", action="store_true", help="print the plan and exit")

    def handle(self, *args: str, **options: Any) -> None:
        if options["slots_per_gpu"] < 1:
            raise CommandError("--slots-per-gpu must be >= 1")
        if options["cpu_slots"] < 0:
            raise CommandError("--cpu-slots must be >= 0")
        gpus = parse_gpus(options["gpus"]) if options["gpus"] else visible_gpus()
        slots = slot_plan(gpus, options["slots_per_gpu"]) + [Slot(gpu=None, index=k) for k in range(options["cpu_slots"])]
        if not slots:
            raise CommandError("no GPU is visible on this host (use --gpus or --cpu-slots)")
        host = os.uname().nodename
        plans = [(slot, self._argv(slot, host, options["loglevel"])) for slot in slots]
        for slot, argv in plans:
            env = slot.env({})
            self.stdout.write(
                f"{slot.name}: CUDA_VISIBLE_DEVICES={env['CUDA_VISIBLE_DEVICES']!r} LAB_DEVICE={env['LAB_DEVICE']} "
                f"{' '.join(argv[1:])}"
            )
        if options["dry_run"]:
            return
        self._check_broker()
        supervisor = Supervisor()
        supervisor.install_signal_handlers()
        base = dict(os.environ, LAB_VAR_DIR=str(settings.VAR_DIR), PYTHONUNBUFFERED="1")
        for slot, argv in plans:
            supervisor.start(ChildSpec(
                name=slot.name.removeprefix("eval-"), argv=argv, env=slot.env(base),
                stop_signals=(signal.SIGTERM, signal.SIGQUIT), grace=5.0,
            ))
        supervisor.say(f"{len(plans)} evaluation worker(s) running; Ctrl-C to stop")
        status = supervisor.run()
        if status:
            raise SystemExit(status)

    @staticmethod
    def _argv(slot: Slot, host: str, loglevel: str) -> list[str]:
        return worker_argv(queues="eval", concurrency=1, node_name=f"{slot.name}@{host}", loglevel=loglevel)

    @staticmethod
    def _check_broker() -> None:
        if settings.EMBEDDED_REDIS:
            if not redis_ping(settings.EMBEDDED_REDIS_SOCKET):
                raise CommandError(
                    "REDIS_URL is not set and no embedded Redis runs here: set REDIS_URL (and DATABASE_URL) "
                    "to the web tier's, or start `manage.py lab --eval-workers 0` on this host first"
                )
            return
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.ping()
        except (redis.RedisError, OSError) as exc:
            raise CommandError(f"REDIS_URL={settings.REDIS_URL} does not answer: {exc}") from None
        finally:
            client.close()
