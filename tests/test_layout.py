"""The package's architecture, checked from its source: imports go one way between layers, no
module takes part in an import circle (function-level imports included), and no two classes
share a name."""
from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gopolicy"

# Lower layers never import higher ones; a module may import its own layer and below.
LAYERS = [
    ["gopolicy", "gopolicy.errors", "gopolicy._board", "gopolicy.util", "gopolicy.go"],
    ["gopolicy.sgf"],
    ["gopolicy.features"],
    ["gopolicy.nn"],
    ["gopolicy.dataset"],
    ["gopolicy.play"],
    ["gopolicy.gtp", "gopolicy.rl", "gopolicy.training"],
    ["gopolicy.stats", "gopolicy.demo", "gopolicy.cli", "gopolicy.env"],
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """The gopolicy modules that ``name`` imports anywhere in its source (resolved to modules)."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t.split(".")[0] == "gopolicy" and t != name)
    return {t if t in MODULES or t == "gopolicy._board" else t.rpartition(".")[0] for t in found}


GRAPH = {name: imports_of(name) for name in MODULES}


def layer_of(name: str) -> int:
    matches = [(len(prefix), i) for i, layer in enumerate(LAYERS) for prefix in layer
               if name == prefix or name.startswith(prefix + ".")]
    assert matches, f"{name} is in no layer of tests/test_layout.py"
    return max(matches)[1]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_point_down_the_layers(name):
    upward = sorted(t for t in GRAPH[name] if layer_of(t) > layer_of(name))
    assert not upward, f"{name} imports a higher layer: {upward}"


def test_dataset_does_not_import_nn():
    assert not [m for m in MODULES if m.startswith("gopolicy.dataset") and any(t.startswith("gopolicy.nn") for t in GRAPH[m])]


def test_no_import_circles():
    def reachable(start: str) -> set[str]:
        seen, stack = set(), [start]
        while stack:
            for nxt in GRAPH.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    circles = sorted(name for name in MODULES if name in reachable(name) and not name.endswith("__init__"))
    assert not circles, f"modules in import circles: {circles}"


def test_no_two_classes_share_a_name():
    names = Counter(node.name for path in MODULES.values() for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.ClassDef))
    assert not [n for n, count in names.items() if count > 1]
