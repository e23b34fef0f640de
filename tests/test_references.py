"""The repository stands alone: no text in it names a document that is not in the repository, or a path outside it.

Scanned: README.md, docs/**/*.md, landslide_utils/**/*.py, notebooks/*.ipynb (cell sources), params/**/*.yaml,
tools/*.py, benchmarks/*.py, Makefile and tests/**/*.py (except this file). A finding names the file and the line:

(a) a Markdown file name (``name.md``, with or without a folder) that exists neither relative to the text's own
    folder nor relative to the repository root; and, in Markdown files, a relative link target that does not exist;
(b) a path that leaves the repository: a sibling folder of the checkout (``../<name>``), a ``../`` path that resolves above the repository root, or an
    absolute path into a machine's folders (``/work/...``, ``/home/...``, the repository's own absolute location).

URLs (``https://...``) are external by nature and not checked. Example paths of a user's own data such as
``/data/ludian/dem.tif`` are allowed: they name no folder of the machine the project was written on.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

# names of documents and folders that live beside the checkout, never in it (spelt in pieces so that this file
# does not itself name them)
SIBLING = "../" + "shared"
SPEC, LAYOUT = "METH" + "ODS", "DES" + "IGN"
ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve()

#: roots of absolute paths that point into a particular machine
MACHINE_ROOTS = ("work", "home", "root", "Users", "mnt", "media", "scratch", "nfs", "private", "var/folders")

#: folders every machine has: a checkout's parent may be one of them (a clone into ``/tmp/check``), and a text that
#: names one (a socket under ``/tmp``) names no particular machine
SHARED_FOLDERS = frozenset({"/tmp", "/var/tmp", tempfile.gettempdir()})

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")
_MD = re.compile(r"(?<![\w/.*~-])((?:\.{1,2}/)*(?:[\w.-]+/)*[\w-][\w.-]*\.md)(?![\w-])")
_MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
_UP = re.compile(r"(?<![\w.~/-])((?:\.\./)+[\w./-]*)")
_ABS = re.compile(r"(?<![\w.:/~-])(/(?:" + "|".join(re.escape(r) for r in MACHINE_ROOTS) + r")/[^\s'\"`)\]>,;]*)")


def _exists_exactly(path: Path) -> bool:
    """``path`` exists with exactly this spelling (also on case-insensitive file systems)."""
    try:
        path = path.resolve()
    except OSError:
        return False
    return path.exists() and path.name in os.listdir(path.parent)


def _inside(path: Path) -> bool:
    try:
        path.resolve().relative_to(ROOT)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=None)
def _resolves(ref: str, folder: Path) -> bool:
    """``ref`` names an existing file or folder of the repository, relative to ``folder`` or to the root."""
    return any(_inside(c) and _exists_exactly(c) for c in (folder / ref, ROOT / ref))


def machine_locations(root: Path) -> list[str]:
    """The absolute locations a text must not name: the checkout ``root`` and its parent folder, unless that is the
    file system's root or a folder every machine has (:data:`SHARED_FOLDERS`)."""
    return [str(p) for p in {root, root.parent} if p != Path(p.anchor) and str(p) not in SHARED_FOLDERS]


def check_text(text: str, where: Path) -> list[tuple[int, str]]:
    """Findings ``(line number, message)`` for a text that lives at ``where`` (a path inside the repository)."""
    folder = where.parent
    machine = machine_locations(ROOT)
    findings: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _URL.sub(lambda m: " " * len(m.group()), raw)
        messages: list[str] = []
        if SIBLING in line:
            messages.append(f"names {SIBLING}, a folder outside the repository")
        for m in _UP.finditer(line):
            ref = m.group(1).rstrip(".")
            if SIBLING not in ref and not _inside(folder / ref):
                messages.append(f"'{ref}' leads outside the repository")
        for m in _ABS.finditer(line):
            messages.append(f"'{m.group(1)}' is an absolute path into a machine's folders")
        for root in machine:
            if root in line and not any(root in msg for msg in messages):
                messages.append(f"names the repository's absolute location {root}")
        for m in _MD.finditer(line):
            ref = m.group(1)
            if not _resolves(ref, folder):
                messages.append(f"names '{ref}', which is not a file of the repository")
        if where.suffix == ".md":
            for m in _MD_LINK.finditer(line):
                target = m.group(1).split("#")[0]
                if target and not target.endswith(".md") and not _resolves(target, folder):
                    messages.append(f"links to '{target}', which is not in the repository")
        findings.extend((number, msg) for msg in dict.fromkeys(messages))
    return findings


