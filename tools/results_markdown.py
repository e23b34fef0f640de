"""Print the measured Tables 6 and 7 beside the paper's, the improvements, the claim verdicts and the
multi-temporal table of a profile as Markdown, from the files the study wrote (for README.md).

    .venv/bin/python tools/results_markdown.py quick
    .venv/bin/python tools/results_markdown.py quick --sweep claims   # a sweep's verdicts with intervals
    .venv/bin/python tools/results_markdown.py --losses quick:losses sparse:losses_sparse   # the loss comparison
    .venv/bin/python tools/results_markdown.py --measured bijie_sample   # every experiment's metrics, one table
    .venv/bin/python tools/results_markdown.py --generalisation quick     # trained here, tested there
    .venv/bin/python tools/results_markdown.py --related related          # notebook 08's rows, GPU-only rows
    .venv/bin/python tools/results_markdown.py --convergence quick:convergence   # the convergence rule's choice
    .venv/bin/python tools/results_markdown.py --curve quick:convergence_maskrcnn_long   # seed-mean validation curve
    .venv/bin/python tools/results_markdown.py --budgets bijie_sample:bijie_be:bijie_be_480   # two budgets, paired by seed
    .venv/bin/python tools/results_markdown.py --spread quick:claims     # each experiment's spread over seeds
    .venv/bin/python tools/results_markdown.py --memory                  # make bench's peak-memory runs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from landslide_utils.evaluation.bootstrap import SUMMARY_METRICS
from landslide_utils.evaluation.intervals import MIN_PAIRS, t_interval
from landslide_utils.sweeps.convergence import curve_summary, learning_curves

ROOT = Path(__file__).resolve().parents[1]


def table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(str(v) for v in row.tolist()) + " |")
    return "\n".join(lines)


def comparison(path: Path) -> str:
    df = pd.read_csv(path)
    rows = []
    for _, r in df.iterrows():
        row = {"exp.": r["experiment"], "model": r["model"], "channels": r["channels"], "training data": r["training_data"]}
        for m, name in (("precision", "P"), ("recall", "R"), ("f1", "F1"), ("miou", "mIoU")):
            row[name] = f"{r[m]:.2f} ({r[m + '_paper']:.2f})"
        rows.append(row)
    return table(pd.DataFrame(rows))


def main(profile: str) -> None:
    rep = ROOT / "reports" / profile
    print("Measured on this run, the paper's value in brackets (percent):\n")
    print("**Table 6 (Mask R-CNN)**\n")
    print(comparison(rep / "tables/table6_comparison.csv"))
    print("\n**Table 7 (U-Net, PSPNet)**\n")
    print(comparison(rep / "tables/table7_comparison.csv"))
    extra = []
    for p in sorted(rep.glob("metrics/*.json")):
        m = json.loads(p.read_text())
        if "train_seconds" in m and not p.stem.startswith("multitemporal"):
            extra.append({"exp.": m["experiment"], "OA": f"{m['oa']:.3f}", "kappa": f"{m['kappa']:.3f}",
                          "landslide IoU": f"{m['iou_landslide']:.3f}",
                          "object recall": f"{m['object_recall_by_size'][-1]['recall']:.3f}",
                          "train s": f"{m['train_seconds']:.0f}", "steps": m["steps"]})
    order = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]
    extra.sort(key=lambda r: order.index(r["exp."]) if r["exp."] in order else 99)
    print("\n**Beyond the paper** (overall accuracy, Cohen's kappa, object-level recall, CPU training time)\n")
    print(table(pd.DataFrame(extra)))
    imp = pd.read_csv(rep / "tables/improvements.csv")
    imp["measured %"] = imp["measured_pct"].map(lambda v: f"{v:+.1f}")
    imp["paper %"] = imp["paper_pct"].map(lambda v: f"{v:+.2f}")
    print("\n**Relative improvements, as the paper states them**\n")
    print(table(imp[["comparison", "metric", "measured %", "paper %"]]))
    claims = pd.read_csv(rep / "tables/claims.csv")
    print("\n**The paper's claims on this run**\n")
    print(table(claims))
    mt = rep / "tables/multitemporal.csv"
    if mt.exists():
        df = pd.read_csv(mt)
        for c in df.columns[1:]:
            df[c] = df[c].map(lambda v: f"{v:.3f}")
        print("\n**Multi-temporal test (test area)**\n")
        print(table(df))


def sweep(profile: str, name: str) -> None:
    """The claims of a sweep with their intervals, and the per-experiment means over seeds (percent)."""
    tables = ROOT / "reports" / profile / "sweeps" / name / "tables"
    claims = pd.read_csv(tables / "claims.csv")
    rows = []
    for _, r in claims.iterrows():
        row = {"claim": r["claim"], "n": int(r["n"]), "difference (pp)": _interval(r, "estimate", "ci_low", "ci_high")}
        if "p_holm" in claims.columns:  # tables written before the t-interval (issue 32) lack these columns
            row["Holm p"] = ("–" if pd.isna(r["p_holm"]) else "< 0.001" if r["p_holm"] < 0.001
                             else f"{r['p_holm']:.3f}")
            row["AP difference (pp)"] = _interval(r, "ap_estimate", "ap_low", "ap_high")
        row["verdict"] = f"**{r['verdict']}**"
        rows.append(row)
    kind = "95 % paired t-interval, Holm-adjusted p" if "p_holm" in claims.columns else "95 % bootstrap interval"
    print(f"**The paper's claims over seeds (sweep {name}; paired difference, {kind})**\n")
    print(table(pd.DataFrame(rows)))
    summary = pd.read_csv(tables / "seed_summary.csv")
    steps = "training.steps"
    if steps in summary.columns:
        summary = summary[summary[steps] == summary[steps].max()]
    wide = []
    for exp, g in summary.groupby("experiment", sort=False):
        row = {"exp.": exp, "n": int(g["n"].max())}
        for m in SUMMARY_METRICS:
            r = g[g["metric"] == m]
            if len(r):
                r = r.iloc[0]
                row[m] = f"{100 * r['mean']:.1f} [{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}]"
        wide.append(row)
    print("\n**Mean over seeds [95 % t-interval] (percent)**\n")
    print(table(pd.DataFrame(wide)))


def _interval(r: pd.Series, est: str, low: str, high: str) -> str:
    """``+4.2 [+3.2, +5.3]`` in percentage points; the estimate alone without an interval; ``–`` without one."""
    if pd.isna(r[est]):
        return "–"
    if pd.isna(r[low]):
        return f"{100 * r[est]:+.1f}"
    return f"{100 * r[est]:+.1f} [{100 * r[low]:+.1f}, {100 * r[high]:+.1f}]"


def _parts(option: str, where: str, form: str, *, extra: bool = False) -> list[str]:
    """``where`` split at ``:`` into the parts ``form`` names (``PROFILE:SWEEP``...; ``extra``: one optional part
    more), or an exit naming the option and the form expected."""
    parts, wanted = where.split(":"), form.split("[")[0].count(":") + 1
    if not (wanted <= len(parts) <= wanted + extra) or not all(parts):
        sys.exit(f"{option} {where}: expected {form}")
    return parts


def spread(where: str) -> None:
    """Each experiment of a sweep over its seeds: F1 at 0.5 (mean, standard deviation, lowest, highest), the runs
    with F1 = 0 (an empty or entirely wrong map) and AP (mean, standard deviation), in percent."""
    profile, name = _parts("--spread", where, "PROFILE:SWEEP")
    df = pd.read_csv(ROOT / "reports" / profile / "sweeps" / name / "results.csv")
    rows = []
    for exp, g in df.groupby("experiment", sort=False):
        f1, ap = 100 * g["f1"], 100 * g["ap"]
        rows.append({"exp.": exp, "model": MODELS.get(g["model"].iloc[0], g["model"].iloc[0]), "n": len(g),
                     "F1 mean": f"{f1.mean():.1f}", "F1 sd": f"{f1.std(ddof=1):.1f}",
                     "F1 lowest–highest": f"{f1.min():.1f}–{f1.max():.1f}", "runs with F1 = 0": int((g["f1"] == 0).sum()),
                     "AP mean": f"{ap.mean():.1f}", "AP sd": f"{ap.std(ddof=1):.1f}"})
    order = {e: i for i, e in enumerate(_ORDER)}
    rows.sort(key=lambda r: order.get(r["exp."], len(order)))
    print(f"**Spread over seeds (sweep {name}; percent; sd: sample standard deviation over seeds)**\n")
    print(table(pd.DataFrame(rows)))


def memory() -> None:
    """The peak memory of ``make bench``'s scene predictions (benchmarks/results.json, step 4)."""
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text(encoding="utf-8"))
    mem = results["memory"]
    rows = [{"model (share it marks on the smallest scene)": f"{MODELS.get(r['model'], r['model'])}, {r['marks']}",
             "scene": f"{r['size']}²",
             "landslides": f"{r['landslides']:,}", "landslide pixels": f"{100 * r['landslide_share']:.1f} %",
             "seconds": f"{r['seconds']:.0f}", "peak memory": f"{r['peak_mb']:.0f} MB",
             "ratio to the smallest": f"{r['ratio']:.3f} ×", "target ≤ 1.2": "met" if r["met"] else "not met"}
            for r in mem["runs"]]
    machine = results.get("memory_machine", results["machine"])
    print(f"**Peak memory of `predict` (window {mem['runs'][0]['window']}, each scene in a fresh process; "
          f"{machine['threads']} torch threads, torch {machine['torch']})**\n")
    print(table(pd.DataFrame(rows)))


