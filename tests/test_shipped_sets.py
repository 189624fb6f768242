"""The shipped Reber benchmark set (datasets/reber-rnn) and the predictors fitted on it belong together."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasprior.genome import Genome
from nasprior.predictors import Predictor

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "datasets" / "reber-rnn" / "records.jsonl.gz"
CELLS = ("rnn_tanh", "rnn_relu", "gru", "lstm")
PRIORS = ("barabasi_albert", "watts_strogatz", "gnp")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    with gzip.open(SET, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_the_set_covers_cells_priors_and_the_papers_sizes(records):
    """Every record is a trained network of the documented strata, with the fields a refit or a study needs."""
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)), "a genome was trained twice"
    assert all(r["status"] == "trained" for r in records)
    strata = Counter((r["genome"]["prior"], r["genome"]["cell"]) for r in records)
    assert set(strata) == {(p, c) for p in PRIORS for c in CELLS}
    assert max(strata.values()) - min(strata.values()) <= 1, f"strata unbalanced: {strata}"
    assert all(10 <= r["genome"]["n_nodes"] <= 50 for r in records)
    for r in records:
        assert {"val_acc", "test_acc", "test_acc_hard_neg", "test_acc_soft_neg", "test_acc_pos"} <= set(r["metrics"])
        assert r["curve"] and r["features"]["n_weights"] > 0
        assert r["train"]["lr"] == 0.002 and r["train"]["batch_size"] == 256


@pytest.mark.parametrize(
    "name,cell",
    [
        ("reber-gru", "gru"),
        ("reber-lstm", "lstm"),
        ("reber-rnn-tanh", "rnn_tanh"),
        ("reber-rnn-relu", "rnn_relu"),
        ("reber-rnn", None),
    ],
)
def test_shipped_predictors_were_fitted_on_the_shipped_set(records, name, cell):
    """Each card counts exactly the set's records of its cell, and the model reads their features (rank-agrees in sample)."""
    predictor = Predictor.load(ROOT / "predictors" / name)
    rows = [r for r in records if cell is None or r["genome"]["cell"] == cell]
    assert predictor.card["n_train"] == len(rows)
    assert predictor.where == ({} if cell is None else {"cell": cell})
    features = [{**r["features"], **cols} for r, cols in zip(rows, predictor.gene_columns([r["genome"] for r in rows]))]
    predicted = predictor.predict(features)
    target = np.array([r["metrics"][predictor.target] for r in rows])
    assert np.all((predicted >= 0) & (predicted <= 1))
    # in-sample agreement is well above the cross-validated one; a model fitted on other rows or columns would not be
    assert spearmanr(predicted, target).statistic > predictor.card["scores"]["structural"]["spearman"]["mean"]


# -- the CIFAR-10 table (datasets/cifar10-cnn) and the predictor the default CIFAR-10 search uses ----------------
CNN = ROOT / "datasets" / "cifar10-cnn"


def test_the_cifar10_table_belongs_to_the_default_space_and_its_card():
    """Every record is a network the shipped cifar10 space lists, once per seed; the card and summary count them."""
    import re

    from nasprior.priors import network_key
    from nasprior.runs.records import RecordLog
    from nasprior.runs.tabular import record_network
    from nasprior.space import SearchSpace, default_space_path

    records = RecordLog(CNN / "records.jsonl.gz").read()
    listed = {network_key(g) for g in SearchSpace.from_toml(default_space_path("cifar10")).genomes()}
    networks = [record_network(r) for r in records]
    assert set(networks) <= listed
    pairs = [(n, r["seed"]) for n, r in zip(networks, records)]
    assert len(pairs) == len(set(pairs)), "a network was trained twice at one seed"
    first = [(n, r) for n, r in zip(networks, records) if r["seed"] == 0]
    second = [(n, r) for n, r in zip(networks, records) if r["seed"] == 1]
    assert all(r["sample"].get("replicate") == 1 for _, r in second) and {r["seed"] for r in records} <= {0, 1}
    assert {n for n, _ in second} <= {n for n, _ in first}
    assert all(
        r["fidelity"] == "sample" and r["train"]["epochs"] == 3 and r["train"]["train_subset"] == 5000 for r in records
    )
    summary = json.loads((CNN / "summary.json").read_text())
    trained = sum(r["status"] == "trained" for _, r in first)
    assert summary["n_trained"] == trained and summary["n_second_seed"] == len(second)
    card = (CNN / "README.md").read_text()
    stated = re.search(r"\*\*Status: (?:partial|complete)[^*]*\*\* (\d+) of the space's (\d+) networks", card)
    assert stated and int(stated.group(1)) == trained and int(stated.group(2)) == len(listed)


def test_the_shipped_cifar10_predictor_was_fitted_on_the_table_and_the_space_names_it():
    from nasprior.predictors import predictor_path
    from nasprior.runs.records import RecordLog
    from nasprior.space import SearchSpace, default_space_path

    space = SearchSpace.from_toml(default_space_path("cifar10"))
    predictor = Predictor.load(predictor_path(space.search["predictor"]))
    records = [r for r in RecordLog(CNN / "records.jsonl.gz").read() if r["status"] == "trained"]
    assert predictor.card["n_train"] == len(records) and predictor.task["name"] == "cifar10"
    predicted = predictor.predict([r["features"] for r in records])
    rho = spearmanr(predicted, [r["metrics"]["val_acc"] for r in records]).statistic
    assert rho > 0.5  # in sample: the model reads these columns


def test_the_final_fidelity_labels_are_networks_of_the_table_at_the_final_budget():
    """datasets/cifar10-cnn/final: nasprior sample --final of the default space, every network screened in the table."""
    import re

    from nasprior.priors import network_key
    from nasprior.runs.records import RecordLog
    from nasprior.runs.tabular import Table, record_network
    from nasprior.space import SearchSpace, default_space_path

    final = RecordLog(CNN / "final" / "records.jsonl.gz").read()
    space = default_space_path("cifar10")
    listed = {network_key(g) for g in SearchSpace.from_toml(space).genomes()}
    # the budget they were trained with: the folder's config (a [final] recipe of an earlier version stays labelled)
    budget = json.loads((CNN / "final" / "config.json").read_text())["train"]
    table = Table.read(CNN)
    for record in final:
        assert record["fidelity"] == "final" and record["status"] == "trained"
        assert record["train"]["epochs"] == budget["epochs"] and not record["train"].get("train_subset")
        assert all(record["train"].get(k) == v for k, v in budget.items() if k != "seed")
        assert record["metrics"]["test_acc"] is not None and record_network(record) in listed
    screened = [r for r in final if table.lookup(Genome.from_dict(r["genome"])) is not None]
    card = (CNN / "README.md").read_text()
    stated = re.search(r"(\d+) final-fidelity labels \((\d+) of them screened in this table", card)
    assert stated and int(stated.group(1)) == len(final) and int(stated.group(2)) == len(screened)
