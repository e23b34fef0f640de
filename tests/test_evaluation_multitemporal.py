"""Multi-temporal test (landslide_utils.evaluation.multitemporal) at unit level, on the tiny study of test_train."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from landslide_utils.evaluation import multitemporal as mt
from landslide_utils.paths import StudyPaths
from landslide_utils.tiles.tiling import read_index
from landslide_utils.training.checkpoint import read_checkpoint
from landslide_utils.training.experiment import train_experiment

from .test_training_loop import exp, make_study, same_weights, weights


def test_select_finetune_tiles_takes_training_tiles_with_most_landslide(tmp_path: Path) -> None:
    index = pd.DataFrame({"tile_id": ["a", "b", "c", "d", "e"], "split": ["train", "train", "test", "train", "train"],
                          "landslide_pixels": [5, 9, 99, 9, 0], "path": [f"{t}.tif" for t in "abcde"]})
    chosen = mt.select_finetune_tiles(index, tmp_path, 3)
    assert [p.name for p in chosen] == ["b.tif", "d.tif", "a.tif"]  # test tile c never chosen; ties by id


def test_finetuning_trains_through_fit_and_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prof = make_study(tmp_path, steps=2, every=1)
    prof = prof.model_copy(update={"multitemporal": prof.multitemporal.model_copy(
        update={"finetune_tiles": 2, "finetune_steps": 2})})
    sp = StudyPaths.of(prof, tmp_path)
    train_experiment(prof, exp("unet", name="IV"), root=tmp_path, progress=False)
    # the second date is stood in for by the first-date tiles (same grid, same format)
    monkeypatch.setattr(mt, "second_date_tiles", lambda profile, root: (read_index(sp.tile_index), sp.tiles))
    ck = mt.finetune_second_date(prof, experiment="IV", root=tmp_path, progress=False)
    meta = read_checkpoint(ck)["meta"]
    assert meta["experiment"] == "IV_t2_finetune" and meta["finetune"]["steps"] == 2
    assert meta["mean"] == read_checkpoint(sp.experiment("IV") / "checkpoint.pt")["meta"]["mean"]
    assert not same_weights(weights(ck), weights(sp.experiment("IV") / "checkpoint.pt"))
    assert (ck.parent / "loss.csv").read_text().count("\n") == 3  # header + 2 steps
    before = ck.stat().st_mtime_ns
    assert mt.finetune_second_date(prof, experiment="IV", root=tmp_path, progress=False) == ck
    assert ck.stat().st_mtime_ns == before  # finished with the same settings: reused
    # other settings (more steps): fine-tuned afresh, not refused
    more = prof.model_copy(update={"multitemporal": prof.multitemporal.model_copy(update={"finetune_steps": 3})})
    mt.finetune_second_date(more, experiment="IV", root=tmp_path, progress=False)
    assert read_checkpoint(ck)["step"] == 3
    metrics = mt.evaluate_second_date(more, checkpoint=ck, tag="after", root=tmp_path, progress=False)
    assert 0 <= metrics["f1"] <= 1 and (sp.metrics / "multitemporal_after.json").is_file()
    torch.set_num_threads(torch.get_num_threads())  # nothing leaked into the thread setting


def test_finetuning_without_tiles_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prof = make_study(tmp_path, steps=1)
    prof = prof.model_copy(update={"multitemporal": prof.multitemporal.model_copy(update={"finetune_steps": 0})})
    sp = StudyPaths.of(prof, tmp_path)
    monkeypatch.setattr(mt, "second_date_tiles", lambda profile, root: (read_index(sp.tile_index), sp.tiles))
    with pytest.raises(ValueError, match="finetune_steps must be > 0"):
        mt.finetune_second_date(prof, experiment="IV", root=tmp_path, progress=False)
