"""Multi-temporal test: the model of Experiment IV applied to a second-date image of the test area.

Yang et al. (2022), section 4.4 and Figure 19, applied the Ludian model to an image of 5 May 2015 and, lacking
reliable ground truth there, showed panels only; they suggest adding a few samples of the new date as the remedy
for the drop in accuracy. Here the second-date image is tiled on the same grid as the first (same areas, same
factor layers), the checkpoint predicts the test area, and where ground truth exists (the synthetic area keeps
its inventory: the scars are partly re-vegetated but still there) the metrics are reported. Optionally the
model is fine-tuned on a few second-date tiles of the *train* areas and evaluated again (before/after).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from tqdm import tqdm

from .config import Profile
from .datasets import TileDataset
from .io import write_json
from .layers import AlignedLayers
from .paths import StudyPaths
from .predict import evaluate_area
from .tiling import make_tiles, read_index
from .train import _batch_plan, _rng_state, _save, _train_step, load_checkpoint, resolve_device

__all__ = ["has_second_date", "second_date_tiles", "select_finetune_tiles", "finetune_second_date", "evaluate_second_date",
           "run_multitemporal", "MultitemporalResult"]

KEYS = ("precision", "recall", "f1", "miou", "iou_landslide", "oa", "kappa")


def has_second_date(profile: Profile) -> bool:
    """Whether the study has a second-date image (always for the synthetic area; ``data.files.image_t2``)."""
    if profile.data.source == "synthetic":
        return True
    return profile.data.files is not None and profile.data.files.image_t2 is not None


def second_date_tiles(profile: Profile, *, root: Path = Path("."), rebuild: bool = False) -> tuple[Any, Path]:
    """Tile the second-date image with the first date's grid, areas and factor layers.

    Returns:
        (tile index GeoDataFrame, tiles folder ``data/<p>/tiles_t2``).

    Raises:
        FileNotFoundError: step 01 has not run, or the study has no second-date image (``data.files.image_t2``).
    """
    sp = StudyPaths(profile.name, Path(root))
    if not (sp.aligned / "layers.json").is_file():
        raise FileNotFoundError(f"{sp.aligned}: aligned layers not found; run step 01 (data preparation) first")
    aligned = AlignedLayers.load(sp.aligned)
    if aligned.image_t2 is None:
        raise FileNotFoundError(
            f"{profile.source_path}: the study has no second-date image; set data.files.image_t2 to a GeoTIFF of "
            "the same area at a later date to run the multi-temporal test"
        )
    out = sp.data / "tiles_t2"
    if not rebuild and (out / "index.gpkg").is_file():
        return read_index(out / "index.gpkg"), out
    import geopandas as gpd

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

    Uses the profile's optimiser settings and ``multitemporal.finetune_tiles`` / ``finetune_steps``; the
    normalisation statistics of the original checkpoint are kept. A finished fine-tuning with the same settings
    is reused. Returns the new checkpoint (``data/<p>/experiments/<EXP>_t2_finetune/checkpoint.pt``).
    """
    sp = StudyPaths(profile.name, Path(root))
    spec, training = profile.multitemporal, profile.training
    base = sp.experiment(experiment) / "checkpoint.pt"
    out = sp.experiment(f"{experiment}_t2_finetune") / "checkpoint.pt"
    index, tiles_dir = second_date_tiles(profile, root=Path(root))
    chosen = select_finetune_tiles(index, tiles_dir, spec.finetune_tiles)
    if not chosen or spec.finetune_steps == 0:
        raise ValueError(f"{profile.source_path}: multitemporal.finetune_tiles and finetune_steps must be > 0 "
                         f"(and the train areas must hold tiles) to fine-tune")
    settings = {"base": str(base), "base_mtime": base.stat().st_mtime_ns if base.exists() else None,
                "tiles": [p.name for p in chosen], "steps": spec.finetune_steps, "lr": training.learning_rate}
    if out.is_file():
        old = torch.load(out, map_location="cpu", weights_only=True)
        if old.get("finished") and old["meta"].get("finetune") == settings:
            return out
    dev = resolve_device(profile.device)
    model, meta = load_checkpoint(base, device=dev)
    task = "instance" if meta["model"] == "maskrcnn" else "semantic"
    ds = TileDataset(chosen, channels=meta["channels"], mean=meta["mean"], std=meta["std"], target=task, cache=True)
    torch.manual_seed(profile.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=training.learning_rate, momentum=training.momentum,
                          weight_decay=training.weight_decay)
    scaler = torch.amp.GradScaler("cuda") if dev.type == "cuda" else None
    seconds, loss = 0.0, float("nan")
    bs = min(training.batch_size, len(ds))
    for step in tqdm(range(spec.finetune_steps), desc=f"fine-tune {experiment} on t2", disable=not progress):
        t0 = time.perf_counter()
        idx, augs = _batch_plan(profile.seed + 1, step, len(ds), bs, training.augment)
        samples = [ds.load(i, a) for i, a in zip(idx, augs)]
        images = [x.to(dev) for x, _ in samples]
        targets = [{k: (v.to(dev) if torch.is_tensor(v) else v) for k, v in t.items()} for _, t in samples]
        loss = _train_step(model, task, images, targets, opt, scaler, training.grad_clip)
        seconds += time.perf_counter() - t0
    new_meta = {k: v for k, v in meta.items() if k not in ("step", "steps", "finished", "train_seconds")}
    new_meta.update(experiment=f"{experiment}_t2_finetune", training_data=f"{meta['training_data']}+t2",
                    finetune=settings)
    _save(out, {"format": 1, "meta": new_meta, "model_state": model.state_dict(), "optimizer_state": opt.state_dict(),
                "scaler_state": None, "step": spec.finetune_steps, "steps": spec.finetune_steps, "finished": True,
                "train_seconds": seconds, "final_loss": loss, "rng": _rng_state()})
    return out