def scanned_files() -> list[Path]:
    patterns = ["README.md", "docs/**/*.md", "landslide_utils/**/*.py", "notebooks/*.ipynb", "params/**/*.yaml",
                "tools/*.py", "benchmarks/*.py", "Makefile", "tests/**/*.py"]
    files = {p.resolve() for pattern in patterns for p in ROOT.glob(pattern) if p.is_file()}
    return sorted(files - {THIS})


def check_file(path: Path) -> list[str]:
    """``file:line: message`` findings of one file (notebooks: ``file:cell N line M``)."""
    rel = path.relative_to(ROOT).as_posix()
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [f"{rel}:cell {k} line {n}: {msg}" for k, cell in enumerate(cells)
                for n, msg in check_text("".join(cell.get("source", "")), path)]
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        text = blank_yaml_blocks(text)
    return [f"{rel}:{n}: {msg}" for n, msg in check_text(text, path)]


def blank_yaml_blocks(text: str) -> str:
    """Empty the lines of fenced YAML examples in Markdown: they show a parameter file's content, whose relative
    paths are relative to that file (e.g. a sweep's ``profile: ../profiles/quick.yaml``), not to the document.
    Line numbers are kept."""
    out, inside = [], False
    for line in text.split("\n"):
        stripped = line.strip()
        if not inside and stripped.startswith("`" * 3 + "yaml"):
            inside = True
            out.append(line)
            continue
        if inside and stripped.startswith("`" * 3):
            inside = False
        out.append("" if inside else line)
    return "\n".join(out)


def test_the_repository_names_only_its_own_files():
    files = scanned_files()
    assert any(p.name == "README.md" for p in files) and any(p.suffix == ".ipynb" for p in files)
    findings = [f for p in files for f in check_file(p)]
    assert not findings, "references to files that are not in the repository:\n" + "\n".join(findings)


def test_the_checker_catches_bad_references():
    where = ROOT / "landslide_utils" / "example.py"
    bad = [
        f'Slope as in {SPEC}.md section 1.',
        f'See "Data flow" in {LAYOUT}.md.',
        "The index is described in docs/CONTRACTS.md.",
        f"Read {SIBLING}/{SPEC}.md first.",
        f"The sample lives in {SIBLING}/data/bijie_sample/.",
        "Or in ../../elsewhere/notes.txt.",
        "Run from /work/main/notebooks.",
        "Outputs under /home/someone/data.",
        f"The checkout at {ROOT}/params.",
    ]
    for number, text in enumerate(bad, start=1):
        assert check_text(text, where), f"not caught: {text!r}"
    found = check_text("\n".join(bad), where)
    assert sorted({n for n, _ in found}) == list(range(1, len(bad) + 1))  # reported on the right lines


def test_yaml_examples_in_markdown_are_not_read_as_references():
    fence = "`" * 3
    text = f"before\n{fence}yaml\nprofile: ../profiles/quick.yaml\n{fence}\nafter {SIBLING}/x\n"
    blanked = blank_yaml_blocks(text)
    assert "../profiles" not in blanked and SIBLING in blanked
    assert blanked.count("\n") == text.count("\n")


def test_the_checker_accepts_good_references():
    where = ROOT / "landslide_utils" / "example.py"
    good = [
        'See docs/methods.md, "Data preparation", and docs/architecture.md.',
        "The README.md lists the commands.",
        "``data/<p>/experiments/EXP/prediction.tif`` and ``.../error_map.tif`` (same folder).",
        "image_t1: /data/ludian/image_20140820.tif   # an example of a user's own file",
        "https://github.com/matterport/Mask_RCNN/blob/master/README.md (an external page)",
        "every Markdown file (*.md) is scanned",
    ]
    assert check_text("\n".join(good), where) == []
    # relative to the text's own folder: docs/architecture.md may say methods.md, a package module may not
    assert check_text("see methods.md", ROOT / "docs" / "architecture.md") == []
    assert check_text("see methods.md", where)
    assert check_text("[the methods](methods.md), ![a figure](../reports/none.png)", ROOT / "docs" / "x.md")


def test_a_checkout_in_a_shared_folder_keeps_its_parent_nameable():
    # a clone into /tmp/check: "/tmp/check" is the checkout's own location, "/tmp" is every machine's
    assert machine_locations(Path("/tmp/check")) == ["/tmp/check"]
    assert sorted(machine_locations(Path("/work/main"))) == ["/work", "/work/main"]
    assert machine_locations(Path("/repo")) == ["/repo"]