MODELS = {"maskrcnn": "Mask R-CNN", "unet": "U-Net", "pspnet": "PSPNet", "fcn": "FCN", "deeplabv3plus": "DeepLabv3+",
          "fcdensenet": "FC-DenseNet", "segnet": "SegNet", "resunet": "ResU-Net"}
_ORDER = ["I", "II", "III", "IV", "V", "unet_factors", "unet_be", "VI", "VII", "pspnet_factors", "pspnet_be", "VIII"]


def measured(profile: str) -> None:
    """Every experiment of a profile in one table (percent), with the per-chip median F1 of a chip dataset."""
    rep = ROOT / "reports" / profile / "metrics"
    rows = []
    for p in sorted(rep.glob("*.json")):
        m = json.loads(p.read_text())
        if "train_seconds" not in m or "@" in p.stem or p.stem.startswith("multitemporal"):
            continue
        chips = rep / f"{p.stem}_chips.csv"
        row = {"exp.": m["experiment"], "model": {"maskrcnn": "Mask R-CNN", **MODELS}[m["model"]],
               "BE": "yes" if m["training_data"] == "original+be" else "no"}
        for k, name in (("precision", "P"), ("recall", "R"), ("f1", "F1"), ("miou", "mIoU"), ("ap", "AP")):
            row[name] = f"{100 * m[k]:.1f}"
        row["object recall"] = f"{100 * m['object_recall_by_size'][-1]['recall']:.1f}"
        if chips.exists():
            row["median chip F1"] = f"{100 * pd.read_csv(chips)['f1'].median():.1f}"
        row["empty map"] = "yes" if m["tp"] + m["fp"] == 0 else "no"  # on the test chips, at the threshold
        row["train s"] = f"{m['train_seconds']:.0f}"
        rows.append(row)
    rows.sort(key=lambda r: _ORDER.index(r["exp."]) if r["exp."] in _ORDER else 99)
    print(table(pd.DataFrame(rows)))


