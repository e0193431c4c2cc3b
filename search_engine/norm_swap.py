"""``replace_norm_act``: put a layer where a model has BatchNorm2d followed by ReLU.

This module is the template of the swap code in every exported ``layer.py``:
:mod:`search_engine.codegen` copies its imports and every top-level statement
below them into the generated file, except the ``EXPORTED_LAYER = None`` line,
which the export writes as ``EXPORTED_LAYER = <the class it exports>``. Hence
the rules this file keeps: it imports only torch and the standard library, its
names are free of user text, and its annotations evaluate with those imports
alone (the generated file has no ``from __future__ import annotations``). In
the engine it runs as ordinary code; callers pass ``layer=``.

Two ways of finding pairs, tried per module from the root down:

- **torch.fx** where a module traces: the pairs are read from its call graph
  (any nesting of calls, ``F.relu``/``torch.relu``/``.relu()``/``nn.ReLU``), the
  ReLU call is removed from the graph and the module becomes a
  ``torch.fx.GraphModule`` running the rewritten graph.
- **a module walk** where it does not: containers keep their type and are
  edited in place (a BatchNorm2d directly before a ReLU module in a plain
  ``nn.Sequential``, nested ones read as one sequence), and each child module
  is tried again, with torch.fx first.
"""

import copy
import warnings
from collections.abc import Callable

import torch
import torch.fx

# The layer replace_norm_act places when the caller names none. The export sets
# it to the class it writes; in the engine it stays None and callers pass layer=.
EXPORTED_LAYER = None

LONE_NORM_CHOICES = ("keep", "affine", "layer")
_RELU_FUNCTIONS = (torch.relu, torch.relu_, torch.nn.functional.relu, torch.nn.functional.relu_)
_RELU_METHODS = ("relu", "relu_")


class ChannelAffine(torch.nn.Module):
    """The per-channel affine step alone, ``y = x * weight + bias``.

    What ``lone_norm="affine"`` puts where a BatchNorm2d has no ReLU after it:
    the paper's placement keeps only the affine step of such norms.
    """

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features
        self.weight = torch.nn.Parameter(torch.ones(num_features))
        self.bias = torch.nn.Parameter(torch.zeros(num_features))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        # reshape(1, C, 1, 1) follows the channel axis whatever the memory format.
        return input * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)

    def extra_repr(self) -> str:
        return f"{self.num_features}"


class _NormTracer(torch.fx.Tracer):
    """Traces into modules that hold a BatchNorm2d; any other module stays one opaque call.

    Opaque calls keep what fx cannot see (Python branches, unsupported ops) out
    of the trace, so more models trace, and keep those modules as they are.
    """

    def __init__(self, holders: set[int]) -> None:
        super().__init__()
        self.holders = holders

    def is_leaf_module(self, m: torch.nn.Module, module_qualified_name: str) -> bool:
        return (isinstance(m, torch.nn.BatchNorm2d) or id(m) not in self.holders
                or super().is_leaf_module(m, module_qualified_name))


def _holders(root: torch.nn.Module) -> set[int]:
    """ids of the modules with a BatchNorm2d at or below them."""
    found: set[int] = set()

    def visit(m: torch.nn.Module) -> bool:
        has = isinstance(m, torch.nn.BatchNorm2d)
        for child in m.children():
            has = visit(child) or has
        if has:
            found.add(id(m))
        return has

    visit(root)
    return found


def _trace(module: torch.nn.Module, holders: set[int]) -> torch.fx.Graph:
    """The module's graph; raises where fx cannot trace it or the trace would freeze a mode.

    A trace runs Python once, so ``if self.training:`` would be frozen into
    the graph and ``.train()``/``.eval()`` would stop switching it: a module
    whose graph differs between the two modes counts as one that does not trace.
    """
    modes = {id(m): m.training for m in module.modules()}
    graphs = []
    try:
        for mode in (True, False):
            for m in module.modules():
                m.training = mode
            graphs.append(_NormTracer(holders).trace(module))
    finally:
        for m in module.modules():
            m.training = modes[id(m)]
    if str(graphs[0]) != str(graphs[1]):
        raise RuntimeError("its forward depends on the training mode")
    return graphs[0]


