"""Write the numbered notebooks of the study from the cell texts below (the single source of the notebooks).

Run ``python tools/build_notebooks.py`` after editing; the notebooks stay thin: a ``parameters`` cell, calls into
``landslide_utils``, and cells that show results. Cells tagged ``nbval-check-output`` hold the outputs that
define the result and are compared by ``make verify`` / nbval; the rest are re-executed but not compared.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

NB_DIR = Path(__file__).resolve().parents[1] / "notebooks"
CHECK = "nbval-check-output"

SETUP = """\
from landslide_utils.paths import use_project_root
from landslide_utils.plots.style import use_notebook_style

root = use_project_root()  # notebooks run from the project root (papermill and nbval alike)
use_notebook_style()
"""


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip())


def code(text: str, *tags: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(text.strip())
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def params(text: str) -> nbformat.NotebookNode:
    return code(text, "parameters")


def write(name: str, cells: list, out_dir: Path = NB_DIR) -> None:
    nb = nbformat.v4.new_notebook()
    for k, cell in enumerate(cells):
        cell.id = f"{name[:2]}-{k:02d}"
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, out_dir / name)


PROFILE_PARAM = (
    "# profile: the study profile, a YAML file in params/profiles/ given relative to the project root. Allowed: any\n"
    "#   profile there or a copy of one, e.g. lab.yaml (the teaching lab), quick.yaml (the default study) or\n"
    "#   smoke.yaml (the tests' tiny study). Default: \"params/profiles/smoke.yaml\".\n"
    "#   `python -m landslide_utils run --profile FILE` sets it to FILE; to run this notebook by hand, edit it here.\n"
    'profile = "params/profiles/smoke.yaml"'
)

NOTEBOOKS: dict[str, list] = {}

NOTEBOOKS["01_prepare_data.ipynb"] = [
    md("""
# 01 · Data preparation

Yang et al. (2022), *Landslide Extraction Using Mask R-CNN with Background-Enhancement Method* ("the paper"),
sec. 2.2 (images, DEM, rivers, labels, train and test areas; the 1024-pixel tiles of Figure 3) and sec. 3.4 (the
factor layers DEM, slope and the six river levels of Figure 14a): the data-preparation part of the paper's
workflow (sec. 3.1, Figure 6).
Reads the post-event image, DEM, rivers, landslide inventory and the train/test areas named by the profile (or
generates the embedded synthetic study area), checks every layer, derives slope (Horn) and the six
distance-from-river levels, aligns everything to the image grid and cuts georeferenced tiles with a tile index
and COCO annotations. A chip dataset (`data.source: chips`: image/mask chips such as the Bijie or Landslide4Sense
data) is cut into tiles of the same format instead, and the extra test sets of `evaluation.extra_tests` are cut
too. All work happens in `landslide_utils.steps.prepare`. Methods and assumptions: `docs/methods.md`, sections "Inputs
of a study area", "Data preparation" and "Chip datasets".

**What to look at**

- *Checks of the inputs*: the notes step 01 made about the inputs (e.g. polygons smaller than a pixel, a small
  DEM gap that was masked); "all layers passed the checks" when there are none.
- *The study area* (synthetic area only): the image with the inventory outlines and the train/test areas, the DEM
  with the rivers, and a close-up. Notice that the landslides gather on valley walls near the rivers, and that
  rivers, roads, fields and buildings have colours close to those of landslide scars.
- *Aligned layers over the test area*: image, DEM, slope, river levels, landslide instances and valid pixels on one
  grid. DEM and slope come from the coarser DEM grid, so they look smooth beside the image.
- *The aligned stack*: the same layers as one xarray Dataset; check the CRS and the pixel size printed under it.
- *Tile grid* (cf. Figure 3): tile outlines by split, landslide tiles filled red. Notice how many tiles hold no
  landslide: background enhancement (notebook 03) draws on them.
- *Tiles per split*: landslide and non-landslide tiles, landslides and valid area (km²) of the train and test
  areas.
- *Extra test sets*: tile counts of the cross-region test sets, only when `evaluation.extra_tests` names some.

**Try this**: copy the lab profile, `cp params/profiles/lab.yaml params/profiles/my_lab.yaml`, and set
`name: my_lab` in the copy (its results then go to `reports/my_lab/`). Change one key below, then run
`python -m landslide_utils run --profile params/profiles/my_lab.yaml --steps 01`.

- `tiling.tile_size: 64` (lab: 128): about four times as many tiles in *Tiles per split* and a finer *Tile grid*;
  the landslides and the area stay the same, and a larger share of the tiles holds no landslide.
- `data.synthetic.n_landslides: 120` (lab: 260): fewer landslide tiles and more non-landslide tiles.
- `data.synthetic.seed: 1` (default 0): another terrain, river network and set of landslides; every figure
  changes, while the counts stay of the same size.
"""),
    params(PROFILE_PARAM),
    code(SETUP + """
from landslide_utils.config.load import load_profile
from landslide_utils.files.atomic import write_csv
from landslide_utils.paths import StudyPaths
from landslide_utils.steps.prepare import prepare_data
from landslide_utils.plots.data import plot_aligned_layers, plot_chips, plot_stack, plot_tile_grid
from landslide_utils.inputs.stack import open_aligned

prof = load_profile(profile)
paths = StudyPaths.of(prof)
result = prepare_data(prof)
"""),
    md("## Checks of the inputs\nProblems stop the step with a message naming the file; notes are listed here."),
    code("for note in result.findings or ['all layers passed the checks']:\n    print('-', note)", CHECK),
    md("## The study area"),
    code("""
if prof.data.source == "synthetic":
    from landslide_utils.plots.area import plot_study_area
    plot_study_area(paths.inputs, save=paths.figures / "study_area.png");
"""),
    md("## Aligned layers over the test area\nDEM and slope resampled bilinearly onto the image grid; river levels "
       "and landslide instances on the image grid. A chip dataset shows some of its chips instead."),
    code("""
if result.aligned is not None:
    plot_aligned_layers(result.aligned, result.areas, area='test', save=paths.figures / 'aligned_layers_test.png');
else:
    plot_chips(result.tiles, paths.tiles, n=8, save=paths.figures / 'chips.png');
"""),
    md("## The aligned stack\nThe same layers as one georeferenced xarray Dataset, `aligned.nc` beside the GeoTIFFs "
       "(`landslide_utils.inputs.stack`): image bands, elevation, slope, river levels, landslide instances, the valid mask "
       "and the study areas on the image grid, with their CRS (`ds.rio.crs`), units and provenance in the "
       "attributes. Open it with `open_aligned(load_profile(profile))` or `xr.open_dataset(..., "
       "decode_coords='all')`."),
    code("""
if result.aligned is not None:
    ds = open_aligned(prof)
    print(ds)
    print("CRS:", ds.rio.crs, "| pixel:", ds.rio.resolution())
else:
    print("a chip dataset has no aligned stack: its tiles are the data (docs/methods.md, 'Chip datasets')")
"""),
    code("""
