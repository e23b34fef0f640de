"""The study as a site (make site, make site-check) and as a Binder: the site's index reaches every committed
report, its configuration never executes a notebook, the link checker finds broken links and fragments in tiny
generated pages, and binder/ follows repo2docker's conventions (checked on the files: no network, no build)."""

from __future__ import annotations

import ast
import os
import re
import stat
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from site_check import broken_links, main  # noqa: E402  (tools/ is a folder of scripts, not a package)


def _conf() -> dict:
    """site/conf.py's settings (plain assignments of literals)."""
    tree = ast.parse((ROOT / "site/conf.py").read_text(encoding="utf-8"))
    return {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name)}


def test_the_site_renders_what_is_committed_and_reaches_every_report() -> None:
    conf = _conf()
    assert conf["nb_execution_mode"] == "off"  # the site shows the runs as they ran; nothing re-executes
    assert (ROOT / "site" / f"{conf['root_doc'].split('/', 1)[1]}.md").is_file()
    index = (ROOT / "site/index.md").read_text(encoding="utf-8")
    entries = set(re.findall(r"^(/\S+)$", index, flags=re.M))
    for folder in sorted(p for p in (ROOT / "reports").iterdir() if p.is_dir()):
        if any(folder.glob("*.ipynb")):
            assert f"/reports/{folder.name}/*" in entries, f"site/index.md lacks reports/{folder.name}/"
        if any(folder.glob("sweeps/*/07_analyse_sweep.ipynb")):
            assert f"/reports/{folder.name}/sweeps/*/07_analyse_sweep" in entries, folder.name
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert f"/docs/{doc.stem}" in entries, f"site/index.md lacks docs/{doc.name}"
    assert {"/README", "/reports/README"} <= entries


def _page(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<!DOCTYPE html><html><body>{body}</body></html>", encoding="utf-8")


def test_the_link_check_finds_missing_files_and_fragments(tmp_path: Path, capsys) -> None:
    _page(tmp_path / "index.html", '<a href="site/index.html">start</a><a href="https://example.org/x">out</a>')
    _page(tmp_path / "site/index.html", '<h1 id="top">the study as a site</h1><a href="../docs/a.html#b">a</a>'
                                        '<img src="../_images/f.png"><a href="#top">up</a><a href="mailto:x@y">m</a>')
    _page(tmp_path / "docs/a.html", '<section id="b">b</section>')
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images/f.png").write_bytes(b"png")
    assert broken_links(tmp_path) == []
    assert main([str(tmp_path), "--no-browser"]) == 0
    _page(tmp_path / "docs/c.html", '<a href="a.html#nope">x</a><a href="gone.html">y</a><img src="../g.png">'
                                    '<a href="#also-nope">z</a>')
    found = broken_links(tmp_path)
    assert found == ["docs/c.html: a.html#nope (no element with id 'nope')", "docs/c.html: gone.html (no such file)",
                     "docs/c.html: ../g.png (no such file)", "docs/c.html: #also-nope (no element with id 'also-nope')"]
    assert main([str(tmp_path), "--no-browser"]) == 1
    assert "4 broken local link(s)" in capsys.readouterr().err
    assert main([str(tmp_path / "nowhere"), "--no-browser"]) == 2


def test_binder_follows_repo2docker_conventions() -> None:
    """repo2docker reads binder/ (and then ignores the root's setup files): runtime.txt names the Python, an
    executable postBuild with a shebang installs the package from the repository's pins and registers the kernel
    the notebooks name; README gives the Binder address that opens JupyterLab on the notebooks."""
    binder = ROOT / "binder"
    assert (binder / "runtime.txt").read_text(encoding="utf-8").strip() == "python-3.11"
    post = binder / "postBuild"
    text = post.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash\n") and "set -e" in text
    assert os.stat(post).st_mode & stat.S_IXUSR, "binder/postBuild must be executable (git update-index --chmod=+x)"
    assert "-c constraints.txt -e ." in text and "ipykernel install" in text and "--name python3" in text
    assert (ROOT / "constraints.txt").is_file()
    for line in (binder / "requirements.txt").read_text(encoding="utf-8").splitlines():
        assert not line.strip() or line.lstrip().startswith("#") or "==" in line, line
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    link = re.search(r"https://mybinder\.org/v2/gh/\S+\?urlpath=lab/tree/notebooks", readme)
    assert link, "README lacks the Binder address that opens JupyterLab on the notebooks"


def test_the_site_root_leads_to_the_front_page() -> None:
    html = (ROOT / "site/extra/index.html").read_text(encoding="utf-8")
    assert 'url=site/index.html' in html and 'href="site/index.html"' in html
