"""A candidate's export bundle: a zip a user can unpack, test and use.

Contents: ``layer.py`` (generated module), ``graph.json`` (the layer graph
document), ``metrics.json`` (config, seed, per-architecture scores and
curves, lineage), ``expected.json`` (a small input and the output the
engine's own compiler gave for it), ``test_layer.py`` (pytest: layer.py
reproduces expected.json, and its replace_norm_act swaps a small model's
pairs) and ``README.md`` (a model card, showing the lines that swap the layer
into a user's model).
"""

from __future__ import annotations

import io
import json
import zipfile

from webapp.models import Candidate
from webapp.selectors.candidates import candidate_lineage, candidate_summary
from webapp.services.exports import CLASS_NAME, layer_source
from webapp.services.graphs import graph_from_stored

PROBE_SHAPE = (4, 8, 3, 3)  # batch 4 so batch statistics mean something; 8 channels
PROBE_SEED = 0

TEST_LAYER = '''"""Checks layer.py against the outputs the layer lab recorded when it exported this layer.

Run with ``pytest`` in this folder (needs torch).
"""

import importlib.util
import json
import pathlib

import torch

HERE = pathlib.Path(__file__).resolve().parent
EXPECTED = json.loads((HERE / "expected.json").read_text())


def load_layer_module():
    """layer.py from this folder, whatever the current directory or sys.path."""
    spec = importlib.util.spec_from_file_location(f"layer_{abs(hash(str(HERE)))}", HERE / "layer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build() -> torch.nn.Module:
    module = load_layer_module().{cls}(EXPECTED["num_features"])
    module.train()  # the recorded output is the first forward pass in training mode
    return module


def test_matches_recorded_output():
    x = torch.tensor(EXPECTED["input"], dtype=torch.float32)
    expected = torch.tensor(EXPECTED["output"], dtype=torch.float32)
    y = build()(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y, expected, rtol=1e-4, atol=1e-5, equal_nan=True)


def test_backward_gives_parameter_gradients():
    module = build()
    x = torch.tensor(EXPECTED["input"], dtype=torch.float32, requires_grad=True)
    module(x).sum().backward()
    assert module.weight.grad is not None and module.bias.grad is not None


def test_replace_norm_act_swaps_the_pairs_of_a_model():
    layer = load_layer_module()
    c = EXPECTED["num_features"]
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, c, 3, padding=1), torch.nn.BatchNorm2d(c), torch.nn.ReLU(),
        torch.nn.Conv2d(c, c, 3, padding=1), torch.nn.BatchNorm2d(c), torch.nn.ReLU(inplace=True),
        torch.nn.Conv2d(c, c, 1), torch.nn.BatchNorm2d(c),  # no ReLU: stays
    )
    new, n = layer.replace_norm_act(model)
    assert n == 2
    assert sum(isinstance(m, layer.{cls}) for m in new.modules()) == 2
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in new.modules()) == 1
    assert new(torch.randn(2, 3, 5, 5)).shape == (2, c, 5, 5)
'''


def _expected(document: dict) -> dict:
    import torch

    from search_engine.compiler import compile_graph

    graph = graph_from_stored(document=document)
    generator = torch.Generator().manual_seed(PROBE_SEED)
    x = torch.randn(*PROBE_SHAPE, generator=generator)
    module = compile_graph(graph, PROBE_SHAPE[1])
    module.train()
    with torch.no_grad():
        y = module(x)
    return {"num_features": PROBE_SHAPE[1], "shape": list(PROBE_SHAPE), "seed": PROBE_SEED,
            "mode": "train", "input": x.tolist(), "output": y.tolist()}


def _metrics(candidate: Candidate) -> dict:
    search = candidate.search
    return {
        "candidate": candidate_summary(candidate),
        "canonical_hash": candidate.canonical_hash,
        "formula": candidate.formula,
        "search": {"id": search.pk, "name": search.name, "preset": search.preset},
        "config": search.config,
        "seed": search.seed,
        "scores": candidate.scores,
        "mean_score": candidate.mean_score,
        "curves": candidate.curves,
        "timings": candidate.timings,
        "lineage": [candidate_summary(c) for c in candidate_lineage(candidate=candidate)],
    }


