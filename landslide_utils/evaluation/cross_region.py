"""Cross-region tests: every experiment's model, trained on the profile's data, evaluated on other datasets too.

The claim of Yang et al. (2022) for background enhancement is about confusing backgrounds, which is what a new
region brings; ``evaluation.extra_tests`` lists chip datasets (name, format, path) that step 01 cuts into tiles
(:func:`landslide_utils.steps.prepare.prepare_extra_tests`) and step 04 evaluates each checkpoint on, with the same
decision threshold and the training data's normalisation (nothing is fitted to the new region). Outputs per
experiment ``EXP`` and test set ``NAME``:

* ``reports/<p>/metrics/EXP@NAME.json``: the metrics of step 04's JSON over all chips of the set (confusion
  counts summed over chips), or ``skipped`` with the reason (a factor model on a dataset without DEM);
* ``reports/<p>/metrics/EXP@NAME_tiles.csv`` and ``EXP@NAME_chips.csv``: per-tile and per-chip counts;
* ``data/<p>/experiments/EXP/extra_tests/NAME/``: the prediction, ground truth and error map of the set's mosaic.

:func:`generalisation_table` gathers them beside the profile's own test for notebook 05.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from landslide_utils.chips.study_tiles import read_manifest
from landslide_utils.config.schema import Experiment, Profile
from landslide_utils.evaluation.chip_scores import chip_table
from landslide_utils.evaluation.test_area import evaluate_area
from landslide_utils.files.atomic import write_csv, write_json
from landslide_utils.paths import StudyPaths
from landslide_utils.prediction.tiles import decision_threshold
from landslide_utils.tiles.tiling import read_index
from landslide_utils.training.checkpoint import load_checkpoint, resolve_device

__all__ = ["evaluate_extra_tests", "generalisation_table", "GENERALISATION_METRICS"]

GENERALISATION_METRICS: tuple[str, ...] = ("precision", "recall", "f1", "iou_landslide", "ap")


def evaluate_extra_tests(profile: Profile, experiment: Experiment, *, root: Path = Path("."),
                         device: str | None = None, progress: bool = True) -> dict[str, dict[str, Any]]:
    """Evaluate the experiment's checkpoint on every extra test set of the profile (none: an empty dict).

    Returns:
        By test-set name, the metrics written to ``metrics/<EXP>@<name>.json`` (``skipped`` and no metrics
        when the set lacks the channels the model needs).

    Raises:
        FileNotFoundError: no checkpoint (run the experiment first) or no tiles of a test set (run step 01).
    """
    tests = profile.evaluation.extra_tests
    if not tests:
        return {}
    paths = StudyPaths.of(profile, Path(root))
    dev = resolve_device(device or profile.device)
    model, meta = load_checkpoint(paths.checkpoint(experiment.name), device=dev)
    threshold, source = decision_threshold(meta, profile.evaluation)
    val = meta.get("validation") if isinstance(meta.get("validation"), dict) else None
    out: dict[str, dict[str, Any]] = {}
    for spec in tests:
        tiles_dir = paths.extra_tiles(spec.name)
        manifest = read_manifest(tiles_dir)
        if manifest is None:
            raise FileNotFoundError(f"{tiles_dir}: no tiles of the extra test set {spec.name!r}; run step 01 "
                                    "(prepare data), which cuts them")
        stem = f"{experiment.name}@{spec.name}"
        head = {"experiment": experiment.name, "test_set": spec.name, "format": spec.format,
                "trained_on": profile.name, "model": meta["model"], "channels": meta["channels"],
                "training_data": meta.get("training_data")}
        beyond = meta["channels"] not in ("rgb", "rgb+factors")
        if (meta["channels"] == "rgb+factors" and not manifest["factors"]) or beyond:
            why = (f"a model on {meta['channels']} needs factors a chip dataset does not give" if beyond else
                   f"the {spec.format} format of {spec.name!r} has no DEM; a model on rgb+factors cannot be "
                   "tested on it")
            result = {**head, "skipped": why}
            for suffix in ("_tiles.csv", "_chips.csv"):
                (paths.metrics / f"{stem}{suffix}").unlink(missing_ok=True)
            write_json(paths.metrics / f"{stem}.json", result)
            out[spec.name] = result
            continue
        index = read_index(tiles_dir)
        area = evaluate_area(model, meta, index, tiles_dir, profile=profile,
                             out_dir=paths.experiment(experiment.name) / "extra_tests" / spec.name,
                             label=stem, progress=progress, device=dev,
                             val_threshold=val.get("threshold") if val else None,
                             threshold=threshold, threshold_source=source)
        tiles = area.pop("tiles")
        ids = area.pop("landslide_ids")
        per_chip = chip_table(tiles, index, manifest, hit_ids=ids["hit"], present_ids=ids["present"])
        result = {**head, **area, "test_chips": len(per_chip), "seed": meta["seed"], "steps": meta["step"]}
        write_csv(paths.metrics / f"{stem}_tiles.csv", tiles, index=False)
        write_csv(paths.metrics / f"{stem}_chips.csv", per_chip, index=False)
        write_json(paths.metrics / f"{stem}.json", result)
        out[spec.name] = result
    return out


def _object_recall(metrics: dict[str, Any]) -> float | None:
    rows = metrics.get("object_recall_by_size") or []
    return next((r["recall"] for r in rows if r.get("class") == "all"), None)


def generalisation_table(metrics_dir: str | Path, *, tests: list[str] | None = None,
                         experiments: list[str] | None = None, here: str = "this study's test") -> pd.DataFrame:
    """Trained here, tested there: per experiment, its metrics (percent) on the profile's own test and on every
    extra test set, and the change in F1 from its own test (points).

    Args:
        metrics_dir: ``reports/<profile>/metrics``.
        tests: the extra test sets to show (the profile's ``evaluation.extra_tests`` names; default: every one
            found, including those of an earlier version of the profile).
        experiments: the experiments to show (default: every ``<EXP>.json`` with extra tests, in name order).
        here: the label of the profile's own test.

    Returns:
        Rows ``(experiment, test set)``; columns model, training_data, the metrics of
        :data:`GENERALISATION_METRICS`, ``object_recall`` and ``f1_change`` (NaN on the own test), or ``skipped``
        text. Empty when no experiment has extra tests.
    """
    metrics_dir = Path(metrics_dir)
    extra: dict[str, list[Path]] = {}
    for p in sorted(metrics_dir.glob("*@*.json")):
        if tests is not None and p.stem.split("@", 1)[1] not in tests:
            continue
        extra.setdefault(p.stem.split("@", 1)[0], []).append(p)
    names = experiments if experiments is not None else sorted(extra)
    rows = []
    for exp in names:
        own_path = metrics_dir / f"{exp}.json"
        if exp not in extra or not own_path.is_file():
            continue
        own = json.loads(own_path.read_text(encoding="utf-8"))
        entries = [(here, own)] + [(p.stem.split("@", 1)[1], json.loads(p.read_text(encoding="utf-8")))
                                   for p in extra[exp]]
        for label, m in entries:
            row: dict[str, Any] = {"experiment": exp, "test set": label, "model": m.get("model"),
                                   "training_data": m.get("training_data")}
            if "skipped" in m:
                row["skipped"] = m["skipped"]
            else:
                row.update({k: 100 * float(m[k]) for k in GENERALISATION_METRICS if m.get(k) is not None})
                rec = _object_recall(m)
                row["object_recall"] = None if rec is None else 100 * float(rec)
                row["f1_change"] = None if label == here else 100 * (float(m["f1"]) - float(own["f1"]))
            rows.append(row)
    cols = ["experiment", "test set", "model", "training_data", *GENERALISATION_METRICS, "object_recall",
            "f1_change", "skipped"]
    table = pd.DataFrame(rows, columns=cols)
    if not table["skipped"].notna().any():
        table = table.drop(columns="skipped")
    return table.set_index(["experiment", "test set"])
