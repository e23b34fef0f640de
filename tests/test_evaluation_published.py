"""Comparison against the paper: reference numbers, missing experiments, improvements, claim verdicts."""

import json
import re
from pathlib import Path

import pytest

from landslide_utils.evaluation.published import (
    TABLE6,
    check_claims,
    comparison_table,
    gather_metrics,
    improvements,
    load_reference,
)

ROOT = Path(__file__).resolve().parents[1]
METHODS = ROOT / "docs/methods.md"


def test_reference_matches_the_methods_document():
    """The published numbers in params/reference/yang2022.yaml and in docs/methods.md are the same."""
    text = METHODS.read_text(encoding="utf-8")
    section = re.search(r"^## Experiments I–VIII$(.*?)^## ", text, flags=re.M | re.S)
    assert section, "docs/methods.md has no section '## Experiments I–VIII'"
    rows = re.findall(r"^\| (I|II|III|IV|V|VI|VII|VIII) \|(?:[^|\n]*\|){3} ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| "
                      r"([\d.]+) \|$", section.group(1), flags=re.M)
    ref = load_reference(ROOT / "params/reference/yang2022.yaml").table
    assert sorted(name for name, *_ in rows) == sorted(ref.index)
    for name, p, r, f, m in rows:
        assert tuple(ref.loc[name, ["precision", "recall", "f1", "miou"]]) == (float(p), float(r), float(f), float(m))


def test_stated_improvements_follow_from_the_table():
    ref = load_reference(ROOT / "params/reference/yang2022.yaml")
    for _, st in ref.stated.iterrows():
        for m in ("precision", "recall", "f1", "miou"):
            if m in st and st[m] == st[m]:
                new, old = ref.table.loc[st["new"], m], ref.table.loc[st["base"], m]
                assert 100 * (new - old) / old == pytest.approx(st[m], abs=0.06)


def _write(d, name, **m):
    (d / f"{name}.json").write_text(json.dumps({"experiment": name, **m}))


def test_missing_experiment_is_reported_not_fatal(tmp_path):
    _write(tmp_path, "I", precision=0.5, recall=0.6, f1=0.55, miou=0.6)
    _write(tmp_path, "III", precision=0.6, recall=0.7, f1=0.65, miou=0.7)
    measured, missing = gather_metrics(tmp_path, TABLE6)
    assert missing == ["II", "IV"]
    ref = load_reference(ROOT / "params/reference/yang2022.yaml")
    table = comparison_table(measured, ref, TABLE6)
    assert table.loc["I", "precision"] == pytest.approx(50.0)
    assert table.loc["I", "precision_paper"] == 67.26
    assert table.loc["II", "precision"] != table.loc["II", "precision"]  # NaN for a missing run
    claims = check_claims(measured).set_index("claim")["verdict"]
    assert claims.filter(like="raise precision").item() == "not testable"
    assert claims.filter(like="all four").item() == "holds"
    imp = improvements(measured, ref)
    row = imp[(imp.comparison == "III vs I") & (imp.metric == "precision")].iloc[0]
    assert row.measured_pct == pytest.approx(20.0) and row.paper_pct == 26.12


def test_claims_that_do_not_hold(tmp_path):
    for name, f in {"I": 0.7, "II": 0.6, "III": 0.5, "IV": 0.4}.items():
        _write(tmp_path, name, precision=f, recall=f, f1=f, miou=f)
    measured, missing = gather_metrics(tmp_path, TABLE6)
    assert missing == []
    verdicts = check_claims(measured).set_index("claim")["verdict"]
    assert verdicts.filter(like="raise precision").item() == "does not hold"
    assert verdicts.filter(like="best").item() == "does not hold"


def test_corrupt_metrics_file_names_it(tmp_path):
    (tmp_path / "I.json").write_text("{not json")
    with pytest.raises(ValueError, match="I.json"):
        gather_metrics(tmp_path, ["I"])
