"""The house's shape in numbers: run `python -m tests.architecture` (or `make arch`) to print them.

The rules it counts, for the product's code (`shopify_app/` and `jobs/`; not migrations, tests,
bench or extensions):

- **Files over 400 lines** (physical lines).
- **Functions over 60 lines** (from `def` to the function's last line, decorators excluded,
  nested functions counted on their own).
- **Imports inside functions**: an `import` under a `def`. Allowed only in `shopify_app/cli.py`
  and the app factory (`shopify_app/__init__.py`), each with a comment on its line or the line
  above saying why (a command loads its heavy module when it runs; the factory imports the
  blueprints it registers). Counted apart: those of our own modules and of third parties.
- **Import cycles**: groups of our modules that reach each other through imports (strongly
  connected components of grimp's graph, which sees every import, in functions too).

tests/test_architecture.py holds the product to these rules; import-linter's contracts in
pyproject.toml (run by `make lint`) hold the layers.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shopify_app", "jobs")
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60
# Where an import inside a function is allowed (with a comment saying why).
LATE_IMPORTS_ALLOWED = ("shopify_app/cli.py", "shopify_app/__init__.py")


@dataclass(frozen=True)
class LateImport:
    path: str
    line: int
    module: str
    ours: bool
    commented: bool


def source_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def long_files() -> list[tuple[str, int]]:
    found = []
    for path in source_files():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_FILE_LINES:
            found.append((relative(path), lines))
    return found


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def long_functions() -> list[tuple[str, str, int]]:
    found = []
    for path in source_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in _functions(tree):
            assert function.end_lineno is not None
            length = function.end_lineno - function.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append((relative(path), function.name, length))
    return found


def _module_of(node: ast.Import | ast.ImportFrom, path: Path) -> str:
    if isinstance(node, ast.Import):
        return node.names[0].name
    if node.level == 0:
        return node.module or ""
    package = path.relative_to(ROOT).with_suffix("").parts[: -node.level]
    return ".".join((*package, node.module or ""))


def late_imports() -> list[LateImport]:
    found = []
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for function in _functions(ast.parse(text)):
            for node in ast.walk(function):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                module = _module_of(node, path)
                here, above = lines[node.lineno - 1], lines[node.lineno - 2] if node.lineno > 1 else ""
                commented = "#" in here or above.strip().startswith("#")
                ours = module.split(".")[0] in PACKAGES
                found.append(LateImport(relative(path), node.lineno, module, ours, commented))
    # A nested function's import is walked once per enclosing function: count each line once.
    return sorted(set(found), key=lambda late: (late.path, late.line))


def import_graph() -> grimp.ImportGraph:
    sys.path.insert(0, str(ROOT))
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def cycles(graph: grimp.ImportGraph | None = None) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    graph = graph or import_graph()
    modules = sorted(graph.modules)
    edges = {module: sorted(graph.find_modules_directly_imported_by(module)) for module in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for start in modules:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = edges[node]
            if child < len(targets):
                work.append((node, child + 1))
                target = targets[child]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(components, key=len, reverse=True)


def report() -> str:
    files = source_files()
    late = late_imports()
    found_cycles = cycles()
    lines = [
        f"modules: {len(files)} ({sum(1 for path in files if 'services' in path.parts)} in services/)",
        f"lines: {sum(len(path.read_text(encoding='utf-8').splitlines()) for path in files)}",
        f"files over {MAX_FILE_LINES} lines: {len(long_files())}",
        *(f"  {path}: {count}" for path, count in long_files()),
        f"functions over {MAX_FUNCTION_LINES} lines: {len(long_functions())}",
        *(f"  {path} {name}: {count}" for path, name, count in long_functions()),
        f"imports inside functions: {len(late)} ({sum(1 for item in late if item.ours)} of our own modules)",
        *(f"  {item.path}:{item.line} {item.module}" for item in late),
        f"import cycles: {len(found_cycles)}" + (f" (largest {len(found_cycles[0])} modules)" if found_cycles else ""),
        *(f"  {len(cycle)}: {', '.join(cycle)}" for cycle in found_cycles),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