def evaluate_second_date(
    profile: Profile, *, checkpoint: Path, tag: str, root: Path = Path("."), progress: bool = True
) -> dict[str, Any]:
    """Predict the second-date test area with a checkpoint, write rasters to ``data/<p>/multitemporal/<tag>/``
    and metrics to ``reports/<p>/metrics/multitemporal_<tag>.json``; return the metrics."""
    sp = StudyPaths(profile.name, Path(root))
    index, tiles_dir = second_date_tiles(profile, root=Path(root))
    model, meta = load_checkpoint(checkpoint, device=resolve_device(profile.device))
    result = evaluate_area(model, meta, index, tiles_dir, profile=profile, out_dir=sp.data / "multitemporal" / tag,
                           label=f"t2 {tag}", progress=progress)
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
    sp = StudyPaths(profile.name, Path(root))
    base = sp.experiment(experiment) / "checkpoint.pt"
    before = evaluate_second_date(profile, checkpoint=base, tag="before", root=root, progress=progress)
    after = None
    if finetune and profile.multitemporal.finetune_steps > 0 and profile.multitemporal.finetune_tiles > 0:
        ck = finetune_second_date(profile, experiment=experiment, root=root, progress=progress)
        after = evaluate_second_date(profile, checkpoint=ck, tag="after", root=root, progress=progress)
    rows = []
    t1 = sp.metrics / f"{experiment}.json"
    if t1.is_file():
        import json

        m = json.loads(t1.read_text())
        rows.append({"run": f"first date, Experiment {experiment}", **{k: m[k] for k in KEYS}})
    rows.append({"run": f"second date, Experiment {experiment}", **{k: before[k] for k in KEYS}})
    if after is not None:
        n = profile.multitemporal.finetune_tiles
        rows.append({"run": f"second date, fine-tuned on {n} second-date tiles",
                     **{k: after[k] for k in KEYS}})
    table = pd.DataFrame(rows).set_index("run")
    return MultitemporalResult(table=table, before=before, after=after, out_dir=sp.data / "multitemporal")
