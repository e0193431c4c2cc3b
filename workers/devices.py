"""Where evaluations run: resolving ``LAB_DEVICE`` and planning one worker process per GPU slot.

A GPU host runs ``python manage.py gpu_workers --slots-per-gpu K`` (or
``python -m workers``): one Celery process per slot, each started with
``CUDA_VISIBLE_DEVICES`` set to its GPU, so inside the process the GPU is
``cuda:0`` and nothing else is visible.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass


def resolve_device(setting: str) -> str:
    """``auto`` → ``cuda`` when torch sees a GPU, else ``cpu``; an explicit CUDA device must exist."""
    setting = setting.strip().lower()
    if setting == "cpu":
        return "cpu"
    import torch

    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise RuntimeError(f"LAB_DEVICE={setting} but torch sees no CUDA device on this host")
    if ":" in setting and int(setting.split(":", 1)[1]) >= torch.cuda.device_count():
        raise RuntimeError(f"LAB_DEVICE={setting} but only {torch.cuda.device_count()} CUDA device(s) are visible")
    return setting


def visible_gpus() -> list[int]:
    """Indices of the GPUs this host can use (respects an outer ``CUDA_VISIBLE_DEVICES``)."""
    outer = os.environ.get("CUDA_VISIBLE_DEVICES")
    if outer is not None:
        return [int(x) for x in outer.split(",") if x.strip().isdigit()]
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is pinned
        return []
    return list(range(torch.cuda.device_count()))


@dataclass(frozen=True)
class Slot:
    """One worker process: which physical GPU it sees and its Celery node name."""

    gpu: int | None
    index: int

    @property
    def name(self) -> str:
        where = f"gpu{self.gpu}" if self.gpu is not None else "cpu"
        return f"eval-{where}-s{self.index}"

    def env(self, base: dict[str, str]) -> dict[str, str]:
        env = dict(base)
        if self.gpu is None:
            env["LAB_DEVICE"] = "cpu"
            env["CUDA_VISIBLE_DEVICES"] = ""
        else:
            env["CUDA_VISIBLE_DEVICES"] = str(self.gpu)
            env["LAB_DEVICE"] = "cuda:0"
        return env


def slot_plan(gpus: list[int], slots_per_gpu: int) -> list[Slot]:
    """``slots_per_gpu`` processes for each GPU, GPU-major (gpu0-s0, gpu0-s1, gpu1-s0, ...)."""
    if slots_per_gpu < 1:
        raise ValueError("slots_per_gpu must be >= 1")
    return [Slot(gpu=g, index=k) for g in gpus for k in range(slots_per_gpu)]


def worker_argv(
    *,
    queues: str,
    concurrency: int,
    node_name: str,
    loglevel: str = "INFO",
    pool: str = "prefork",
    max_tasks_per_child: int | None = None,
) -> list[str]:
    """The command line of one Celery worker of this project."""
    argv = [
        sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
        "-Q", queues,
        "--concurrency", str(concurrency),
        "--pool", pool,
        "--hostname", node_name,
        "--loglevel", loglevel,
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]
    if max_tasks_per_child:
        argv += ["--max-tasks-per-child", str(max_tasks_per_child)]
    return argv


def beat_argv(*, schedule_file: str, loglevel: str = "INFO") -> list[str]:
    """The command line of Celery beat (the reaper's clock)."""
    return [
        sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat",
        "--schedule", schedule_file,
        "--pidfile=",
        "--loglevel", loglevel,
    ]
