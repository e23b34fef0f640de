"""Bad inputs, one defect each, for the catalogue of ``tests/test_bad_inputs.py`` (README, "What step 01 and
``check`` refuse"; docs/input_checks.md).

Every maker takes a folder that holds the valid tiny study of ``tests/data/tiny_files`` (written by
:func:`study`) and breaks exactly one thing: a parameter file, an input raster or vector, or a chip dataset.
Makers return the profile to run (usually ``folder / "profile.yaml"``). Nothing here is committed data: the
test writes every case into a temporary folder. Run ``python tests/data/bad_inputs/make_data.py OUT`` to write
every case into ``OUT/<case>/`` for a look by hand.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.enums import ColorInterp
from rasterio.transform import Affine, from_origin
from shapely.geometry import LineString, Point, Polygon, box

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the project root, for ``tests.data...`` when run as a script

from tests.data.chips import make_data as chips_md  # noqa: E402
from tests.data.tiny_files import make_data as md  # noqa: E402

Maker = Callable[[Path], Path]


def study(folder: Path, *, extra: str = "") -> Path:
    """The valid tiny study (image, geographic DEM, rivers, inventory, areas, profile) in ``folder``."""
    md.make_inputs(folder)
    return md.write_profile(folder, extra=extra) if extra else folder / "profile.yaml"


def _profile_text(folder: Path) -> str:
    return (folder / "profile.yaml").read_text(encoding="utf-8")


def _edit_profile(folder: Path, old: str, new: str) -> Path:
    text = _profile_text(folder)
    assert old in text, (old, text)
    (folder / "profile.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder / "profile.yaml"


def _utm_raster(path: Path, arr: np.ndarray, *, nodata: float | None = None, crs: str | None = md.CRS,
                res: float = 5.0, margin: float = 40.0, **kw) -> Path:  # noqa: ANN003
    """A raster in the image's UTM CRS covering the image with a margin (for DEMs and second images)."""
    tr = from_origin(md.X0 - margin, md.Y0 + margin, res, res)
    arr = arr[None] if arr.ndim == 2 else arr
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[1], width=arr.shape[2], count=arr.shape[0],
                       dtype=arr.dtype, transform=tr, crs=crs, nodata=nodata, **kw) as dst:
        dst.write(arr)
    return path


def _dem_values(n: int = 48) -> np.ndarray:
    return np.fromfunction(lambda r, c: 1500.0 + 2.0 * c - 1.5 * r, (n, n)).astype(np.float32)


# ------------------------------------------------------------------ parameter files

def profile_folder(folder: Path) -> Path:
    (folder / "folder.yaml").mkdir()
    return folder / "folder.yaml"


def _written(name: str, content: str | bytes) -> Maker:
    """A maker: a parameter file ``name`` holding ``content`` (text or bytes) and nothing else."""
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return path
    return make


