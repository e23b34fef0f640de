"""COCO annotations of the training tiles load with pycocotools and match the instance raster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO

from landslide_utils.tiles.coco import instance_annotations, write_coco
from landslide_utils.tiles.tile import read_tile
from landslide_utils.tiles.tiling import make_tiles
from tests.data.tiny_aligned.make_data import make_aligned, tiling_profile


def test_coco_file_loads_and_counts_instances(tmp_path: Path) -> None:
    aligned, areas, src = make_aligned(tmp_path / "a", height=40, width=50, split_col=30, n_instances=12, seed=7)
    index = make_tiles(tiling_profile(16), aligned, areas, out_dir=tmp_path / "tiles")
    out = write_coco(index, tmp_path / "tiles", out_path=tmp_path / "tiles" / "coco_train.json")
    coco = COCO(str(out))
    train = index[index["split"] == "train"]
    assert len(coco.getImgIds()) == len(train)
    # Expected: one annotation per (training tile, instance id visible in its valid pixels), from the source raster.
    inst = src["instances"]
    expected = 0
    for _, row in train.iterrows():
        r, c = row["row_off"], row["col_off"]
        block = inst[r : r + 16, c : min(c + 16, 30)]
        expected += np.unique(block[block > 0]).size
    assert expected > 0
    assert len(coco.getAnnIds()) == expected
    assert coco.loadCats(coco.getCatIds())[0]["name"] == "landslide"
    for img in coco.loadImgs(coco.getImgIds()):
        tile = read_tile(tmp_path / "tiles" / img["file_name"])
        assert (img["width"], img["height"]) == (16, 16)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img["id"])):
            m = coco.annToMask(ann).astype(bool)
            np.testing.assert_array_equal(m, (tile.instances == ann["instance_id"]) & tile.valid)
            x, y, w, h = ann["bbox"]
            rows, cols = np.nonzero(m)
            assert (x, y, w, h) == (cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1)
            assert ann["area"] == m.sum() and ann["iscrowd"] == 0 and ann["category_id"] == 1
    assert json.loads(out.read_text())["images"][0]["file_name"].startswith("train/")


def test_instance_annotations_drop_invalid_pixels() -> None:
    inst = np.zeros((6, 6), np.int32)
    inst[1:3, 1:3] = 4
    inst[4:, 4:] = 9
    valid = np.ones((6, 6), bool)
    valid[4:, :] = False
    anns = instance_annotations(inst, valid)
    assert [a["instance_id"] for a in anns] == [4]
    assert anns[0]["bbox"] == [1.0, 1.0, 2.0, 2.0] and anns[0]["area"] == 4.0
