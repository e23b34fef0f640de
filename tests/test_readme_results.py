"""The results page's (reports/README.md) blocks are generated from the committed reports (tools/readme_results.py), never pasted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import readme_results  # noqa: E402 - the tool beside the results script


def test_readme_result_blocks_are_current() -> None:
    text = readme_results.PAGES[0].read_text(encoding="utf-8")
    assert readme_results.BLOCK.search(text), "reports/README.md has no generated result block"
    proc = subprocess.run([sys.executable, str(ROOT / "tools/readme_results.py"), "--check"], capture_output=True,
                          text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_a_hand_edited_block_is_found_stale() -> None:
    text = readme_results.PAGES[0].read_text(encoding="utf-8")
    m = readme_results.BLOCK.search(text)
    edited = text[:m.start("body")] + m.group("body").replace("|", "| 1", 1) + text[m.end("body"):]
    _, stale = readme_results.regenerate(edited)
    assert stale == [m.group("args")]


def test_a_malformed_table_argument_names_the_option_and_its_form() -> None:
    for args, says in ((["--budgets", "bijie_sample:bijie_be"], "--budgets bijie_sample:bijie_be: expected "
                        "PROFILE:SHORTER:LONGER"),
                       (["--curve", "quick:convergence:x"], "EVERY is a number of steps"),
                       (["--spread", "quick"], "--spread quick: expected PROFILE:SWEEP"),
                       (["--spread", "quick:no_such_sweep"], "no_such_sweep/results.csv does not exist")):
        proc = subprocess.run([sys.executable, str(ROOT / "tools/results_markdown.py"), *args], capture_output=True,
                              text=True, cwd=ROOT)
        assert proc.returncode != 0 and says in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
