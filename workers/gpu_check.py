"""``python -m workers.gpu_check``: check a GPU host before running ``manage.py gpu_workers`` on it.

Starts one process per slot exactly as ``gpu_workers`` would pin it
(``CUDA_VISIBLE_DEVICES=<gpu>``, ``LAB_DEVICE=cuda:0``), all at once, and has
each one report what it sees (one GPU, the right one by UUID) and, with
``--evaluate``, evaluate a reference layer with the engine on that GPU with
a tiny proxy task. Needs torch and the engine, not Django, Redis or a database.
Exits non-zero when a slot sees the wrong GPU or its evaluation fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from workers.devices import Slot, resolve_device, slot_plan, visible_gpus

TINY_EVAL = {
    "dataset": "synthetic", "architectures": ["resnet50", "mobilenetv2"], "width": 0.25, "depth": 0.34,
    "steps": 40, "batch_size": 64, "eval_batch_size": 256, "quality_steps": 10, "quality_threshold": 0.0,
    "stability_steps": 2, "progress_every": 10, "train_examples": 1024, "val_examples": 256,
}


def _uuid(index: int) -> str:
    import torch

    return str(getattr(torch.cuda.get_device_properties(index), "uuid", index))


def child(evaluate_too: bool) -> dict:
    """Runs inside one slot's process: what it sees, and optionally one evaluation."""
    import torch

    device = resolve_device(os.environ.get("LAB_DEVICE", "auto"))
    report: dict = {"device": device, "visible": torch.cuda.device_count() if torch.cuda.is_available() else 0}
    if device.startswith("cuda"):
        report["uuid"] = _uuid(0)
        report["name"] = torch.cuda.get_device_name(0)
    if evaluate_too:
        from search_engine.evaluate import evaluate
        from search_engine.library import load_reference, reference_catalog
        from search_engine.presets import build_config

        config = build_config("cpu-quick", {"eval": TINY_EVAL}).eval
        graph = load_reference(reference_catalog()[0]["slug"])
        started = time.perf_counter()
        result = evaluate(graph, config, seed=0, device=device)
        report["eval"] = {"status": result.status, "reason": result.rejection_reason, "scores": result.scores,
                          "device": result.device, "seconds": round(time.perf_counter() - started, 2)}
        if device.startswith("cuda"):
            report["max_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots-per-gpu", type=int, default=1)
    parser.add_argument("--gpus", default="", help="GPU indices, e.g. 0,1 (default: every visible GPU)")
    parser.add_argument("--cpu-slots", type=int, default=0)
    parser.add_argument("--evaluate", action="store_true", help="also evaluate a reference layer in every slot")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.evaluate)))
        return 0

    gpus = [int(g) for g in args.gpus.split(",") if g.strip()] if args.gpus else visible_gpus()
    slots = slot_plan(gpus, args.slots_per_gpu) + [Slot(gpu=None, index=k) for k in range(args.cpu_slots)]
    print(f"LAB_DEVICE=auto resolves to {resolve_device('auto')} here; {len(gpus)} GPU(s) visible: {gpus}")
    # torch numbers the GPUs an outer CUDA_VISIBLE_DEVICES leaves visible 0, 1, ...
    outer = os.environ.get("CUDA_VISIBLE_DEVICES")
    position = {int(x): i for i, x in enumerate(outer.split(","))} if outer else {g: g for g in gpus}
    expected = {g: _uuid(position[g]) for g in gpus}
    argv_child = [sys.executable, "-m", "workers.gpu_check", "--child"] + (["--evaluate"] if args.evaluate else [])
    started = time.perf_counter()
    procs = [(slot, subprocess.Popen(argv_child, env=slot.env(dict(os.environ)), stdout=subprocess.PIPE, text=True))
             for slot in slots]
    ok = True
    for slot, proc in procs:
        out, _ = proc.communicate()
        try:
            report = json.loads(out.strip().splitlines()[-1])
        except (IndexError, ValueError):
            print(f"{slot.name}: FAILED (exit {proc.returncode})")
            ok = False
            continue
        problems = []
        if slot.gpu is not None:
            if report["visible"] != 1:
                problems.append(f"sees {report['visible']} GPUs, not 1")
            if report.get("uuid") != expected[slot.gpu]:
                problems.append(f"sees GPU {report.get('uuid')}, not GPU {slot.gpu} ({expected[slot.gpu]})")
        if args.evaluate and report.get("eval", {}).get("status") != "evaluated":
            problems.append(f"evaluation: {report.get('eval')}")
        ok = ok and not problems
        print(f"{slot.name}: {'OK' if not problems else 'PROBLEM ' + '; '.join(problems)} {json.dumps(report)}")
    print(f"{len(slots)} slot(s) in {time.perf_counter() - started:.1f} s: {'all OK' if ok else 'problems above'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
