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


# --------------------------------------------------------------------------------------------------------------
# the floor plan (tools/package_graph.py): no circles, no nested imports of the package, rooms of a size to hold in
# mind, ruff clean, and the picture in docs/architecture.md generated from the code

sys.path.insert(0, str(ROOT / "tools"))
import package_graph  # noqa: E402 - the tool beside the tests' project


def test_the_circle_finder_finds_a_circle_hidden_in_a_function() -> None:
    known = {"a", "b", "c"}
    imports = (package_graph.imports_of("from landslide_utils.b import x\n", name="a", known=known)
               + package_graph.imports_of("def f():\n    from landslide_utils.c import y\n", name="b", known=known)
               + package_graph.imports_of("from landslide_utils import a\n", name="c", known=known))
    assert package_graph.cycles(package_graph.edges_of(imports)) == [["a", "b", "c"]]
    assert [i.source for i in package_graph.nested_imports(imports)] == ["b"]
    assert package_graph.cycles({"a": {"b"}, "b": {"c"}}) == []


def test_the_package_has_no_import_circle() -> None:
    imports = package_graph.all_imports(PKG)
    assert not package_graph.cycles(package_graph.edges_of(imports)), "modules that import each other"
    assert not package_graph.cycles(package_graph.subpackage_edges(imports)), "subpackages that import each other"


def test_no_module_imports_the_package_inside_a_function() -> None:
    nested = package_graph.nested_imports(package_graph.all_imports(PKG))
    assert not nested, "imports of the package inside functions (move them to the top of the module):\n" + "\n".join(
        f"{i.source}:{i.line} imports {i.target}" for i in nested)


def test_modules_and_functions_are_of_a_size_to_hold_in_mind() -> None:
    assert not package_graph.long_modules(PKG), f"modules over {package_graph.MAX_MODULE_LINES} lines"
    long = [f for name, path in package_graph.modules(PKG).items()
            for f in package_graph.long_functions(path.read_text(encoding="utf-8"), name=name)]
    assert not long, (f"functions over {package_graph.MAX_FUNCTION_LINES} lines without a '# long: <reason>' line "
                      "above them:\n" + "\n".join(long))


def test_the_length_check_asks_for_a_reason() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(package_graph.MAX_FUNCTION_LINES))
    assert package_graph.long_functions(f"def f():\n{body}", name="m") == ["m.f: 81 lines"]
    assert package_graph.long_functions(f"# long: one table, row by row\ndef f():\n{body}", name="m") == []


def test_the_package_graph_in_the_architecture_doc_is_current() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "package_graph.py"), "--check"], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_ruff_finds_nothing() -> None:
    """Import order, unused names, undefined names, imports outside the top of a module (pyproject.toml)."""
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


#: test files about the study as a whole rather than one module (notebooks, bad inputs, reports, the tree itself)
WHOLE_STUDY_TESTS = {"test_bad_inputs", "test_chip_study", "test_every_experiment_model", "test_notebooks",
                     "test_package_structure", "test_readme_results", "test_references", "test_reports_reproduce",
                     "test_reports_small", "test_reports_text", "test_site"}


def test_test_files_mirror_the_package() -> None:
    """``tests/test_<subpackage>_<module>.py`` tests ``landslide_utils/<subpackage>/<module>.py`` (or the
    subpackage itself); a renamed module whose tests keep the old name is found here."""
    folders = {p.parent.name for p in PKG.rglob("__init__.py") if p.parent != PKG}
    stray = []
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if path.stem in WHOLE_STUDY_TESTS:
            continue
        rest = path.stem.removeprefix("test_")
        folder = next((f for f in sorted(folders, key=len, reverse=True) if rest == f or rest.startswith(f + "_")),
                      None)
        if folder is None:
            stray.append(f"{path.name}: no subpackage {rest.split('_')[0]!r}")
            continue
        module = rest[len(folder) + 1:]
        names = {p.stem for p in (PKG / folder).glob("*.py")}
        # a file may test one aspect of a folder: its name then continues with what (density_trends, gao)
        if module and not any(module == n or module.startswith(n + "_") for n in names) and module not in {
                "density_trends", "gao"}:
            stray.append(f"{path.name}: no module {folder}/{module}.py")
    assert not stray, "test files named after no module:\n" + "\n".join(stray)