if result.aligned is not None:
    plot_stack(ds, save=paths.figures / 'aligned_stack.png');
"""),
    md("## Tile grid (cf. the paper's Figure 3)"),
    code("""
if result.aligned is not None:
    plot_tile_grid(result.tiles, result.aligned.image, save=paths.figures / 'tile_grid.png');
else:
    print("a chip dataset has no map: each chip is tiled from its top-left pixel (docs/methods.md, 'Chip datasets')")
"""),
    md("## Tiles per split"),
    code("write_csv(paths.tables / 'tile_counts.csv', result.counts)\nresult.counts", CHECK),
    md("## Extra test sets\nThe chip datasets every experiment is also tested on (`evaluation.extra_tests`), all "
       "chips as test chips, cut at this study's tile size."),
    code("""
for name, counts in result.extra_tests.items():
    write_csv(paths.tables / f'tile_counts@{name}.csv', counts)
    print(name)
    display(counts)
if not result.extra_tests:
    print("none (evaluation.extra_tests)")
""", CHECK),
]

NOTEBOOKS["02_analyse_factors.ipynb"] = [
    md("""
# 02 · Factor analysis

Landslide **area density** (landslide area in a class / area of the class) against elevation, slope and distance
from river, as in Yang et al. (2022) ("the paper"), sec. 3.4 and Figures 12b, 13b and 14b: the analysis by which
the paper chose DEM, slope and distance from river as extra input channels. Computed over the valid pixels of the
study areas by xarray operations on the aligned stack of step 01 (`groupby_bins` of elevation and slope, `groupby`
of the river level: `landslide_utils.analysis.density.stack_density`). Details: `docs/methods.md`, section "Factor
analysis". On the synthetic area the generator places landslides by slope, elevation and distance from river
(`data.synthetic.factor_dependence`), so the trends below are there by construction: this notebook checks the
analysis, not the geology of Ludian.

**What to look at**

- *The layers, from the stack*: the histograms of elevation and slope of the landslide pixels against those of the
  whole study area. Where the landslide histogram lies above the other, landslides are more frequent than the area
  alone would give: here on steeper slopes and at lower elevations.
- *Density plots* (cf. Figures 12b–14b): grey bars are the area of each class, the red line the landslide density.
  In the paper the density falls as elevation rises, rises with slope and, away from the river surface (level 0),
  falls with distance from the river. Hollow markers are classes covering under 1 % of the area, whose density
  rests on few pixels.
- *Tables*: class area, landslide area and density per class, the numbers behind the plots.
- *Share of landslide area on 20–50° slopes*: compare it with the paper's 80.35 % for Ludian.

**Try this**: copy the lab profile, `cp params/profiles/lab.yaml params/profiles/my_lab.yaml`, and set
`name: my_lab` in the copy (its results then go to `reports/my_lab/`). Change one key below, then run
`python -m landslide_utils run --profile params/profiles/my_lab.yaml --steps 01,02`.

- `factors.slope_bin_deg: 5` (lab: 10): twice as many slope classes; the slope line gets more points and more
  noise. The 20–50° share does not change: it is measured on the slope values, not on the classes.
- `data.synthetic.factor_dependence: 0` (default 1): landslides are placed independently of slope, elevation and
  river distance (only rivers, roads and other objects stay free of them). The density lines flatten, and the
  20–50° share falls towards the share of the area that lies on 20–50° slopes.
"""),
    params(PROFILE_PARAM),
    code(SETUP + """
from landslide_utils.config.load import load_profile
from landslide_utils.analysis.density import analyse_study
from landslide_utils.paths import StudyPaths
from landslide_utils.plots.factors import plot_all_densities, plot_factor_histograms
from landslide_utils.inputs.stack import open_aligned

prof = load_profile(profile)
paths = StudyPaths.of(prof)
tables = analyse_study(prof)
ds = open_aligned(prof)
"""),
    md("## The layers, from the stack\nThe variables the densities read, and the elevation and slope of the landslide "
       "pixels against those of the whole study area (`DataArray.plot.hist`)."),
    code("""
print(ds[["elevation", "slope", "river_level", "instances", "valid", "area"]])
plot_factor_histograms(ds, save=paths.figures / 'factor_histograms.png');
"""),
    md("## Density plots"),
    code("plot_all_densities(tables, save=paths.figures / 'factor_density.png');"),
    md("## Tables"),
    code("tables.elevation.round(3)", CHECK),
    code("tables.slope.round(3)", CHECK),
    code("tables.river.round(3)", CHECK),
    md("## Share of landslide area on 20–50° slopes\nThe paper reports 80.35 % for Ludian."),
    code("print(f'landslide area on 20-50 degree slopes: {100 * tables.share_20_50:.1f} % '\n"
         "      f'of {tables.landslide_area_m2 / 1e6:.3f} km2 of landslides in {tables.study_area_m2 / 1e6:.2f} km2')",
         CHECK),
]

NOTEBOOKS["03_enhance_background.ipynb"] = [
    md("""
# 03 · Background enhancement

