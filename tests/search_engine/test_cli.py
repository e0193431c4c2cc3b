"""``python -m search_engine``: one-line errors with exit 2, export, and a tiny
real search on the synthetic data set that is interrupted and resumed."""

from __future__ import annotations

import ast
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search_engine.cli import main, parse_overrides
from search_engine.graph import LayerGraph
from search_engine.results_file import load_candidates

ROOT = Path(__file__).resolve().parents[2]
S0_FILE = ROOT / "search_engine" / "layers" / "evonorm_s0.json"

# Tiny training so that a handful of real evaluations take seconds (the
# stability test is skipped: even one step of it costs more than the rest).
TINY = [
    "eval.dataset=synthetic", "eval.architectures=resnet50,mobilenetv2",
    "eval.width=0.125", "eval.depth=0.25", "eval.steps=2", "eval.quality_steps=1",
    "eval.quality_threshold=0.0", "eval.stability_steps=0", "eval.batch_size=8",
    "eval.eval_batch_size=32", "eval.train_examples=32", "eval.val_examples=32",
    "eval.progress_every=1",
]  # fmt: skip


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "search_engine", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def overrides(*extra: str) -> list[str]:
    return [arg for item in (*TINY, *extra) for arg in ("--override", item)]


def run_main(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """The CLI in this process (same code path as the subprocess, minus the
    3 s torch import per call that would make this file slow)."""
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_usage_error(code: int, err: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("python -m search_engine: error: ")


@pytest.mark.parametrize("argv", [
    [],
    ["search", "--preset", "cpu-quick", "--override", "eval.steps=abc"],
    ["export", "missing.json"],
])
@pytest.mark.subprocess
def test_argument_errors_in_a_real_process(argv: list[str]) -> None:
    r = cli(*argv)
    assert r.stdout == ""
    assert_one_line_usage_error(r.returncode, r.stderr)


@pytest.mark.parametrize("argv", [
    [],
    ["bogus"],
    ["search"],
    ["search", "--preset", "no-such-preset"],
    ["search", "--preset", "cpu-quick", "--budget", "many"],
    ["search", "--preset", "cpu-quick", "--budget", "0"],
    ["search", "--preset", "cpu-quick", "--override", "eval.steps=abc"],
    ["search", "--preset", "cpu-quick", "--override", "no_such_setting=1"],
    ["search", "--preset", "cpu-quick", "--override", "novalue"],
    ["search", "--preset", "cpu-quick", "--workers", "0"],
    ["search", "--preset", "paper-s", "--seed-reference", "evonorm_b0"],
    ["search", "--preset", "cpu-quick", "--seed-layer", "missing.json"],
    ["search", "--resume", "--out", "/nonexistent/results.json"],
    ["evaluate", "missing.json", "--preset", "cpu-quick"],
    ["evaluate", "evonorm_s0"],
    ["export"],
    ["export", "missing.json"],
    ["export", "evonorm_s0", "--class-name", "not valid"],
])
def test_argument_errors_are_one_line_with_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture
) -> None:
    code, _, err = run_main(argv, capsys)
    assert_one_line_usage_error(code, err)


@pytest.mark.parametrize("document, rule", [
    ("{not json", "JSON"),
    (json.dumps({"format": "layer-graph/1", "nodes": [
        {"id": "a", "op": "neg", "inputs": ["b"]}, {"id": "b", "op": "neg", "inputs": ["a"]}],
        "output": "a"}), "cycle"),
    (json.dumps({"format": "layer-graph/1", "nodes": [
        {"id": "a", "op": "neg", "inputs": ["v1"]}], "output": "a"}), "x"),
])
def test_bad_layer_files_name_the_file_and_rule(
    tmp_path: Path, document: str, rule: str, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "layer.json"
    path.write_text(document)
    for argv in (["export", str(path)], ["evaluate", str(path), "--preset", "cpu-quick"],
                 ["search", "--preset", "cpu-quick", "--seed-layer", str(path),
                  "--out", str(tmp_path / "r.json")]):
        code, _, err = run_main(argv, capsys)
        assert_one_line_usage_error(code, err)
        assert str(path) in err and rule in err
    assert not (tmp_path / "r.json").exists()


@pytest.mark.subprocess
def test_bad_layer_file_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "layer.json"
    path.write_text('{"format": "layer-graph/1", "nodes": [], "output": "a"}')
    r = cli("export", str(path))
    assert_one_line_usage_error(r.returncode, r.stderr)
    assert str(path) in r.stderr


@pytest.mark.subprocess
def test_export_prints_a_module_for_a_file_or_a_reference_name(
    capsys: pytest.CaptureFixture,
) -> None:
    by_file = cli("export", str(S0_FILE))
    assert by_file.returncode == 0, by_file.stderr
    tree = ast.parse(by_file.stdout)
    assert "EvolvedNorm" in {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    digest = LayerGraph.from_json(S0_FILE.read_text()).canonical_hash()
    assert digest in by_file.stdout
    code, out, _ = run_main(["export", "evonorm_s0", "--class-name", "S0"], capsys)
    assert code == 0 and "class S0(" in out
    ast.parse(out)


def test_presets_are_listed(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run_main(["presets"], capsys)
    assert code == 0 and "cpu-quick" in out


def check_results(doc: dict, budget: int) -> None:
    assert doc["format"] == "layer-lab-results/2" and doc["finished"] is True
    assert doc["config"]["budget"] == budget and doc["config"]["eval"]["dataset"] == "synthetic"
    cands = doc["candidates"]
    unstable = sum(c["rejection_reason"] == "unstable" for c in cands)
    assert doc["funnel"]["unstable"] == unstable
    assert len(cands) == budget + unstable  # unstable candidates spend no budget
    for c in cands:
        assert set(c) >= {"key", "document", "parent", "mutation", "status",
                          "rejection_reason", "scores"}
        assert LayerGraph.from_dict(c["document"]).canonical_hash() == c["key"]
        assert c["status"] in ("evaluated", "rejected", "failed")
        if c["status"] == "evaluated":
            assert set(c["scores"]) == {"resnet50", "mobilenetv2"}
    keys = {c["key"] for c in cands}
    assert len(keys) == len(cands) and set(doc["pareto_front"]) <= keys
    assert isinstance(doc["state"], dict)


@pytest.mark.subprocess
def test_tiny_real_search_interrupted_and_resumed(tmp_path: Path) -> None:
    """A real search (cpu-quick with tiny synthetic training, an EvoNorm-S0 seed):
    run whole with 2 worker processes; run again in-process, interrupt it
    after its first result, resume it; both propose the same candidates."""
    budget = "4"
    # bootstrap off: which of the first proposals are children would depend on
    # when results arrive, which differs between 1 and 2 worker processes
    common = ["--preset", "cpu-quick", "--budget", budget, "--seed", "1",
              "--seed-reference", "evonorm_s0", *overrides(), "--override", "bootstrap=false"]
    whole = tmp_path / "whole.json"
    r = cli("search", *common, "--workers", "2", "--out", str(whole))
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr  # no progress bar when stderr is not a terminal
    funnel = json.loads(whole.read_text())["funnel"]
    assert f"{4 + funnel['unstable']} candidates" in r.stdout and "funnel: drawn" in r.stdout
    assert "4 reached training" in r.stdout
    assert funnel["drawn"] - funnel["refused_static"] - funnel["refused_probe"] - funnel["unstable"] == 4
    whole_doc = json.loads(whole.read_text())
    check_results(whole_doc, 4)
    assert whole_doc["candidates"][0]["mutation"] == "seed"

    part = tmp_path / "part.json"
    proc = subprocess.Popen([sys.executable, "-m", "search_engine", "search", *common,
                             "--workers", "1", "--out", str(part)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None:
        if load_candidates(part):
            proc.send_signal(signal.SIGINT)
            break
        time.sleep(0.02)
    out, err = proc.communicate(timeout=60)
    saved = {"candidates": load_candidates(part), **json.loads(part.read_text())}
    assert proc.returncode == 130, err  # interrupted mid-search
    assert "--resume" in err and "Traceback" not in err
    assert 1 <= len(saved["candidates"]) < 4 and not saved["finished"]
    resumed = cli("search", "--out", str(part), "--resume", "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    part_doc = json.loads(part.read_text())
    check_results(part_doc, 4)
    clocks = ("elapsed", "cpu")
    assert [{k: v for k, v in c.items() if k not in clocks}
            for c in part_doc["candidates"][: len(saved["candidates"])]] == [
        {k: v for k, v in c.items() if k not in clocks} for c in saved["candidates"]]
    # The first 4 proposals (seed, then random: fewer than population_size=16
    # initial layers are out, and bootstrap is off) do not depend on scores, so
    # they match the 2-worker run. Scores
    # and statuses may differ: 1 and 2 worker processes use different torch
    # thread counts, and float sums in another order can tip a borderline layer.
    fields = ("key", "parent", "mutation")
    assert [tuple(c[f] for f in fields) for c in part_doc["candidates"]] == [
        tuple(c[f] for f in fields) for c in whole_doc["candidates"]
    ]
    # a finished search resumes to no more work
    again = cli("search", "--out", str(part), "--resume", "--seed", "2")
    assert again.returncode == 2 and "seed" in again.stderr


@pytest.mark.subprocess  # the runner's worker process
def test_an_empty_front_is_explained_with_the_rejection_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A search in which nothing survives says why and how to start from layers that train."""
    zero = tmp_path / "zero.json"  # x * 0: the numeric probe rejects it as constant
    zero.write_text(json.dumps({"format": "layer-graph/1", "nodes": [
        {"id": "a", "op": "mul", "inputs": ["x", "zero"]}], "output": "a"}))
    out_file = tmp_path / "r.json"
    code, out, err = run_main(["search", "--preset", "cpu-quick", "--budget", "1", "--quiet",
                               "--seed-layer", str(zero), "--out", str(out_file), *overrides()],
                              capsys)
    assert code == 0, err
    doc = json.loads(out_file.read_text())
    assert doc["pareto_front"] == [] and doc["candidates"][0]["rejection_reason"] == "constant_output"
    assert "Pareto front: 0 layer(s)" in out
    assert "no layer passed the rejection protocols (constant_output 1)" in out
    assert "--seed-reference" in out


@pytest.mark.subprocess
def test_evaluate_prints_the_result_as_json() -> None:
    r = cli("evaluate", "evonorm_s0", "--preset", "cpu-quick", *overrides())
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["status"] in ("evaluated", "rejected", "failed")
    assert set(result) >= {"status", "rejection_reason", "scores", "timings", "device"}
    if result["status"] == "evaluated":
        assert set(result["scores"]) == {"resnet50", "mobilenetv2"}


def test_override_values_parse_as_json_or_text() -> None:
    template = {"budget": 5, "eval": {"architectures": ["a"], "dataset": "x"}}
    parsed = parse_overrides(["budget=7", "eval.architectures=resnet50, mobilenetv2",
                              "eval.dataset=synthetic", "max_wall_seconds=null"], template)
    assert parsed == {"budget": 7, "max_wall_seconds": None,
                      "eval": {"architectures": ["resnet50", "mobilenetv2"],
                               "dataset": "synthetic"}}