def generalisation(profile: str) -> None:
    """The generalisation table of notebook 05 (``tables/generalisation.csv``) in Markdown (percent)."""
    df = pd.read_csv(ROOT / "reports" / profile / "tables" / "generalisation.csv")
    rows = []
    for _, r in df.iterrows():
        row = {"exp.": r["experiment"], "tested on": r["test set"]}
        if "skipped" in df.columns and isinstance(r.get("skipped"), str):
            row.update({"P": "–", "R": "–", "F1": "–", "AP": "–", "object recall": "–", "F1 change": "no DEM"})
        else:
            for k, name in (("precision", "P"), ("recall", "R"), ("f1", "F1"), ("ap", "AP"),
                            ("object_recall", "object recall")):
                row[name] = f"{r[k]:.1f}"
            row["F1 change"] = "" if pd.isna(r["f1_change"]) else f"{r['f1_change']:+.1f}"
        rows.append(row)
    print(table(pd.DataFrame(rows)))


def losses(sweeps: list[str]) -> None:
    """The loss comparison: per metric the mean over seeds [95 % interval] of each loss for each model and
    regime (``profile:sweep``), how many runs gave an empty map, and each loss against ``bce`` paired by seed."""
    summaries, effects, results = {}, {}, {}
    for item in sweeps:
        profile, _, name = item.partition(":")
        rep = ROOT / "reports" / profile / "sweeps" / name
        if not name or not (rep / "results.csv").is_file():
            sys.exit(f"--losses {item}: expected PROFILE:SWEEP with a finished sweep in {rep} (results.csv)")
        summaries[profile] = pd.read_csv(rep / "tables/seed_summary.csv")
        effects[profile] = pd.read_csv(rep / "tables/factor_effects.csv")
        results[profile] = pd.read_csv(rep / "results.csv")
    first = next(iter(results.values()))
    exps = list(dict.fromkeys(first["experiment"]))
    model_of = dict(zip(first["experiment"], first["model"]))
    levels = list(dict.fromkeys(first["training.loss"]))

    def col(exp: str, profile: str) -> str:
        return f"{MODELS.get(model_of[exp], model_of[exp])} ({exp}), {profile}"

    def empty_runs(profile: str, exp: str, loss: str) -> tuple[int, int]:
        res = results[profile]
        sel = res[(res["experiment"] == exp) & (res["training.loss"] == loss)]
        return int(((sel["tp"] + sel["fp"]) == 0).sum()), len(sel)

    for metric, words in (("f1", "F1 at the fixed 0.5 threshold"), ("f1_val_threshold",
                          "F1 at the threshold chosen on validation tiles"), ("ap", "average precision")):
        rows = []
        for loss in levels:
            row = {"loss": f"`{loss}`"}
            for exp in exps:
                for profile, s in summaries.items():
                    r = s[(s["experiment"] == exp) & (s["training.loss"] == loss) & (s["metric"] == metric)]
                    cell = "–"
                    if len(r):
                        r = r.iloc[0]
                        cell = f"{100 * r['mean']:.1f} [{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}]"
                    if metric == "f1":
                        empty, n = empty_runs(profile, exp, loss)
                        cell += f" ({empty}/{n} empty)" if empty else ""
                    row[col(exp, profile)] = cell
            rows.append(row)
        seeds = sorted({int(n) for s in summaries.values() for n in s.loc[s["metric"] == metric, "n"]})
        print(f"\n**{words}: mean over {'/'.join(map(str, seeds))} seeds [95 % t-interval] (percent)**\n")
        print(table(pd.DataFrame(rows)))
    # the rule that chose the default (docs/methods.md, "Loss and decision threshold"): rank the losses by mean F1
    # at 0.5 in every model x regime cell; a loss with an empty map in any run is not eligible; best mean rank wins.
    # It read the test area; it is applied again below on the validation tiles alone, to see whether the choice stands.
    def test_f1(profile: str, exp: str, loss: str) -> tuple[float, int]:
        s = summaries[profile]
        f1 = s[(s["experiment"] == exp) & (s["metric"] == "f1") & (s["training.loss"] == loss)]["mean"].iloc[0]
        return float(f1), empty_runs(profile, exp, loss)[0]

    def validation_f1(profile: str, exp: str, loss: str) -> tuple[float, int]:
        res = results[profile]
        sel = res[(res["experiment"] == exp) & (res["training.loss"] == loss)]
        vals = [json.loads((ROOT / p).read_text(encoding="utf-8")).get("validation") or {} for p in sel["metrics_path"]]
        f1 = [v["f1"] for v in vals if "f1" in v]
        return (sum(f1) / len(f1) if f1 else float("nan")), sum(1 for v in vals if v.get("predicted_pixels", 1) == 0)

    choices = {}
    for source, score, words in (
            ("test", test_f1, "by mean F1 at 0.5 on the test area (how the default was chosen)"),
            ("validation", validation_f1, "by mean F1 on the validation tiles at their F1-optimal threshold "
                                          "(validation tiles only; empty: no landslide pixel at 0.5 on them)")):
        rank_rows = {loss: {"loss": f"`{loss}`"} for loss in levels}
        empties = {loss: 0 for loss in levels}
        for exp in exps:
            for profile in summaries:
                scored = {loss: score(profile, exp, loss) for loss in levels}
                ranks = pd.Series({loss: v[0] for loss, v in scored.items()}).rank(ascending=False, method="min")
                for loss in levels:
                    rank_rows[loss][col(exp, profile)] = int(ranks[loss])
                    empties[loss] += scored[loss][1]
        mean_rank = {}
        for loss in levels:
            r = [v for k, v in rank_rows[loss].items() if k != "loss"]
            mean_rank[loss] = sum(r) / len(r)
            rank_rows[loss]["mean rank"] = f"{mean_rank[loss]:.2f}"
            rank_rows[loss]["runs with an empty map"] = empties[loss]
        print(f"\n**Rank of each loss {words}; 1 = best, in every model × regime**\n")
        print(table(pd.DataFrame(list(rank_rows.values()))))
        eligible = [loss for loss in levels if empties[loss] == 0]
        choices[source] = min(eligible, key=lambda loss: mean_rank[loss]) if eligible else None
    best, again = choices["test"], choices["validation"]
    print(f"\nThe rule's choice on the test area: {f'`{best}`' if best else 'none (every loss left an empty map)'}; "
          f"on the validation tiles: {f'`{again}`' if again else 'none'} — the choice "
          f"{'stands' if best == again else 'does not stand'} (best mean rank among the losses without an empty map)")
    for metric, words in (("f1", "F1 at 0.5"), ("f1_val_threshold", "F1 at the validation threshold")):
        rows = []
        for loss in levels[1:]:
            row = {"loss − bce": f"`{loss}`"}
            for exp in exps:
                for profile, e in effects.items():
                    r = e[(e["experiment"] == exp) & (e["level"] == loss) & (e["metric"] == metric)].iloc[0]
                    row[col(exp, profile)] = (f"{100 * r['estimate']:+.1f} [{100 * r['ci_low']:+.1f}, "
                                              f"{100 * r['ci_high']:+.1f}] {r['verdict']}")
            rows.append(row)
        kind = ("95 % paired t-interval; verdict from the paired t-test, Holm-adjusted over the sweep's comparisons"
                if all("p_holm" in e.columns for e in effects.values()) else "95 % interval")
        print(f"\n**{words}: each loss against `bce`, paired by seed (percentage points, {kind})**\n")
        print(table(pd.DataFrame(rows)))


