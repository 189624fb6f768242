"""A run's report: one self-contained HTML file with its figures (``nasprior report RUN_DIR``).

Reads only the run directory (``config.json``, ``records.jsonl``,
``generations.json``, ``pareto.json``) and draws, with matplotlib, PNG
figures embedded as base64 so the file stands alone:

* best and median validation accuracy per generation, with the trained and
  skipped counts;
* accuracy against non-zero weights of every trained candidate, coloured by
  prior, with the Pareto front;
* predicted against actual accuracy: out-of-fold predictions of the run's
  own predictor (5-fold, the search's random forest) with their R²;
* the skip and screen decisions: predictions of skipped offspring next to the
  accuracies of trained ones, and the screening of ``ga-screen`` runs;
* the best network's topology: its prior graph drawn as a layered DAG
  (stage DAGs for convolutional candidates);
* the run predictor's feature importances (impurity-based, top 15);
* the run's config and package versions.
"""

from __future__ import annotations

import base64
import html
import io
import json
import statistics
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_predict

from ..dag import layer_index, to_dag
from ..errors import RecordError
from ..evaluation import CANDIDATE_FEATURES, checked_graph
from ..genome import Genome
from ..predictors import feature_matrix, select_feature_names
from ..runs.outputs import check_output_file, write_output
from ..runs.records import FINAL_FIDELITY, RECORDS_FILE, RecordLog, is_screening, read_config
from ..validation import read_json

#: Largest graph drawn node by node; bigger ones are drawn as their first nodes only.
MAX_DRAWN_NODES = 300
#: Marks a report as nasprior's: only a file carrying it is replaced (older reports: their ``<title>``).
REPORT_MARKER = '<meta name="generator" content="nasprior report">'
#: Figures of a report, in order (the ``id`` of each ``<img>``).
FIGURES = ("progress", "pareto", "predicted", "decisions", "topology", "importance")


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")  # matplotlib's Agg renderer; no display needed
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _trained(records: list[dict]) -> list[dict]:
    return [r for r in records if r["status"] == "trained"]


