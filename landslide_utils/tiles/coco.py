"""COCO instance annotations of the tiles, the format of the matterport Mask R-CNN used by Yang et al. (2022).

One image per tile (``file_name`` relative to the tiles folder), one annotation per landslide instance visible in
the tile's valid pixels, segmentation as compressed RLE (pycocotools), category 1 = ``landslide``. Tiles without a
landslide are listed as images without annotations (the paper trains on landslide and non-landslide tiles).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pycocotools import mask as mask_utils

from landslide_utils.files.atomic import write_json
from landslide_utils.tiles.tile import read_tile

__all__ = ["CATEGORIES", "instance_annotations", "write_coco"]

CATEGORIES = [{"id": 1, "name": "landslide", "supercategory": "landslide"}]


def instance_annotations(instances: np.ndarray, valid: np.ndarray | None = None) -> list[dict]:
    """COCO annotation dicts (without ids) for each instance id > 0 of an (H, W) id raster.

    Pixels where ``valid`` is False are left out; instances left without a pixel are dropped.
    """
    ids = instances if valid is None else np.where(valid, instances, 0)
    anns = []
    for iid in np.unique(ids[ids > 0]):
        m = np.asfortranarray((ids == iid).astype(np.uint8))
        rle = mask_utils.encode(m)
        area = float(mask_utils.area(rle))
        bbox = [float(v) for v in mask_utils.toBbox(rle)]
        rle["counts"] = rle["counts"].decode("ascii")
        anns.append({"segmentation": rle, "area": area, "bbox": bbox, "iscrowd": 0, "category_id": 1,
                     "instance_id": int(iid)})
    return anns


def write_coco(index_gdf: pd.DataFrame, tiles_dir: str | Path, *, out_path: str | Path, split: str = "train") -> Path:
    """Write the COCO annotations of one split's tiles.

    Args:
        index_gdf: the tile index (``tiles/index.gpkg``).
        tiles_dir: the tiles folder (``file_name`` is the index's ``path``, relative to it).
        out_path: the JSON file to write (atomically).
        split: which tiles (default: ``train``).

    Returns:
        ``out_path``. The file loads with ``pycocotools.coco.COCO(out_path)``.
    """
    tiles_dir = Path(tiles_dir)
    sel = index_gdf[index_gdf["split"] == split].sort_values("tile_id")
    images, annotations = [], []
    for image_id, (_, row) in enumerate(sel.iterrows(), start=1):
        tile = read_tile(tiles_dir / str(row["path"]))
        h, w = tile.shape
        images.append({"id": image_id, "file_name": str(row["path"]), "width": int(w), "height": int(h),
                       "tile_id": str(row["tile_id"])})
        for ann in instance_annotations(tile.instances, tile.valid):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, **ann})
    coco = {
        "info": {"description": f"landslide tiles, split {split} (Yang et al. 2022 reproduction)"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": CATEGORIES,
    }
    return write_json(out_path, coco)
