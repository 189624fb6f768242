"""Registries: a prior, a mapping, a task and a regressor are each one registry entry."""

from __future__ import annotations

import random

import networkx as nx
import pytest
import torch

from nasprior.errors import ConfigError
from nasprior.evaluation import candidate_features
from nasprior.genome import Genome
from nasprior.networks import MAPPINGS, build_network
from nasprior.predictors import REGRESSORS, make_pipeline
from nasprior.priors import PRIORS, make_graph
from nasprior.priors.block_model import block_sizes
from nasprior.space import SearchSpace
from nasprior.tasks import TASKS, TaskShape, get_task
from nasprior.training import TrainConfig, resolve_device


def test_block_model_prior_builds_modular_graphs():
    g = Genome(prior="block_model", n_nodes=40, n_blocks=4, p=0.8, p_out=0.0, seed=1)
    graph = make_graph(g)
    assert sorted(graph.nodes) == list(range(40))
    blocks = [range(0, 10), range(10, 20), range(20, 30), range(30, 40)]
    block_of = {n: i for i, b in enumerate(blocks) for n in b}
    assert graph.number_of_edges() > 100
    assert all(block_of[u] == block_of[v] for u, v in graph.edges)  # p_out = 0: no edge between blocks
    assert nx.number_connected_components(graph) == 4
    assert make_graph(g).edges == graph.edges and make_graph(g.replace(seed=2)).edges != graph.edges


def test_block_model_genome_holds_its_genes_and_becomes_a_network():
    g = Genome(prior="block_model", n_nodes=30, n_blocks=3, p=0.5, p_out=0.05, m=4, seed=0)
    assert set(g.genes) == {"n_nodes", "n_blocks", "p", "p_out", "seed"}  # 'm' is not read: dropped
    shape = TaskShape("t", 16, 3)
    assert build_network(g, shape)(torch.zeros(2, 16)).shape == (2, 3)
    assert candidate_features(g, shape)["n_nodes"] == 30
    with pytest.raises(ConfigError, match="'n_blocks' = 5 exceeds n_nodes = 4"):
        Genome(prior="block_model", n_nodes=4, n_blocks=5)
    assert block_sizes(10, 3) == [4, 3, 3]


def test_block_model_is_searchable_from_a_space_file():
    space = SearchSpace.from_dict(
        {
            "genes": {
                "prior": ["block_model"],
                "n_nodes": [8, 32],
                "n_blocks": [2, 8],
                "p": [0.2, 0.9],
                "p_out": [0.0, 0.1],
            }
        }
    )
    assert space.gene_order[-2:] == ("n_blocks", "p_out")  # new genes follow the fixed ones
    rng = random.Random(0)
    genomes = [space.decode(space.random_individual(rng)) for _ in range(20)]
    assert all(g.prior == "block_model" and 2 <= g.n_blocks <= min(8, g.n_nodes) for g in genomes)


def test_registries_hold_the_builtin_entries():
    assert {
        "gnp",
        "watts_strogatz",
        "barabasi_albert",
        "complete",
        "radixnet",
        "expander",
        "er_set",
        "block_model",
    } <= set(PRIORS)
    assert {"graph", "layered", "recurrent"} <= set(MAPPINGS)
    assert {"cifar10", "mnist", "digits", "reber", "reber_generated", "reber_embedded"} <= set(TASKS)
    assert {"bayesian_ridge", "random_forest", "gradient_boosting"} <= set(REGRESSORS)
    assert make_pipeline("random_forest", {"n_estimators": 5}, seed=3)[-1].random_state == 3


def test_genome_keeps_only_the_genes_it_reads_and_old_records_migrate():
    old = {
        "cell": "gru",
        "degree": 16,
        "epsilon": 20.0,
        "k": 4,
        "m": 2,
        "mapping": "layered",
        "n_layers": 2,
        "n_nodes": 22,
        "p": 0.1,
        "prior": "complete",
        "radix": 4,
        "seed": 0,
        "width": 217,
    }
    g = Genome.from_dict(old)
    # n_nodes cannot change a layered network of the complete prior (dense masks): held at 2, one key per network
    assert g.to_dict() == {"prior": "complete", "mapping": "layered", "n_nodes": 2, "n_layers": 2, "width": 217}
    assert g.key == Genome.from_dict({**old, "p": 0.7, "seed": 5, "n_nodes": 40}).key  # unread genes: same key
    assert g.key != Genome.from_dict({**old, "width": 218}).key
    with pytest.raises(AttributeError, match="has no gene 'p'"):
        g.p


def test_mapping_must_take_the_tasks_inputs():
    with pytest.raises(ConfigError, match="use mapping 'recurrent'"):
        candidate_features(Genome(prior="gnp", n_nodes=10, p=0.3), get_task("reber").shape)


def test_device_setting():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="device"):
        TrainConfig(device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no GPU"):
            resolve_device("cuda")