profile_binary = _written("binary.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
profile_list = _written("list.yaml", "- name: tiny\n- seed: 0\n")
profile_empty = _written("empty.yaml", "")
profile_tab = _written("tab.yaml", "name: tiny\ndata:\n\tsource: files\n")
profile_self_alias = _written("alias.yaml", "name: tiny\nx: &a [*a]\n")


def _edited(old: str, new: str) -> Maker:
    """A maker: the valid study with one text edit of its profile."""
    def make(folder: Path) -> Path:
        study(folder)
        return _edit_profile(folder, old, new)
    return make


def _extended(extra: str) -> Maker:
    """A maker: the valid study with more keys at the end of its profile."""
    return lambda folder: study(folder, extra=extra)


profile_duplicate_key = _edited("seed: 0\n", "seed: 0\nseed: 3\n")
profile_unknown_key = _edited("tiling:\n", "tiling:\n  foo: 1\n")
profile_ill_typed = _edited("tile_size: 32", "tile_size: '32'")
profile_name_dotdot = _edited("name: tiny", "name: '..'")
profile_name_slash = _edited("name: tiny", "name: a/b")
profile_infinite = _edited("  steps: 1\n", "  steps: 1\n  learning_rate: .inf\n")
profile_empty_path = _edited("image_t1: image_t1.tif", "image_t1: ''")
profile_tile_too_large = _edited("tile_size: 32", "tile_size: 4096")
profile_tiles_mostly_padding = _edited("tile_size: 32", "tile_size: 80")
profile_unknown_backbone = _extended("models:\n  maskrcnn:\n    backbone: resnet9999\n")
profile_anchor_count = _extended("models:\n  maskrcnn:\n    anchor_sizes: [8, 16]\n")
profile_unknown_encoder = _extended("models:\n  unet:\n    encoder: nosuchencoder\n")
profile_missing_weights = _extended("models:\n  pspnet:\n    pretrained_weights: weights/nothere.pth\n")
profile_unknown_experiment = _extended("experiments: [I, NOPE]\n")


def _experiment(folder: Path, text: str) -> Path:
    study(folder)
    (folder / "E.yaml").write_text("name: E\nchannels: rgb\ntraining_data: original\n" + text, encoding="utf-8")
    return folder / "profile.yaml"


def experiment_unknown_model(folder: Path) -> Path:
    return _experiment(folder, "model: resnet_magic\n")


def experiment_bad_override(folder: Path) -> Path:
    return _experiment(folder, "model: unet\ntraining:\n  steps: -3\n")


def experiment_name_escapes(folder: Path) -> Path:
    p = _experiment(folder, "model: unet\n")
    (folder / "E.yaml").write_text((folder / "E.yaml").read_text().replace("name: E", "name: ../x"))
    return p


# ------------------------------------------------------------------ rasters

def missing_file(folder: Path) -> Path:
    study(folder)
    (folder / "rivers.geojson").unlink()
    return folder / "profile.yaml"


def input_is_folder(folder: Path) -> Path:
    study(folder)
    (folder / "inventory.gpkg").unlink()
    (folder / "inventory.gpkg").mkdir()
    return folder / "profile.yaml"


def raster_random_bytes(folder: Path) -> Path:
    study(folder)
    (folder / "dem.tif").write_bytes(b"II*\x00" + np.random.default_rng(0).bytes(3000))
    return folder / "profile.yaml"


def raster_damaged_inside(folder: Path) -> Path:
    """A tiled, compressed image whose header and first and last tiles are intact but a middle tile is not."""
    study(folder)
    rng = np.random.default_rng(1)
    img = rng.integers(1, 256, size=(3, md.SIZE, md.SIZE), dtype=np.uint8)
    path = folder / "image_t1.tif"
    with rasterio.open(path, "w", driver="GTiff", height=md.SIZE, width=md.SIZE, count=3, dtype="uint8",
                       transform=from_origin(md.X0, md.Y0, md.RES, md.RES), crs=md.CRS, nodata=0, tiled=True,
                       blockxsize=16, blockysize=16, compress="deflate") as dst:
        dst.write(img)
    with rasterio.open(path) as src:  # the byte range of a tile in the middle of the image
        off = int(src.get_tag_item("BLOCK_OFFSET_2_2", "TIFF", bidx=2))
        size = int(src.get_tag_item("BLOCK_SIZE_2_2", "TIFF", bidx=2))
    data = bytearray(path.read_bytes())
    data[off:off + size] = bytes(size)
    path.write_bytes(bytes(data))
    return folder / "profile.yaml"


def png_named_tif(folder: Path) -> Path:
    study(folder)
    img = np.random.default_rng(2).integers(1, 256, size=(3, md.SIZE, md.SIZE), dtype=np.uint8)
    with rasterio.open(folder / "image_t1.tif", "w", driver="PNG", height=md.SIZE, width=md.SIZE, count=3,
                       dtype="uint8") as dst:
        dst.write(img)
    return folder / "profile.yaml"


def raster_without_crs(folder: Path) -> Path:
    study(folder)
    md.make_image(folder / "image_t1.tif", crs=None)
    return folder / "profile.yaml"


def image_geographic(folder: Path) -> Path:
    study(folder)
    md.write_raster(folder / "image_t1.tif", np.full((3, 20, 20), 100, np.uint8),
                    transform=from_origin(103.6, 27.1, 1e-4, 1e-4), crs="EPSG:4326", nodata=0)
    return folder / "profile.yaml"


def image_rotated(folder: Path) -> Path:
    study(folder)
    tr = Affine(md.RES, 0.3, md.X0, 0.3, -md.RES, md.Y0)
    md.write_raster(folder / "image_t1.tif", np.full((3, md.SIZE, md.SIZE), 100, np.uint8), transform=tr,
                    crs=md.CRS, nodata=0)
    return folder / "profile.yaml"


def image_two_bands(folder: Path) -> Path:
    study(folder)
    md.make_image(folder / "image_t1.tif", bands=2)
    return folder / "profile.yaml"


def image_sentinel(folder: Path) -> Path:
    study(folder)
    img = np.random.default_rng(3).uniform(0.01, 0.4, size=(3, md.SIZE, md.SIZE)).astype(np.float32)
    img[:, :10, :] = -9999.0  # voids without a declared nodata
    md.write_raster(folder / "image_t1.tif", img, transform=from_origin(md.X0, md.Y0, md.RES, md.RES), crs=md.CRS)
    return folder / "profile.yaml"


def image_black_fill(folder: Path) -> Path:
    """No nodata declared, but a black (0, 0, 0) frame: the usual fill outside a scene (a warning)."""
    study(folder)
    img = np.random.default_rng(4).integers(1, 256, size=(3, md.SIZE, md.SIZE), dtype=np.uint8)
    img[:, :, :6] = 0
    md.write_raster(folder / "image_t1.tif", img, transform=from_origin(md.X0, md.Y0, md.RES, md.RES), crs=md.CRS)
    return folder / "profile.yaml"


def image_all_nodata(folder: Path) -> Path:
    study(folder)
    md.write_raster(folder / "image_t1.tif", np.zeros((3, md.SIZE, md.SIZE), np.uint8),
                    transform=from_origin(md.X0, md.Y0, md.RES, md.RES), crs=md.CRS, nodata=0)
    return folder / "profile.yaml"


def dem_sentinel(folder: Path) -> Path:
    """Voids of -9999 in a float DEM that declares no nodata."""
    study(folder)
    dem = _dem_values()
    dem[20:30, 20:30] = -9999.0
    _utm_raster(folder / "dem.tif", dem)
    return folder / "profile.yaml"


def dem_too_small(folder: Path) -> Path:
    study(folder)
    _utm_raster(folder / "dem.tif", _dem_values(2), res=200.0)
    return folder / "profile.yaml"


def dem_all_nodata(folder: Path) -> Path:
    study(folder)
    _utm_raster(folder / "dem.tif", np.full((48, 48), -9999.0, np.float32), nodata=-9999.0)
    return folder / "profile.yaml"


def dem_is_the_image(folder: Path) -> Path:
    study(folder)
    (folder / "dem.tif").write_bytes((folder / "image_t1.tif").read_bytes())
    return folder / "profile.yaml"


def dem_elsewhere(folder: Path) -> Path:
    study(folder)
    md.make_dem_geographic(folder / "dem.tif", offset_m=50_000.0)
    return folder / "profile.yaml"


def dem_not_covering(folder: Path) -> Path:
    study(folder)
    md.make_dem_geographic(folder / "dem.tif", margin_m=0.0, xmax_m=md.X0 + 100.0)
    return folder / "profile.yaml"


def second_image_two_bands(folder: Path) -> Path:
    study(folder)
    md.make_image(folder / "image_t2.tif", bands=2, seed=5)
    return _edit_profile(folder, "    image_t1: image_t1.tif\n",
                         "    image_t1: image_t1.tif\n    image_t2: image_t2.tif\n")


def second_image_partial(folder: Path) -> Path:
    """A second-date image covering only the upper-left corner of the scene."""
    study(folder)
    img = np.random.default_rng(6).integers(1, 256, size=(3, 40, 40), dtype=np.uint8)
    md.write_raster(folder / "image_t2.tif", img, transform=from_origin(md.X0, md.Y0, md.RES, md.RES), crs=md.CRS,
                    nodata=0)
    return _edit_profile(folder, "    image_t1: image_t1.tif\n",
                         "    image_t1: image_t1.tif\n    image_t2: image_t2.tif\n")


def second_image_without_crs(folder: Path) -> Path:
    study(folder)
    md.make_image(folder / "image_t2.tif", seed=7, crs=None)
    return _edit_profile(folder, "    image_t1: image_t1.tif\n",
                         "    image_t1: image_t1.tif\n    image_t2: image_t2.tif\n")


# ------------------------------------------------------------------ vectors

def rivers_polygons(folder: Path) -> Path:
    study(folder)
    gpd.GeoDataFrame(geometry=[box(md.X0, md.Y0 - 50, md.X0 + 20, md.Y0)], crs=md.CRS).to_file(
        folder / "rivers.geojson", driver="GeoJSON")
    return folder / "profile.yaml"


def rivers_far_away(folder: Path) -> Path:
    study(folder)
    line = LineString([(md.X0 + 300_000, md.Y0), (md.X0 + 300_000, md.Y0 - 1000)])
    gpd.GeoDataFrame({"name": ["far"]}, geometry=[line], crs=md.CRS).to_file(folder / "rivers.geojson",
                                                                            driver="GeoJSON")
    return folder / "profile.yaml"


def inventory_table(folder: Path) -> Path:
    study(folder)
    (folder / "inventory.csv").write_text("x,y\n370030,3002970\n370060,3002850\n", encoding="utf-8")
    return _edit_profile(folder, "inventory: inventory.gpkg", "inventory: inventory.csv")


def inventory_empty(folder: Path) -> Path:
    study(folder)
    md.make_inventory(folder / "inventory.gpkg", polygons=[])
    return folder / "profile.yaml"


def inventory_bowtie(folder: Path) -> Path:
    study(folder)
    bowtie = Polygon([(md.X0 + 10, md.Y0 - 10), (md.X0 + 40, md.Y0 - 40), (md.X0 + 40, md.Y0 - 10),
                      (md.X0 + 10, md.Y0 - 40)])
    md.make_inventory(folder / "inventory.gpkg", polygons=[Point(md.X0 + 60, md.Y0 - 60).buffer(8), bowtie])
    return folder / "profile.yaml"


def inventory_without_crs(folder: Path) -> Path:
    study(folder)
    gdf = gpd.read_file(folder / "inventory.gpkg")
    gdf.set_crs(None, allow_override=True).to_file(folder / "inventory.gpkg", driver="GPKG")
    return folder / "profile.yaml"


def inventory_off_image(folder: Path) -> Path:
    study(folder)
    md.make_inventory(folder / "inventory.gpkg", polygons=[Point(md.X0 + 5000, md.Y0 - 5000).buffer(10)])
    return folder / "profile.yaml"


def inventory_repeated(folder: Path) -> Path:
    study(folder)
    geoms = [Point(x, y).buffer(r) for x, y, r in md.LANDSLIDES]
    md.make_inventory(folder / "inventory.gpkg", polygons=geoms + geoms[:2])
    return folder / "profile.yaml"


def inventory_two_layers(folder: Path) -> Path:
    """A GeoPackage whose first layer is the rivers: the wrong layer is read."""
    study(folder)
    path = folder / "both.gpkg"
    gpd.read_file(folder / "rivers.geojson").to_crs(md.CRS).to_file(path, layer="a_rivers", driver="GPKG")
    gpd.read_file(folder / "inventory.gpkg").to_file(path, layer="landslides", driver="GPKG")
    return _edit_profile(folder, "inventory: inventory.gpkg", "inventory: both.gpkg")


def inventory_below_pixel(folder: Path) -> Path:
    """Landslides smaller than a pixel centre can catch: none reaches the instance raster (step 01 only)."""
    study(folder)
    md.make_inventory(folder / "inventory.gpkg",
                      polygons=[box(md.X0 + 20.1 + 10 * i, md.Y0 - 20.9, md.X0 + 20.9 + 10 * i, md.Y0 - 20.1)
                                for i in range(4)])
    return folder / "profile.yaml"


def no_landslide_in_train(folder: Path) -> Path:
    """Every landslide in the test area (the right half): nothing to learn from (step 01 only)."""
    study(folder)
    md.make_inventory(folder / "inventory.gpkg", polygons=[Point(md.X0 + 150, md.Y0 - 100).buffer(10)])
    return folder / "profile.yaml"


def areas_without_split(folder: Path) -> Path:
    study(folder)
    gdf = gpd.read_file(folder / "areas.geojson").drop(columns=["split"])
    gdf.to_file(folder / "areas.geojson", driver="GeoJSON")
    return folder / "profile.yaml"


def areas_without_test(folder: Path) -> Path:
    study(folder)
    md.make_areas(folder / "areas.geojson", splits=("train", "train", "train"))
    return folder / "profile.yaml"


def areas_train_overlaps_test(folder: Path) -> Path:
    study(folder)
    half = md.SIZE * md.RES / 2
    gdf = gpd.GeoDataFrame({"name": ["train", "test"], "split": ["train", "test"]},
                           geometry=[box(md.X0, md.Y0 - 2 * half, md.X0 + half + 40, md.Y0),
                                     box(md.X0 + half, md.Y0 - 2 * half, md.X0 + 2 * half, md.Y0)], crs=md.CRS)
    gdf.to_file(folder / "areas.geojson", driver="GeoJSON")
    return folder / "profile.yaml"


def areas_names_clash(folder: Path) -> Path:
    study(folder)
    gdf = gpd.read_file(folder / "areas.geojson")
    gdf["name"] = ["north/a", "north_a", "test"]
    gdf.to_file(folder / "areas.geojson", driver="GeoJSON")
    return folder / "profile.yaml"


# ------------------------------------------------------------------ chip datasets

def _chip_profile(folder: Path, chips: str, *, extra: str = "") -> Path:
    text = (f"name: tinychips\nseed: 0\ndevice: cpu\ndata:\n  source: chips\n  chips:\n{chips}"
            f"tiling:\n  tile_size: 16\ntraining:\n  steps: 1\n{extra}")
    (folder / "profile.yaml").write_text(text, encoding="utf-8")
    return folder / "profile.yaml"


def chips_folder_missing(folder: Path) -> Path:
    return _chip_profile(folder, "    format: folders\n    train: nowhere\n")


def chips_mask_missing(folder: Path) -> Path:
    root = chips_md.make_folders(folder)
    (root / "masks" / "b.png").unlink()
    return _chip_profile(folder, "    format: folders\n    train: folders\n")


def chips_mask_size(folder: Path) -> Path:
    root = chips_md.make_folders(folder)
    chips_md._write(root / "masks" / "b.png", np.zeros((10, 12), np.uint8), "PNG")  # noqa: SLF001 - fixture helper
    return _chip_profile(folder, "    format: folders\n    train: folders\n")


def chips_truncated_png(folder: Path) -> Path:
    """A mask cut to its first half: GDAL would read it without a word (step 01 only)."""
    root = chips_md.make_study_bijie(folder, n=4, negatives=1)
    mask = root / "landslide" / "mask" / "ls001.png"
    data = mask.read_bytes()
    mask.write_bytes(data[: len(data) // 2])
    return _chip_profile(folder, "    format: bijie\n    train: bijie_study\n    pixel_size_m: 2.0\n")


def chips_test_is_train(folder: Path) -> Path:
    chips_md.make_folders(folder)
    return _chip_profile(folder, "    format: folders\n    train: folders\n    test: folders\n")


def chips_extra_test_is_train(folder: Path) -> Path:
    chips_md.make_folders(folder)
    return _chip_profile(folder, "    format: folders\n    train: folders\n",
                         extra="evaluation:\n  extra_tests:\n    - {name: same, format: folders, path: folders}\n")


def chips_no_landslide(folder: Path) -> Path:
    """Every mask is empty (step 01 only)."""
    root = chips_md.make_study_bijie(folder, n=4, negatives=1)
    for mask in (root / "landslide" / "mask").glob("*.png"):
        chips_md._write(mask, np.zeros((40, 48), np.uint8), "PNG")  # noqa: SLF001 - fixture helper
    return _chip_profile(folder, "    format: bijie\n    train: bijie_study\n    pixel_size_m: 2.0\n")


def chips_l4s_13_bands(folder: Path) -> Path:
    """Landslide4Sense files with 13 bands (the DEM missing): the slope and DEM bands cannot be found."""
    import h5py

    root = chips_md.make_landslide4sense(folder)
    for img in (root / "img").glob("*.h5"):
        with h5py.File(img, "r") as f:
            data = f["img"][..., :13]
        with h5py.File(img, "w") as f:
            f["img"] = data
    return _chip_profile(folder, "    format: landslide4sense\n    train: landslide4sense\n")


#: every maker, by case name
# ------------------------------------------------------------------ Reliability II: labels, sizes, devices

profile_override_matches_nothing = _extended('experiment_overrides:\n  "NOPE*": {training: {steps: 3}}\n')
profile_name_too_long = _edited("name: tiny", "name: " + "a" * 300)
profile_cuda_without_gpu = _edited("device: cpu", "device: cuda")


def image_bgr_labels(folder: Path) -> Path:
    """An image whose colour interpretation says blue, green, red: read as red, green, blue it would swap them."""
    study(folder)
    with rasterio.open(folder / "image_t1.tif", "r+") as dst:
        dst.colorinterp = [ColorInterp.blue, ColorInterp.green, ColorInterp.red]
    return folder / "profile.yaml"


def inventory_is_areas(folder: Path) -> Path:
    """The areas file given as the inventory: its polygons cover the whole image."""
    study(folder)
    return _edit_profile(folder, "inventory: inventory.gpkg", "inventory: areas.geojson")


MAKERS: dict[str, Maker] = {name: fn for name, fn in dict(globals()).items()
                            if callable(fn) and getattr(fn, "__module__", None) == __name__
                            and not name.startswith("_") and name != "study"}


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bad_inputs_cases")
    for name, make in MAKERS.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        print(name, make(out / name))