def _origin(candidate: Candidate) -> str:
    """How the layer came to be, in the model card's words (only a child of a mutation was
    found by the evolutionary search)."""
    search = f"search {candidate.search_id} ({candidate.search.name})"
    if candidate.mutation == "seed":
        return f"A seed layer of the layer lab's {search}: a starting point its owner chose, not a result of the search."
    if candidate.mutation == "random":
        return f"A random layer drawn by the layer lab's {search}."
    parent = f"candidate {candidate.parent_id}" if candidate.parent_id else "a parent"
    return (f"A normalization-activation layer found by the layer lab's evolutionary {search}: "
            f"the `{candidate.mutation}` mutation of {parent}.")


def _scores_section(candidate: Candidate, metrics: dict) -> str:
    eval_config = (metrics["config"] or {}).get("eval", {})
    setting = (f"Dataset: {eval_config.get('dataset', '?')}, {eval_config.get('steps', '?')} steps, "
               f"search seed {metrics['seed']}. Full config, curves and lineage: `metrics.json`.")
    if not candidate.scores:
        why = f" ({candidate.rejection_reason})" if candidate.rejection_reason else ""
        message = f" {candidate.message}" if candidate.message else ""
        return (f"## Scores\n\nNone: this layer was {candidate.status}{why}, so it has no validation "
                f"accuracy to report.{message}\n\n{setting}\n")
    rows = "\n".join(f"| {arch} | {acc:.4f} |" for arch, acc in sorted(candidate.scores.items()))
    mean = f"{candidate.mean_score:.4f}" if candidate.mean_score is not None else "n/a"
    return f"""## Scores (validation accuracy on the proxy task)

| architecture | accuracy |
|---|---|
{rows}

Mean: {mean}. {setting}
These are proxy-task numbers: retrain before trusting the layer on your task.
"""


def _readme(candidate: Candidate, metrics: dict) -> str:
    return f"""# {CLASS_NAME}: candidate {candidate.pk} of search {candidate.search_id}

{_origin(candidate)}

## What it computes

Before the learned per-channel affine step `y = out * weight + bias`:

```
out = {candidate.formula}
```

`sqrt` and `log` keep the sign; `*_sqmean` and `*_var` include eps. Mode
{candidate.mode} ({"uses batch statistics" if candidate.mode == "B" else "no batch statistics"}).

- Canonical hash (sha256 of the canonical graph): `{candidate.canonical_hash}`
- Status: {candidate.status}{f" ({candidate.rejection_reason})" if candidate.rejection_reason else ""}
- Mutation: {candidate.mutation}, parent candidate: {candidate.parent_id or "none"}

{_scores_section(candidate, metrics)}
## Use it in your model

```python
from layer import replace_norm_act

model, n = replace_norm_act(model)   # every BatchNorm2d followed by a ReLU becomes {CLASS_NAME}
```

`n` is the number of pairs replaced; the layer's own non-linearity takes the
ReLU's place. Keep the returned model (yours is left as it was) and build the
optimizer after converting. Where your model traces with `torch.fx` it comes
back as a `GraphModule` with the same state_dict keys; where it does not, the
pairs inside `nn.Sequential` containers and traceable submodules are swapped
and a warning names any BatchNorm2d it could not examine. A BatchNorm2d with
no ReLU after it stays, unless you pass `lone_norm="affine"` (the per-channel
affine step alone, as the paper places it) or `lone_norm="layer"`. The
docstring of `replace_norm_act` in `layer.py` has the details.

Or place the layer by hand:

```python
from layer import {CLASS_NAME}

norm = {CLASS_NAME}(num_features=64)   # replaces BatchNorm2d(64) + ReLU
y = norm(x)                             # x: (batch, 64, height, width)
```

`layer.py` needs only PyTorch. `graph.json` is the layer graph (format
`layer-graph/1`), loadable back into the lab's editor.

## Check

`pytest` in this folder runs `test_layer.py`, which feeds the input recorded in
`expected.json` through `layer.py` and compares with the output the lab's
compiler gave when the bundle was made, and swaps the layer into a small model.
"""


def candidate_bundle(*, candidate: Candidate) -> bytes:
    """The zip's bytes (ownership checked by the caller)."""
    metrics = _metrics(candidate)
    files = {
        "layer.py": layer_source(document=candidate.document),
        "graph.json": json.dumps(candidate.document, indent=2, sort_keys=True) + "\n",
        "metrics.json": json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n",
        "expected.json": json.dumps(_expected(candidate.document)) + "\n",
        "test_layer.py": TEST_LAYER.replace("{cls}", CLASS_NAME),
        "README.md": _readme(candidate, metrics),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
