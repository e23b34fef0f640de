"""Check the built site (``make site-check``): every local link and image resolves, and a headless browser renders
the index.

    python tools/site_check.py build/site                 # links, then headless Chromium on index.html
    python tools/site_check.py build/site --no-browser    # links only

A local link is any ``href`` or ``src`` without a scheme (``http:``, ``mailto:`` ...): its file must exist in the
build, and its ``#fragment``, if any, must name an ``id`` of that page. The browser check opens ``index.html``
with Chromium (Debian package ``chromium``; ``chromium --headless --dump-dom``), follows the redirect to the
site's front page and requires that page's heading in the rendered DOM. Exit status 1 with every broken link listed, 2 when
the build folder or the browser is missing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

TITLE = "the study as a site"
"""Text the rendered front page must contain: the heading of site/index.md, which only the front page has (the
root index.html that redirects to it does not), so finding it proves the redirect was followed and rendered."""


class _Page(HTMLParser):
    """The local links and the ids of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            elif name in ("href", "src") and value and tag != "base":
                self.links.append(value)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def broken_links(site: Path) -> list[str]:
    """``page: link (why)`` for every local link of the site's pages that does not resolve."""
    pages = {p: _parse(p) for p in sorted(site.rglob("*.html"))}
    broken = []
    for page, parsed in pages.items():
        for link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//") or link.startswith("data:"):
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if parts.path.endswith("/") or target.is_dir():
                target = target / "index.html"
            where = f"{page.relative_to(site)}: {link}"
            if not target.is_file():
                broken.append(f"{where} (no such file)")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if fragment not in ids:
                    broken.append(f"{where} (no element with id '{fragment}')")
    return broken


def browser_renders(site: Path) -> tuple[bool, str]:
    """Open the site's index in headless Chromium; ``(ok, message)``."""
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None:
        return False, "no Chromium on PATH: install the Debian package (sudo apt-get install chromium)"
    index = (site / "index.html").resolve()
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
           index.as_uri()]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False, f"{exe} did not render {index} within 120 s"
    if done.returncode != 0 or TITLE not in done.stdout:
        return False, (f"{exe} exited {done.returncode}; the rendered page lacks '{TITLE}'\n"
                       f"{done.stderr.strip()[-2000:]}")
    return True, f"{Path(exe).name} rendered {index.relative_to(Path.cwd()) if index.is_relative_to(Path.cwd()) else index} ({len(done.stdout)} characters of DOM)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", type=Path, help="the built site (make site writes build/site)")
    ap.add_argument("--no-browser", action="store_true", help="check the links only")
    args = ap.parse_args(argv)
    if not (args.site / "index.html").is_file():
        print(f"error: {args.site}/index.html: no built site there; run make site first", file=sys.stderr)
        return 2
    pages = sum(1 for _ in args.site.rglob("*.html"))
    broken = broken_links(args.site)
    if broken:
        print(f"{len(broken)} broken local link(s) in {pages} pages:", file=sys.stderr)
        for b in broken:
            print(f"  {b}", file=sys.stderr)
        return 1
    print(f"links: every local link of {pages} pages resolves")
    if args.no_browser:
        return 0
    ok, message = browser_renders(args.site)
    print(("browser: " if ok else "error: browser: ") + message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
