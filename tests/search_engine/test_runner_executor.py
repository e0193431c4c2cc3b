"""The CLI runner's executors: one torch thread per evaluation process."""

from __future__ import annotations

import pytest
import torch

from search_engine.runner import EVAL_THREADS, make_executor


def torch_threads() -> int:
    return torch.get_num_threads()


def test_inline_evaluation_runs_on_one_thread_and_restores_the_callers() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert make_executor(1).submit(torch_threads).result() == EVAL_THREADS == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.subprocess
def test_each_worker_process_runs_on_one_thread() -> None:
    executor = make_executor(2)
    try:
        assert [executor.submit(torch_threads).result(timeout=120) for _ in range(2)] == [1, 1]
    finally:
        executor.shutdown()
    executor = make_executor(2, threads=2)
    try:
        assert executor.submit(torch_threads).result(timeout=120) == 2
    finally:
        executor.shutdown()
