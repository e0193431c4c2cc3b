"""Compile a :class:`LayerGraph` into a ``torch.nn.Module``.

The module runs the graph's canonical :class:`~search_engine.canonical.Program`
(dead nodes dropped, shared subexpressions once) with the op registry's
implementations, then the affine step ``y = out * weight + bias``.

State: parameters ``v0``/``v1`` (only those the live graph uses), ``weight``,
``bias``, all of shape (C,); one float32 buffer ``running_{k}`` of shape (C,)
per ``batch_*`` op computed as step ``t{k}``. :mod:`search_engine.codegen`
derives the same names from the same program, so trained weights load into
the exported class.

Elementwise work runs in the input's dtype (parameters are cast to it, as a
bf16 model would hold them), except that float16 inputs run in float32 (see
``ops.compute_dtype``); statistics run in float32 and are cast back.
The forward is a loop over a fixed list of steps, which ``torch.compile``
unrolls into one graph without breaks. Dynamo caches compiled code per code
object and every ``CompiledLayer`` shares one ``forward``: compiling more than
``torch._dynamo.config.recompile_limit`` (8) different layers one by one in a
process reaches that limit (an error under ``fullgraph=True``). Compile the
model that contains the layers, or call ``torch.compiler.reset()`` between
candidates; an exported class (:mod:`search_engine.codegen`) has its own code.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from search_engine.canonical import Program, Step
from search_engine.graph import LayerGraph
from search_engine.ops import AXES, INPUT_NAMES, compute_dtype

# Slot of each input in the forward's value list; step k lives at slot 3 + k.
_SLOT = {name: i for i, name in enumerate(INPUT_NAMES)}


def _slot(ref: str | int) -> int:
    return _SLOT[ref] if isinstance(ref, str) else len(INPUT_NAMES) - 1 + ref


def _step_kwargs(step: Step, program: Program) -> dict[str, Any]:
    op = step.op
    if op.batch:
        return {"stat": op.stat, "eps": program.eps}
    if op.axes == "group":
        return {"groups": step.params["groups"], "stat": op.stat, "eps": program.eps}
    if op.axes is not None:
        return {"dims": AXES[op.axes], "stat": op.stat, "eps": program.eps}
    return {}


class CompiledLayer(nn.Module):
    """A layer graph as a module; build it with :func:`compile_graph`."""

    def __init__(self, graph: LayerGraph, num_features: int) -> None:
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
            raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
        program = graph.program()
        self.num_features = num_features
        self.eps = program.eps
        self.momentum = program.momentum
        self.canonical_hash = program.canonical_hash()
        self.formula = graph.formula()
        for name, _ in program.parameters:
            self.register_parameter(name, nn.Parameter(torch.empty(num_features)))
        for name, _ in program.buffers:
            self.register_buffer(name, torch.empty(num_features))
        self._inits = program.parameters + program.buffers
        self._uses_zero = "zero" in program.used_inputs
        # (impl, argument slots, buffer name or None, static keyword arguments)
        self._steps: list[tuple[Any, tuple[int, ...], str | None, dict[str, Any]]] = [
            (s.op.impl, tuple(_slot(a) for a in s.args), s.running, _step_kwargs(s, program))
            for s in program.steps
        ]
        self._output_slot = _slot(program.output)
        self._expand_output = not program.output_is_full
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The format's initial values: v0 = 0, v1 = 1, weight = 1, bias = 0, running stats."""
        with torch.no_grad():
            for name, value in self._inits:
                getattr(self, name).fill_(value)

    def _vector(self, name: str, x: torch.Tensor) -> torch.Tensor | None:
        param = getattr(self, name, None)
        return None if param is None else param.to(x.dtype).reshape(1, -1, 1, 1)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = input.to(compute_dtype(input.dtype))
        zero = x.new_zeros((1, 1, 1, 1)) if self._uses_zero else None
        values: list[Any] = [x, zero, self._vector("v0", x), self._vector("v1", x)]
        for impl, slots, running, kwargs in self._steps:
            args = [values[i] for i in slots]
            if running is not None:
                values.append(impl(*args, getattr(self, running), momentum=self.momentum,
                                   training=self.training, **kwargs))
            else:
                values.append(impl(*args, **kwargs))
        out = values[self._output_slot]
        weight = self.weight.to(x.dtype).reshape(1, -1, 1, 1)
        y = (out * weight + self.bias.to(x.dtype).reshape(1, -1, 1, 1)).to(input.dtype)
        # The format broadcasts the output to the input's shape; only graphs
        # whose output ignores some axis need it.
        return y.expand_as(input) if self._expand_output else y

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, formula={self.formula!r}"


def compile_graph(graph: LayerGraph, num_features: int) -> CompiledLayer:
    """A fresh module computing ``graph`` for inputs with ``num_features`` channels."""
    return CompiledLayer(graph, num_features)