def related(profile: str) -> None:
    """Notebook 08's side-by-side table (percent) with the steps and seconds each row trained and whether its map
    is empty at the threshold, then whether each budget sufficed (``related_budgets.csv``: "levelled off" when the
    rule's 95 % step came before the last evaluation) and the rows the profile leaves to a GPU, with the reason."""
    tables = ROOT / "reports" / profile / "tables"
    df = pd.read_csv(tables / "related_side_by_side.csv")
    rows = []
    for _, r in df.iterrows():
        row = {"experiment": r["experiment"], "paper": r["paper"],
               "model": {"maskrcnn": "Mask R-CNN", **MODELS}.get(r["model"], r["model"])}
        for k, name in (("precision", "P"), ("recall", "R"), ("f1", "F1"), ("miou", "mIoU"), ("ap", "AP")):
            row[name] = f"{r[k]:.1f}"
        row.update({"steps": int(r["steps"]), "train s": f"{r['train_seconds']:.0f}",
                    "empty map": "yes" if r["recall"] == 0 else "no"})
        rows.append(row)
    print(table(pd.DataFrame(rows)))
    budgets = tables / "related_budgets.csv"
    if budgets.exists() and len(pd.read_csv(budgets)):
        rows = []
        for _, r in pd.read_csv(budgets).iterrows():
            levelled = r["rule_budget"] < r["steps"]
            rows.append({"experiment": r["experiment"], "steps": int(r["steps"]),
                         "best validation AP (step)": f"{100 * r['best_ap']:.1f} ({int(r['best_step'])})",
                         "90 % of it at": int(r["step_90"]), "95 % at (the rule's budget)": int(r["rule_budget"]),
                         "within budget": "levelled off" if levelled else "**still rising**"})
        print("\n**Did each budget suffice? Validation AP every 20 steps, read by the convergence rule (one seed; "
              "levelled off: within 5 % of its best before its last evaluation)**\n")
        print(table(pd.DataFrame(rows)))
    gpu = tables / "gpu_only.csv"
    if gpu.exists() and len(pd.read_csv(gpu)):
        print("\n**Left to a GPU (the profile's `gpu_only`)**\n")
        print(table(pd.read_csv(gpu)[["experiment", "paper", "reason"]]))