Yang et al. (2022) ("the paper"), sec. 3.3: **splicing** (one landslide tile and three non-landslide tiles in a
2 × 2 mosaic; sec. 3.3.1, Figure 10) and **modified CutMix** (the bounding box of one landslide pasted into a
non-landslide tile; sec. 3.3.2, Figure 11), made from the training tiles only, so that landslides appear beside
rivers, roads, bare land and buildings (the paper's reasons: Figures 8 and 9). The paper made 600 such samples
from 531 training tiles (sec. 4.2). Applied to image, factor channels and labels alike, so every sample is a
training tile of the same format. Details and assumptions: `docs/methods.md`, section "Background enhancement".

**What to look at**

- *Counts*: per operation (`splice`, `cutmix`, `total`) the number of samples, their landslide pixels, the mean
  per sample, the samples without a landslide (always 0) and the landslide instances. There are
  `enhance.ratio` samples per training tile (lab: 1.13, the paper's 600 / 531), a share `enhance.splice_share`
  (0.5) of them spliced. A CutMix sample is labelled only inside its pasted box.
- *Splicing* (cf. Figure 10): per row the landslide tile, the three non-landslide tiles and the spliced sample;
  landslides outlined in yellow, the quadrant borders in magenta. Notice the landslide now lies beside the
  background of other tiles, and, in the default `resize` mode, at half the resolution.
- *Modified CutMix* (cf. Figure 11): per row S1 with the chosen landslide's box B1 (red), S2 with the box B2
  (cyan) at a random place, the new sample and its label. Notice that the label moved with the box, and that the
  box may land on a river or a road (cf. Figure 11c).

**Try this**: copy the lab profile, `cp params/profiles/lab.yaml params/profiles/my_lab.yaml`, and set
`name: my_lab` in the copy (its results then go to `reports/my_lab/`). Change one key below, then run
`python -m landslide_utils run --profile params/profiles/my_lab.yaml --steps 01,03`.

- `enhance.ratio: 2.0` (lab: 1.13): about twice as many samples in *Counts* (round(ratio × training tiles)).
- `enhance.splice_mode: crop` (lab: resize): each quadrant is a window cut from its tile at the tile's resolution
  instead of the whole tile halved; the splicing gallery marks the windows in cyan.
- `enhance.seed: 1` (lab: 0): other tiles and boxes are drawn; the galleries change, the number of samples does
  not.
"""),
    params(PROFILE_PARAM),
    code(SETUP + """
from landslide_utils.config.load import load_profile
from landslide_utils.enhance.samples import enhance_from_index, enhancement_counts
from landslide_utils.paths import StudyPaths
from landslide_utils.plots.enhance import plot_cutmix_gallery, plot_splice_gallery
from landslide_utils.tiles.tiling import read_index

prof = load_profile(profile)
paths = StudyPaths.of(prof)
index = read_index(paths.tile_index)
samples = enhance_from_index(index, paths.tiles, prof.enhance, out_dir=paths.enhanced)
"""),
    md("## Counts"),
    code("enhancement_counts(samples)", CHECK),
    md("## Splicing (cf. the paper's Figure 10)"),
    code("plot_splice_gallery(samples, paths.enhanced, paths.tiles, index, n=3, save=paths.figures / 'be_splicing.png');"),
    md("## Modified CutMix (cf. the paper's Figure 11)"),
    code("plot_cutmix_gallery(samples, paths.enhanced, paths.tiles, index, n=3, save=paths.figures / 'be_cutmix.png');"),
]

NOTEBOOKS["04_run_experiment.ipynb"] = [
    md("""
# 04 · Experiment

One experiment of Yang et al. (2022) ("the paper"), Tables 3/4/6/7 (model × input channels × training data),
trained on the training tiles and evaluated on the stitched test area. In the paper: the models in sec. 3.2
(Mask R-CNN, Figure 7) and 4.2 (U-Net, PSPNet), the experimental design and training settings in sec. 4.2
(Tables 3 and 4), the metrics in sec. 4.1 (Table 2, equations 1–4), the results in sec. 4.3 (error maps in
Figure 16, sample tiles in Figure 18, numbers in Tables 6 and 7). The runner executes this template once per
experiment of the profile (its `experiments` list, else every `params/experiments/*.yaml`; `--experiments`
overrides) into `04_run_experiment_<EXP>.ipynb`. Models, training and metrics: `docs/methods.md`, sections
"Models", "Training" and "From model output to a landslide map, and the metrics".

**What to look at**

- The first line: the experiment's model, input channels and training data.
- *Training*: the loss per step (thin) and its running mean (thick); with `training.eval_every` (the lab's U-Net
  runs V and VI) also the validation loss (orange) and validation AP (green, right axis). Notice whether the
  running mean has flattened by the last step; with `training.keep: best` the weights of the highest validation
  AP are the ones evaluated.
- *Evaluation*: the decision threshold and where it came from, and a WARNING when the map is empty. In the metrics
  row, precision, recall, F1 and mIoU are the paper's four (Tables 6 and 7); landslide IoU, overall accuracy
  (`oa`), kappa, average precision (`ap`, threshold-free) and `f1_val_threshold` are added. Notice that `oa` is
  high for any model, as landslides cover a few percent of the area, and that mIoU lies above the landslide IoU
  because it averages in the background IoU.
- The object recall table: the share of inventory landslides the map hits, per size class
  (`evaluation.size_classes_m2`).
- *Per chip* and *Cross-region tests*: only for a chip dataset and with `evaluation.extra_tests`; on the lab
  profile they print one line each.
- *Error map* (cf. Figure 16): true positives green, false extractions red, missed extractions blue. Notice where
  the red lies: the paper found false extractions on rivers, roads and buildings (sec. 4.3).
- *Sample test tiles* (cf. Figure 18): the five test tiles with the most landslide pixels, false extractions boxed
  in red and missed ones in blue (the paper: yellow and white boxes).

**Try this**: copy the lab profile, `cp params/profiles/lab.yaml params/profiles/my_lab.yaml`, and set
`name: my_lab` in the copy (its results then go to `reports/my_lab/`). Change one key below, then run
`python -m landslide_utils run --profile params/profiles/my_lab.yaml --steps 01,03,04 --experiments V` and open
`reports/my_lab/04_run_experiment_V.ipynb`.

- `training.steps: 40` (lab: 160; the budget of the U-Net runs V and VI, while Mask R-CNN IV has its own in
  `experiment_overrides`): a shorter training curve that ends before the validation AP levels off, and usually
  a lower F1 and AP.
- `evaluation.threshold: validation` (default `fixed`: 0.5, from `evaluation.score_threshold` and
  `evaluation.mask_threshold`): the printed threshold is the F1-optimal one on the validation tiles, so `f1` now
  equals `f1_val_threshold`; `ap` uses no threshold and is not affected by the choice.
- `evaluation.size_classes_m2: [200.0, 1000.0, 5000.0]` (lab: [500.0, 2000.0]): four size classes in the object
  recall table; notice which sizes the map misses most.
"""),
    params(PROFILE_PARAM + """
# experiment: the experiment file to train and evaluate, relative to the project root. Allowed: a file of
#   params/experiments/ (I.yaml ... VIII.yaml, unet_be.yaml, ...) or of its sub-folders (liu2021/, chen2022/,
#   yang2022b/, gao2021/). Default: "params/experiments/I.yaml". The runner sets it once per experiment.
experiment = "params/experiments/I.yaml"
# maps: True draws the error map and the sample test tiles; False skips both (the sweep runner's choice: numbers
#   only). Allowed: True, False. Default: True.
maps = True
"""),
    code(SETUP + """
import pandas as pd

from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.evaluation.cross_region import evaluate_extra_tests
from landslide_utils.paths import StudyPaths
from landslide_utils.plots.results import plot_error_map, plot_sample_tiles, plot_training_curve
from landslide_utils.evaluation.test_area import evaluate_test_area
from landslide_utils.evaluation.validation_curve import validation_curve
from landslide_utils.training.experiment import train_experiment

prof = load_profile(profile)
exp = load_experiment(experiment)
paths = StudyPaths.of(prof)
print(f"Experiment {exp.name}: {exp.description}")
"""),
    md("## Training\nWith `training.eval_every` the model is measured on the validation tiles while it trains "
       "(loss and AP in the curve below); with `training.keep: best` the weights of the best validation AP are "
       "the ones evaluated."),
    code("trained = train_experiment(prof, exp, validator=validation_curve)"),
    code("plot_training_curve(paths.experiment(exp.name) / 'loss.csv', save=paths.figures / f'loss_{exp.name}.png');"),
    md("## Evaluation on the stitched test area"),
    code("metrics = evaluate_test_area(prof, exp)"),
    code("""
print(f"decision threshold {metrics['threshold']:.3f} ({metrics['threshold_source']}; evaluation.threshold)")
for warning in metrics["warnings"]:  # the guard: an empty map is said plainly, not reported as zeros
    print("WARNING:", warning)
"""),
    code("""
keys = ["precision", "recall", "f1", "miou", "iou_landslide", "oa", "kappa", "ap", "f1_val_threshold"]
pd.DataFrame([{k: round(metrics[k], 3) for k in keys}], index=[exp.name])
""", CHECK),
    code("pd.DataFrame(metrics['object_recall_by_size']).round(3)", CHECK),
    md("## Per chip\nA chip dataset's test metrics are the confusion counts summed over its test chips; here each "
       "chip on its own, with its landslides and how many the map hit (the ten worst F1 first)."),
    code("""
if prof.data.source == "chips":
    per_chip = pd.read_csv(paths.metrics / f"{exp.name}_chips.csv")
    print(f"{len(per_chip)} test chips; median chip F1 {per_chip['f1'].median():.3f}")
    display(per_chip.sort_values("f1").head(10).round(3))
else:
    print("not a chip dataset: one stitched test area")
""", CHECK),
    md("## Cross-region tests\nThe same model on every extra test set (`evaluation.extra_tests`), with the same "
       "threshold and the training data's normalisation: trained here, tested there."),
    code("""
extra = evaluate_extra_tests(prof, exp)
rows = {name: ({"skipped": m["skipped"]} if "skipped" in m else {k: round(m[k], 3) for k in keys})
        for name, m in extra.items()}
pd.DataFrame.from_dict(rows, orient="index") if rows else print("no extra test sets (evaluation.extra_tests)")
""", CHECK),
    md("## Error map (cf. the paper's Figure 16)\nTrue positive, false extraction (false positive) and missed "
       "extraction (false negative) over the test area."),
    code("if maps:\n    plot_error_map(paths.experiment(exp.name) / 'error_map.tif', title=f'Experiment {exp.name}', "
         "save=paths.figures / f'error_map_{exp.name}.png')"),
    md("## Sample test tiles (cf. the paper's Figure 18)"),
    code("if maps:\n    plot_sample_tiles(prof, exp, n=5, save=paths.figures / f'samples_{exp.name}.png')"),
]

NOTEBOOKS["05_compare_models.ipynb"] = [
    md("""
# 05 · Comparison with the paper

The measured metrics of Experiments I–VIII beside the published Tables 6 (Mask R-CNN) and 7 (U-Net, PSPNet) of
Yang et al. (2022) ("the paper", sec. 4.3), the relative improvements as the paper states them (sec. 4.3 and 5),
the error maps of I–IV (cf. Figure 16), and a verdict on each of the paper's qualitative claims. Published
numbers: `params/reference/yang2022.yaml`. All values in percent. How the improvements and claims are computed:
`docs/methods.md`, section "Experiments I–VIII".

**What to look at**

- The first lines: the experiments without metrics. The lab profile runs only IV, V and VI, so the other rows
  have no measured values and the claims that need them are `not testable`.
- *Table 6* and *Table 7*: per experiment the measured value, the paper's and their difference for precision,
  recall, F1 and mIoU; the bar charts show measured (solid) beside published (hatched). The synthetic area, the
  small models and the short training differ from the paper's, so compare the order of the experiments rather
  than the values.
- *Relative improvements*: (new − old) / old in percent, measured beside the paper's (e.g. F1 of IV against I:
  +22.38 % in the paper).
- *Error maps of Experiments I–IV* (cf. Figure 16): false extractions red, missed extractions blue. In the paper
  the factors (II) and background enhancement (III, IV) reduced the false extractions along the river valley.
- *Do the paper's claims hold on this run?*: each claim with `holds`, `does not hold` or `not testable` and the
  numbers behind it. One run per experiment, so a verdict can change with the seed; notebook 07 judges the same
  claims over seeds.
- *Generalisation*: only when the profile names `evaluation.extra_tests`.

**Try this**: copy the lab profile, `cp params/profiles/lab.yaml params/profiles/my_lab.yaml`, and set
`name: my_lab` in the copy (its results then go to `reports/my_lab/`). Change one key below, then run all steps:
`python -m landslide_utils run --profile params/profiles/my_lab.yaml`.

- `experiments: [I, II, III, IV, V, VI]` (lab: [V, VI, IV]): Table 6 gets all four Mask R-CNN rows and the
  claims on I–IV become testable; each added run takes about as long as IV. Give I, II and III the same
  `experiment_overrides` entry as IV (as `params/profiles/quick.yaml` does), so that all four Mask R-CNN runs
  train alike.
- `seed: 1` (lab: 0): the same area with other initial weights, batch order and validation tiles. Compare the
  verdicts with those of seed 0: which ones change?
"""),
    params(PROFILE_PARAM),
    code(SETUP + """
from landslide_utils.evaluation.published import TABLE6, TABLE7, run_comparison
from landslide_utils.config.load import load_profile
from landslide_utils.evaluation.cross_region import generalisation_table
from landslide_utils.files.atomic import write_csv
from landslide_utils.paths import StudyPaths
from landslide_utils.plots.compare import plot_error_maps_side_by_side, plot_metric_bars

prof = load_profile(profile)
paths = StudyPaths.of(prof)
comp = run_comparison(metrics_dir=paths.metrics, tables_dir=paths.tables)
print("source of the published numbers:", comp.reference.source)
print("experiments without metrics:", ", ".join(comp.missing) or "none")
"""),
    md("## Table 6: Mask R-CNN (I–IV)"),
    code("comp.table6.round(2)", CHECK),
    code("plot_metric_bars(comp.table6, title='Table 6: Mask R-CNN, this run vs paper', "
         "save=paths.figures / 'table6_bars.png');"),
    md("## Table 7: U-Net (V, VI) and PSPNet (VII, VIII)"),
    code("comp.table7.round(2)", CHECK),
    code("plot_metric_bars(comp.table7, title='Table 7: U-Net and PSPNet, this run vs paper', "
         "save=paths.figures / 'table7_bars.png');"),
    md("## Relative improvements over the baseline, as the paper states them"),
    code("comp.improvements.round(2)", CHECK),
    md("## Error maps of Experiments I–IV (cf. the paper's Figure 16)"),
    code("plot_error_maps_side_by_side({e: paths.experiment(e) / 'error_map.tif' for e in TABLE6}, "
         "save=paths.figures / 'error_maps_I-IV.png');"),
    md("## Do the paper's claims hold on this run?"),
    code("import pandas as pd\n\nwith pd.option_context('display.max_colwidth', None):\n    display(comp.claims)", CHECK),
    md("## Generalisation: trained here, tested there\nEvery experiment on this study's test and on each extra "
       "test set (`evaluation.extra_tests`), in percent; `f1_change` is the F1 there minus the F1 here, in points. "
       "One run per experiment: a sweep over seeds gives the intervals."),
    code("""
general = generalisation_table(paths.metrics, tests=[t.name for t in prof.evaluation.extra_tests])
write_csv(paths.tables / "generalisation.csv", general)
general.round(2) if len(general) else print("no extra test sets (evaluation.extra_tests)")
""", CHECK),
]

NOTEBOOKS["06_test_multitemporal.ipynb"] = [
    md("""
# 06 · Multi-temporal test

Yang et al. (2022) ("the paper"), sec. 4.2–4.3, Table 5 and Figure 19: the model of Experiment IV applied to a
second-date image of the test area (in the paper a Pléiades image of 5 May 2015, about nine months after the
event). The paper had no reliable ground truth there and shows four sample tiles without metrics; the synthetic
area keeps its inventory (the scars are partly re-vegetated), so metrics are reported too. The paper names
fine-tuning as a possible remedy (sec. 4.3 and 5); here the model is fine-tuned on a few second-date tiles of the
*train* areas and evaluated before/after. A study without a second-date image (`data.files.image_t2` not set)
skips this step. Details: `docs/methods.md`, section "Multi-temporal test".

**What to look at**

- *Metrics on the test area*: one row for the first date (step 04's metrics), one for the second date, and one
  after fine-tuning on `multitemporal.finetune_tiles` second-date tiles. Notice how recall changes from the first
  to the second date (re-vegetated scars, and the seasonal colour shift of the whole scene), and how much of the
  loss fine-tuning recovers.
- *Panels* (cf. Figure 19): the first-date image, the second-date image, the second-date extraction before and
  after fine-tuning, with the extracted landslides outlined in red and the inventory in yellow. The panels cover
  the whole test area, not four tiles as in the paper. Look for scars missed under new vegetation, and for false
  extractions on buildings (the paper shows one in Figure 19h).

**Try this**: copy the lab profile, `cp params/profiles/lab.yaml params/profiles/my_lab.yaml`, and set
`name: my_lab` in the copy (its results then go to `reports/my_lab/`). Change one key below, then run
`python -m landslide_utils run --profile params/profiles/my_lab.yaml --steps 01,03,04,06 --experiments IV`.

- `data.synthetic.revegetated_share: 0.8` (default 0.4): twice as many scars partly covered by vegetation at the
  second date; the second-date recall should fall further below the first date's.
- `multitemporal.finetune_tiles: 2` (lab: 6): fewer second-date tiles to fine-tune on; the fine-tuned row
  usually recovers less.
- `multitemporal.finetune_steps: 0` (lab: 30): no fine-tuning; the table loses its last row and the figure its
  last panel.
"""),
    params(PROFILE_PARAM + """
# experiment_name: the experiment whose trained model (step 04's checkpoint) is applied to the second date.
#   Allowed: the name of any experiment step 04 has trained for this profile (I ... VIII, or another).
#   Default: "IV", the model of the paper's Figure 19; the runner always uses the default.
experiment_name = "IV"
"""),
    code(SETUP + """
from landslide_utils.config.load import load_profile
from landslide_utils.files.atomic import write_csv
from landslide_utils.inputs.aligned import AlignedLayers
from landslide_utils.config.study_inputs import has_second_date
from landslide_utils.evaluation.multitemporal import run_multitemporal
from landslide_utils.paths import StudyPaths
from landslide_utils.plots.multitemporal import plot_multitemporal_panels

prof = load_profile(profile)
paths = StudyPaths.of(prof)
result = run_multitemporal(prof, experiment=experiment_name) if has_second_date(prof) else None
"""),
    md("## Metrics on the test area"),
    code("""
if result is None:
    print("this study has no second-date image (data.files.image_t2): nothing to test")
else:
    write_csv(paths.tables / "multitemporal.csv", result.table)
    display(result.table.round(3))
""", CHECK),
    md("## Panels (cf. the paper's Figure 19)"),
    code("""
if result is not None:
    aligned = AlignedLayers.load(paths.aligned)
    plot_multitemporal_panels(
        image_t1=aligned.image, image_t2=aligned.image_t2,
        before=result.out_dir / "before" / "prediction.tif", after=result.out_dir / "after" / "prediction.tif",
        truth=result.out_dir / "before" / "ground_truth.tif", save=paths.figures / "multitemporal.png",
    );
"""),
]

NOTEBOOKS["07_analyse_sweep.ipynb"] = [
    md("""
# 07 · What the sweep says, with intervals

One run is an anecdote. The sweep runner (`python -m landslide_utils sweep --sweep params/sweeps/NAME.yaml`)
trained every experiment at every point of a grid (seeds, background-enhancement draws, budgets) and wrote one
row per point × experiment to `results.csv`. This notebook, executed by the runner after the sweep, reports the
mean of each metric over seeds with its 95 % Student t-interval (the percentile bootstrap beside it), the tile
bootstrap of one run's test area, and for each of the claims of Yang et al. (2022) ("the paper") the **paired**
difference (same seed, same BE draw) with its paired t-interval and the AP difference of the same pairs beside it.
The verdict comes from the paired t-test with Holm-adjusted p-values over the sweep's claims: `holds` (adjusted
p < 0.05, on the claimed side), `contradicted` (on the other side), `inconclusive`, `too few seeds` (under five
pairs) or `not testable` (the sweep did not train both experiments). When the sweep varies a setting besides seeds
and budgets (e.g. the loss), every level is compared with the first one listed, paired by seed, judged the same
way. Details: `docs/methods.md`, section "Statistics and sweeps".

The paper reports one run per experiment (Tables 6 and 7) and states its claims from those numbers (sec. 4.3);
this notebook asks whether the claims survive repeated runs, which the paper does not test.

**What to look at**

- The first line: points × experiments, the number of runs, the profile and the settings compared.
- *Every metric over seeds* and the seed-spread plot of F1: one dot per seed, the mean as a bar, its t-interval as
  a line. Notice how far apart the seeds of one experiment lie compared with the gaps between experiments.
- *The swept settings*: only when the grid varies a setting, e.g. `training.loss`; each level against the first,
  with forest plots for `f1` and `f1_val_threshold`.
- *The paper's claims* and the forest plot: per claim the mean paired difference (dot) and its interval (bar).
  A bar that crosses 0 cannot give `holds`. On the smoke sweep, which trains only V and VII, every claim is
  `not testable`.
- *One run's sampling uncertainty*: the interval one run gets from its test tiles alone, beside the spread over
  seeds.
- *Learning curves* (only with `training.steps` in the grid), *Validation learning curves* (only for runs trained
  with `training.eval_every`) and the training loss of the first point: has the loss flattened?

**Try this**: copy the smoke sweep, `cp params/sweeps/smoke.yaml params/sweeps/my_sweep.yaml` (keep it in
`params/sweeps/`: its `profile` path is relative to the file), set `name: my_sweep`, change it as below, and run
`python -m landslide_utils sweep --sweep params/sweeps/my_sweep.yaml`. The runner then executes this notebook into
`reports/smoke/sweeps/my_sweep/07_analyse_sweep.ipynb`.

- `experiments: [V, VI, VII, VIII]` (smoke: [V, VII]): the claims that factors + background enhancement help
  U-Net (VI vs V) and PSPNet (VIII vs VII) get estimates; with two seeds their verdict is `too few seeds`.
- `seed: [0, 1, 2, 3, 4]` in `grid`, and the same list for `seed` and `enhance.seed` in `zip`: five pairs per
  claim, so the verdicts become `holds`, `contradicted` or `inconclusive`, and the intervals narrow (the t-quantile
  falls from 12.7 at two seeds to 2.8 at five).
- `training.loss: [bce, bce_dice]` added to `grid`: *The swept settings* compares `bce_dice` with `bce` for each
  experiment, paired by seed.
"""),
    params("""
# sweep: the sweep file whose results this notebook analyses, relative to the project root. Allowed: a file of
#   params/sweeps/ (e.g. smoke.yaml, claims.yaml, convergence.yaml) whose sweep has run. Default:
#   "params/sweeps/smoke.yaml". `python -m landslide_utils sweep --sweep FILE` sets it and runs this notebook after
#   the sweep (again alone with --analyse-only).
sweep = "params/sweeps/smoke.yaml"
"""),
    code(SETUP + """
import pandas as pd

from landslide_utils.plots.results import plot_training_curve
from landslide_utils.plots.sweep import (plot_claims_forest, plot_factor_effects, plot_learning_curves,
                                         plot_seed_spread)
from landslide_utils.sweeps.spec import load_sweep
from landslide_utils.sweeps.analysis import analyse_results, group_labels
from landslide_utils.sweeps.convergence import convergence_report
from landslide_utils.plots.convergence import plot_validation_curves

sw = load_sweep(sweep, root=root)  # the runner executes this notebook in the project root (--root)
figures = sw.reports_dir / "figures"
res = analyse_results(sw.reports_dir / "results.csv", tables_dir=sw.reports_dir / "tables", keys=sw.keys)
print(f"sweep {sw.name}: {len(sw.points)} points x {len(sw.spec.experiments)} experiments, "
      f"{len(res.results)} runs; profile {sw.profile.name}; settings compared: {', '.join(res.factors) or 'none'}")
"""),
    md("## Every metric over seeds: mean [95 % t-interval], percent"),
    code("res.summary_table", CHECK),
    code("plot_seed_spread(group_labels(res.results, res.factors), metric='f1', save=figures / 'seed_spread_f1.png');"),
    md("## The swept settings, paired by seed\nEach level against the first level listed (the baseline), same "
       "experiment, same seed: *level − baseline* in percentage points with its paired t-interval; `better` / "
       "`worse` when the Holm-adjusted p (over this table) is below 0.05, else `inconclusive` (`too few seeds` under "
       "five pairs)."),
    code("""
if res.factors:
    effects = res.effects.copy()
    effects[["estimate", "ci_low", "ci_high"]] = (100 * effects[["estimate", "ci_low", "ci_high"]]).round(1)
    effects["p_holm"] = effects["p_holm"].round(3)
    display(effects.drop(columns=["p", "boot_low", "boot_high"]))
    for metric in ("f1", "f1_val_threshold"):
        plot_factor_effects(res.effects, metric=metric, save=figures / f"effects_{metric}.png")
else:
    print("the sweep varies no setting besides seeds and budgets")
""", CHECK),
    md("## The paper's claims, paired by seed\\nThe difference is *better − worse* in the claim's metric "
       "(percentage points), averaged over the points where both experiments ran, with its paired t-interval; "
       "`p_holm` is the paired t-test's p-value adjusted over the sweep's claims (Holm), `ap` the AP difference of "
       "the same pairs and its t-interval."),
    code("""
cols = [*res.factors, "claim", "metric", "n", "estimate", "ci_low", "ci_high", "p_holm", "ap_estimate", "ap_low",
        "ap_high", "verdict"]
table = res.claims[cols].copy()
pp = ["estimate", "ci_low", "ci_high", "ap_estimate", "ap_low", "ap_high"]
table[pp] = (100 * table[pp]).round(1)
table["p_holm"] = table["p_holm"].round(3)
table
""", CHECK),
    code("plot_claims_forest(res.claims, save=figures / 'claims_forest.png');"),
    md("## One run's sampling uncertainty\\nF1 of one run per experiment with the 95 % interval of a bootstrap "
       "over the test area's tiles, beside the width of the interval over seeds."),
    code("res.tiles.round(3)", CHECK),
    md("## Learning curves\\nTest F1 against the training budget (mean over seeds, 95 % band); dashed lines "
       "train with background enhancement."),
    code("""
if res.final_steps is not None:
    plot_learning_curves(res.results, metric="f1", save=figures / "learning_curves_f1.png")
else:
    print("the sweep has one training budget; add training.steps to its grid for learning curves")
"""),
    md("## Validation learning curves\\nRuns trained with `training.eval_every` measured their validation tiles "
       "(never test tiles) as they trained: validation AP against steps and training seconds, mean over seeds "
       "(thick), every seed (thin) and the band between the lowest and highest seed. The rule of `docs/methods.md` "
       "(\"Choosing the training defaults\", written before the convergence sweep ran) reads these curves only."),
    code("""
curves, choice = convergence_report(res.results, root=root, factors=res.factors, tables_dir=sw.reports_dir / "tables")
if curves.empty:
    print("the runs were trained without training.eval_every: no validation curves")
else:
    for x in ("step", "seconds"):
        plot_validation_curves(curves, x=x, save=figures / f"validation_ap_{x}.png")
    display(choice.round(3))
""", CHECK),
    md("## Training loss of the first point\\nWhether the budget is long enough: the loss should have flattened."),
    code("""
first = sw.points[0].name
for exp in sw.spec.experiments:
    loss_csv = sw.data_dir / first / "experiments" / exp / "loss.csv"
    if loss_csv.is_file():
        plot_training_curve(loss_csv, title=f"{exp} at {first}", save=figures / f"loss_{exp}.png")
"""),
]

NOTEBOOKS["08_related_systems.ipynb"] = [
    md("""
# 08 · Related systems beside the study

Four related papers' methods, run **on this study area with the same metrics** as the Experiments I–VIII of
Yang et al. (2022) ("the paper"); each of the four evaluated its method on its own data only:

* the improved Mask R-CNN of Liu et al. (2021): ResNeXt-50 backbone, a bottom-up path after the FPN, a Sobel edge
  loss on the masks (their sec. 2.2–2.3; their Table 4 rows, sec. 3.4);
* the FCN with focal loss of Chen et al. (2022), trained on landslide-augmented tiles, and its k-fold
  cross-validated version FCN-FLK (their sec. 3.3–3.6; their Table 3 rows, sec. 4.2, and the imbalance ratios of
  their Table 2, sec. 4.1);
* the semantic-segmentation zoo of Yang S. et al. (2022, Appl. Sci.): U-Net (VGG16, ResNet-50), DeepLabv3+
  (MobileNetV2, aligned Xception) and PSPNet (MobileNetV2, ResNet-50) with a class-weighted focal + Dice loss and
  two-phase training (encoder frozen, then all layers; their sec. 3.2–3.4 and 4.2) — their Table 5 rows, sec. 4.3;
* FC-DenseNet of Gao et al. (2021) against FCN-8s, SegNet, U-Net and ResU-Net, each on the image alone and on the
  image with the nine influencing factors (elevation, slope, aspect, curvature, NDVI, MNDWI, distance to river,
  distance to fault, lithology) — their Tables VII (sec. IV-C) and IX (sec. V-A), and their factor analyses
  (sec. V-B, Figs. 9 and 10).

The experiments are `params/experiments/liu2021/`, `chen2022/`, `yang2022b/` and `gao2021/`, run by step 04 like
I–VIII; the published tables are `params/reference/<paper>.yaml`. A profile may give them a smaller budget
(`experiment_overrides`): the `steps` column says what each row trained. One run per experiment here; the sweeps
`params/sweeps/related*.yaml` give intervals over seeds. Details: `docs/methods.md`, sections "Related systems"
and "The semantic zoo and FC-DenseNet".

**What to look at**

- The first line: the related-system experiments this profile did not run.
- *Left to a GPU*: the rows the profile skips on a CPU, each with its reason.
- *Every experiment on this study area*: all rows in one table, with the paper's I–VIII where the profile that
  prepared the data has run them. Read the `steps` column before comparing rows: the budgets differ.
- *Published beside this run* (Liu et al. Table 4, Chen et al. Table 3, Yang S. et al. Table 5, Gao et al.
  Table VII): each paper's numbers come from its own data and budgets, so compare the order of the rows, not the
  values; each section's note says how the metrics were matched.
- *Gao et al. (2021), Table IX*: parameters, memory and prediction seconds of each model, measured here.
- *Which factors matter*: the random-forest importance of the factors (bars, and the table) and the frequency ratio
  per class (a ratio above 1 marks more landslides than on average). The synthetic generator places landslides by
  slope, elevation and distance to river: notice whether those rank above the others.
- *The ablation effects each paper claims*: better − base for each claim, one run each.
- *FCN-FLK: every fold* (only when `chen2022_fcn_flk` ran) and *Imbalance ratio* beside Chen et al.'s Bijie
  numbers (their IR 8 before and 3.1 after augmentation).
- *Did each row learn?*: one loss curve per row, with its validation AP where it was measured; a row whose
  validation AP is best at its last evaluation, or whose running mean still falls steeply, was stopped early.
  Then the error maps of each paper's best row by F1.
- *With intervals over seeds*: the verdicts of the related sweeps, when one has run for this profile.

**Try this**: the `smoke_related` profile runs notebook 08 in a few minutes on the smoke area. Prepare that area
once, `python -m landslide_utils run --profile params/profiles/smoke.yaml --steps 01,02,03`, then copy the profile,
`cp params/profiles/smoke_related.yaml params/profiles/my_related.yaml` (keep it in `params/profiles/`: its
`prepared_by: smoke.yaml` is relative to the file), set `name: my_related`, change it as below, and run
`python -m landslide_utils run --profile params/profiles/my_related.yaml`.

- Add `chen2022_fcn_fl` to `experiments`: Chen et al.'s claim that focal loss with full skips (FCN-FL) raises F1
  over FCN gets a measured difference, and their Table 3 a second measured row.
- Add `chen2022_fcn_flk` to `experiments`: five fold models are trained (`evaluation: {cv_folds: 5}` in its
  experiment file), and the *FCN-FLK: every fold* table appears.
- Delete the `gpu_only` section: `liu2021_resnext50` then trains on the CPU too (slowly: a ResNeXt-50 Mask R-CNN),
  *Left to a GPU* lists no row, and Liu et al.'s Table 4 gets a measured row.
"""),
    params("# Notebook 08 shows related-system rows only for a profile that runs them: smoke_related.yaml (a few\n"
           "# minutes on the smoke area) or related.yaml (the full set on the quick area). With another profile it\n"
           "# lists those rows as not run.\n" + PROFILE_PARAM),
    code(SETUP + """
import pandas as pd

from landslide_utils.config.load import load_experiment, load_profile
from landslide_utils.analysis.importance import write_factor_analysis
from landslide_utils.training.imbalance import imbalance_table
from landslide_utils.files.atomic import write_csv
from landslide_utils.paths import StudyPaths
from landslide_utils.plots.compare import plot_error_maps_side_by_side
from landslide_utils.plots.results import plot_training_curves
from landslide_utils.steps.related_systems import (PAPER_LABELS, RELATED_PAPERS, best_of, cv_table, experiment_folder,
                                     gpu_only_table, load_related, measured_efficiency_table, side_by_side,
                                     single_run_claims, study_folders, sweep_verdicts, write_published_table)
from landslide_utils.sweeps.convergence import budget_check
from landslide_utils.training.experiment import training_tiles

prof = load_profile(profile)
paths = StudyPaths.of(prof)
folders = study_folders(prof)  # this profile's, then the one that prepared its data (its Experiments I-VIII)
refs = {p: load_related(p) for p in RELATED_PAPERS}
table = side_by_side([f.metrics for f in folders])
missing = [e for r in refs.values() for e in r.table.index if e not in table.index]
print("related-system experiments not run on this profile:", ", ".join(missing) or "none")
"""),
    md("## Left to a GPU\nRows that do not learn within this profile's CPU budget are not run at a budget that "
       "cannot answer: the profile lists them under `gpu_only` with the reason, step 04 skips them on a CPU, and "
       "`make paper` trains them on a GPU."),
    code("""
gpu_only = gpu_only_table(prof)
write_csv(paths.tables / "gpu_only.csv", gpu_only)
with pd.option_context("display.max_colwidth", None):
    display(gpu_only if len(gpu_only) else "none: every related-system row of this profile runs on a CPU")
""", CHECK),
    md("## Every experiment on this study area (percent)\nP, R, F1, mIoU (two-class mean), landslide IoU, "
       "kappa and average precision (AP, threshold-free) on the stitched test area; parameters of one model (FCN-FLK averages five of them); training steps "
       "and seconds (FCN-FLK: the sum over its folds)."),
    code("""
write_csv(paths.tables / "related_side_by_side.csv", table)
table.round(2)
""", CHECK),
    md("## Liu et al. (2021), Table 4: published beside this run\nTheir mIoU is their eq. 9, the landslide IoU; "
       "their ResNeXt50 row's F1 and mIoU do not follow from its P and R (kept as printed)."),
    code("""
write_published_table(refs["liu2021"], paths.metrics, paths.tables)
""", CHECK),
    md("## Chen et al. (2022), Table 3: published beside this run\nTheir accuracy is the overall accuracy (OA); "
       "their mIoU formula counts three classes of a two-class task, so it is compared with the two-class mean."),
    code("""
write_published_table(refs["chen2022"], paths.metrics, paths.tables)
""", CHECK),
    md("## Yang S. et al. (2022, Appl. Sci.), Table 5: published beside this run\nTheir precision and recall are "
       "means over the two classes (landslide and background), so they are compared with this run's class means "
       "(`precision_mean`, `recall_mean`); mIoU is the two-class mean. Trained from scratch here (no pretrained "
       "encoder is downloaded), so the frozen first phase holds a random encoder fixed: see `docs/methods.md`."),
    code("""
write_published_table(refs["yang2022b"], paths.metrics, paths.tables)
""", CHECK),
    md("## Gao et al. (2021), Table VII: published beside this run\nSite 1 (Zigui) rows; the paper ran only "
       "FC-DenseNet with the factors, this study runs every model with and without them (`+ factors`: the twelve "
       "channels of `rgb+factors9`)."),
    code("""
write_published_table(refs["gao2021"], paths.metrics, paths.tables)
""", CHECK),
    md("## Gao et al. (2021), Table IX: what each model costs, measured here\nParameters and weights (float32); "
       "the memory of predicting one tile, measured in a fresh process (`landslide_utils.prediction.memory`: the model "
       "loaded, the forward pass's peak over it, the process's peak resident memory); the seconds of step 04's "
       "full test-area prediction (tiles, stitching, metrics). The paper's figures come from a GPU and its own "
       "test area: compare the ranking, not the values."),
    code("""
eff = measured_efficiency_table(refs["gao2021"], metrics_dir=paths.metrics, experiments_dir=paths.data / "experiments",
                                tile_size=prof.tiling.tile_size)
write_csv(paths.tables / "gao2021_table9.csv", eff)
eff
""", CHECK),
    md("## Gao et al. (2021): which factors matter, and where landslides are frequent\nThe random-forest (Gini) "
       "importance of the influencing factors step 01 wrote, telling landslide from background pixels over the "
       "whole study area (a balanced pixel sample, `factors.importance_samples`); and the frequency ratio of "
       "landslides per class — natural-breaks classes (`factors.natural_breaks`, by `mapclassify`) for the "
       "continuous factors, the nine aspect classes and the lithology units as they are. A ratio above 1 marks a "
       "class where landslides are more frequent than over the whole area."),
    code("""
importance = write_factor_analysis(paths.aligned, tables_dir=paths.tables, figures_dir=paths.figures,
                                   k=prof.factors.natural_breaks, n_samples=prof.factors.importance_samples,
                                   seed=prof.seed)
if importance is None:
    print("no aligned study area (a chip dataset): the factor analyses need one")
else:
    display(importance.round(3))
""", CHECK),
    md("## The ablation effects each paper claims, on this run\nDifferences in percentage points, *better − "
       "base*, in the claim's metric and in average precision (threshold-free: it still compares two models whose "
       "maps are empty at the threshold, where the claim is not testable); one run each, so a verdict here is an "
       "anecdote: the sweep's intervals below decide."),
    code("""
claims = pd.concat([single_run_claims(r, paths.metrics).assign(paper=PAPER_LABELS[p]) for p, r in refs.items()],
                   ignore_index=True)
write_csv(paths.tables / "related_claims.csv", claims, index=False)
with pd.option_context("display.max_colwidth", None):
    display(claims.round(2))
""", CHECK),
    md("## FCN-FLK: every fold\nEach fold model on its validation fold and on the test area (percent), the mean "
       "and standard deviation over folds, and the model that averages the folds' probabilities (the row "
       "reported for FCN-FLK above)."),
    code("""
folds = cv_table(paths.metrics, "chen2022_fcn_flk")
if folds is None:
    print("chen2022_fcn_flk did not run on this profile")
else:
    write_csv(paths.tables / "chen2022_folds.csv", folds)
    display(folds.round(2))
""", CHECK),
    md("## Imbalance ratio of the training set (cf. Chen et al. 2022, Table 2)\nIR = non-landslide / landslide "
       "pixels of the original training tiles, before and after adding three augmented copies of every landslide "
       "tile (flip + mean filter, flip + gamma, flip + noise), beside the paper's Bijie numbers."),
    code("""
originals, _ = training_tiles(prof, load_experiment("params/experiments/chen2022/chen2022_fcn.yaml"))
ir = imbalance_table(originals)
write_csv(paths.tables / "imbalance_ratio.csv", ir)
display(ir.round(2))
display(refs["chen2022"].imbalance.rename(columns=lambda c: f"paper {c}"))
""", CHECK),
    md("## What the related systems cost on this machine"),
    code("""
related = table[table["paper"] != PAPER_LABELS["yang2022"]]
seconds = related["train_seconds"].sum()
print(f"{len(related)} related-system experiments trained in {seconds:.0f} s ({seconds / 60:.1f} min)")
"""),
    md("## Did each row learn? Training loss and validation AP against steps\nThe loss per step (thin) and its "
       "running mean (thick) of every related-system row that ran, and its validation AP (green, right axis) where "
       "the profile measures it (`training.eval_every`); each title gives the best validation AP and its step, the "
       "weights evaluated with `training.keep: best`. A budget is enough when the AP has levelled off; a row whose "
       "AP is best at its last evaluation was still improving when it stopped (its map above says what it found)."),
    code("""
plot_training_curves({name: experiment_folder(folders, name) / "loss.csv" for name in related.index},
                     save=paths.figures / "loss_related.png");
"""),
    md("The same curves read by the budget rule of the convergence sweeps (docs/methods.md, \"Choosing the training "
       "defaults\"), one seed each: `step_90` is the first evaluation at 90 % of the row's best validation AP, "
       "`rule_budget` the first at 95 % (the budget the rule would give), `still_rising` marks a row whose best AP "
       "came at its last evaluation. Rows trained without `training.eval_every` are not listed."),
    code("""
budgets = budget_check({name: experiment_folder(folders, name) / "validation.csv" for name in related.index})
write_csv(paths.tables / "related_budgets.csv", budgets, index=False)
display(budgets.round(3) if len(budgets) else "no row of this profile measured its validation tiles (training.eval_every)")
"""),
    md("## Error maps of the best model of each paper\nTrue positive, false extraction and missed extraction over "
       "the test area; the best of each paper by F1 on this run."),
    code("""
best = {name: experiment_folder(folders, name) / "error_map.tif"
        for name in (best_of(table, label) for label in PAPER_LABELS.values()) if name is not None}
plot_error_maps_side_by_side(best, save=paths.figures / "error_maps_related.png");
"""),
    md("## With intervals over seeds\nThe sweeps `params/sweeps/related.yaml` (Liu et al.'s and Chen et al.'s six "
       "experiments, five seeds), `related_fcn.yaml` (Chen et al.'s three, five seeds) and `related_ii.yaml` (the "
       "zoo and Gao et al.'s models, three seeds) judge each claim on the paired "
       "differences (`holds` / `contradicted` / `inconclusive` when the 95 % interval spans zero), as notebook 07 "
       "does for Yang et al.'s claims; every sweep named `related*` that has run for this profile (or for the "
       "profile that prepared its data, when this one has not run it) is shown, with its `n` seeds."),
    code("""
judged = sweep_verdicts([f.reports / "sweeps" for f in folders], refs)
if judged is not None:
    with pd.option_context("display.max_colwidth", None):
        display(judged)
else:
    print("no related-systems sweep has run for this profile: python -m landslide_utils sweep --sweep "
          "params/sweeps/related.yaml")
""", CHECK),
]


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="write the study's notebooks from the cell texts of this file")
    ap.add_argument("--out", type=Path, default=NB_DIR, help="output folder (default: notebooks/)")
    out = ap.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        write(name, cells, out)
        print("wrote", out / name)