def progress_figure(records: list[dict], generations: list[dict]) -> Figure:
    """Best and median validation accuracy per generation, with trained and skipped counts."""
    fig = Figure(figsize=(7, 3.6))
    ax = fig.subplots()
    gens = sorted({r["generation"] for r in records if r.get("generation") is not None})
    if generations:
        xs = [g["generation"] for g in generations]
        ax.plot(xs, [g["best_val_acc"] for g in generations], "o-", label="best of population")
        ax.plot(xs, [g["median_val_acc"] for g in generations], "s--", label="median of population")
    else:  # a run without summaries: accuracies of the candidates trained in each generation
        acc = {g: [r["metrics"]["val_acc"] for r in _trained(records) if r.get("generation") == g] for g in gens}
        ax.plot(gens, [max(acc[g], default=np.nan) for g in gens], "o-", label="best trained")
        ax.plot(gens, [statistics.median(acc[g]) if acc[g] else np.nan for g in gens], "s--", label="median trained")
    ax.set_xlabel("generation")
    ax.set_ylabel("validation accuracy")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # generations are whole numbers
    counts = ax.twinx()
    width = 0.35
    trained = [sum(r.get("generation") == g and r["status"] == "trained" for r in records) for g in gens]
    skipped = [sum(r.get("generation") == g and r["status"] == "skipped" for r in records) for g in gens]
    counts.bar(np.array(gens) - width / 2, trained, width, alpha=0.25, color="tab:green", label="trained")
    counts.bar(np.array(gens) + width / 2, skipped, width, alpha=0.25, color="tab:red", label="skipped")
    counts.set_ylabel("candidates")
    lines = ax.get_legend_handles_labels()
    bars = counts.get_legend_handles_labels()
    # lines above the count bars, the legend below the axes (inside it hid the last generation's bars)
    ax.set_zorder(counts.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.legend(
        lines[0] + bars[0], lines[1] + bars[1], loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4, fontsize=8
    )
    fig.subplots_adjust(bottom=0.3)
    ax.set_title("Accuracy per generation")
    return fig


def pareto_figure(records: list[dict], front_keys: set[str]) -> Figure:
    """Validation accuracy against non-zero weights, coloured by prior; the Pareto front joined."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    trained = _trained(records)
    for prior in sorted({r["genome"]["prior"] for r in trained}):
        rs = [r for r in trained if r["genome"]["prior"] == prior]
        ax.scatter(
            [r["features"]["n_weights"] for r in rs],
            [r["metrics"]["val_acc"] for r in rs],
            s=18,
            alpha=0.7,
            label=prior,
        )
    front = sorted((r for r in trained if r["key"] in front_keys), key=lambda r: r["features"]["n_weights"])
    if front:
        ax.plot(
            [r["features"]["n_weights"] for r in front],
            [r["metrics"]["val_acc"] for r in front],
            "k-",
            drawstyle="steps-post",
            lw=1,
            label="Pareto front",
        )
    ax.set_xscale("log")
    ax.set_xlabel("non-zero weights")
    ax.set_ylabel("validation accuracy")
    ax.legend(fontsize=8)
    ax.set_title("Accuracy against size")
    return fig


def oof_predictions(records: list[dict], seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray | None]:
    """Actual and 5-fold out-of-fold predicted accuracy of the trained records, the feature names, importances.

    Returns empty arrays when fewer than 10 records were trained.
    """
    trained = _trained(records)
    if len(trained) < 10:
        return np.empty(0), np.empty(0), [], None
    names, _ = select_feature_names(trained, CANDIDATE_FEATURES)
    X, y = feature_matrix(trained, names)
    model = RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=seed, n_jobs=1)
    predicted = cross_val_predict(model, X, y, cv=KFold(5, shuffle=True, random_state=seed))
    importances = model.fit(X, y).feature_importances_
    return y, predicted, names, importances


def predicted_figure(actual: np.ndarray, predicted: np.ndarray) -> Figure:
    """Out-of-fold predicted against actual validation accuracy, with R²."""
    fig = Figure(figsize=(4.6, 4.2))
    ax = fig.subplots()
    if len(actual):
        ax.scatter(actual, predicted, s=14, alpha=0.7)
        lo, hi = float(min(actual.min(), predicted.min())), float(max(actual.max(), predicted.max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set_title(f"Run predictor, out-of-fold R² = {r2_score(actual, predicted):.3f}")
    else:
        ax.set_title("Fewer than 10 trained candidates: no predictor")
    ax.set_xlabel("actual validation accuracy")
    ax.set_ylabel("predicted")
    return fig


def decisions_figure(records: list[dict], generations: list[dict]) -> Figure:
    """Predictions of skipped (or screened-out) offspring against the accuracies of trained ones."""
    fig = Figure(figsize=(7, 3.4))
    ax = fig.subplots()
    trained = [r["metrics"]["val_acc"] for r in _trained(records)]
    skipped = [r["metrics"]["predicted_val_acc"] for r in records if r["status"] == "skipped"]
    rejected = [v for g in generations for s in g.get("screen", []) for v in s.get("predicted_rejected", [])]
    bins = np.linspace(min(trained + skipped + rejected + [0.0]), max(trained + skipped + rejected + [1.0]), 30)
    ax.hist(trained, bins=bins, alpha=0.6, label=f"trained: actual ({len(trained)})")
    if skipped:
        ax.hist(skipped, bins=bins, alpha=0.6, label=f"skipped: predicted ({len(skipped)})")
    if rejected:
        ax.hist(rejected, bins=bins, alpha=0.4, label=f"screened out: predicted ({len(rejected)})")
    ax.set_xlabel("validation accuracy")
    ax.set_ylabel("candidates")
    ax.legend(fontsize=8)
    ax.set_title("Skip and screen decisions")
    return fig


def topology_figure(genome: Genome) -> Figure:
    """The genome's prior graph drawn as a layered DAG (node index order, layers by longest path)."""
    graph = checked_graph(genome)
    if graph.number_of_nodes() > MAX_DRAWN_NODES:
        graph = graph.subgraph(sorted(graph.nodes)[:MAX_DRAWN_NODES]).copy()
    dag = to_dag(graph)
    layers = layer_index(dag)
    nx.set_node_attributes(dag, layers, "layer")
    pos = nx.multipartite_layout(dag, subset_key="layer")
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    # curved edges, so edges between nodes on one line (a deep, narrow DAG) stay visible
    nx.draw_networkx_edges(
        dag, pos, ax=ax, alpha=0.25, width=0.6, arrows=True, arrowstyle="-", connectionstyle="arc3,rad=0.3"
    )
    nx.draw_networkx_nodes(dag, pos, ax=ax, node_size=25, node_color=[layers[n] for n in dag.nodes], cmap="viridis")
    ax.set_axis_off()
    ax.set_title(
        f"Best network: {genome.prior} graph, {dag.number_of_nodes()} nodes, {dag.number_of_edges()} edges, "
        f"{max(layers.values(), default=0) + 1} layers"
    )
    return fig


def importance_figure(names: list[str], importances: np.ndarray | None) -> Figure:
    """The run predictor's 15 most important features."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    if importances is not None:
        order = np.argsort(importances)[::-1][:15][::-1]
        ax.barh([names[i] for i in order], importances[order])
        ax.set_xlabel("impurity importance (random forest)")
    ax.set_title("Feature importances of the run predictor")
    return fig


def _rounded(value: Any) -> Any:
    """A summary number as a reader wants it: counts as integers, fractions to 4 digits; None stays None."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) >= 1 else round(value, 4)
    return value


def _table(rows: dict[str, Any]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td><code>{html.escape(json.dumps(v, sort_keys=True))}</code></td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{cells}</table>"


def write_report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the HTML report of a run directory.

    Parameters
    ----------
    run_dir : path-like
        A run made by ``nasprior search``.
    out : path-like, optional
        Where to write (default ``<run_dir>/report.html``). An existing file
        is replaced only if it is a report (:func:`is_report`); checked
        before the figures are drawn, and written atomically.

    Returns
    -------
    pathlib.Path
        The HTML file; its figures are ``<img id=...>`` with ids :data:`FIGURES`.

    Raises
    ------
    RecordError
        If ``run_dir`` is not a run directory or holds no trained screening candidate.
    RunDirError
        If ``out`` exists and is not a report (e.g. the run's ``records.jsonl``),
        is a directory, or cannot be written; nothing is changed.

    Notes
    -----
    One fidelity at a time: the summary counts, the figures and the
    out-of-fold R² come from the screening records only
    (:func:`nasprior.runs.records.is_screening`); the final records of the
    survivors are listed in a table of their own.
    """
    run_dir = Path(run_dir)
    out = check_output_file(Path(out) if out is not None else run_dir / "report.html", is_report, "a report")
    config = read_config(run_dir)
    logged = RecordLog(run_dir / RECORDS_FILE).read()
    records = [r for r in logged if is_screening(r)]  # one fidelity at a time: counts and figures from screening
    finals = [r for r in logged if r.get("fidelity") == FINAL_FIDELITY]
    trained = _trained(records)
    if not trained:
        raise RecordError(f"{run_dir} holds no trained candidate: run or resume the search first")
    fix, side = "restore it, or delete it (the report then leaves its figure empty)", {}
    for name in ("generations.json", "pareto.json"):
        path = run_dir / name
        side[name] = read_json(path, "run file", fix, RecordError, list) if path.exists() else []
    generations, front = side["generations.json"], side["pareto.json"]
    best = max(trained, key=lambda r: r["metrics"]["val_acc"])
    actual, predicted, names, importances = oof_predictions(records, seed=int(config.get("seed", 0)))
    figures = {
        "progress": progress_figure(records, generations),
        "pareto": pareto_figure(records, {f["key"] for f in front}),
        "predicted": predicted_figure(actual, predicted),
        "decisions": decisions_figure(records, generations),
        "topology": topology_figure(Genome.from_dict(best["genome"])),
        "importance": importance_figure(names, importances),
    }
    images = "\n".join(
        f'<figure><img id="{name}" alt="{name}" src="data:image/png;base64,{_png(fig)}"></figure>'
        for name, fig in figures.items()
    )
    summary = {
        "screened candidates": len(records),
        "trained": len(trained),
        "skipped": sum(r["status"] == "skipped" for r in records),
        "failed": sum(r["status"] == "failed" for r in records),
        "best genome": best["genome"],
        "best val_acc": _rounded(best["metrics"]["val_acc"]),
        "best test_acc": _rounded(best["metrics"].get("test_acc")),
        "best non-zero weights": _rounded(best["features"].get("n_weights")),
        "fully trained survivors": len(_trained(finals)),
    }
    final_rows = {
        r["key"]: (
            {
                "val_acc (selection split)": r["metrics"]["val_acc"],
                "test_acc (unbiased)": r["metrics"]["test_acc"],
                "screening val_acc": r.get("screen_val_acc"),
                "epochs_run": r.get("epochs_run"),
                "seed": r.get("seed"),
            }
            if r["status"] == "trained"
            else {"status": r["status"]}
        )
        for r in finals
    }
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{REPORT_MARKER}<title>nasprior run {html.escape(run_dir.name)}</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:auto}} table{{border-collapse:collapse;font-size:12px}}
th,td{{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}} img{{max-width:100%}}</style></head>
<body><h1>nasprior run <code>{html.escape(run_dir.name)}</code></h1>
<h2>Summary (screening records)</h2>{_table(summary)}
<h2>Fully trained survivors (final records, not in the figures)</h2>{_table(final_rows) if final_rows else "<p>none</p>"}
<h2>Figures</h2>{images}
<h2>Config</h2>{_table(config)}
<h2>Versions</h2>{_table(best.get("versions", {}))}
</body></html>
"""
    return write_output(out, lambda tmp: tmp.write_text(page, encoding="utf-8"))


def is_report(path: Path) -> bool:
    """Whether ``path`` is a report nasprior wrote (it carries :data:`REPORT_MARKER`), so it may be replaced."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith("<!DOCTYPE html>") and (REPORT_MARKER in head or "<title>nasprior run " in head)
