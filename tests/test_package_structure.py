"""The package's structure: modules use only each other's public names; the notebooks are built by their tool."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "landslide_utils"


def private_imports(source: str, *, module: str) -> list[str]:
    """``from X import _name`` and ``alias._name`` on an imported package module, in one module's source."""
    tree = ast.parse(source)
    found: list[str] = []
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            internal = node.level > 0 or (node.module or "").startswith("landslide_utils")
            for alias in node.names:
                if internal and alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{module}:{node.lineno}: imports {alias.name} from {node.module or '.'}")
                if internal:
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("landslide_utils"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append(f"{module}:{node.lineno}: uses {node.value.id}.{node.attr}")
    return found


def test_the_checker_finds_private_imports() -> None:
    bad = "from .train import _batch_plan\nfrom . import train as t\nx = t._save\nfrom .io import write_json\n"
    found = private_imports(bad, module="fake.py")
    assert len(found) == 2 and "_batch_plan" in found[0] and "t._save" in found[1]


def test_no_module_uses_another_modules_private_names() -> None:
    found = []
    for path in sorted(PKG.rglob("*.py")):
        found += private_imports(path.read_text(encoding="utf-8"), module=str(path.relative_to(ROOT)))
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_build_notebooks_reproduces_the_notebooks(tmp_path: Path) -> None:
    """``tools/build_notebooks.py`` is the single source of notebooks/: rebuilding changes no byte."""
    out = tmp_path / "notebooks"
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_notebooks.py"), "--out", str(out)], check=True)
    built = sorted(p.name for p in out.glob("*.ipynb"))
    committed = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert built == committed
    stale = [n for n in built if (out / n).read_bytes() != (ROOT / "notebooks" / n).read_bytes()]
    assert not stale, f"notebooks differ from tools/build_notebooks.py: {stale}; run python tools/build_notebooks.py"


@pytest.mark.parametrize("profile", ["smoke", "smoke_related", "quick", "related"])
def test_committed_reports_carry_the_notebooks_cell_ids(profile: str) -> None:
    import nbformat

    reports = ROOT / "reports" / profile
    if not reports.is_dir():
        pytest.skip(f"no committed reports/{profile}")
    for nb_path in (ROOT / "notebooks").glob("*.ipynb"):
        ids = [c.id for c in nbformat.read(nb_path, as_version=4).cells]
        for rep in sorted(reports.glob(nb_path.stem + "*.ipynb")):
            got = [c.id for c in nbformat.read(rep, as_version=4).cells if "injected-parameters" not in
                   c.metadata.get("tags", [])]
            assert got == ids, f"{rep.relative_to(ROOT)}: cell ids differ from {nb_path.relative_to(ROOT)}"
