"""``manage.py lab``'s evaluation plan: one single-threaded process per core unless told otherwise."""

from __future__ import annotations

import pytest

from webapp.runtime.capacity import plan_evaluation


def test_one_single_threaded_process_per_core_on_a_cpu_machine() -> None:
    plan = plan_evaluation(cores=2, gpus=0, workers=None, threads=None)
    assert (plan.workers, plan.threads) == (2, 1)
    assert plan.env({})["OMP_NUM_THREADS"] == "1" and plan.env({})["MKL_NUM_THREADS"] == "1"


def test_a_gpu_machine_runs_one_process_on_the_gpu() -> None:
    assert plan_evaluation(cores=16, gpus=2, workers=None, threads=None).workers == 1


def test_what_the_operator_asks_for_wins() -> None:
    plan = plan_evaluation(cores=8, gpus=0, workers=3, threads=2)
    assert (plan.workers, plan.threads) == (3, 2)
    assert plan_evaluation(cores=8, gpus=0, workers=0, threads=None).workers == 0
    from_env = plan_evaluation(cores=8, gpus=0, workers=None, threads=None, env_threads="4")
    assert from_env.threads == 4
    assert plan.env({"OMP_NUM_THREADS": "6"})["OMP_NUM_THREADS"] == "6"  # never overrides the environment


@pytest.mark.parametrize(("workers", "threads"), [(-1, None), (1, 0)])
def test_nonsense_is_refused(workers: int, threads: int | None) -> None:
    with pytest.raises(ValueError):
        plan_evaluation(cores=2, gpus=0, workers=workers, threads=threads)
