"""``python manage.py lab``: set up and run the whole layer lab on one machine.

In order: the embedded Redis (unless ``REDIS_URL`` is set; then that Redis
must answer), database migrations, daphne (HTTP and websockets), a control
worker (queue ``control``: advancing searches, the reaper; concurrency 1), an
eval worker (queue ``eval``: evaluations on the GPU if torch sees one, else
the CPU; by default one single-threaded process per core, so the presets'
candidates in flight all train at once: see ``webapp.runtime.capacity``) and
Celery beat (the reaper's clock).
Two workers, not one on both queues, so a ten-minute evaluation never holds
up the bookkeeping of every other search.

Ctrl-C or SIGTERM stops everything, Redis last (a second Ctrl-C kills at
once). A child that dies is restarted; one that keeps dying stops the lab
with a non-zero status (see ``webapp.runtime.processes``).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from argparse import ArgumentParser
from typing import Any

import redis
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from webapp.runtime.capacity import plan_evaluation, usable_cores
from webapp.runtime.processes import ChildSpec, Supervisor
from webapp.runtime.redis import prepare_socket_path, redis_ping, redis_server_argv
from workers.devices import beat_argv, worker_argv


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((connect_host(host), port), timeout=0.5):
            return True
    except OSError:
        return False


def connect_host(host: str) -> str:
    """Where to connect to reach a server bound to ``host`` (a wildcard means this machine)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror} (try --port)") from None


def child_env(**extra: str) -> dict[str, str]:
    """The children's environment: ours, plus the resolved var folder so they share the database."""
    env = dict(os.environ)
    env["LAB_VAR_DIR"] = str(settings.VAR_DIR)
    env.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Command(BaseCommand):
    help = "Start the layer lab: embedded Redis, migrations, web server, workers and the reaper."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
        parser.add_argument(
            "--eval-workers", "--workers", dest="eval_workers", type=int, default=None,
            help="evaluation processes on this machine (default: one per core, or one on a GPU machine; "
                 "0 for none, e.g. when GPU hosts do it)",
        )
        parser.add_argument(
            "--eval-threads", dest="eval_threads", type=int, default=None,
            help="torch threads per evaluation process (default 1, or OMP_NUM_THREADS when set)",
        )
        parser.add_argument("--no-worker", action="store_true", help="start no Celery worker at all")
        parser.add_argument("--no-beat", action="store_true", help="do not start Celery beat (the reaper)")
        parser.add_argument("--no-migrate", action="store_true", help="skip migrations")
        parser.add_argument("--loglevel", default="INFO", help="log level of the workers (default INFO)")

    def handle(self, *args: str, **options: Any) -> None:
        if options["eval_workers"] is not None and options["eval_workers"] < 0:
            raise CommandError("--eval-workers must be >= 0")
        if options["eval_threads"] is not None and options["eval_threads"] < 1:
            raise CommandError("--eval-threads must be >= 1")
        supervisor = Supervisor()
        supervisor.install_signal_handlers()
        try:
            self._start_all(supervisor, options)
        except KeyboardInterrupt:
            supervisor.stop_all()
            return
        except RuntimeError as exc:  # a child failed to start: its output is above
            supervisor.stop_all()
            raise CommandError(str(exc)) from None
        except BaseException:
            supervisor.stop_all()
            raise
        status = supervisor.run()
        supervisor.say("stopped")
        if status:
            sys.exit(status)

    def _start_all(self, sup: Supervisor, options: dict) -> None:
        host, port = options["host"], options["port"]
        self._start_redis(sup)
        if not options["no_migrate"]:
            sup.say("applying database migrations")
            call_command("migrate", interactive=False, verbosity=1)
            connections.close_all()
        check_port_free(host, port)
        env = child_env()
        web = sup.start(ChildSpec(
            name="web",
            argv=[sys.executable, "-m", "webapp.runtime.daphne_server", "-b", host, "-p", str(port),
                  "webapp.asgi:application"],
            env=env,
            ready=lambda: port_open(host, port),
        ))
        self._start_workers(sup, options, env)
        sup.wait_ready(web, timeout=120)
        shown = connect_host(host) if host in ("0.0.0.0", "::", "") else host
        base = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}"
        sup.say(f"The layer lab is running at {base}/ — sign up at {base}/accounts/signup/ "
                "(or `python manage.py createsuperuser`)")
        sup.say("Press Ctrl-C to stop.")

    def _start_redis(self, sup: Supervisor) -> None:
        if not settings.EMBEDDED_REDIS:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=3)
            try:
                client.ping()
            except (redis.RedisError, OSError) as exc:
                raise CommandError(f"REDIS_URL={settings.REDIS_URL} does not answer: {exc}") from None
            finally:
                client.close()
            sup.say(f"using Redis at {settings.REDIS_URL}")
            return
        sock = prepare_socket_path(settings.EMBEDDED_REDIS_SOCKET)
        if redis_ping(sock):
            sup.say(f"reusing the embedded Redis already answering on {sock}")
            return
        child = sup.start(ChildSpec(
            name="redis",
            argv=redis_server_argv(sock),
            ready=lambda: redis_ping(sock),
            on_restart=lambda: prepare_socket_path(sock),
            stop_last=True,
        ))
        sup.wait_ready(child, timeout=20)

    def _start_workers(self, sup: Supervisor, options: dict, env: dict[str, str]) -> None:
        loglevel = options["loglevel"]
        if not options["no_worker"]:
            # Celery: SIGTERM waits for running tasks, SIGQUIT abandons them (the
            # reaper requeues what was cut short); then the group gets SIGKILL.
            stop = (signal.SIGTERM, signal.SIGQUIT)
            sup.start(ChildSpec(
                name="control",
                argv=worker_argv(queues="control", concurrency=1, node_name=f"control-{os.getpid()}@%h",
                                 loglevel=loglevel),
                env=env, stop_signals=stop, grace=5.0,
            ))
            plan = plan_evaluation(
                cores=usable_cores(),
                gpus=0 if options["eval_workers"] is not None else _gpu_count(),
                workers=options["eval_workers"], threads=options["eval_threads"],
                env_threads=env.get("OMP_NUM_THREADS"),
            )
            if plan.workers:
                sup.say(f"evaluation: {plan.workers} process{'es' if plan.workers > 1 else ''} "
                        f"x {plan.threads} thread{'s' if plan.threads > 1 else ''} ({plan.why})")
                sup.start(ChildSpec(
                    name="worker",
                    argv=worker_argv(queues="eval", concurrency=plan.workers,
                                     node_name=f"eval-{os.getpid()}@%h", loglevel=loglevel),
                    env=plan.env(env), stop_signals=stop, grace=5.0,
                ))
        if not options["no_beat"]:
            sup.start(ChildSpec(
                name="beat",
                argv=beat_argv(schedule_file=str(settings.VAR_DIR / "celerybeat-schedule"), loglevel=loglevel),
                env=env, grace=5.0,
            ))


def _gpu_count() -> int:
    """GPUs the evaluation processes would use (``LAB_DEVICE=cpu``: none)."""
    if settings.LAB_DEVICE == "cpu":
        return 0
    from workers.devices import visible_gpus

    return len(visible_gpus())
