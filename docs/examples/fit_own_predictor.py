"""Tutorial: fit a performance predictor on your own graphs and accuracies (runs in about 30 s on one core).

Run from the repository root: ``python docs/examples/fit_own_predictor.py [OUT_DIR]``. It writes 40 GraphML
files and a targets CSV into ``OUT_DIR`` (default: a temporary folder), fits a predictor on them with nasprior's
nested cross-validation and predicts a new graph. The "accuracies" here are made up from the graphs (so that
there is something to learn); use your own measured ones.
"""

import csv
import sys
import tempfile
from pathlib import Path

import networkx as nx

from nasprior.predictors.fitting import fit_predictor_from_graphs

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
(out / "graphs").mkdir(parents=True, exist_ok=True)
rows = []
for i in range(40):
    g = nx.watts_strogatz_graph(20 + i, 4, 0.05 + 0.02 * i, seed=i)
    nx.write_graphml(g, out / "graphs" / f"g{i:02d}.graphml")
    rows.append({"graph": f"g{i:02d}.graphml", "accuracy": 0.8 + 0.1 * nx.average_clustering(g)})
with open(out / "targets.csv", "w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, fieldnames=["graph", "accuracy"])
    writer.writeheader()
    writer.writerows(rows)

predictor = fit_predictor_from_graphs(
    out / "graphs", out / "targets.csv", "my-graphs", n_trials=3, folds=3, inner_folds=2, repeats=1
)
print(f"cross-validated R2 {predictor.cv_r2_:.2f} on {predictor.card['n_train']} graphs")
new = nx.watts_strogatz_graph(30, 4, 0.3, seed=99)
print(f"predicted accuracy of a new graph: {predictor.predict_graphs([new])[0]:.3f}")
