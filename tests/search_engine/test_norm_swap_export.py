"""replace_norm_act as users get it: exported layer.py files run in a fresh, isolated interpreter.

``python -I`` with the files in a temporary folder: the engine is not
importable there, so each file must stand on torch and the standard library
alone, and the check script also lists every module importing the file loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from search_engine.codegen import generate_source
from search_engine.graph import LayerGraph

LAYERS = ("evonorm_b0", "evonorm_s0", "bn_relu", "gn_relu")

CHECK = r'''
import importlib.util
import io
import json
import sys

try:
    import search_engine  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("the engine is importable: this check would prove nothing")

import torch
import torch.nn.functional as F
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)


class Net(nn.Module):
    """Two pairs (a Sequential and F.relu after self.bn), one lone norm before a convolution."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.lone = nn.BatchNorm2d(8)
        self.out = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(self.stem(x))))
        return self.fc(self.out(self.lone(x)).mean(dim=(2, 3)))


def load(path, name):
    before = set(sys.modules)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as an import would: torch.compile looks globals up by module name
    spec.loader.exec_module(module)
    loaded = sorted(m for m in set(sys.modules) - before - {name}
                    if m.split(".")[0] != "torch" and m.split(".")[0] not in sys.stdlib_module_names)
    return module, loaded


report = {}
for path in sys.argv[1:]:
    name = "layer_" + path.split("/")[-2]
    module, loaded = load(path, name)
    model, n = module.replace_norm_act(Net())
    placed = sorted(k for k, m in model.named_modules() if isinstance(m, module.EvolvedNorm))
    x = torch.randn(4, 3, 6, 6)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    out = model(x)
    loss = F.cross_entropy(out, torch.tensor([0, 1, 2, 3]))
    loss.backward()
    opt.step()
    finite = bool(torch.isfinite(loss)) and all(bool(torch.isfinite(p).all()) for p in model.parameters())
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    other, _ = module.replace_norm_act(Net())
    other.load_state_dict(torch.load(buffer, weights_only=True))
    model.eval()
    other.eval()
    reloaded = bool(torch.equal(model(x), other(x)))
    compiled = None
    if name == "layer_evonorm_s0":
        # fullgraph: dynamo takes the converted model whole. aot_eager runs forward
        # and backward through AOTAutograd as inductor would, without minutes of C++.
        model.train()
        fast = torch.compile(model, fullgraph=True, backend="aot_eager")
        y = fast(x)
        y.sum().backward()
        compiled = bool(torch.allclose(y, model(x), atol=1e-5))
    report[name] = {"pairs": n, "placed": placed, "shape": list(out.shape), "finite": finite,
                    "reloaded": reloaded, "compiled": compiled, "loaded": loaded,
                    "lone": type(model.get_submodule("lone")).__name__}
print(json.dumps(report))
'''


@pytest.mark.subprocess
def test_exported_files_swap_pairs_on_torch_alone(references: dict[str, LayerGraph],
                                                  tmp_path: Path) -> None:
    paths = []
    for slug in LAYERS:
        (tmp_path / slug).mkdir()
        path = tmp_path / slug / "layer.py"
        path.write_text(generate_source(references[slug]))
        paths.append(str(path))
    (tmp_path / "check.py").write_text(CHECK)
    run = subprocess.run([sys.executable, "-I", str(tmp_path / "check.py"), *paths], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(report) == {f"layer_{s}" for s in LAYERS}
    for name, r in report.items():
        assert r["loaded"] == [], (name, r["loaded"])  # nothing beyond torch and the standard library
        assert r["pairs"] == 2 and r["placed"] == ["bn", "stem.1"], (name, r)
        assert r["lone"] == "BatchNorm2d", (name, r)
        assert r["shape"] == [4, 4] and r["finite"] and r["reloaded"], (name, r)
    assert report["layer_evonorm_s0"]["compiled"] is True


@pytest.mark.parametrize("class_name", ["EvolvedNorm", "MyNorm"])
def test_default_layer_is_the_exported_class(references: dict[str, LayerGraph], class_name: str,
                                             tmp_path: Path) -> None:
    import importlib.util

    import torch
    from torch import nn

    path = tmp_path / "layer.py"
    path.write_text(generate_source(references["gn_relu"], class_name=class_name))
    spec = importlib.util.spec_from_file_location("layer_default", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.EXPORTED_LAYER is getattr(module, class_name)
    model, n = module.replace_norm_act(nn.Sequential(nn.Conv2d(3, 5, 1), nn.BatchNorm2d(5), nn.ReLU()))
    assert n == 1 and isinstance(model.get_submodule("1"), getattr(module, class_name))
    assert model.get_submodule("1").num_features == 5
    assert model(torch.randn(2, 3, 4, 4)).shape == (2, 5, 4, 4)
