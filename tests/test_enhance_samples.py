"""Background enhancement (Yang et al. 2022, section 3.3): label, channel and determinism properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.transform import Affine

from landslide_utils.config.data_schema import EnhanceSpec
from landslide_utils.enhance.samples import (
    INDEX_COLUMNS,
    EnhanceError,
    cutmix,
    enhance_from_index,
    enhancement_counts,
    generate_enhanced,
    load_enhanced,
    splice,
)
from landslide_utils.tiles.tile import TileData, read_tile, write_tile

FAST = settings(max_examples=40, deadline=None)


def make_tile(rng: np.random.Generator, h: int, w: int, *, landslides: bool, n_img: int = 3) -> TileData:
    """A random tile: noisy image and factors, random rectangles/blobs as instances, some padding."""
    image = rng.uniform(0, 255, (n_img, h, w)).astype(np.float32)
    factors = np.stack([rng.uniform(1000, 3000, (h, w)), rng.uniform(0, 60, (h, w)),
                        rng.integers(0, 6, (h, w))]).astype(np.float32)
    valid = np.ones((h, w), bool)
    if rng.random() < 0.5:  # an edge tile: padded rows/columns
        valid[h - int(rng.integers(1, h // 3)):, :] = False
    if rng.random() < 0.3:
        valid[:, w - int(rng.integers(1, w // 3)):] = False
    if rng.random() < 0.5:  # a nodata hole inside
        r, c = int(rng.integers(0, h - 4)), int(rng.integers(0, w - 4))
        valid[r:r + int(rng.integers(1, 8)), c:c + int(rng.integers(1, 8))] = False
    if rng.random() < 0.5:  # scattered nodata pixels
        valid &= rng.random((h, w)) > 0.05
    inst = np.zeros((h, w), np.int32)
    if landslides:
        for k in range(1, int(rng.integers(1, 5)) + 1):
            r, c = int(rng.integers(0, h - 1)), int(rng.integers(0, w - 1))
            rh, cw = int(rng.integers(1, h // 2)), int(rng.integers(1, w // 2))
            if rng.random() < 0.5:
                inst[r:r + rh, c:c + cw] = k * 3  # sparse ids on purpose
            else:
                yy, xx = np.ogrid[:h, :w]
                inst[(yy - r) ** 2 / max(rh, 1) ** 2 + (xx - c) ** 2 / max(cw, 1) ** 2 <= 1] = k * 3
        vr, vc = np.nonzero(valid)
        j = int(rng.integers(len(vr)))
        inst[vr[j], vc[j]] = 99  # at least one valid landslide pixel
    tr = Affine(0.5, 0, 370000.0, 0, -0.5, 3003000.0)
    return TileData(image=image, factors=factors, instances=inst, valid=valid, transform=tr, crs="EPSG:32648")


def lmask(t: TileData) -> np.ndarray:
    return (t.instances > 0) & t.valid


def assert_bijective(result_labels: np.ndarray, source_labels: np.ndarray) -> None:
    """Same labelled pixels; result ids are 1..K and map one-to-one onto source ids."""
    assert np.array_equal(result_labels > 0, source_labels > 0)
    pairs = set(zip(result_labels[result_labels > 0].tolist(), source_labels[source_labels > 0].tolist()))
    assert len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})
    ids = np.unique(result_labels[result_labels > 0])
    assert np.array_equal(ids, np.arange(1, len(ids) + 1))


sizes = st.tuples(st.integers(16, 40), st.integers(16, 40))


@FAST
@given(size=sizes, seed=st.integers(0, 2**31))
def test_cutmix_labels_match_pasted_pixels(size, seed):
    rng = np.random.default_rng(seed)
    h, w = size
    s1, s2 = make_tile(rng, h, w, landslides=True), make_tile(rng, h, w, landslides=False)
    out, info = cutmix(s1, s2, rng=rng)
    assert out.image.shape == s1.image.shape and out.image.dtype == np.float32
    assert out.factors.shape == s1.factors.shape and out.factors.dtype == np.float32
    assert out.instances.dtype == np.int32 and out.valid.dtype == bool and out.crs is None
    r0, c0, r1, c1 = info["b1"]
    t0, u0, t1, u1 = info["b2"]
    assert (t1 - t0, u1 - u0) == (r1 - r0, c1 - c0)
    assert 0 <= t0 and t1 <= h and 0 <= u0 and u1 <= w
    assert (info["offset_row"], info["offset_col"]) == (t0 - r0, u0 - c0)
    # B1 is the valid bounding box of the chosen instance
    rows, cols = np.nonzero((s1.instances == info["instance_id"]) & s1.valid)
    assert (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1) == (r0, c0, r1, c1)
    # every labelled result pixel lies in B2 and equals the source pixel at -offset, in all channels
    rr, cc = np.nonzero(out.instances)
    assert ((rr >= t0) & (rr < t1) & (cc >= u0) & (cc < u1)).all()
    sr, sc = rr - info["offset_row"], cc - info["offset_col"]
    assert lmask(s1)[sr, sc].all()
    assert np.array_equal(out.image[:, rr, cc], s1.image[:, sr, sc])
    assert np.array_equal(out.factors[:, rr, cc], s1.factors[:, sr, sc])
    assert out.valid[rr, cc].all()
    # every source landslide pixel inside B1 is labelled; whole box content travels (all channels)
    assert_bijective(out.instances[t0:t1, u0:u1], np.where(lmask(s1), s1.instances, 0)[r0:r1, c0:c1])
    assert np.array_equal(out.image[:, t0:t1, u0:u1], s1.image[:, r0:r1, c0:c1])
    assert np.array_equal(out.factors[:, t0:t1, u0:u1], s1.factors[:, r0:r1, c0:c1])
    assert np.array_equal(out.valid[t0:t1, u0:u1], s1.valid[r0:r1, c0:c1])
    # outside B2: the target, unlabelled
    outside = np.ones((h, w), bool)
    outside[t0:t1, u0:u1] = False
    assert np.array_equal(out.image[:, outside], s2.image[:, outside])
    assert np.array_equal(out.factors[:, outside], s2.factors[:, outside])
    assert np.array_equal(out.valid[outside], s2.valid[outside])
    assert not out.instances[outside].any()


def _quadrants(h, w):
    return [(0, 0, h // 2, w // 2), (0, w // 2, h // 2, w), (h // 2, 0, h, w // 2), (h // 2, w // 2, h, w)]


@FAST
@given(size=sizes, seed=st.integers(0, 2**31))
def test_splice_crop_copies_windows_exactly(size, seed):
    rng = np.random.default_rng(seed)
    h, w = size
    land = make_tile(rng, h, w, landslides=True)
    backs = [make_tile(rng, h, w, landslides=False) for _ in range(3)]
    out, info = splice(land, backs, rng=rng, mode="crop")
    assert out.image.shape == land.image.shape and out.instances.shape == (h, w)
    assert out.image.dtype == np.float32 and out.instances.dtype == np.int32 and out.valid.dtype == bool
    assert info["boxes"] == _quadrants(h, w)
    assert sorted(info["quadrant_sources"]) == [0, 1, 2, 3]
    assert info["quadrant_sources"][info["landslide_quadrant"]] == 0
    sources = [land, *backs]
    for q, (r0, c0, r1, c1) in enumerate(info["boxes"]):
        k = info["quadrant_sources"][q]
        wr0, wc0, wr1, wc1 = info["windows"][k]
        assert (wr1 - wr0, wc1 - wc0) == (r1 - r0, c1 - c0)
        src = sources[k]
        assert np.array_equal(out.image[:, r0:r1, c0:c1], src.image[:, wr0:wr1, wc0:wc1])
        assert np.array_equal(out.factors[:, r0:r1, c0:c1], src.factors[:, wr0:wr1, wc0:wc1])
        assert np.array_equal(out.valid[r0:r1, c0:c1], src.valid[wr0:wr1, wc0:wc1])
        if k == 0:  # the window's landslides, exactly, and nothing else
            src_lab = np.where(lmask(src), src.instances, 0)[wr0:wr1, wc0:wc1]
            assert_bijective(out.instances[r0:r1, c0:c1], src_lab)
            assert (src_lab > 0).any()
        else:
            assert not out.instances[r0:r1, c0:c1].any()


@FAST
@given(size=sizes, seed=st.integers(0, 2**31))
def test_splice_resize_quadrant_is_resized_source(size, seed):
    rng = np.random.default_rng(seed)
    h, w = size
    land = make_tile(rng, h, w, landslides=True, n_img=4)
    backs = [make_tile(rng, h, w, landslides=False, n_img=4) for _ in range(3)]
    out, info = splice(land, backs, rng=rng, mode="resize")
    assert out.image.shape == (4, h, w) and out.factors.shape == (3, h, w)
    assert out.image.dtype == np.float32 and out.instances.dtype == np.int32 and out.valid.dtype == bool
    sources = [land, *backs]
    for q, (r0, c0, r1, c1) in enumerate(info["boxes"]):
        src = sources[info["quadrant_sources"][q]]
        qh, qw = r1 - r0, c1 - c0
        cont = np.concatenate([src.image, src.factors[:2]])
        ref = torch.nn.functional.interpolate(torch.from_numpy(cont[None]).double(), size=(qh, qw), mode="area")
        got = np.concatenate([out.image[:, r0:r1, c0:c1], out.factors[:2, r0:r1, c0:c1]])
        np.testing.assert_allclose(got, ref[0].numpy(), rtol=1e-5, atol=1e-3)
        if h % 2 == 0 and w % 2 == 0:  # exact 2 x 2 block mean
            block = cont.reshape(len(cont), qh, 2, qw, 2).mean(axis=(2, 4))
            np.testing.assert_allclose(got, block, rtol=1e-5, atol=1e-3)
        ri = np.minimum(((np.arange(qh) + 0.5) * h / qh).astype(int), h - 1)
        ci = np.minimum(((np.arange(qw) + 0.5) * w / qw).astype(int), w - 1)
        assert np.array_equal(out.factors[2, r0:r1, c0:c1], src.factors[2][np.ix_(ri, ci)])  # class: nearest
        assert np.array_equal(out.valid[r0:r1, c0:c1], src.valid[np.ix_(ri, ci)])
        if src is land:  # no invented instance: labels are the nearest source labels, relabelled
            assert_bijective(out.instances[r0:r1, c0:c1], np.where(lmask(src), src.instances, 0)[np.ix_(ri, ci)])
        else:
            assert not out.instances[r0:r1, c0:c1].any()
    assert set(np.unique(out.factors[2])) <= set(range(6))


def test_splice_and_cutmix_errors():
    rng = np.random.default_rng(0)
    land, back = make_tile(rng, 20, 20, landslides=True), make_tile(rng, 20, 20, landslides=False)
    with pytest.raises(EnhanceError, match="exactly three"):
        splice(land, [back, back], rng=rng)
    with pytest.raises(EnhanceError, match="different sizes"):
        splice(land, [back, back, make_tile(rng, 22, 20, landslides=False)], rng=rng)
    with pytest.raises(EnhanceError, match="no valid landslide"):
        cutmix(back, back, rng=rng)
    with pytest.raises(ValueError, match="splice mode"):
        splice(land, [back] * 3, rng=rng, mode="zoom")  # type: ignore[arg-type]


def _training_set(tmp: Path, n_land: int, n_back: int, seed: int = 1, size: int = 24):
    rng = np.random.default_rng(seed)
    rows = []
    (tmp / "tiles").mkdir(parents=True, exist_ok=True)
    for i in range(n_land + n_back):
        t = make_tile(rng, size, size, landslides=i < n_land)
        tid = f"train_r{i:03d}_c000"
        write_tile(tmp / "tiles" / f"{tid}.tif", t)
        rows.append({"tile_id": tid, "split": "train", "has_landslide": t.has_landslide, "path": f"{tid}.tif"})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("mode", ["resize", "crop"])
def test_generate_counts_determinism_and_index(tmp_path, mode):
    index = _training_set(tmp_path, 4, 6)
    index = pd.concat([index, pd.DataFrame([{"tile_id": "test_r000_c000", "split": "test", "has_landslide": True,
                                             "path": "missing.tif"}])])
    spec = EnhanceSpec(ratio=1.5, splice_share=0.4, splice_mode=mode, seed=3)
    df = enhance_from_index(index, tmp_path / "tiles", spec, out_dir=tmp_path / "a", progress=False)
    assert list(df.columns) == list(INDEX_COLUMNS)
    assert len(df) == 15 and (df["method"] == "splice").sum() == 6  # round(1.5 * 10), round(15 * 0.4)
    assert not df["source_tiles"].str.contains("test_").any()
    sp, cm = df[df["method"] == "splice"], df[df["method"] == "cutmix"]
    assert sp["source_tiles"].str.split(";").map(len).eq(4).all()
    assert sp["source_tiles"].str.split(";").map(lambda s: len(set(s[1:])) == 3).all()
    assert cm["offset_row"].notna().all() and sp["landslide_quadrant"].between(0, 3).all()
    for _, row in df.iterrows():
        t = read_tile(tmp_path / "a" / row["path"])
        assert t.shape == (24, 24) and t.image.shape[0] == 3 and t.crs is None
        assert int(lmask(t).sum()) == row["landslide_pixels"] > 0
    loaded = load_enhanced(tmp_path / "a")
    pd.testing.assert_frame_equal(loaded, df)
    counts = enhancement_counts(loaded)
    assert counts.loc["splice", "samples"] == 6 and counts.loc["total", "samples"] == 15
    # same seed -> byte-identical files; another seed -> different samples
    enhance_from_index(index, tmp_path / "tiles", spec, out_dir=tmp_path / "b", progress=False)
    for name in list(df["path"]) + ["index.csv"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    other = spec.model_copy(update={"seed": 4})
    enhance_from_index(index, tmp_path / "tiles", other, out_dir=tmp_path / "c", progress=False)
    assert any((tmp_path / "a" / p).read_bytes() != (tmp_path / "c" / p).read_bytes() for p in df["path"])


def test_generate_n_samples_wins_and_stale_files_go(tmp_path):
    rng = np.random.default_rng(5)
    tiles = [(f"t{i}", make_tile(rng, 17, 19, landslides=i < 2)) for i in range(6)]
    df = generate_enhanced(tiles, EnhanceSpec(n_samples=7, ratio=10.0, splice_share=1.0), out_dir=tmp_path,
                           progress=False)
    assert len(df) == 7 and (df["method"] == "splice").all()
    df = generate_enhanced(tiles, EnhanceSpec(ratio=0.5, splice_share=0.0), out_dir=tmp_path, progress=False)
    assert len(df) == 3 and (df["method"] == "cutmix").all()
    assert sorted(p.name for p in tmp_path.glob("be_*.tif")) == ["be_00000.tif", "be_00001.tif", "be_00002.tif"]
    assert read_tile(tmp_path / "be_00000.tif").shape == (17, 19)


def test_generate_errors(tmp_path):
    rng = np.random.default_rng(2)
    backs = [(f"b{i}", make_tile(rng, 16, 16, landslides=False)) for i in range(4)]
    lands = [(f"l{i}", make_tile(rng, 16, 16, landslides=True)) for i in range(2)]
    spec = EnhanceSpec(n_samples=4)
    with pytest.raises(EnhanceError, match="the training set has no landslide tiles"):
        generate_enhanced(backs, spec, out_dir=tmp_path, progress=False)
    with pytest.raises(EnhanceError, match="splicing needs at least three non-landslide tiles, got 2"):
        generate_enhanced(lands + backs[:2], spec, out_dir=tmp_path, progress=False)
    only_cut = EnhanceSpec(n_samples=4, splice_share=0.0)
    assert len(generate_enhanced(lands + backs[:1], only_cut, out_dir=tmp_path, progress=False)) == 4
    with pytest.raises(EnhanceError, match="CutMix needs at least one non-landslide tile"):
        generate_enhanced(lands, only_cut, out_dir=tmp_path, progress=False)
    with pytest.raises(EnhanceError, match=r"sample 0: tiles b0.*no valid landslide pixel.*stale"):
        generate_enhanced(backs, only_cut, out_dir=tmp_path, progress=False, has_landslide=[True, False, False, False])
    odd = [("odd", make_tile(rng, 18, 16, landslides=False))]
    with pytest.raises(EnhanceError, match="different sizes"):
        generate_enhanced(lands + backs + odd, spec, out_dir=tmp_path, progress=False)


def test_galleries_render(tmp_path):
    from landslide_utils.plots.enhance import plot_cutmix_gallery, plot_splice_gallery

    index = _training_set(tmp_path, 3, 4, size=32)
    df = enhance_from_index(index, tmp_path / "tiles", EnhanceSpec(n_samples=4, seed=1),
                            out_dir=tmp_path / "be", progress=False)
    for fn, name in [(plot_splice_gallery, "splice.png"), (plot_cutmix_gallery, "cutmix.png")]:
        fig = fn(df, tmp_path / "be", tmp_path / "tiles", index, n=2, save=tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000 and len(fig.axes) >= 4
