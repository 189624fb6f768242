"""Predictors on a tabular benchmark: how well each feature group ranks the table's genomes, by training size.

For each feature set -- ``size`` (parameters and multiply-accumulates only: the
baseline any structural predictor must beat), ``structural+size`` (the
default groups of ``nasprior predictor fit``: structural, size, topology,
profile and Weisfeiler-Lehman features), ``proxies`` (the zero-cost proxies
alone) and ``all`` -- and the graph network ``gin (dag+size)``
(:class:`nasprior.predictors.gin.GINRegressor` on the stage DAG with log
parameters and log multiply-accumulates; fixed settings, no tuning) -- and each training size N (50, 100, 200 and all):
draw N genomes of the table at random (``--repeats`` draws, seeded), tune a
model on them exactly as ``nasprior predictor fit`` tunes one (optuna over
Bayesian ridge, random forest and gradient boosting, inner k-fold R²;
:func:`nasprior.predictors.scoring.tune`), and score its predictions on every
genome not drawn: Kendall tau, Spearman rho and R². N = all is k-fold
cross-validation over the whole table (train on (k-1)/k of it). This is the
protocol of the NAS-Bench predictor studies (White et al. 2021; Kadlecová et
al. 2024: a random forest on graph features, parameters and FLOPs reaches
Kendall 0.71 at N = 100 on NAS-Bench-201).

Also printed: each zero-cost proxy's and each size count's own rank
correlation with the target over the whole table (no fitting), and the
seed-noise ceiling: the rank correlation between the two seeds of the genomes
trained twice (no predictor of one seed's accuracy can be expected to rank
better than the other seed does).

Usage::

    python benchmarks/table_predictors.py --table datasets/cifar10-cnn \\
        --out benchmarks/results/cifar10_table_predictors.json \\
        --plot benchmarks/results/cifar10_table_predictors.png | tee benchmarks/results/cifar10_table_predictors.txt
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold

from nasprior.dag import to_dag
from nasprior.features import DEFAULT_FEATURE_GROUPS, FEATURE_GROUPS, PROXY_FEATURE_NAMES
from nasprior.genome import Genome
from nasprior.predictors.base import select_feature_names
from nasprior.predictors.gin import GINRegressor
from nasprior.predictors.regressors import make_pipeline
from nasprior.predictors.scoring import tune
from nasprior.priors import make_graph
from nasprior.runs.tabular import Table

#: Feature sets compared: name -> feature names in column order.
FEATURE_SETS = {
    "size": ("n_params", "n_flops"),
    "structural+size": tuple(n for g in DEFAULT_FEATURE_GROUPS for n in FEATURE_GROUPS[g]),
    "proxies": tuple(PROXY_FEATURE_NAMES),
    "all": tuple(n for g in FEATURE_GROUPS for n in FEATURE_GROUPS[g]),
}
SIZES = (50, 100, 200)


def scores(y: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Kendall tau, Spearman rho and R² of predictions against truths."""
    return {
        "kendall": float(stats.kendalltau(y, predicted).statistic),
        "spearman": float(stats.spearmanr(y, predicted).statistic),
        "r2": float(r2_score(y, predicted)),
    }


def fit_predict(X_train, y_train, X_test, n_trials: int, seed: int) -> np.ndarray:
    """Tune on the training rows as ``nasprior predictor fit`` does, fit, predict the test rows."""
    model, params, _ = tune(X_train, y_train, n_trials=n_trials, folds=3, seed=seed)
    return make_pipeline(model, params, seed).fit(X_train, y_train).predict(X_test)


def learning_curve(predict, y: np.ndarray, repeats: int, folds: int) -> dict[str, dict]:
    """Scores at each training size N (seeded random draws, the rest held out) and at N = all (k-fold).

    ``predict(train_idx, test_idx, seed)`` fits a model on the training rows and returns its predictions
    of the test rows; every model is scored on the same draws and folds.
    """
    out: dict[str, dict] = {}
    for n in SIZES:
        if n >= len(y) - 10:
            continue
        rows = []
        for r in range(repeats):
            order = np.random.default_rng(1000 + r).permutation(len(y))
            tr, te = order[:n], order[n:]
            rows.append(scores(y[te], predict(tr, te, r)))
        out[str(n)] = summarise(rows)
    predicted = np.empty_like(y)
    for f, (tr, te) in enumerate(KFold(folds, shuffle=True, random_state=0).split(y)):
        predicted[te] = predict(tr, te, f)
    out["all"] = {**summarise([scores(y, predicted)]), "n_train": int(len(y) * (folds - 1) / folds)}
    return out