def convergence(where: str) -> None:
    """The convergence rule's table (``<sweep reports>/tables/convergence.csv``) and the seed spread of the test F1
    of every setting (``results.csv``): ``where`` is ``PROFILE:SWEEP``."""
    profile, name = _parts("--convergence", where, "PROFILE:SWEEP")
    folder = ROOT / "reports" / profile / "sweeps" / name
    choice = pd.read_csv(folder / "tables" / "convergence.csv")
    rows = []
    for _, r in choice.iterrows():
        rows.append({"exp.": r["experiment"], "model": MODELS.get(r["model"], r["model"]), "setting": r["setting"],
                     "seeds": int(r["seeds"]), "empty validation maps": int(r["empty_seeds"]),
                     "plateau AP (sd)": f"{100 * r['plateau']:.1f} ({100 * r['plateau_sd']:.1f})",
                     "90 % of plateau at": "-" if pd.isna(r["step_90"]) else
                     f"step {int(r['step_90'])}, {r['seconds_90']:.0f} s",
                     "chosen": "**yes**" if r["chosen"] else "", "budget": "" if pd.isna(r["budget"]) else int(r["budget"])})
    print(table(pd.DataFrame(rows)))
    results = pd.read_csv(folder / "results.csv")
    varied = [c for c in results.columns if c.split(".")[-2:-1] == ["training"] and results[c].nunique() > 1]
    keys = ["experiment", *varied[:1]]  # a sweep of one setting (seeds only) has no setting column
    rows = []
    for level, g in results.groupby(keys, sort=False):
        level = level if isinstance(level, tuple) else (level,)
        rows.append({"exp.": level[0], **({varied[0]: level[1]} if varied else {}),
                     "test F1 mean": f"{100 * g['f1'].mean():.1f}",
                     "sd over seeds": f"{100 * g['f1'].std(ddof=1):.1f}",
                     "min–max": f"{100 * g['f1'].min():.1f}–{100 * g['f1'].max():.1f}",
                     "runs with F1 = 0": int((g["f1"] == 0).sum()), "test AP mean": f"{100 * g['ap'].mean():.1f}"})
    seeds = "/".join(str(n) for n in sorted(results.groupby(keys, sort=False).size().unique()))
    print(f"\n**The test area, read after the choice (F1 at 0.5, percent; {seeds} seeds)**\n")
    print(table(pd.DataFrame(rows)))


