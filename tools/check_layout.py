#!/usr/bin/env python
"""Check the rules of docs/architecture.md that ruff cannot: run ``python tools/check_layout.py``.

1. **Function length**: no function or method longer than :data:`MAX_LINES` lines of code
   (docstring, blank and comment lines not counted).
2. **Private names stay private**: no module imports or uses another module's ``_private`` name
   (a private *module* such as ``lifecircle._files`` is fine; its public names are for the package).
3. **Data flows one way**: a module imports (at the top level) only from its own stage or stages
   before it, see :data:`STAGES`. Imports inside a function may reach a later stage only where
   :data:`LAZY_OK` allows it (``Analysis.map()`` and ``Analysis.to_excel()``, thin conveniences).

Exit status 1 and one line per violation when a rule is broken.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "lifecircle"
MAX_LINES = 80

#: stage of every top-level module or subpackage; a module may import from stages <= its own
STAGES: dict[str, int] = {
    "_errors": 0,
    "_files": 0,
    "_text": 0,
    "_located": 0,
    "_progress": 0,
    "settings": 0,
    "crs": 0,
    "speeds": 0,
    "_deprecated": 0,
    "sources": 1,
    "network": 2,
    "standards": 3,
    "facilities": 4,
    "communities": 4,
    "synthetic": 5,
    "isochrone": 5,
    "analysis": 6,
    "outputs": 7,
    "pipeline": 8,
    "config": 8,
    "batch": 8,
    "cli": 9,
    "__main__": 9,
    "__init__": 10,
}
#: (importing stage, imported stage) pairs allowed inside functions only
LAZY_OK = {("analysis", "outputs"), ("_deprecated", "*")}


def _stage_of(module: str) -> str:
    """'lifecircle.network.graph' -> 'network'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1] if len(parts) > 1 else parts
    return ".".join(parts)


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _code_lines(fn: ast.AST, lines: list[str]) -> int:
    body = fn.body  # type: ignore[attr-defined]
    skip: set[int] = set()
    if (
        body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
    ):
        if isinstance(body[0].value.value, str):
            skip = set(range(body[0].lineno, body[0].end_lineno + 1))
    n = 0
    for i in range(fn.lineno, fn.end_lineno + 1):  # type: ignore[attr-defined]
        text = lines[i - 1].strip()
        if i in skip or not text or text.startswith("#"):
            continue
        n += 1
    return n


def _long_functions(tree: ast.Module, lines: list[str], rel: Path) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = _code_lines(node, lines)
            if n > MAX_LINES:
                out.append(
                    f"{rel}:{node.lineno}: {node.name}() has {n} lines of code (max {MAX_LINES})"
                )
    return out


def _import_target(module: str, is_pkg: bool, node: ast.AST) -> tuple[str, list[str]]:
    if isinstance(node, ast.ImportFrom):
        return _resolve(module, is_pkg, node), [a.name for a in node.names]
    return "", []


def _later_stages(target: str, names: list[str], stage: str) -> list[str]:
    """Stages imported by one import that come after ``stage``."""
    tstage = _stage_of(target) if target != "lifecircle" else None
    tstages = (
        [n for n in names if n in STAGES]
        if tstage is None and names
        else ([tstage] if tstage else [])
    )
    return [
        ts for ts in tstages
        if ts in STAGES and stage in STAGES and STAGES[ts] > STAGES[stage]
    ]  # fmt: skip


def _imports(tree: ast.Module, module: str, is_pkg: bool, rel: Path) -> tuple[list[str], dict]:
    out: list[str] = []
    imported: dict[str, str] = {}  # local alias -> lifecircle module
    stage = _stage_of(module)
    top_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            imported.update({a.asname or a.name: a.name for a in node.names
                             if a.name.startswith("lifecircle")})  # fmt: skip
            continue
        target, names = _import_target(module, is_pkg, node)
        if not target.startswith("lifecircle"):
            continue
        imported.update({a.asname or a.name: f"{target}.{a.name}" for a in node.names})
        for name in names:
            if _private(name) and target != module:
                out.append(f"{rel}:{node.lineno}: imports private name {name} from {target}")
        lazy = id(node) not in top_level
        for ts in _later_stages(target, names, stage):
            if lazy and ((stage, ts) in LAZY_OK or (stage, "*") in LAZY_OK):
                continue
            out.append(f"{rel}:{node.lineno}: {stage} imports {ts} (a later stage)"
                       + (" inside a function" if lazy else ""))  # fmt: skip
    return out, imported


def _private_attributes(tree: ast.Module, imported: dict, rel: Path) -> list[str]:
    out = []
    own = _own_private_names(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        base = node.value
        if isinstance(base, ast.Name) and base.id in imported:
            out.append(f"{rel}:{node.lineno}: uses private name {base.id}.{node.attr}")
        elif not (isinstance(base, ast.Name) and base.id in ("self", "cls")) and (
            node.attr not in own and node.attr not in EXTERNAL_PRIVATE_OK
        ):
            out.append(f"{rel}:{node.lineno}: uses another module's private attribute .{node.attr}")
    return out


def check_file(path: Path) -> list[str]:
    """Violations in one file."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    module = _module_name(path)
    rel = path.relative_to(ROOT)
    out = _long_functions(tree, text.splitlines(), rel)
    found, imported = _imports(tree, module, path.name == "__init__.py", rel)
    return out + found + _private_attributes(tree, imported, rel)


#: private attributes of other libraries that their documented extension patterns use
#: (branca/folium MacroElement: ``_template``, ``_name``, ``_children``, ``_parent``, ``_id``)
EXTERNAL_PRIVATE_OK = {"_template", "_name", "_children", "_parent", "_id"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and not name.endswith("_")


def _own_private_names(tree: ast.Module) -> set[str]:
    """Private names this module defines: functions, classes, methods, attributes set on self."""
    own: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            own.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            own.add(node.target.id)
    return {n for n in own if _private(n)}


def main() -> int:
    """Check every module of the package; print violations."""
    problems: list[str] = []
    for path in sorted(PKG.rglob("*.py")):
        problems += check_file(path)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
