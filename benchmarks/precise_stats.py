"""Quality-gate accuracy with and without precise batch statistics, at two gradient clips.

For the reference layers (BN-ReLU, GN-ReLU, EvoNorm-B0, EvoNorm-S0) over
``--seeds`` seeds, and for random layers that pass the free checks and the
stability test (drawn as the search draws them), train each anchor of the
preset for ``quality_steps`` steps at gradient clips 1.0 and 2.0 and
validate twice: with the running estimates as training left them ("plain")
and after recomputing them over ``--stats-batches`` training batches
("precise", ``EvalConfig.stats_batches``). Also the training accuracy over the
last progress window. One process per ``--shard`` (shard 0 also runs the
references); rows append to ``--out`` (JSON lines), and ``--table`` prints
the summary of one or more such files.

    python -m benchmarks.precise_stats --shard 0 --out /tmp/ps0.jsonl &
    python -m benchmarks.precise_stats --shard 1 --out /tmp/ps1.jsonl &
    python -m benchmarks.precise_stats --table /tmp/ps0.jsonl /tmp/ps1.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace

REFERENCES = ("bn_relu", "gn_relu", "evonorm_b0", "evonorm_s0")
CLIPS = (1.0, 2.0)


def run(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(1)
    from search_engine.anchors import build_anchor, candidate_factory
    from search_engine.datasets import BatchSampler, load_dataset
    from search_engine.evaluate import arch_seeds
    from search_engine.library import load_reference
    from search_engine.presets import get_preset
    from search_engine.random_layers import random_layer
    from search_engine.rejection import probe_verdict, stability_test
    from search_engine.static_checks import static_refusal
    from search_engine.trainer import Trainer, TrainSettings, recompute_batch_stats

    cfg = get_preset(args.preset)
    ev = replace(cfg.eval, stats_batches=0)
    data = load_dataset(ev.dataset, data_dir=None, device=torch.device("cpu"),
                        train_examples=ev.train_examples, val_examples=ev.val_examples,
                        image_size=ev.image_size)

    def model_for(graph, seed: int, i: int, arch: str):  # noqa: ANN001, ANN202
        return build_anchor(arch, candidate_factory(graph), num_classes=data.num_classes,
                            width=ev.width, depth=ev.depth, branch_init=ev.branch_init,
                            generator=torch.Generator().manual_seed(arch_seeds(seed, i)[0]))

    def gen(seed: int, i: int, offset: int = 0) -> torch.Generator:
        return torch.Generator().manual_seed(arch_seeds(seed, i)[1] + offset)

    def gate(graph, seed: int, clip: float) -> dict:  # noqa: ANN001
        res = {}
        for i, arch in enumerate(ev.architectures):
            settings = TrainSettings.from_eval_config(replace(ev, grad_clip=clip))
            trainer = Trainer(model_for(graph, seed, i, arch), data, settings, generator=gen(seed, i))
            state = trainer.run(ev.quality_steps)
            if state.status != "running":
                res[arch] = {"status": state.status}
                continue
            plain = trainer.validate()
            sampler = BatchSampler(data, ev.batch_size, generator=gen(seed, i, 1))
            had = recompute_batch_stats(trainer.model, sampler, args.stats_batches)
            res[arch] = {"plain": plain, "precise": trainer.validate() if had else plain,
                         "train": state.accuracy}
        return res

    start = time.process_time()
    with open(args.out, "a") as f:
        def emit(row: dict) -> None:
            f.write(json.dumps(row) + "\n")
            f.flush()

        if args.shard == 0:
            for name in REFERENCES:
                for seed in range(args.seeds):
                    g = load_reference(name)
                    emit({"kind": "ref", "name": name, "seed": seed,
                          **{f"clip{c:g}": gate(g, seed, c) for c in CLIPS}})
        rng = random.Random(1000 + args.shard)
        stable = draws = 0
        seed = 7
        while stable < args.stable and time.process_time() - start < args.max_cpu:
            g = random_layer(rng, mode=cfg.mode, num_nodes=cfg.initial_nodes)
            draws += 1
            if static_refusal(g) or not probe_verdict(g, seed=seed).passed:
                continue
            values, ok = [], True
            for i, arch in enumerate(ev.architectures):
                v = stability_test(model_for(g, seed, i, arch), data, steps=ev.stability_steps,
                                   threshold=ev.stability_threshold, generator=gen(seed, i))
                values.append(v.value)
                if not v.passed:
                    ok = False
                    break
            row = {"kind": "random", "formula": g.formula(), "stable": ok, "stability": values,
                   "draws": draws}
            if ok:
                stable += 1
                row.update({f"clip{c:g}": gate(g, seed, c) for c in CLIPS})
            emit(row)


def passes(cells: dict, key: str, gate: float) -> bool:
    return all("plain" in v and v[key] >= gate for v in cells.values())


def fmt(cells: dict) -> str:
    return "  ".join(f"{a[:3]} {v['plain']:.2f}>{v['precise']:.2f} (train {v['train']:.2f})"
                     if "plain" in v else f"{a[:3]} {v['status']}" for a, v in cells.items())


def table(paths: list[str], gate: float) -> str:
    rows = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    out = [f"# gate accuracy after quality_steps: plain > precise statistics (gate {gate:.0%})", ""]
    for c in CLIPS:
        out.append(f"## references, gradient clip {c:g}")
        for r in (r for r in rows if r["kind"] == "ref"):
            out.append(f"{r['name']:<11} seed {r['seed']}  {fmt(r[f'clip{c:g}'])}")
        out.append("")
    refs = [r for r in rows if r["kind"] == "ref"]
    for c in CLIPS:
        cells = [v for r in refs for v in r[f"clip{c:g}"].values() if "plain" in v]
        batch = [v for r in refs if r["name"] in ("bn_relu", "evonorm_b0")
                 for v in r[f"clip{c:g}"].values() if "plain" in v]
        out.append(f"clip {c:g}: reference cells passing the gate plain {sum(v['plain'] >= gate for v in cells)}"
                   f"/{len(cells)}, precise {sum(v['precise'] >= gate for v in cells)}/{len(cells)}; "
                   f"batch-statistics cells where precise > plain {sum(v['precise'] > v['plain'] for v in batch)}"
                   f"/{len(batch)}, mean gain {sum(v['precise'] - v['plain'] for v in batch) / max(len(batch), 1):+.3f}")
    rand = [r for r in rows if r["kind"] == "random"]
    stable = [r for r in rand if r["stable"]]
    out += ["", f"## random layers: {len(rand)} passed the free checks, {len(stable)} stable"]
    for r in stable:
        out.append(f"{r['formula'][:58]:<58}  clip 2: {fmt(r['clip2'])}")
    for c in CLIPS:
        out.append(f"stable random layers passing the gate on every anchor, clip {c:g}: plain "
                   f"{sum(passes(r[f'clip{c:g}'], 'plain', gate) for r in stable)}/{len(stable)}, precise "
                   f"{sum(passes(r[f'clip{c:g}'], 'precise', gate) for r in stable)}/{len(stable)}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="cpu-quick")
    ap.add_argument("--shard", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=3, help="seeds of the reference layers")
    ap.add_argument("--stable", type=int, default=18, help="stop after this many stable random layers")
    ap.add_argument("--max-cpu", type=float, default=1500.0, help="CPU-seconds for the random layers")
    ap.add_argument("--stats-batches", type=int, default=8)
    ap.add_argument("--out", help="JSON lines to append to")
    ap.add_argument("--table", nargs="+", metavar="JSONL", help="print the summary of these files")
    ap.add_argument("--gate", type=float, default=0.15)
    args = ap.parse_args(argv)
    if args.table:
        print(table(args.table, args.gate))
        return 0
    if not args.out:
        ap.error("--out is needed to run")
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