def _is_relu_of(node: torch.fx.Node, value: torch.fx.Node, module: torch.nn.Module) -> bool:
    """Whether ``node`` is ReLU applied to ``value`` and nothing else (``inplace`` allowed)."""
    if not node.args or node.args[0] is not value:
        return False
    if node.op == "call_module":
        return (isinstance(module.get_submodule(node.target), torch.nn.ReLU)
                and len(node.args) == 1 and not node.kwargs)
    if node.op == "call_method":
        return node.target in _RELU_METHODS and len(node.args) == 1 and not node.kwargs
    if node.op == "call_function":
        extra = list(node.args[1:]) + [v for k, v in node.kwargs.items() if k == "inplace"]
        return (any(node.target is f for f in _RELU_FUNCTIONS) and len(node.args) <= 2
                and set(node.kwargs) <= {"inplace"} and all(isinstance(v, bool) for v in extra))
    return False


def _set_module(root: torch.nn.Module, target: str, new: torch.nn.Module) -> None:
    parent, _, name = target.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, name, new)


class _Swapper:
    """One conversion: the layer factory, the lone-norm choice and what was seen."""

    def __init__(self, make: Callable[[int], torch.nn.Module], lone_norm: str,
                 root: torch.nn.Module) -> None:
        self.make = make
        self.lone_norm = lone_norm
        self.holders = _holders(root)
        # Where a norm holds no tensor (affine=False, no running stats), the
        # model's first one tells the device and dtype.
        self.fallback_ref = next((t for t in [*root.parameters(), *root.buffers()]
                                  if t.is_floating_point()), None)
        self.pairs = 0
        self.lone_replaced = 0
        self.seen: set[int] = set()  # BatchNorm2d modules whose successor was known
        self.placed: set[int] = set()  # modules inside the replacements put in
        # Replaced modules stay referenced until the end, so that no new object
        # reuses their id() while ids identify modules here.
        self.retired: list[torch.nn.Module] = []
        self.untraced: list[str] = []  # "name (reason)" of modules fx could not trace

    def replacement(self, bn: torch.nn.BatchNorm2d, paired: bool) -> torch.nn.Module:
        """A fresh layer (or affine step) for ``bn``: its size, device, dtype, mode and affine values."""
        new = self.make(bn.num_features) if paired or self.lone_norm == "layer" else (
            ChannelAffine(bn.num_features))
        ref = next((t for t in (bn.weight, bn.running_mean) if t is not None), self.fallback_ref)
        if ref is not None:
            new = new.to(device=ref.device, dtype=ref.dtype)
        weight, bias = getattr(new, "weight", None), getattr(new, "bias", None)
        if (bn.affine and isinstance(weight, torch.nn.Parameter) and isinstance(bias, torch.nn.Parameter)
                and weight.shape == bn.weight.shape and bias.shape == bn.bias.shape):
            # A scale the model chose for its norm (0 at the end of a residual
            # branch, so each block starts as the identity) carries over.
            with torch.no_grad():
                weight.copy_(bn.weight)
                bias.copy_(bn.bias)
        new.train(bn.training)
        self.retired.append(bn)
        self.placed.update(id(m) for m in new.modules())
        if paired:
            self.pairs += 1
        else:
            self.lone_replaced += 1
        return new

    def convert(self, module: torch.nn.Module, name: str, root: bool = False) -> torch.nn.Module:
        """``module`` with its pairs swapped: itself (edited in place) or a new GraphModule."""
        if id(module) not in self.holders or isinstance(module, torch.nn.BatchNorm2d):
            return module  # nothing below, or a norm whose caller could not be read
        if isinstance(module, torch.nn.ModuleList | torch.nn.ModuleDict):
            self.walk_children(module, name)
            return module
        plain = type(module).forward is torch.nn.Sequential.forward
        if plain and not root:
            # The parent may index or iterate it: it stays a Sequential.
            self.walk_sequence(module, name, last_known=False)
            return module
        try:
            graph = _trace(module, self.holders)
        except Exception as err:  # any failure of the trace sends the module to the walk
            reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            self.untraced.append(f"{name or type(module).__name__} ({reason[:120]})")
            if plain:
                self.walk_sequence(module, name, last_known=root)
            else:
                self.walk_children(module, name)
            return module
        new = self.rewrite(module, graph, root)
        if new is not module:
            self.retired.append(module)
        return new

    def walk_children(self, module: torch.nn.Module, name: str) -> None:
        for key, child in list(module.named_children()):
            new = self.convert(child, f"{name}.{key}" if name else key)
            if new is not child:
                setattr(module, key, new)

    def walk_sequence(self, seq: torch.nn.Sequential, name: str, last_known: bool) -> None:
        """Pairs among the steps of a plain Sequential, nested plain Sequentials read as one run.

        ``last_known``: nothing runs after the last step (the model's own
        output), so a BatchNorm2d there is known to be lone.
        """
        steps: list[tuple[torch.nn.Module, str, torch.nn.Module, str]] = []

        def flatten(container: torch.nn.Module, prefix: str) -> None:
            for key, child in container.named_children():
                qualified = f"{prefix}.{key}" if prefix else key
                if type(child).forward is torch.nn.Sequential.forward:
                    flatten(child, qualified)
                else:
                    steps.append((container, key, child, qualified))

        flatten(seq, name)
        i = 0
        while i < len(steps):
            container, key, child, qualified = steps[i]
            following = steps[i + 1][2] if i + 1 < len(steps) else None
            if isinstance(child, torch.nn.BatchNorm2d) and isinstance(following, torch.nn.ReLU):
                self.seen.add(id(child))
                setattr(container, key, self.replacement(child, paired=True))
                next_container, next_key = steps[i + 1][:2]
                # Identity keeps the positions (and state_dict keys) of later steps.
                setattr(next_container, next_key, torch.nn.Identity())
                i += 2
                continue
            if isinstance(child, torch.nn.BatchNorm2d):
                if following is not None or last_known:
                    self.seen.add(id(child))
                    if self.lone_norm != "keep":
                        setattr(container, key, self.replacement(child, paired=False))
            else:
                new = self.convert(child, qualified)
                if new is not child:
                    setattr(container, key, new)
            i += 1

    def rewrite(self, module: torch.nn.Module, graph: torch.fx.Graph, root: bool) -> torch.nn.Module:
        """Swap the pairs the graph shows; ``module`` itself when nothing changes.

        Below the root, a norm whose value leaves the module may be followed by
        a ReLU in the caller (which did not trace): it is left unseen.
        """
        calls: dict[str, list[torch.fx.Node]] = {}
        read = [n.target for n in graph.nodes if n.op == "get_attr"]
        for node in graph.nodes:
            if node.op == "call_module" and isinstance(module.get_submodule(node.target),
                                                       torch.nn.BatchNorm2d):
                calls.setdefault(node.target, []).append(node)
        pairs: dict[str, list[torch.fx.Node]] = {}
        lone: list[str] = []
        for target, nodes in calls.items():
            users = [list(n.users) for n in nodes]
            # A norm called at several places is swapped only if a ReLU follows every call.
            paired = all(len(u) == 1 and _is_relu_of(u[0], n, module)
                         for u, n in zip(users, nodes, strict=True))
            if not paired and not root and any(u.op == "output" for us in users for u in us):
                continue  # what follows it is in the caller, which did not trace: unknown
            self.seen.add(id(module.get_submodule(target)))
            if any(r == target or r.startswith(target + ".") for r in read):
                continue  # its tensors are read directly: it must stay a BatchNorm2d
            if paired:
                pairs[target] = [u[0] for u in users]
            elif self.lone_norm != "keep":
                lone.append(target)
        if not pairs and not lone:
            return module
        for target, relus in pairs.items():
            for bn_node, relu in zip(calls[target], relus, strict=True):
                relu.replace_all_uses_with(bn_node)
                graph.erase_node(relu)
        graph.lint()
        gm = torch.fx.GraphModule(module, graph, type(module).__name__)
        for target in pairs:
            _set_module(gm, target, self.replacement(module.get_submodule(target), paired=True))
        for target in lone:
            _set_module(gm, target, self.replacement(module.get_submodule(target), paired=False))
        # Plain attributes (flags, sizes) stay readable for a parent that uses them.
        for key, value in vars(module).items():
            if not key.startswith("_") and not hasattr(gm, key):
                setattr(gm, key, value)
        for qualified, sub in gm.named_modules():
            if qualified == "" or type(sub) is torch.nn.Module:  # containers fx made
                sub.training = module.get_submodule(qualified).training
        return gm