def curve(where: str) -> None:
    """A sweep's seed-mean validation-AP curves, one row per experiment and evaluation, with the share of the
    experiment's plateau (the mean of the seeds' best validation AP, ``tables/convergence.csv``): ``where`` is
    ``PROFILE:SWEEP`` or ``PROFILE:SWEEP:EVERY`` (only the evaluations at multiples of EVERY steps), a sweep of one
    setting per experiment (seeds and one budget only)."""
    profile, name, *every = _parts("--curve", where, "PROFILE:SWEEP[:EVERY]", extra=True)
    if every and not every[0].isdigit():
        sys.exit(f"--curve {where}: EVERY is a number of steps (PROFILE:SWEEP[:EVERY])")
    folder = ROOT / "reports" / profile / "sweeps" / name
    choice = pd.read_csv(folder / "tables" / "convergence.csv")
    if choice["experiment"].duplicated().any():
        raise SystemExit(f"--curve {where}: the sweep compares settings; use --convergence")
    plateau = choice.set_index("experiment")["plateau"]
    model = choice.set_index("experiment")["model"]
    summary = curve_summary(learning_curves(pd.read_csv(folder / "results.csv"), root=ROOT))
    if every:
        summary = summary[summary["step"] % int(every[0]) == 0]
    rows = []
    for _, r in summary.iterrows():
        rows.append({"exp.": r["experiment"], "model": MODELS.get(model[r["experiment"]], model[r["experiment"]]),
                     "step": int(r["step"]), "training seconds (mean)": f"{r['seconds']:.0f}",
                     "validation AP, seed mean": f"{100 * r['mean']:.1f}",
                     "lowest–highest seed": f"{100 * r['low']:.1f}–{100 * r['high']:.1f}",
                     "share of the plateau": f"{100 * r['mean'] / plateau[r['experiment']]:.0f} %"})
    seeds = int(summary["seeds"].max())
    print(f"**Seed-mean validation AP against steps ({seeds} seeds; plateau: "
          + ", ".join(f"{e} {100 * v:.1f}" for e, v in plateau.items()) + ")**\n")
    print(table(pd.DataFrame(rows)))


