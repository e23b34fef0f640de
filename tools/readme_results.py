"""Regenerate (or check) the result blocks of reports/README.md (the results page) from the committed reports, so
that no result there is pasted by hand.

A block is the text between a line ``<!-- generated: ARGS -->`` and the next ``<!-- end generated -->``; its body
is what ``tools/results_markdown.py ARGS`` prints from the committed tables and metrics.

    .venv/bin/python tools/readme_results.py           # rewrite every block of reports/README.md
    .venv/bin/python tools/readme_results.py --check   # exit 1 naming the stale blocks (the tests run this)
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- generated: (?P<args>[^>]*?) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)


def render(args: str) -> str:
    """What ``tools/results_markdown.py ARGS`` prints."""
    sys.path.insert(0, str(ROOT / "tools"))
    import results_markdown  # the sibling script

    out = io.StringIO()
    argv = sys.argv
    try:
        sys.argv = ["results_markdown.py", *args.split()]
        with contextlib.redirect_stdout(out):
            results_markdown.run(sys.argv[1:])
    finally:
        sys.argv = argv
    return out.getvalue().strip() + "\n"


def regenerate(text: str) -> tuple[str, list[str]]:
    """``text`` with every block regenerated, and the arguments of the blocks that changed."""
    stale: list[str] = []

    def fill(m: re.Match[str]) -> str:
        body = render(m.group("args"))
        if body != m.group("body"):
            stale.append(m.group("args"))
        return m.group(1) + body + m.group(4)

    return BLOCK.sub(fill, text), stale


#: the pages holding generated blocks
PAGES = (ROOT / "reports" / "README.md",)


def main() -> int:
    readme = PAGES[0]
    new, stale = regenerate(readme.read_text(encoding="utf-8"))
    if "--check" in sys.argv[1:]:
        if stale:
            print("reports/README.md: stale generated block(s): " + "; ".join(stale)
                  + " - run .venv/bin/python tools/readme_results.py", file=sys.stderr)
            return 1
        return 0
    readme.write_text(new, encoding="utf-8")
    print("reports/README.md: " + (f"regenerated {len(stale)} block(s)" if stale else "every generated block is current"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
