"""The package's floor plan, read from its code: modules, their imports of each other, circles, nested imports,
module and function sizes, and the import graph by subpackage that opens docs/architecture.md.

    .venv/bin/python tools/package_graph.py           # rewrite the generated block of docs/architecture.md
    .venv/bin/python tools/package_graph.py --check   # exit 1 when that block is stale (the tests run this)

Everything is read with :mod:`ast`: nothing of the package is imported, so a circle is found even where Python
would hide it (an import inside a function).
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "landslide_utils"
DOC = ROOT / "docs/architecture.md"
BLOCK = re.compile(r"(<!-- generated: package graph -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)
#: the one module whose imports of the package may sit inside functions: each command loads what it runs
LAZY_IMPORTS_ALLOWED = ("cli",)
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
#: a function longer than MAX_FUNCTION_LINES says why in a comment right above its ``def`` (or its decorators)
LONG_REASON = re.compile(r"#\s*long:\s*\S")


@dataclass(frozen=True)
class Import:
    """One import of a package module by another: where it is and whether it sits inside a function or class."""

    source: str
    target: str
    line: int
    nested: bool


def module_name(path: Path, package_dir: Path) -> str:
    """The dotted name of a module below the package folder, relative to the package (``""`` = the package)."""
    parts = list(path.relative_to(package_dir).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules(package_dir: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (relative to the package)."""
    return {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}


def _resolve(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = name.split(".") if name else []
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([PACKAGE, *base, *([node.module] if node.module else [])])


def imports_of(source: str, *, name: str, known: set[str], is_package: bool = False) -> list[Import]:
    """The package modules that module ``name`` imports (``known``: the package's module names)."""
    tree = ast.parse(source)
    top = {id(n) for n in tree.body}
    for n in tree.body:  # imports under a top-level ``if`` / ``try`` are still module level
        if isinstance(n, (ast.If, ast.Try)):
            top |= {id(m) for m in ast.walk(n) if isinstance(m, (ast.Import, ast.ImportFrom))}
    found: list[Import] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            base = _resolve(node, name, is_package)
            if base != PACKAGE and not base.startswith(PACKAGE + "."):
                continue
            rel = base[len(PACKAGE) + 1:] if base != PACKAGE else ""
            for alias in node.names:
                sub = f"{rel}.{alias.name}" if rel else alias.name
                targets.append(sub if sub in known else rel)
        elif isinstance(node, ast.Import):
            targets = [a.name[len(PACKAGE) + 1:] for a in node.names if a.name.startswith(PACKAGE + ".")]
        for t in targets:
            if t != name:
                found.append(Import(name, t, node.lineno, id(node) not in top))
    return found


def all_imports(package_dir: Path) -> list[Import]:
    """Every import of a package module by another, over the whole package."""
    mods = modules(package_dir)
    out: list[Import] = []
    for name, path in mods.items():
        out += imports_of(path.read_text(encoding="utf-8"), name=name, known=set(mods),
                          is_package=path.name == "__init__.py")
    return out


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return sorted(found)


def edges_of(imports: list[Import]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for imp in imports:
        out.setdefault(imp.source, set()).add(imp.target)
    return out


def nested_imports(imports: list[Import]) -> list[Import]:
    """Imports of package modules inside functions or classes, outside the modules allowed them."""
    return [i for i in imports if i.nested and i.source not in LAZY_IMPORTS_ALLOWED]


def long_modules(package_dir: Path) -> list[str]:
    return [f"{n}: {len(p.read_text(encoding='utf-8').splitlines())} lines" for n, p in modules(package_dir).items()
            if len(p.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES]


def long_functions(source: str, *, name: str) -> list[str]:
    """Functions over :data:`MAX_FUNCTION_LINES` lines (signature and body, the docstring left out) without a
    ``# long: <reason>`` comment above them."""
    lines = source.splitlines()
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = node.end_lineno - node.lineno + 1
        doc = node.body[0] if node.body and isinstance(node.body[0], ast.Expr) and isinstance(
            getattr(node.body[0], "value", None), ast.Constant) and isinstance(node.body[0].value.value, str) else None
        if doc is not None:
            length -= doc.end_lineno - doc.lineno + 1
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        k, above = first - 2, []
        while k >= 0 and lines[k].lstrip().startswith("#"):  # the comment block right above
            above.append(lines[k])
            k -= 1
        if length > MAX_FUNCTION_LINES and not any(LONG_REASON.search(a) for a in above):
            out.append(f"{name}.{node.name}: {length} lines")
    return out


def subpackage(module: str) -> str:
    """The folder a module belongs to (``config``, ``inputs`` ...) or the module itself at the top level."""
    return module.split(".")[0] if module else "__init__"


def subpackage_edges(imports: list[Import]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for imp in imports:
        a, b = subpackage(imp.source), subpackage(imp.target)
        if a != b:
            out.setdefault(a, set()).add(b)
    return out


def reduced(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The transitive reduction of an acyclic graph: an edge implied by a longer path is left out (the picture
    stays readable; the table keeps every import)."""
    def reach(v: str, seen: set[str]) -> set[str]:
        for w in edges.get(v, ()):
            if w not in seen:
                seen.add(w)
                reach(w, seen)
        return seen

    return {v: {w for w in ws if not any(w in reach(u, set()) for u in ws - {w})} for v, ws in edges.items()}


def layers(edges: dict[str, set[str]]) -> list[list[str]]:
    """Subpackages in layers: each imports only from layers below it (requires an acyclic graph)."""
    nodes = set(edges) | {w for ws in edges.values() for w in ws}
    level: dict[str, int] = {}

    def depth(v: str) -> int:
        if v not in level:
            level[v] = 0
            level[v] = 1 + max((depth(w) for w in edges.get(v, ())), default=-1)
        return level[v]

    for v in nodes:
        depth(v)
    out: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for v, d in level.items():
        out[d].append(v)
    return [sorted(x) for x in out]


def render(package_dir: Path = ROOT / PACKAGE) -> str:
    """The generated block: the import graph by subpackage (mermaid; an import implied by a longer path is left
    out of the picture), the subpackages in layers (each imports only from the lines below it), then what each
    one imports."""
    imports = all_imports(package_dir)
    edges = subpackage_edges(imports)
    rows = ["```mermaid", "flowchart BT"]  # arrows point from a subpackage to what it imports: data flow downhill
    picture = reduced(edges)
    for v in sorted(picture):
        rows += [f"    {v} --> {w}" for w in sorted(picture[v])]
    rows += ["```", "", "```"]
    for k, layer in reversed(list(enumerate(layers(edges)))):
        rows.append(f"layer {k}: " + "   ".join(layer))
    rows.append("```")
    rows.append("")
    rows.append("| subpackage | imports from |")
    rows.append("|---|---|")
    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        rows.append(f"| `{v}` | " + (", ".join(f"`{w}`" for w in sorted(edges.get(v, ()))) or "nothing of the package")
                    + " |")
    return "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    m = BLOCK.search(text)
    if m is None:
        print(f"{DOC}: no '<!-- generated: package graph -->' block", file=sys.stderr)
        return 1
    body = render()
    if "--check" in argv:
        if m.group("body") != body:
            print(f"{DOC}: the package graph is stale; run python tools/package_graph.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text[:m.start("body")] + body + text[m.end("body"):], encoding="utf-8")
    print(f"wrote the package graph into {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