def summarise(rows: list[dict[str, float]]) -> dict:
    """Mean and sd of each score over repeats (sd 0 for one row)."""
    return {
        m: {"mean": statistics.fmean(r[m] for r in rows), "sd": statistics.pstdev([r[m] for r in rows])}
        for m in ("kendall", "spearman", "r2")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True, help="a sample --all run directory or a shipped data set")
    parser.add_argument("--metric", default="val_acc")
    parser.add_argument("--repeats", type=int, default=5, help="random training draws per N (default 5)")
    parser.add_argument("--trials", type=int, default=10, help="optuna trials per tuning (default 10)")
    parser.add_argument("--folds", type=int, default=5, help="folds of the N = all cross-validation (default 5)")
    parser.add_argument("--out", help="write the scores as JSON")
    parser.add_argument("--plot", help="write the learning curves (Kendall tau against N) as a PNG")
    args = parser.parse_args()
    torch.set_num_threads(1)  # small models: more threads only contend (and the table sample may be running)
    start = time.perf_counter()
    table = Table.read(args.table)
    records = [table.by_key[k] for k in sorted(table.by_key)]
    y = np.array([float(r["metrics"][args.metric]) for r in records])
    print(
        f"table {args.table}: {len(records)} genomes (fidelity {table.fidelity}, {table.n_failed} failed), "
        f"{args.metric} {y.min():.4f}..{y.max():.4f} (sd {y.std():.4f})"
    )
    pairs = [(table.by_key[k], rep[0]) for k, rep in table.replicates.items() if k in table.by_key]
    ceiling = None
    if len(pairs) >= 5:
        a = np.array([float(p[0]["metrics"][args.metric]) for p in pairs])
        b = np.array([float(p[1]["metrics"][args.metric]) for p in pairs])
        ceiling = {
            "n": len(pairs),
            "kendall": float(stats.kendalltau(a, b).statistic),
            "spearman": float(stats.spearmanr(a, b).statistic),
            "sd_difference": float(np.std(a - b)),
        }
        print(
            f"seed noise over {len(pairs)} genomes trained twice: Kendall {ceiling['kendall']:.3f}, Spearman "
            f"{ceiling['spearman']:.3f} between the seeds; sd of the difference {ceiling['sd_difference']:.4f} "
            f"(per-seed sd {ceiling['sd_difference'] / 2**0.5:.4f})"
        )
    print("\nRank correlation of single features with the target over the whole table (no fitting)")
    single = {}
    for name in ("n_params", "n_flops", *PROXY_FEATURE_NAMES):
        x = np.array([r["features"].get(name, np.nan) for r in records], dtype=float)
        ok = np.isfinite(x)
        if ok.sum() < 10:
            continue
        single[name] = {
            "kendall": float(stats.kendalltau(x[ok], y[ok]).statistic),
            "spearman": float(stats.spearmanr(x[ok], y[ok]).statistic),
            "n": int(ok.sum()),
        }
        print(f"  {name:<20} Kendall {single[name]['kendall']:+.3f}  Spearman {single[name]['spearman']:+.3f}")
    results = {}
    for set_name, candidates in FEATURE_SETS.items():
        names, _ = select_feature_names(records, candidates)
        X = np.array([[float(r["features"][n]) for n in names] for r in records])

        def tuned(tr, te, seed, X=X):  # tuned as nasprior predictor fit tunes
            return fit_predict(X[tr], y[tr], X[te], args.trials, seed)

        results[set_name] = {"n_features": len(names), "curve": learning_curve(tuned, y, args.repeats, args.folds)}
        print(f"  fitted {set_name} ({len(names)} features) at {time.perf_counter() - start:.0f} s", flush=True)
    graphs = [to_dag(make_graph(Genome.from_dict(r["genome"]))) for r in records]
    G = np.log(np.array([[float(r["features"]["n_params"]), float(r["features"]["n_flops"])] for r in records]))

    def gin(tr, te, seed):  # fixed settings, no tuning
        model = GINRegressor(seed=seed).fit([graphs[i] for i in tr], G[tr], y[tr])
        return model.predict([graphs[i] for i in te], G[te])

    results["gin (dag+size)"] = {"n_features": 2, "curve": learning_curve(gin, y, args.repeats, args.folds)}
    print(f"  fitted the GIN at {time.perf_counter() - start:.0f} s", flush=True)
    print(f"\nHeld-out Kendall tau / Spearman rho / R2 by training size (mean ± sd over {args.repeats} draws)")
    ns = [n for n in (*map(str, SIZES), "all") if n in results["size"]["curve"]]
    print(f"{'features':<16} {'cols':>4} " + " ".join(f"{f'N={n}':>26}" for n in ns))
    print(f"{'':<16} {'':>4} " + " ".join(f"{'tau±sd rho R2':>26}" for n in ns))
    for set_name, res in results.items():
        cells = []
        for n in ns:
            c = res["curve"][n]
            cells.append(
                f"{c['kendall']['mean']:.3f}±{c['kendall']['sd']:.3f} {c['spearman']['mean']:.3f} {c['r2']['mean']:+.3f}"
            )
        print(f"{set_name:<16} {res['n_features']:>4} " + " ".join(f"{cell:>26}" for cell in cells))
    if "all" in results["size"]["curve"]:
        print(
            f"  (N=all: {args.folds}-fold CV, {results['size']['curve']['all']['n_train']} training genomes per fold)"
        )
    print(f"\n{time.perf_counter() - start:.0f} s")
    out = {
        "table": str(args.table),
        "n": len(records),
        "metric": args.metric,
        "ceiling": ceiling,
        "single": single,
        "results": results,
        "repeats": args.repeats,
        "trials": args.trials,
    }
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=1), encoding="utf-8")
    if args.plot:
        plot(results, ns, len(records), args.folds, ceiling, args.plot)


def plot(results: dict, ns: list[str], n_total: int, folds: int, ceiling: dict | None, path: str) -> None:
    """Kendall tau against training size per feature set, with the seed-noise ceiling."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [int(n) if n != "all" else int(n_total * (folds - 1) / folds) for n in ns]
    fig, ax = plt.subplots(figsize=(6, 4))
    for set_name, res in results.items():
        mean = [res["curve"][n]["kendall"]["mean"] for n in ns]
        sd = [res["curve"][n]["kendall"]["sd"] for n in ns]
        ax.errorbar(xs, mean, yerr=sd, marker="o", capsize=3, label=set_name)
    if ceiling:
        ax.axhline(ceiling["kendall"], color="grey", ls="--", label="seed-to-seed Kendall")
    ax.set_xlabel("training genomes N")
    ax.set_ylabel("held-out Kendall tau")
    ax.set_title("Predictor learning curve by feature set")
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
