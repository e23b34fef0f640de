"""Progress-bar redraws in executed notebooks reduced to their final state (landslide_utils.runner.notebook_output)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from hypothesis import given
from hypothesis import strategies as st

from landslide_utils.runner.notebook_output import squash_notebook_file, squash_streams, terminal_text


def _stream(name: str, text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name=name, text=text)


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    bar = [_stream("stderr", f"\rtrain:  {k}0%| {k}/10 [00:0{k}]") for k in range(10)]
    cell = nbformat.v4.new_code_cell("train()")
    cell.outputs = bar[:5] + [_stream("stdout", "epoch 1\n")] + bar[5:] + [
        _stream("stderr", "\n"), nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1)]
    nb.cells = [nbformat.v4.new_markdown_cell("# title"), cell, nbformat.v4.new_code_cell("x = 1")]
    return nb


def test_redraws_become_the_final_bar_and_the_rest_is_kept() -> None:
    nb = _notebook()
    ids = [c.id for c in nb.cells]
    assert squash_streams(nb) == 9
    outs = nb.cells[1].outputs
    assert [o.get("name", o.output_type) for o in outs] == ["stderr", "stdout", "stderr", "execute_result"]
    assert outs[0].text == "train:  40%| 4/10 [00:04]"
    assert outs[1].text == "epoch 1\n"
    assert outs[2].text == "train:  90%| 9/10 [00:09]\n"
    assert outs[3].data == {"text/plain": "42"}
    assert [c.id for c in nb.cells] == ids and nb.cells[0].source == "# title"
    assert squash_streams(nb) == 0  # idempotent


def test_file_is_rewritten_only_when_something_changed(tmp_path: Path) -> None:
    path = tmp_path / "run.ipynb"
    nbformat.write(_notebook(), path)
    assert squash_notebook_file(path) == 9
    nbformat.validate(nbformat.read(path, as_version=4))
    before = path.stat().st_mtime_ns, path.read_bytes()
    assert squash_notebook_file(path) == 0
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before


@given(st.text(alphabet="ab\r\n %|", max_size=60))
def test_terminal_text_is_idempotent_and_plain_text_unchanged(text: str) -> None:
    once = terminal_text(text)
    assert terminal_text(once) == once
    assert "\r" not in once
    plain = text.replace("\r", "")
    assert terminal_text(plain) == plain
