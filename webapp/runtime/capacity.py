"""How many evaluations ``manage.py lab`` runs at once on this machine, and with how many threads.

One evaluation process per CPU core, one torch/OpenMP thread each: on a busy
machine a multi-threaded evaluation waits at every parallel region for its
slowest thread (measured: 400+ s instead of 147 s for the same candidate when
two 2-thread processes shared two loaded cores), while single-threaded
processes simply share the cores and slow down in proportion. The presets ask
for this many candidates in flight (cpu-quick: 2 on 2 cores), so the lab's
capacity matches what they ask. A machine with a GPU runs one process on it by
default (``manage.py gpu_workers`` plans several slots per GPU).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class EvalPlan:
    """``workers`` evaluation processes with ``threads`` threads each, and why."""

    workers: int
    threads: int
    why: str

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` with the thread count set, unless the operator set it already."""
        env = dict(base)
        for name in THREAD_VARIABLES:
            env.setdefault(name, str(self.threads))
        return env


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def plan_evaluation(*, cores: int, gpus: int, workers: int | None, threads: int | None,
                    env_threads: str | None = None) -> EvalPlan:
    """The evaluation processes to start: ``workers``/``threads`` as asked, else one per core
    (or one per machine with a GPU) with one thread each; ``env_threads`` (the operator's
    ``OMP_NUM_THREADS``) wins over the thread default."""
    if workers is not None and workers < 0:
        raise ValueError("the number of evaluation processes must be >= 0")
    if threads is not None and threads < 1:
        raise ValueError("threads per evaluation process must be >= 1")
    if workers is None:
        if gpus:
            workers, why = 1, "one process on the GPU (manage.py gpu_workers runs more)"
        else:
            workers, why = cores, f"one process per core ({cores} cores)"
    else:
        why = "as asked"
    if threads is None:
        if env_threads and env_threads.strip().isdigit() and int(env_threads) >= 1:
            threads, why = int(env_threads), f"{why}; threads from OMP_NUM_THREADS"
        else:
            threads = 1
    return EvalPlan(workers=workers, threads=threads, why=why)
