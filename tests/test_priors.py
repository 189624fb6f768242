import subprocess
import sys

import networkx as nx
import pytest

from nasprior.errors import ConfigError
from nasprior.genome import Genome
from nasprior.priors import PRIORS, get_prior, make_graph

GENOMES = [
    Genome(prior="gnp", n_nodes=50, p=0.1, seed=3),
    Genome(prior="watts_strogatz", n_nodes=50, k=6, p=0.2, seed=3),
    Genome(prior="barabasi_albert", n_nodes=50, m=3, seed=3),
    Genome(prior="complete", n_nodes=12),
]


@pytest.mark.parametrize("genome", GENOMES, ids=lambda g: g.prior)
def test_priors_are_deterministic(genome):
    a, b = make_graph(genome), make_graph(genome)
    assert sorted(a.nodes) == list(range(genome.n_nodes))
    assert sorted(a.edges) == sorted(b.edges)


def test_same_graph_in_another_process():
    g = GENOMES[1]
    code = (
        "from nasprior.genome import Genome; from nasprior.priors import make_graph; "
        "print(sorted(make_graph(Genome(prior='watts_strogatz', n_nodes=50, k=6, p=0.2, seed=3)).edges))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(sorted(make_graph(g).edges))


def test_seed_changes_random_priors():
    g = GENOMES[0]
    assert sorted(make_graph(g).edges) != sorted(make_graph(g.replace(seed=4)).edges)


def test_prior_parameters_take_effect():
    assert make_graph(Genome(prior="complete", n_nodes=12)).number_of_edges() == 66
    ba = make_graph(Genome(prior="barabasi_albert", n_nodes=50, m=3))
    assert ba.number_of_edges() == 3 * (50 - 3)
    ws = make_graph(Genome(prior="watts_strogatz", n_nodes=50, k=6, p=0.0))
    assert all(d == 6 for _, d in ws.degree)
    assert nx.density(make_graph(Genome(prior="gnp", n_nodes=200, p=0.3))) == pytest.approx(0.3, abs=0.02)


def test_unknown_prior():
    with pytest.raises(ConfigError, match="unknown prior 'hypercube'.*gnp"):
        get_prior("hypercube")
    assert set(PRIORS) >= {"gnp", "watts_strogatz", "barabasi_albert", "complete"}


def test_watts_strogatz_repair_gives_even_k_below_n_nodes():
    """networkx joins k // 2 neighbours on either side: an odd k would be the graph of k - 1 under another key."""
    from nasprior.space import SearchSpace

    space = SearchSpace.from_dict({"genes": {"prior": ["watts_strogatz"], "n_nodes": [4, 40], "k": [2, 30]}})
    import random

    rng = random.Random(0)
    for _ in range(200):
        g = space.decode(space.random_individual(rng))
        assert g.k % 2 == 0 and 2 <= g.k < g.n_nodes
