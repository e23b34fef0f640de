"""Chip datasets (landslide_utils.chips.formats): the three layouts, their arrays, and bad datasets named file by file."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from landslide_utils.chips.formats import ChipError, band_indices, inspect_chips, list_chips, read_chip
from tests.data.chips.make_data import BIJIE_SLOPE_DEG, PIXEL_SIZE_M, SQUARES, make_chips


@pytest.fixture()
def chips(tmp_path: Path) -> dict[str, Path]:
    return make_chips(tmp_path)


def test_folders_png_jpeg_and_geotiff(chips: dict[str, Path]) -> None:
    refs = list_chips(chips["folders"], format="folders")
    assert [r.name for r in refs] == ["a", "b", "c"]
    inspect_chips(refs, root=chips["folders"])
    for ref in refs:
        chip = read_chip(ref)
        r, c, s = SQUARES[ref.name]
        want = np.zeros(chip.landslide.shape, bool)
        want[r:r + s, c:c + s] = True
        assert chip.image.shape[0] == 3 and chip.image.dtype == np.float32
        assert np.array_equal(chip.landslide, want), ref.name  # RGB masks and 0/1 masks alike
        assert chip.dem is None and chip.slope is None
    c = read_chip(refs[2])
    assert not c.valid[:4].any() and c.valid[4:].all()  # alpha 0 -> invalid, alpha band dropped


def test_bijie_dem_slope_and_negative_chips(chips: dict[str, Path]) -> None:
    refs = list_chips(chips["bijie"], format="bijie")
    assert [r.name for r in refs] == ["landslide/df001", "landslide/df002", "non-landslide/n001"]
    inspect_chips(refs, root=chips["bijie"])
    pos = read_chip(refs[0], pixel_size_m=PIXEL_SIZE_M)
    assert pos.landslide.sum() == 36 and pos.dem is not None and pos.slope is not None
    assert np.allclose(pos.slope, BIJIE_SLOPE_DEG, atol=0.01)  # Horn slope of a plane is exact, borders too
    neg = read_chip(refs[2], pixel_size_m=PIXEL_SIZE_M)
    assert neg.ref.mask is None and not neg.landslide.any()
    with pytest.raises(ValueError, match="pixel_size_m"):
        read_chip(refs[0])


def test_landslide4sense_bands_slope_and_dem(chips: dict[str, Path]) -> None:
    refs = list_chips(chips["landslide4sense"], format="landslide4sense")
    assert [r.name for r in refs] == ["image_1", "image_2"]
    inspect_chips(refs, root=chips["landslide4sense"])
    chip = read_chip(refs[0])
    assert chip.image.shape == (3, 12, 12)
    assert [float(chip.image[k, 0, 0]) for k in range(3)] == [4.0, 3.0, 2.0]  # B4, B3, B2
    assert np.all(chip.slope == 30.0) and chip.dem[5, 0] == 1005.0
    assert chip.landslide.sum() == 16
    nir = read_chip(refs[1], bands=["B8", "B11"])
    assert [float(nir.image[k, 0, 0]) for k in range(2)] == [8.0, 11.0]
    with pytest.raises(ValueError, match="B13.*data.chips.bands"):
        band_indices(["B13"])


def test_missing_masks_are_listed_with_a_count(chips: dict[str, Path]) -> None:
    root = chips["folders"]
    for k in range(8):
        shutil.copy(root / "images/a.png", root / f"images/extra{k}.png")
    with pytest.raises(ChipError) as err:
        list_chips(root, format="folders")
    msg = str(err.value)
    assert "8 problem(s)" in msg and "extra0.png: no mask" in msg and "and 3 more" in msg


@pytest.mark.parametrize("fmt, remove", [("folders", "masks"), ("bijie", "landslide/dem"),
                                         ("landslide4sense", "mask")])
def test_a_missing_folder_is_named(chips: dict[str, Path], fmt: str, remove: str) -> None:
    shutil.rmtree(chips[fmt] / remove)
    with pytest.raises(ChipError, match=f"{remove}: folder not found"):
        list_chips(chips[fmt], format=fmt)


def test_bad_files_are_named(chips: dict[str, Path]) -> None:
    root = chips["folders"]
    (root / "masks/b.png").write_bytes(b"not a png at all")
    small = np.zeros((1, 5, 5), np.uint8)
    import rasterio

    with rasterio.open(root / "masks/a.png", "w", driver="PNG", width=5, height=5, count=1, dtype="uint8") as dst:
        dst.write(small)
    refs = list_chips(root, format="folders")
    with pytest.raises(ChipError) as err:
        inspect_chips(refs, root=root)
    msg = str(err.value)
    assert "masks/a.png: mask of 5 x 5 pixels" in msg and "masks/b.png: cannot be opened" in msg
    l4s = chips["landslide4sense"]
    with h5py.File(l4s / "img/image_2.h5", "w") as f:
        f["data"] = np.zeros((12, 12, 14), np.float32)
    with pytest.raises(ChipError, match="image_2.h5: no dataset 'img'"):
        inspect_chips(list_chips(l4s, format="landslide4sense"), root=l4s)


def test_unknown_format_missing_root_and_empty_dataset(tmp_path: Path) -> None:
    with pytest.raises(ChipError, match="unknown format 'coco'"):
        list_chips(tmp_path, format="coco")  # type: ignore[arg-type]
    with pytest.raises(ChipError, match="dataset folder not found"):
        list_chips(tmp_path / "nowhere", format="folders")
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(ChipError, match="no chips found"):
        list_chips(tmp_path, format="folders")


def test_a_damaged_hdf5_file_is_named_when_read(chips: dict[str, Path]) -> None:
    l4s = chips["landslide4sense"]
    path = l4s / "img/image_1.h5"
    path.write_bytes(path.read_bytes()[:1500])  # a download cut short
    ref = list_chips(l4s, format="landslide4sense")[0]
    with pytest.raises(OSError, match="image_1.h5"):
        read_chip(ref)


def test_jpeg_masks_ignore_compression_noise_and_lone_masks_are_named(tmp_path: Path) -> None:
    from PIL import Image

    from landslide_utils.notices import StudyWarning

    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    Image.fromarray(np.full((32, 32, 3), 90, np.uint8)).save(root / "images" / "a.png")
    mask = np.zeros((32, 32), np.uint8)
    mask[8:20, 8:20] = 255
    Image.fromarray(mask).save(root / "masks" / "a.jpg", quality=50)  # ringing: small values around the square
    Image.fromarray(mask).save(root / "masks" / "lonely.png")
    with pytest.warns(StudyWarning, match=r"1 mask\(s\) without an image .* lonely.png"):
        refs = list_chips(root, format="folders")
    m = np.asarray(Image.open(root / "masks" / "a.jpg"))
    assert ((m > 0) & (m < 128)).sum() > 0  # the noise JPEG leaves
    chip = read_chip(refs[0])
    assert chip.landslide.sum() == pytest.approx(144, abs=8)  # the square, not its halo


def test_a_masks_nodata_is_unlabelled_not_landslide(tmp_path: Path) -> None:
    """A uint16 mask declaring nodata 65535: those pixels are neither landslide nor background (not valid)."""
    import rasterio

    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    with rasterio.open(root / "images/a.tif", "w", driver="GTiff", height=8, width=8, count=3, dtype="uint8") as dst:
        dst.write(np.full((3, 8, 8), 90, np.uint8))
    mask = np.zeros((8, 8), np.uint16)
    mask[1:3, 1:3] = 1
    mask[5:, :] = 65535  # unlabelled rows
    with rasterio.open(root / "masks/a.tif", "w", driver="GTiff", height=8, width=8, count=1, dtype="uint16",
                       nodata=65535) as dst:
        dst.write(mask[None])
    chip = read_chip(list_chips(root, format="folders")[0])
    assert chip.landslide.sum() == 4 and not chip.landslide[5:].any()
    assert chip.valid[:5].all() and not chip.valid[5:].any()
