"""The package's layering, read from the source with `ast` (nothing under chainrule/ is imported
by the AST checks).

(a) chainrule/backend/ is self-contained: it imports nothing from chainrule outside
    chainrule.backend, except under ``if TYPE_CHECKING:`` (for annotations such as Window).
(b) the mathematics (chainrule/ops, autograd, nn, optim and tensor.py) never reaches for the
    speed tricks directly: no numba, no chainrule.backend.jit (nor its re-export chainrule.jit),
    no getrefcount, no as_strided. Those live in chainrule/backend behind named functions.
(c) chainrule/nn/ defines no autograd Function: every Function is an op in chainrule/ops.

Each violation is reported as ``path:line: [rule] what``.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "chainrule"

MATH_DIRS = ("ops", "autograd", "nn", "optim")
#: dotted names the mathematics must not import or touch
FORBIDDEN_IN_MATH = ("numba", "chainrule.backend.jit", "chainrule.jit")
#: names that must not appear at all in the mathematics (imported, called or as attributes)
FORBIDDEN_NAMES = {"getrefcount": "sys.getrefcount", "as_strided": "as_strided"}


# ----------------------------------------------------------------- the source model
@dataclass(frozen=True)
class Use:
    """A dotted name a module imports or reads, with where and whether it is typing-only."""

    name: str
    line: int
    type_checking: bool
    kind: str  # "import" or "attribute" or "name"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Uses(ast.NodeVisitor):
    """Every import (as full dotted names, relative ones resolved) and every Name / attribute
    chain resolved through the module's import aliases."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.aliases: dict[str, str] = {}
        self.uses: list[Use] = []
        self.classes: list[tuple[str, int, list[str]]] = []  # (name, line, resolved bases)
        self._tc = 0

    # -- imports
    def _base(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        pkg = self.package.split(".")
        pkg = pkg[:len(pkg) - (node.level - 1)]
        return ".".join(pkg + ([node.module] if node.module else []))

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.uses.append(Use(a.name, node.lineno, self._tc > 0, "import"))
            if a.asname:
                self.aliases[a.asname] = a.name
            else:
                head = a.name.split(".")[0]
                self.aliases[head] = head

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._base(node)
        for a in node.names:
            full = f"{base}.{a.name}" if a.name != "*" else base
            self.uses.append(Use(full, node.lineno, self._tc > 0, "import"))
            self.aliases[a.asname or a.name] = full

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self._tc += 1
            for child in node.body:
                self.visit(child)
            self._tc -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    # -- names and attribute chains
    def _resolve(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            head = self._resolve(node.value)
            return None if head is None else f"{head}.{node.attr}"
        return None

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self._resolve(node)
        self.uses.append(Use(name or f"?.{node.attr}", node.lineno, self._tc > 0, "attribute"))
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self.uses.append(Use(self.aliases.get(node.id, node.id), node.lineno, self._tc > 0,
                             "name"))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        bases = [self._resolve(b) or ast.unparse(b) for b in node.bases]
        self.classes.append((node.name, node.lineno, bases))
        self.generic_visit(node)


def analyse(source: str, module: str, is_package: bool = False) -> _Uses:
    uses = _Uses(module, is_package)
    uses.visit(ast.parse(source))
    return uses


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


# ----------------------------------------------------------------- the rules
def backend_violations(rel: str, uses: _Uses) -> Iterator[str]:
    """(a): chainrule.backend imports only chainrule.backend (typing-only imports aside)."""
    for u in uses.uses:
        if (u.kind == "import" and not u.type_checking and _under(u.name, "chainrule")
                and not _under(u.name, "chainrule.backend")):
            yield (f"{rel}:{u.line}: [backend imports only chainrule.backend] imports "
                   f"{u.name} outside `if TYPE_CHECKING:`")


def math_violations(rel: str, uses: _Uses) -> Iterator[str]:
    """(b): no numba, no chainrule.backend.jit, no getrefcount, no as_strided."""
    seen: set[int] = set()  # one report per line (an attribute chain is seen at each level)
    for u in uses.uses:
        if u.line in seen:
            continue
        last = u.name.rpartition(".")[2]
        if any(_under(u.name, bad) for bad in FORBIDDEN_IN_MATH):
            seen.add(u.line)
            yield (f"{rel}:{u.line}: [math layers do not use the speed tricks] uses {u.name} "
                   f"(numba and chainrule.backend.jit belong to chainrule.backend)")
        elif last in FORBIDDEN_NAMES:
            seen.add(u.line)
            yield (f"{rel}:{u.line}: [math layers do not use the speed tricks] uses "
                   f"{FORBIDDEN_NAMES[last]} ({u.name}); it belongs to chainrule.backend")


def function_class_violations(rel: str, uses: _Uses) -> Iterator[str]:
    """(c): no class in chainrule/nn/ has Function among its bases."""
    for name, line, bases in uses.classes:
        hits = [b for b in bases if b.rpartition(".")[2] == "Function"]
        if hits:
            yield (f"{rel}:{line}: [no Function in chainrule/nn] class {name} subclasses "
                   f"{hits[0]}; define autograd Functions in chainrule/ops")


# ----------------------------------------------------------------- the source files
def _files() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


@functools.cache
def _analysed(path: Path) -> tuple[str, _Uses]:
    rel = path.relative_to(ROOT).as_posix()
    return rel, analyse(path.read_text(encoding="utf-8"), _module_name(path, ROOT),
                        path.name == "__init__.py")


def _is_math(path: Path) -> bool:
    rel = path.relative_to(PKG).parts
    return rel[0] in MATH_DIRS or rel == ("tensor.py",)


def _report(violations: list[str]) -> str:
    return "layering violated:\n  " + "\n  ".join(violations)


def test_the_source_tree_is_found():
    files = [p.relative_to(PKG).as_posix() for p in _files()]
    assert "backend/__init__.py" in files and "tensor.py" in files
    assert any(f.startswith("ops/") for f in files) and any(f.startswith("nn/") for f in files)


def test_backend_imports_nothing_from_chainrule_outside_the_backend():
    violations = [v for p in _files() if p.relative_to(PKG).parts[0] == "backend"
                  for v in backend_violations(*_analysed(p))]
    assert not violations, _report(violations)


def test_math_layers_use_no_numba_jit_getrefcount_or_as_strided():
    violations = [v for p in _files() if _is_math(p) for v in math_violations(*_analysed(p))]
    assert not violations, _report(violations)


def test_nn_defines_no_function_subclass():
    violations = [v for p in _files() if p.relative_to(PKG).parts[0] == "nn"
                  for v in function_class_violations(*_analysed(p))]
    assert not violations, _report(violations)


def test_nn_defines_no_function_subclass_at_run_time():
    """(c) again, through inheritance the AST cannot see (a subclass of an op's class)."""
    from chainrule.autograd.function import Function

    violations = []
    for path in _files():
        if path.relative_to(PKG).parts[0] != "nn":
            continue
        module = importlib.import_module(_module_name(path, ROOT))
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and obj.__module__ == module.__name__
                    and issubclass(obj, Function)):
                line = inspect.getsourcelines(obj)[1]
                violations.append(f"{path.relative_to(ROOT).as_posix()}:{line}: "
                                  f"[no Function in chainrule/nn] class {name} is a Function")
    assert not violations, _report(violations)


# ----------------------------------------------------------------- the checker itself
@pytest.mark.parametrize("source, expected", [
    ("from chainrule.ops.geometry import Window\n", "chainrule.ops.geometry"),
    ("import chainrule.tensor\n", "chainrule.tensor"),
    ("from chainrule import ops\n", "chainrule.ops"),
    ("from chainrule import jit\n", "chainrule.jit"),
    ("import chainrule\n", "imports chainrule outside"),
    ("from .. import errors\n", "chainrule.errors"),
    ("def f():\n    from chainrule.ops import geometry\n", "chainrule.ops"),
    ("if TYPE_CHECKING:\n    pass\nelse:\n    from chainrule.ops import geometry\n",
     "chainrule.ops"),
])
def test_backend_rule_catches(source, expected):
    found = list(backend_violations("chainrule/backend/x.py",
                                    analyse(source, "chainrule.backend.x")))
    assert found and expected in found[0] and "chainrule/backend/x.py:" in found[0], found


@pytest.mark.parametrize("source", [
    "from __future__ import annotations\nimport numpy as np\n",
    "from chainrule.backend import buffers, jit\nfrom chainrule.backend.buffers import empty\n",
    "from . import jit\nfrom .buffers import empty\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
    "    from chainrule.ops.geometry import Window\n",
    "import typing\nif typing.TYPE_CHECKING:\n    import chainrule.ops\n",
])
def test_backend_rule_allows(source):
    assert not list(backend_violations("x", analyse(source, "chainrule.backend.x")))


@pytest.mark.parametrize("source, expected", [
    ("import numba\n", "numba"),
    ("from numba import njit\n", "numba"),
    ("from chainrule.backend import jit\n", "chainrule.backend.jit"),
    ("from chainrule.backend.jit import kernel\n", "chainrule.backend.jit"),
    ("import chainrule.backend.jit as j\n", "chainrule.backend.jit"),
    ("import chainrule.backend\nchainrule.backend.jit.enabled()\n", "chainrule.backend.jit"),
    ("from chainrule import backend\nbackend.jit.enabled()\n", "chainrule.backend.jit"),
    ("from ..backend import jit\n", "chainrule.backend.jit"),
    ("from chainrule import jit\n", "chainrule.jit"),
    ("import chainrule as cr\ncr.jit.enabled()\n", "chainrule.jit"),
    ("import sys\nsys.getrefcount(x)\n", "getrefcount"),
    ("from sys import getrefcount\n", "getrefcount"),
    ("from numpy.lib.stride_tricks import as_strided\n", "as_strided"),
    ("import numpy as np\nnp.lib.stride_tricks.as_strided(x, (2,), (8,))\n", "as_strided"),
])
def test_math_rule_catches(source, expected):
    found = list(math_violations("chainrule/ops/x.py", analyse(source, "chainrule.ops.x")))
    assert found and expected in found[0] and "chainrule/ops/x.py:" in found[0], found


@pytest.mark.parametrize("source", [
    "from chainrule.backend import pooling as backend\nbackend.max_pool(x, w)\n",
    "from chainrule.backend import buffers, gemm, windows\n",
    "import numpy as np\nnp.lib.stride_tricks.sliding_window_view(x, 2)\n",
    "import sys\nsys.float_info\n",
])
def test_math_rule_allows(source):
    assert not list(math_violations("x", analyse(source, "chainrule.ops.x")))


@pytest.mark.parametrize("source", [
    "from chainrule.autograd.function import Function\nclass F(Function):\n    pass\n",
    "from chainrule.autograd import function\nclass F(function.Function):\n    pass\n",
    "from chainrule.autograd.function import Function as Fn\nclass F(Fn):\n    pass\n",
    "import chainrule as cr\nclass F(object, cr.autograd.Function):\n    pass\n",
])
def test_function_rule_catches(source):
    found = list(function_class_violations("chainrule/nn/x.py",
                                           analyse(source, "chainrule.nn.x")))
    assert found and "chainrule/nn/x.py:" in found[0], found


def test_function_rule_allows_modules():
    source = "from chainrule.nn.module import Module\nclass Linear(Module):\n    pass\n"
    assert not list(function_class_violations("x", analyse(source, "chainrule.nn.x")))
