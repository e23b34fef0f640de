"""Stream output of executed notebooks, reduced to what a terminal would show.

papermill records every redraw of a progress bar as a separate ``stderr`` output (a ``\\r`` and the whole bar), so
one training cell of 150 steps stores some 200 copies of its bar: most of an executed experiment notebook's bytes.
:func:`squash_streams` merges consecutive stream outputs of the same name and keeps, of every line, what follows
its last carriage return — the final state of each bar, exactly as a terminal leaves it. Nothing else in the
notebook changes (cells, ids, metadata, rich outputs, the order of stdout and stderr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from landslide_utils.files.atomic import write_text

__all__ = ["terminal_text", "squash_streams", "squash_notebook_file"]


def terminal_text(text: str) -> str:
    """``text`` as a terminal shows it: of every line, the part after its last ``\\r`` (a trailing ``\\r`` only
    returns the cursor and erases nothing)."""
    out = []
    for line in text.split("\n"):
        body = line.rstrip("\r")
        out.append(body.rsplit("\r", 1)[-1])
    return "\n".join(out)


def squash_streams(nb: Any) -> int:
    """Merge consecutive same-name stream outputs of every code cell of ``nb`` (an ``nbformat`` notebook, changed
    in place) and reduce their text with :func:`terminal_text`; returns the number of outputs removed."""
    removed = 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or not cell.get("outputs"):
            continue
        merged: list[Any] = []
        for out in cell["outputs"]:
            if out.get("output_type") == "stream":
                text = out.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                if merged and merged[-1].get("output_type") == "stream" and merged[-1].get("name") == out.get("name"):
                    merged[-1]["text"] += text
                    removed += 1
                    continue
                out["text"] = text
            merged.append(out)
        for out in merged:
            if out.get("output_type") == "stream":
                out["text"] = terminal_text(out["text"])
        cell["outputs"] = [o for o in merged if o.get("output_type") != "stream" or o["text"]]
        removed += len(merged) - len(cell["outputs"])
    return removed


def squash_notebook_file(path: str | Path) -> int:
    """:func:`squash_streams` on the notebook file ``path``, rewritten atomically when anything changed; returns
    the number of outputs removed."""

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    removed = squash_streams(nb)
    if removed:
        text = nbformat.writes(nb)
        write_text(path, text if text.endswith("\n") else text + "\n")
    return removed
