"""Multi-temporal test: the model of Experiment IV applied to a second-date image of the test area.

Yang et al. (2022), sections 4.2-4.3 and Figure 19, applied the Ludian model to an image of 5 May 2015 and, lacking
reliable ground truth there, showed panels only; they suggest adding a few samples of the new date as the remedy
for the drop in accuracy. Here the second-date image is tiled on the same grid as the first (same areas, same
factor layers), the checkpoint predicts the test area, and where ground truth exists (the synthetic area keeps
its inventory: the scars are partly re-vegetated but still there) the metrics are reported. Optionally the
model is fine-tuned on a few second-date tiles of the *train* areas and evaluated again (before/after).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import torch

from landslide_utils.config.model_schema import TrainingSpec
from landslide_utils.config.schema import Profile
from landslide_utils.evaluation.metrics import TABLE_METRICS
from landslide_utils.evaluation.test_area import evaluate_area
from landslide_utils.files.atomic import write_json
from landslide_utils.inputs.aligned import AlignedLayers
from landslide_utils.paths import CHECKPOINT_FILE, StudyPaths
from landslide_utils.prediction.tiles import decision_threshold
from landslide_utils.tiles.tiling import make_tiles, read_index
from landslide_utils.training.checkpoint import load_checkpoint, read_checkpoint, resolve_device, task_of
from landslide_utils.training.datasets import TileDataset
from landslide_utils.training.loop import fit

__all__ = ["second_date_tiles", "select_finetune_tiles", "finetune_second_date", "evaluate_second_date", "run_multitemporal", "MultitemporalResult"]

KEYS = TABLE_METRICS


def second_date_tiles(profile: Profile, *, root: Path = Path("."), rebuild: bool = False) -> tuple[Any, Path]:
    """Tile the second-date image with the first date's grid, areas and factor layers.

    Returns:
        (tile index GeoDataFrame, tiles folder ``data/<p>/tiles_t2``).

    Raises:
        FileNotFoundError: step 01 has not run, or the study has no second-date image (``data.files.image_t2``).
    """
    sp = StudyPaths.of(profile, Path(root))
    if not (sp.aligned / "layers.json").is_file():
        raise FileNotFoundError(f"{sp.aligned}: aligned layers not found; run step 01 (data preparation) first")
    aligned = AlignedLayers.load(sp.aligned)
    if aligned.image_t2 is None:
        raise FileNotFoundError(
            f"{profile.source_path}: the study has no second-date image; set data.files.image_t2 to a GeoTIFF of "
            "the same area at a later date to run the multi-temporal test"
        )
    out = sp.tiles_t2
    if not rebuild and (out / "index.gpkg").is_file():
        return read_index(out / "index.gpkg"), out

    areas = gpd.read_file(aligned.areas)
    index = make_tiles(profile, aligned, areas, out_dir=out, image_path=Path(aligned.image_t2))
    return index, out


def select_finetune_tiles(index: Any, tiles_dir: Path, n: int) -> list[Path]:
    """The ``n`` second-date *training* tiles with the most landslide pixels (deterministic; ties by id)."""
    train = index[index["split"] == "train"].sort_values(["landslide_pixels", "tile_id"], ascending=[False, True])
    return [tiles_dir / p for p in train["path"].head(n)]


def finetune_second_date(
    profile: Profile, *, experiment: str = "IV", root: Path = Path("."), progress: bool = True
) -> Path:
    """Fine-tune an experiment's checkpoint on a few second-date training tiles (the paper's suggested remedy).

    Uses the profile's optimiser settings and ``multitemporal.finetune_tiles`` / ``finetune_steps`` through the
    project's one training loop (:func:`landslide_utils.training.loop.fit`); the normalisation statistics of the
    original checkpoint are kept. A finished fine-tuning with the same settings is reused, an interrupted one
    resumes. Returns the new checkpoint (``<data>/experiments/<EXP>_t2_finetune/checkpoint.pt``).
    """
    sp = StudyPaths.of(profile, Path(root))
    spec = profile.multitemporal
    base = sp.checkpoint(experiment)
    out_dir = sp.experiment(f"{experiment}_t2_finetune")
    index, tiles_dir = second_date_tiles(profile, root=Path(root))
    chosen = select_finetune_tiles(index, tiles_dir, spec.finetune_tiles)
    if not chosen or spec.finetune_steps == 0:
        raise ValueError(f"{profile.source_path}: multitemporal.finetune_tiles and finetune_steps must be > 0 "
                         f"(and the train areas must hold tiles) to fine-tune")
    dev = resolve_device(profile.device)
    model, meta = load_checkpoint(base, device=dev)
    # the base model's own optimiser and schedule, over the fine-tuning budget; no validation tiles of the second
    # date exist, so no evaluations and the last weights
    training = TrainingSpec.model_validate({**meta["training"], "steps": spec.finetune_steps,
                                            "checkpoint_every": spec.finetune_steps, "eval_every": 0,
                                            "keep": "last", "validation_share": 0.0})
    settings = {"base": str(base), "base_mtime": base.stat().st_mtime_ns if base.exists() else None,
                "tiles": [p.name for p in chosen], "steps": spec.finetune_steps, "lr": training.learning_rate}
    task = task_of(meta)
    ds = TileDataset(chosen, channels=meta["channels"], mean=meta["mean"], std=meta["std"], target=task, cache=True)
    new_meta = {k: v for k, v in meta.items() if k not in ("step", "steps", "finished", "train_seconds")}
    new_meta.update(experiment=f"{experiment}_t2_finetune", training_data=f"{meta['training_data']}+t2",
                    finetune=settings)
    ckpt = out_dir / CHECKPOINT_FILE
    if ckpt.is_file() and read_checkpoint(ckpt)["meta"].get("finetune") != settings:
        ckpt.unlink()  # another base model, other tiles or budget: fine-tune afresh
    torch.manual_seed(profile.seed)
    fit(model, ds, training=training, seed=profile.seed + 1, checkpoint=out_dir / CHECKPOINT_FILE, meta=new_meta,
        loss_log=out_dir / "loss.csv", device=dev, progress=progress, label=f"fine-tune {experiment} on t2")
    return out_dir / CHECKPOINT_FILE


def evaluate_second_date(
    profile: Profile, *, checkpoint: Path, tag: str, root: Path = Path("."), progress: bool = True
) -> dict[str, Any]:
    """Predict the second-date test area with a checkpoint, write rasters to ``data/<p>/multitemporal/<tag>/``
    and metrics to ``reports/<p>/metrics/multitemporal_<tag>.json``; return the metrics.

    The decision threshold follows ``profile.evaluation.threshold``; with ``validation`` it is the one stored in
    the checkpoint, and a fine-tuned checkpoint keeps its base model's (so before and after fine-tuning differ by
    the weights only)."""
    sp = StudyPaths.of(profile, Path(root))
    index, tiles_dir = second_date_tiles(profile, root=Path(root))
    model, meta = load_checkpoint(checkpoint, device=resolve_device(profile.device))
    threshold, source = decision_threshold(meta, profile.evaluation)
    result = evaluate_area(model, meta, index, tiles_dir, profile=profile, out_dir=sp.data / "multitemporal" / tag,
                           label=f"t2 {tag}", progress=progress, threshold=threshold, threshold_source=source)
    result.pop("tiles")
    result.pop("landslide_ids")
    result.update(tag=tag, checkpoint=str(checkpoint), image="image_t2")
    write_json(sp.metrics / f"multitemporal_{tag}.json", result)
    return result


@dataclass
class MultitemporalResult:
    """Metrics of the first date, the second date before and after fine-tuning, and where the maps are."""

    table: pd.DataFrame
    before: dict[str, Any]
    after: dict[str, Any] | None
    out_dir: Path


def run_multitemporal(
    profile: Profile, *, experiment: str = "IV", root: Path = Path("."), finetune: bool = True, progress: bool = True
) -> MultitemporalResult:
    """The whole step 06: second-date tiles → predictions before (and after) fine-tuning → comparison table."""
    sp = StudyPaths.of(profile, Path(root))
    base = sp.checkpoint(experiment)
    before = evaluate_second_date(profile, checkpoint=base, tag="before", root=root, progress=progress)
    after = None
    if finetune and profile.multitemporal.finetune_steps > 0 and profile.multitemporal.finetune_tiles > 0:
        ck = finetune_second_date(profile, experiment=experiment, root=root, progress=progress)
        after = evaluate_second_date(profile, checkpoint=ck, tag="after", root=root, progress=progress)
    rows = []
    t1 = sp.metrics / f"{experiment}.json"
    if t1.is_file():

        m = json.loads(t1.read_text())
        rows.append({"run": f"first date, Experiment {experiment}", **{k: m[k] for k in KEYS}})
    rows.append({"run": f"second date, Experiment {experiment}", **{k: before[k] for k in KEYS}})
    if after is not None:
        n = profile.multitemporal.finetune_tiles
        rows.append({"run": f"second date, fine-tuned on {n} second-date tiles",
                     **{k: after[k] for k in KEYS}})
    table = pd.DataFrame(rows).set_index("run")
    return MultitemporalResult(table=table, before=before, after=after, out_dir=sp.data / "multitemporal")