def budgets(where: str) -> None:
    """The test metrics of the experiments two sweeps of one profile share, trained to different budgets, paired by
    seed: ``where`` is ``PROFILE:SHORTER:LONGER``; the difference is LONGER - SHORTER with its paired t-interval
    (read after the budget was chosen on validation tiles; fewer than the minimum pairs: too few seeds)."""
    profile, first, second = _parts("--budgets", where, "PROFILE:SHORTER:LONGER")
    runs = [pd.read_csv(ROOT / "reports" / profile / "sweeps" / name / "results.csv") for name in (first, second)]
    rows = []
    for exp in [e for e in runs[1]["experiment"].unique() if e in set(runs[0]["experiment"])]:
        a, b = (r[r["experiment"] == exp].set_index("seed") for r in runs)
        seeds = sorted(set(a.index) & set(b.index))
        row = {"exp.": exp, "model": MODELS.get(b["model"].iloc[0], b["model"].iloc[0]),
               "steps": f"{int(a.loc[seeds, 'steps'].max())} → {int(b.loc[seeds, 'steps'].max())}",
               "seeds (paired)": len(seeds)}
        for metric in ("f1", "ap"):
            mean, low, high = t_interval(100 * (b.loc[seeds, metric] - a.loc[seeds, metric]))
            row[f"{metric.upper()}: {first}"] = f"{100 * a.loc[seeds, metric].mean():.1f}"
            row[f"{metric.upper()}: {second}"] = f"{100 * b.loc[seeds, metric].mean():.1f}"
            row[f"{metric.upper()} difference"] = (f"{mean:+.1f} [{low:+.1f}, {high:+.1f}]" if len(seeds) >= MIN_PAIRS
                                                   else "too few seeds")
        rows.append(row)
    print(f"**The test chips at two budgets (sweeps {first} and {second}; percent; paired by seed, 95 % paired "
          "t-interval)**\n")
    print(table(pd.DataFrame(rows)))


def run(args: list[str]) -> None:
    """The command line's choice of table (see the module docstring)."""
    if "--related" in args:
        related(args[args.index("--related") + 1])
    elif "--convergence" in args:
        convergence(args[args.index("--convergence") + 1])
    elif "--budgets" in args:
        budgets(args[args.index("--budgets") + 1])
    elif "--curve" in args:
        curve(args[args.index("--curve") + 1])
    elif "--measured" in args:
        measured(args[args.index("--measured") + 1])
    elif "--generalisation" in args:
        generalisation(args[args.index("--generalisation") + 1])
    elif "--spread" in args:
        spread(args[args.index("--spread") + 1])
    elif "--memory" in args:
        memory()
    elif "--losses" in args:
        losses(args[args.index("--losses") + 1:])
    elif "--sweep" in args:
        i = args.index("--sweep")
        sweep(args[0] if i > 0 else "quick", args[i + 1])
    else:
        main(args[0] if args else "quick")


if __name__ == "__main__":
    try:
        run(sys.argv[1:])
    except FileNotFoundError as exc:  # a table of a study or sweep that has not run (or a misspelt name)
        sys.exit(f"results_markdown: {exc.filename} does not exist: run the study or sweep that writes it, or "
                 "check the profile and sweep names")
