"""Tutorial: add a graph prior through the registry and build networks from it (runs in a few seconds).

Run from the repository root: ``python docs/examples/add_prior.py``. The prior here, ``ring_of_cliques``, is
networkx's ring of cliques; in a package you would put it in ``nasprior/priors/<name>.py`` and import that
module in ``nasprior/priors/__init__.py`` (``nasprior/priors/block_model.py`` is the worked example), then list
its genes in a search space's ``[genes]`` table.
"""

import networkx as nx

from nasprior import PRIORS, Genome, build_network, load_task, make_graph, register_prior
from nasprior.genes import SEED, Gene
from nasprior.priors.base import Prior

N_CLIQUES = Gene("n_cliques", "int", 4, 2, 32, doc="ring of cliques: cliques")
CLIQUE_SIZE = Gene("clique_size", "int", 5, 2, 32, doc="ring of cliques: nodes per clique")

if "ring_of_cliques" not in PRIORS:
    register_prior(
        Prior(
            "ring_of_cliques",
            (N_CLIQUES, CLIQUE_SIZE, SEED),
            build=lambda g: nx.ring_of_cliques(g.n_cliques, g.clique_size),
            describe=lambda g: f"cliques={g.n_cliques} size={g.clique_size}",
            expected_edges=lambda g: g.n_cliques * (g.clique_size * (g.clique_size - 1) / 2 + 1),
            reference="networkx.ring_of_cliques",
        )
    )

genome = Genome("ring_of_cliques", mapping="graph", n_cliques=4, clique_size=6)
graph = make_graph(genome)
net = build_network(genome, load_task("digits").shape)
print(f"{genome.prior} ({PRIORS['ring_of_cliques'].describe(genome)}): {graph.number_of_edges()} edges")
print(f"network: {sum(p.numel() for p in net.parameters())} parameters; genome key {genome.key}")
