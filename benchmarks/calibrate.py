"""Calibration table: does a preset rank layers sensibly, over seeds?

Each layer (the reference layers, random survivors from a file written by
`benchmarks.survivors`, and the known-bad layers) is evaluated under the
preset on every anchor *separately* (so one rejection does not hide the other
anchors' numbers), for each seed. Layers below the quality gate are still
trained to the end (the gate's verdict is recorded, not applied), so every
row has a final score to rank by; probe and stability rejections apply as in
a search. The table prints, per (layer, anchor), the gate verdicts over the
seeds, the validation accuracy at the gate and at the end (mean +- sd over
seeds), and the CPU seconds. A preset is calibrated when every reference
layer passes everywhere and every bad layer is rejected.

`--compare A.json B.json` puts two runs (e.g. the previous and the current
cpu-quick) side by side and prints Spearman's rank correlation of the layers'
mean final scores per anchor, and its spread over seeds: does the cheaper
proxy rank layers as the dearer one does?

    python -m benchmarks.calibrate --preset cpu-quick --seeds 0,1,2 --workers 2 \
        --survivors benchmarks/results/random_survivors.json --json current.json
    python -m benchmarks.calibrate --compare previous.json current.json
    python -m benchmarks.calibrate --seed-agreement current.json   # does seed A rank as seed B?
    python -m benchmarks.calibrate --preset paper-b --device cuda --dataset synthetic \
        --set steps=200
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from multiprocessing import get_context

REFERENCES = ("bn_relu", "gn_relu", "evonorm_b0", "evonorm_b1", "evonorm_b2", "evonorm_s0",
              "evonorm_s1", "evonorm_s2")

# Layers that must never survive: each with the reason we expect.
BAD_LAYERS: dict[str, tuple[dict, str]] = {
    "exp(exp(x))": (
        {"nodes": [{"id": "a", "op": "exp", "inputs": ["x"]},
                   {"id": "b", "op": "exp", "inputs": ["a"]}], "output": "b"},
        "numeric",
    ),
    "x / instance_mean(x)": (
        {"nodes": [{"id": "a", "op": "instance_mean", "inputs": ["x"]},
                   {"id": "b", "op": "div", "inputs": ["x", "a"]}], "output": "b"},
        "unstable/diverged/low_quality",
    ),
    "x * 0": (
        {"nodes": [{"id": "a", "op": "mul", "inputs": ["x", "zero"]}], "output": "a"},
        "constant_output",
    ),
    "x * x * x (no norm)": (
        {"nodes": [{"id": "a", "op": "square", "inputs": ["x"]},
                   {"id": "b", "op": "mul", "inputs": ["a", "x"]}], "output": "b"},
        "any rejection",
    ),
}


def bad_graph(name: str):  # noqa: ANN201 - LayerGraph
    from search_engine.graph import LayerGraph

    doc, _ = BAD_LAYERS[name]
    return LayerGraph.from_dict({"format": "layer-graph/1", "name": name, **doc})


def _task(kind: str, name: str, doc: dict | None, arch: str, eval_dict: dict, seed: int,
          device: str | None, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    from search_engine.config import EvalConfig
    from search_engine.evaluate import evaluate
    from search_engine.graph import LayerGraph
    from search_engine.library import load_reference

    cfg = replace(EvalConfig.from_dict(eval_dict), architectures=(arch,))
    gate = cfg.quality_gate(10)
    if doc is not None:
        graph = LayerGraph.from_dict(doc)
    else:
        graph = load_reference(name) if kind == "ref" else bad_graph(name)
    cpu0 = time.process_time()
    # gate 0: train to the end whatever the gate says, and judge the gate below
    r = evaluate(graph, replace(cfg, quality_threshold=0.0), seed=seed, device=device)
    gate_acc = r.gate_scores.get(arch)
    status, reason, message = r.status, r.rejection_reason, r.message
    if status == "evaluated" and cfg.quality_steps > 0 and gate_acc is not None and gate_acc < gate:
        status, reason = "rejected", "low_quality"
        message = (f"{arch}: validation accuracy {gate_acc:.1%} after {cfg.quality_steps} steps "
                   f"is below the {gate:.1%} gate")
    return {"kind": kind, "layer": name, "arch": arch, "seed": seed, "status": status,
            "reason": reason, "message": message, "gate_accuracy": gate_acc,
            "accuracy": r.scores.get(arch), "wall": r.timings.get("total", 0.0),
            "cpu": time.process_time() - cpu0, "timings": r.timings, "device": r.device,
            # training loss and accuracy every progress_every steps: tells a blow-up from a slow start
            "curve": [[c["step"], c["loss"], c["accuracy"]] for c in r.curves.get(arch, [])]}


def _report(row: dict) -> None:
    """Print a finished (layer, anchor) to stderr at once: a full-size run takes hours."""
    print(f"done: {row['layer']} on {row['arch']} seed {row['seed']}: {row['status']} "
          f"{row['reason'] or ''} {row['message'] or ''} ({row['cpu']:.0f} CPU-s)", file=sys.stderr,
          flush=True)


def parse_sets(items: list[str]) -> dict:
    out: dict = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def add_preset_arguments(ap: argparse.ArgumentParser) -> None:
    """The options calibrate and stability share: which preset, overrides, layers, parallelism."""
    ap.add_argument("--preset", default="cpu-quick")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                    help="override an eval setting, e.g. steps=300")
    ap.add_argument("--dataset", help="override the data set (e.g. synthetic on a GPU host)")
    ap.add_argument("--device")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", default=",".join(REFERENCES))
    ap.add_argument("--no-bad", action="store_true")
    ap.add_argument("--out", help="also write the table to this file")
    ap.add_argument("--label", help="name of this run in --compare (default: the preset)")


def preset_eval_config(args: argparse.Namespace):  # noqa: ANN201 - (dict, EvalConfig)
    """(the --set/--dataset overrides, the preset's EvalConfig with them applied)."""
    from search_engine.presets import build_config

    overrides = parse_sets(args.set)
    if args.dataset:
        overrides["dataset"] = args.dataset
    return overrides, build_config(args.preset, {"eval": overrides}).eval


def layer_names(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(kind, name) for the chosen reference layers, then the bad layers unless --no-bad."""
    names = [("ref", n) for n in args.layers.split(",") if n]
    if not args.no_bad:
        names += [("bad", n) for n in BAD_LAYERS]
    return names


def run_tasks(task: Callable[..., dict], tasks: list[tuple], common: tuple, workers: int,
              report: Callable[[dict], None]) -> list[dict]:
    """task(*t, *common) for each t, in `workers` spawned processes; rows in task order,
    each reported as soon as it finishes."""
    rows: list[dict] = [{}] * len(tasks)
    if workers > 1:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(task, *t, *common): i for i, t in enumerate(tasks)}
            for future in as_completed(futures):
                rows[futures[future]] = future.result()
                report(rows[futures[future]])
    else:
        for i, t in enumerate(tasks):
            rows[i] = task(*t, *common)
            report(rows[i])
    return rows


def _mean_sd(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5 if len(values) > 1 else 0.0
    return mean, sd


def _fmt(values: list[float]) -> str:
    if not values:
        return "-"
    mean, sd = _mean_sd(values)
    return f"{mean:.3f}" + (f" +-{sd:.3f}" if len(values) > 1 else "")


def _ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (Pearson's on average ranks); nan under 3 pairs or no spread."""
    if len(a) != len(b) or len(a) < 3:
        return float("nan")
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb) if va and vb else float("nan")


def _score(row: dict) -> float | None:
    """A row's final accuracy for ranking: trained rows only (probe/stability rejections have none)."""
    return row["accuracy"] if row.get("accuracy") is not None else None


def table(rows: list[dict], gate: float) -> list[str]:
    """Per (layer, anchor): gate verdicts over seeds, gate and final accuracy mean +- sd, CPU s."""
    lines = [f"{'layer':<28} {'anchor':<16} {'gate verdicts':<22} {'at gate':>15} "
             f"{'final':>15} {'cpu s':>6}"]
    keys = list(dict.fromkeys((r["kind"], r["layer"], r["arch"]) for r in rows))
    for kind, layer, arch in keys:
        cell = [r for r in rows if (r["kind"], r["layer"], r["arch"]) == (kind, layer, arch)]
        verdicts: dict[str, int] = {}
        for r in cell:
            v = "pass" if r["status"] == "evaluated" else r["reason"] or r["status"]
            verdicts[v] = verdicts.get(v, 0) + 1
        verdict = ", ".join(f"{k} {n}/{len(cell)}" for k, n in verdicts.items())
        gates = [r["gate_accuracy"] for r in cell if r.get("gate_accuracy") is not None]
        finals = [s for r in cell if (s := _score(r)) is not None]
        cpu = sum(r["cpu"] for r in cell) / len(cell)
        lines.append(f"{layer[:28]:<28} {arch:<16} {verdict:<22} {_fmt(gates):>15} "
                     f"{_fmt(finals):>15} {cpu:6.1f}")
    lines.append(f"(gate {gate:.0%}; rows below it were trained on to rank them; "
                 "'-' = rejected before training)")
    return lines


def compare(a_rows: list[dict], b_rows: list[dict], a_name: str, b_name: str) -> list[str]:
    """Rank agreement between two calibration runs, per anchor, over layers both trained."""
    def means(rows: list[dict]) -> dict[tuple[str, str], float]:
        acc: dict[tuple[str, str], list[float]] = {}
        for r in rows:
            if r["kind"] != "bad" and (s := _score(r)) is not None:
                acc.setdefault((r["layer"], r["arch"]), []).append(s)
        return {k: sum(v) / len(v) for k, v in acc.items()}

    def per_seed(rows: list[dict]) -> dict[tuple[str, str, int], float]:
        return {(r["layer"], r["arch"], r["seed"]): s for r in rows
                if r["kind"] != "bad" and (s := _score(r)) is not None}

    ma, mb = means(a_rows), means(b_rows)
    sa, sb = per_seed(a_rows), per_seed(b_rows)
    archs = list(dict.fromkeys(arch for _, arch in ma if any(k[1] == arch for k in mb)))
    seeds = sorted({k[2] for k in sa} & {k[2] for k in sb})
    lines = [f"# rank agreement, {a_name} vs {b_name}: Spearman's rho of final scores across "
             "layers trained in both (reference layers and random survivors)",
             f"{'anchor':<16} {'layers':>6} {'rho of means':>13} {'rho per seed (mean +- sd)':>27}"
             f"  top layer ({a_name} / {b_name})"]
    overall_a: dict[str, list[float]] = {}
    overall_b: dict[str, list[float]] = {}
    for arch in archs:
        layers = sorted(layer for layer, a in ma if a == arch and (layer, arch) in mb)
        rho = spearman([ma[(la, arch)] for la in layers], [mb[(la, arch)] for la in layers])
        rhos = []
        for seed in seeds:
            both = [la for la in layers if (la, arch, seed) in sa and (la, arch, seed) in sb]
            r = spearman([sa[(la, arch, seed)] for la in both], [sb[(la, arch, seed)] for la in both])
            if r == r:
                rhos.append(r)
        top_a = max(layers, key=lambda la: ma[(la, arch)]) if layers else "-"
        top_b = max(layers, key=lambda la: mb[(la, arch)]) if layers else "-"
        lines.append(f"{arch:<16} {len(layers):>6} {rho:13.2f} {_fmt(rhos):>27}  {top_a} / {top_b}")
        for la in layers:
            overall_a.setdefault(la, []).append(ma[(la, arch)])
            overall_b.setdefault(la, []).append(mb[(la, arch)])
    common = [la for la in overall_a if len(overall_a[la]) == len(archs)]
    rho = spearman([sum(overall_a[la]) / len(archs) for la in common],
                   [sum(overall_b[la]) / len(archs) for la in common])
    lines.append(f"{'mean over anchors':<16} {len(common):>6} {rho:13.2f}")
    return lines


def seed_agreement(rows: list[dict]) -> list[str]:
    """Spearman's rho of final scores between every pair of seeds of one run, per anchor:
    how much of a ranking survives a change of seed alone (the proxy's own noise)."""
    scores = {(r["layer"], r["arch"], r["seed"]): s for r in rows
              if r["kind"] != "bad" and (s := _score(r)) is not None}
    archs = list(dict.fromkeys(k[1] for k in scores))
    seeds = sorted({k[2] for k in scores})
    lines = [f"# seed agreement: Spearman's rho of final scores between seeds, over the layers "
             f"trained at both; seeds {seeds}",
             f"{'anchor':<16} {'seeds':>6} {'layers':>6} {'rho':>6}  top layer (first / second seed)"]
    for arch in archs:
        for i, a in enumerate(seeds):
            for b in seeds[i + 1:]:
                layers = sorted({k[0] for k in scores if k[1] == arch and (k[0], arch, a) in scores
                                 and (k[0], arch, b) in scores})
                sa = [scores[(la, arch, a)] for la in layers]
                sb = [scores[(la, arch, b)] for la in layers]
                top_a = layers[sa.index(max(sa))] if layers else "-"
                top_b = layers[sb.index(max(sb))] if layers else "-"
                lines.append(f"{arch:<16} {f'{a},{b}':>6} {len(layers):>6} {spearman(sa, sb):6.2f}  "
                             f"{top_a} / {top_b}")
    return lines


def _parse_seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SystemExit(f"--seeds: expected comma-separated integers, got {text!r}") from None


def _survivor_layers(path: str) -> list[tuple[str, str, dict]]:
    with open(path) as fh:
        doc = json.load(fh)
    return [("random", s.get("label") or s["document"].get("name", f"random {i}"), s["document"])
            for i, s in enumerate(doc["survivors"])]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_preset_arguments(ap)
    ap.add_argument("--seeds", help="comma-separated seeds (default: --seed)")
    ap.add_argument("--survivors", help="random survivors file (benchmarks.survivors) to rank too")
    ap.add_argument("--json", help="write raw rows as JSON here")
    ap.add_argument("--compare", nargs=2, metavar=("A.json[,A2.json]", "B.json[,B2.json]"),
                    help="print the rank agreement of two runs' --json files and exit")
    ap.add_argument("--seed-agreement", metavar="RUN.json",
                    help="print the rank agreement between the seeds of one run's --json file and exit")
    args = ap.parse_args(argv)

    if args.seed_agreement:
        with open(args.seed_agreement) as fh:
            run = json.load(fh)
        text = "\n".join([f"# {run['label']}: {run['header']}", *seed_agreement(run["rows"])])
        print(text)
        if args.out:
            with open(args.out, "w") as fh:
                fh.write(text + "\n")
        return 0

    if args.compare:
        runs = []
        for paths in args.compare:  # each side: one file, or several (e.g. one per seed) joined by commas
            parts = []
            for path in paths.split(","):
                with open(path) as fh:
                    parts.append(json.load(fh))
            runs.append({**parts[0], "rows": [r for p in parts for r in p["rows"]],
                         "header": "; ".join(dict.fromkeys(p["header"] for p in parts))})
        names = [run["label"] for run in runs]
        text = "\n".join([f"# {n}: {run['header']}" for n, run in zip(names, runs, strict=True)]
                         + compare(runs[0]["rows"], runs[1]["rows"], *names))
        print(text)
        if args.out:
            with open(args.out, "w") as fh:
                fh.write(text + "\n")
        return 0

    overrides, config = preset_eval_config(args)
    seeds = _parse_seeds(args.seeds) if args.seeds else [args.seed]
    layers = [(kind, name, None) for kind, name in layer_names(args) if kind == "ref"]
    if args.survivors:
        layers += _survivor_layers(args.survivors)
    if not args.no_bad:
        layers += [("bad", name, None) for name in BAD_LAYERS]
    tasks = [(k, n, d, a, seed) for seed in seeds for k, n, d in layers for a in config.architectures]

    start = time.perf_counter()
    common = (config.to_dict(), args.device, args.threads)
    rows = run_tasks(_seeded_task, tasks, common, args.workers, _report)
    elapsed = time.perf_counter() - start

    header = (f"preset {args.preset}, overrides {json.dumps(overrides)}, seeds {seeds}")
    lines = [
        f"# calibration: {header}",
        f"# eval config: {json.dumps(config.to_dict())}",
        f"# device {rows[0]['device'] if rows else '?'}, {args.workers} worker(s) x {args.threads} "
        f"thread(s), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end, "
        f"{elapsed:.0f} s in all",
        "# each (layer, anchor, seed) evaluated alone: probe -> stability -> quality -> full training",
        "",
        *table(rows, config.quality_gate(10)),
    ]
    ref_rows = [r for r in rows if r["kind"] == "ref"]
    bad_rows = [r for r in rows if r["kind"] == "bad"]
    ok_refs = all(r["status"] == "evaluated" for r in ref_rows)
    ok_bad = all(r["status"] != "evaluated" for r in bad_rows)
    verdicts = ([f"reference layers all pass: {ok_refs}"] if ref_rows else []) + (
        [f"bad layers all rejected: {ok_bad}"] if bad_rows else [])
    lines += ["", "; ".join(verdicts)]
    per_candidate: dict[str, float] = {}
    for r in ref_rows:
        per_candidate[r["layer"]] = per_candidate.get(r["layer"], 0.0) + r["cpu"] / len(seeds)
    if per_candidate:
        lines.append("CPU seconds per full evaluation (all anchors, mean over seeds): "
                     + ", ".join(f"{k} {v:.1f}" for k, v in per_candidate.items()))
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"label": args.label or args.preset, "header": header,
                       "config": config.to_dict(), "rows": rows}, fh, indent=1)
    return 0 if ok_refs and ok_bad else 1


def _seeded_task(kind: str, name: str, doc: dict | None, arch: str, seed: int, eval_dict: dict,
                 device: str | None, threads: int) -> dict:
    return _task(kind, name, doc, arch, eval_dict, seed, device, threads)


if __name__ == "__main__":
    sys.exit(main())
