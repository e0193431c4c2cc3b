"""Forward+backward time of compiled layer graphs against nn.BatchNorm2d + ReLU.

    python -m benchmarks.layers                      # the paper's shape: 128 x 64 x 24 x 24
    python -m benchmarks.layers --small              # a quick CPU run (well under 2 minutes)
    python -m benchmarks.layers --device cuda --dtype bfloat16 --channels-last

Every layer runs on the same input; repetitions are interleaved (one timing of
each layer in turn, then again) so drift in clock speed or load hits all
layers alike, and the median is reported. Ratios compare eager with eager BN-ReLU
and torch.compile with compiled BN-ReLU (and, last, compiled with eager BN-ReLU,
the cuDNN/oneDNN kernel a user would otherwise keep). Needs only torch (2.11 or later) and
search_engine; no web dependencies.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

from search_engine.compiler import compile_graph
from search_engine.graph import LayerGraph
from search_engine.library import load_reference
from search_engine.random_layers import random_layer


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.layers", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--batch", type=int, help="default 128 (32 with --small)")
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--size", type=int, help="height and width; default 24 (16 with --small)")
    p.add_argument("--repeats", type=int, help="interleaved timings per layer; default 15 (10)")
    p.add_argument("--inner", type=int, default=2, help="forward+backward passes per timing")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--seed", type=int, default=0, help="input and random-graph seed")
    p.add_argument("--random-nodes", type=int, default=12)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--no-compile", action="store_true", help="eager only")
    p.add_argument("--small", action="store_true",
                   help="batch 32, 16x16, 10 repeats: a quick run on a 2-core CPU")
    args = p.parse_args(argv)
    for key, full, small in (("batch", 128, 32), ("size", 24, 16), ("repeats", 15, 10)):
        if getattr(args, key) is None:
            setattr(args, key, small if args.small else full)
    return args


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _layers(args: argparse.Namespace) -> list[tuple[str, nn.Module, LayerGraph | None]]:
    c = args.channels
    rand = random_layer(random.Random(args.seed), mode="B", num_nodes=args.random_nodes)
    return [
        ("BN-ReLU (nn)", nn.Sequential(nn.BatchNorm2d(c), nn.ReLU()), None),
        ("EvoNorm-B0", compile_graph(load_reference("evonorm_b0"), c), load_reference("evonorm_b0")),
        ("EvoNorm-S0", compile_graph(load_reference("evonorm_s0"), c), load_reference("evonorm_s0")),
        (f"random-{args.random_nodes} ({rand.mode})", compile_graph(rand, c), rand),
    ]


def _step(module: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
          grad: torch.Tensor) -> None:
    x.grad = None
    module(x).backward(grad)


def _time(fn: Callable[[], None], inner: int, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / inner * 1e3


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    device = _device(args.device)
    dtype = getattr(torch, args.dtype)
    gen = torch.Generator().manual_seed(args.seed)
    shape = (args.batch, args.channels, args.size, args.size)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    x = torch.randn(shape, generator=gen).to(device, dtype).contiguous(memory_format=fmt)
    x.requires_grad_(True)
    grad = torch.randn(shape, generator=gen).to(device, dtype).contiguous(memory_format=fmt)

    layers = _layers(args)
    variants: list[tuple[str, str, Callable[[], None]]] = []
    notes: list[str] = []
    for name, module, _ in layers:
        module.to(device, dtype).train()
        variants.append((name, "eager", lambda m=module: _step(m, x, grad)))
        if not args.no_compile:
            compiled = torch.compile(module)
            start = time.perf_counter()
            try:
                for _ in range(max(1, args.warmup)):
                    _step(compiled, x, grad)
            except Exception as exc:  # report and keep the eager numbers
                notes.append(f"{name}: torch.compile failed: {type(exc).__name__}: {exc}"[:300])
                continue
            notes.append(f"{name}: compiled in {time.perf_counter() - start:.1f} s")
            variants.append((name, "compiled", lambda m=compiled: _step(m, x, grad)))
    for _, _, fn in variants:
        for _ in range(args.warmup):
            fn()

    samples: dict[tuple[str, str], list[float]] = {(n, v): [] for n, v, _ in variants}
    for _ in range(args.repeats):
        for name, variant, fn in variants:  # interleaved: each layer once per round
            samples[(name, variant)].append(_time(fn, args.inner, device))
    median = {k: statistics.median(v) for k, v in samples.items()}

    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"torch {torch.__version__} on {device_name} ({torch.get_num_threads()} CPU threads)")
    print(f"input {'x'.join(map(str, shape))} {args.dtype}"
          f"{' channels-last' if args.channels_last else ''}, training mode, "
          f"{args.repeats} interleaved repeats x {args.inner} passes, median ms per forward+backward")
    base = layers[0][0]
    base_eager, base_comp = median[(base, "eager")], median.get((base, "compiled"))
    print("ratios: time / BN-ReLU time (eager against eager, compiled against compiled);"
          " last column: compiled against eager BN-ReLU")
    print(f"{'layer':<18} {'eager ms':>9} {'ratio':>7} {'compiled ms':>12} {'ratio':>7} "
          f"{'vs eager BN':>12}")
    for name, _, _ in layers:
        eager = median[(name, "eager")]
        row = f"{name:<18} {eager:9.2f} {eager / base_eager:6.2f}x"
        comp = median.get((name, "compiled"))
        if comp is not None and base_comp is not None:
            row += f" {comp:12.2f} {comp / base_comp:6.2f}x {comp / base_eager:11.2f}x"
        print(row)
    for name, _, graph in layers:
        if graph is not None:
            print(f"  {name} [{graph.canonical_hash()[:12]}]: {graph.formula()}")
    for note in notes:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