def replace_norm_act(
    model: torch.nn.Module,
    *,
    lone_norm: str = "keep",
    layer: Callable[[int], torch.nn.Module] | None = None,
) -> tuple[torch.nn.Module, int]:
    """Put this file's layer wherever ``model`` has a BatchNorm2d followed by a ReLU.

    Returns ``(new_model, pairs)``: the converted model and the number of
    BatchNorm2d modules replaced because a ReLU followed them. The layer's own
    non-linearity takes the ReLU's place, so the ReLU call is removed. Usage::

        model, n = replace_norm_act(model)

    ``model`` itself is never changed (the work is done on a deep copy): use
    the returned model, and build the optimizer after converting. With no pair
    found, ``model`` comes back as it is with 0 and a warning.

    Where the whole model traces with ``torch.fx``, the result is a
    ``torch.fx.GraphModule`` with the same submodule names and state_dict keys
    (the swapped layers under their BatchNorm2d's names; its plain attributes
    are copied, its methods are not). fx finds a BatchNorm2d module whose output
    goes only to a ReLU: ``nn.ReLU`` (``inplace`` or not), ``F.relu``,
    ``torch.relu``, ``.relu()`` or their in-place forms, whether they sit in a
    Sequential, are attributes called one after the other in ``forward`` or
    are nested calls, across module boundaries; a norm called at several places
    only if every call is followed so. Modules without a BatchNorm2d stay
    opaque calls, untouched. (An ``nn.Sequential`` model that traces becomes a
    GraphModule too, so it can no longer be indexed.)

    Where a module does not trace (data-dependent Python control flow, or a
    ``forward`` that depends on ``self.training``), the walk keeps that module
    and edits below it in place: a BatchNorm2d directly followed by a ReLU
    module in a plain ``nn.Sequential`` (nested Sequentials read as one run;
    the ReLU becomes ``nn.Identity`` so positions stay), and each child module
    is tried with torch.fx again. A pair written in the untraceable ``forward``
    itself, or a norm ending a child whose ReLU is in that ``forward``, cannot
    be seen: a warning names every BatchNorm2d left so.

    Norms are ``torch.nn.BatchNorm2d`` and its subclasses (``SyncBatchNorm`` is
    not one: convert before ``SyncBatchNorm.convert_sync_batchnorm``).

    ``lone_norm``: what becomes of a BatchNorm2d known to have no ReLU after
    it: ``"keep"`` (default) leaves it; ``"affine"`` puts the per-channel
    affine step alone (:class:`ChannelAffine`), as the paper's placement does;
    ``"layer"`` puts the layer there too (adding a non-linearity).

    ``layer``: a callable from a channel count to a module, used instead of
    ``EXPORTED_LAYER`` (this file's class), e.g.
    ``functools.partial(EXPORTED_LAYER, eps=1e-3)``.

    Each new module gets the BatchNorm2d's channel count, device, dtype and
    train/eval mode, and its ``weight``/``bias`` start as the BatchNorm2d's
    (so a zero-initialised residual scale carries over); everything else
    starts as the layer format says (``v0`` = 0, ``v1`` = 1, running
    statistics at their initial values). ``model.train()``/``.eval()`` switch
    the new layers as they switched the norms.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if lone_norm not in LONE_NORM_CHOICES:
        raise ValueError(f"lone_norm must be one of {LONE_NORM_CHOICES}, got {lone_norm!r}")
    make = layer if layer is not None else EXPORTED_LAYER
    if make is None:
        raise TypeError("replace_norm_act needs layer=: only an exported layer.py has a default")
    work = copy.deepcopy(model)
    swapper = _Swapper(make, lone_norm, work)
    result = swapper.convert(work, "", root=True)
    known = swapper.seen | swapper.placed
    unseen = [n for n, m in result.named_modules()
              if isinstance(m, torch.nn.BatchNorm2d) and id(m) not in known]
    if unseen:
        where = f"; not traced: {', '.join(swapper.untraced[:3])}" if swapper.untraced else ""
        warnings.warn(
            f"replace_norm_act: {len(unseen)} BatchNorm2d left as they are because what follows "
            f"them could not be read: {', '.join(unseen[:10])}{' ...' if len(unseen) > 10 else ''}"
            f"{where}", stacklevel=2)
    if swapper.pairs == 0:
        warnings.warn(
            f"replace_norm_act: no BatchNorm2d followed by a ReLU in {type(model).__name__}"
            + ("; only lone norms were replaced" if swapper.lone_replaced else
               "; the model is returned unchanged"), stacklevel=2)
        if not swapper.lone_replaced:
            return model, 0
    return result, swapper.pairs
