import json
import subprocess
import sys

import pytest

from nasprior.errors import ConfigError
from nasprior.genome import Genome


def test_json_round_trip_and_key():
    g = Genome(prior="watts_strogatz", n_nodes=30, k=4, p=0.25, seed=7)
    again = Genome.from_json(g.to_json())
    assert again == g
    assert again.key == g.key
    assert len(g.key) == 16
    assert g.replace(seed=8).key != g.key


def test_key_is_stable_across_processes():
    g = Genome(prior="barabasi_albert", n_nodes=40, m=3, seed=11)
    code = "from nasprior.genome import Genome; print(Genome(prior='barabasi_albert', n_nodes=40, m=3, seed=11).key)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == g.key


def test_integral_floats_are_accepted_as_ints():
    assert Genome.from_dict({"n_nodes": 32.0}).n_nodes == 32


@pytest.mark.parametrize(
    "fields, field_name",
    [
        ({"p": 1.5}, "'p'"),
        ({"n_nodes": 1}, "'n_nodes'"),
        ({"mapping": "tree"}, "'mapping'"),
        ({"prior": "small_world"}, "'prior'"),
        ({"prior": "watts_strogatz", "n_nodes": 4, "k": 4}, "'k'"),
        ({"prior": "barabasi_albert", "n_nodes": 4, "m": 5}, "'m'"),
        ({"mapping": "layered", "n_nodes": 64, "width": 32}, "'width'"),
        ({"seed": -1}, "'seed'"),
        ({"n_nodes": "many"}, "'n_nodes'"),
    ],
)
def test_invalid_fields_name_the_field_and_range(fields, field_name):
    with pytest.raises(ConfigError, match=field_name):
        Genome.from_dict(fields)


def test_unknown_field_and_bad_json():
    with pytest.raises(ConfigError, match="unknown genome field"):
        Genome.from_dict({"colour": "red"})
    with pytest.raises(ConfigError, match="not valid JSON"):
        Genome.from_json("{prior: gnp")
    with pytest.raises(ConfigError, match="JSON object"):
        Genome.from_dict(json.loads("[1, 2]"))


def test_decode_gives_one_key_per_network():
    from nasprior.space import GENE_ORDER, SearchSpace, default_space_path

    space = SearchSpace.from_toml(default_space_path("digits"))
    base = [0.5] * len(GENE_ORDER)
    index = {gene: i for i, gene in enumerate(GENE_ORDER)}

    def decode(**changes):
        ind = list(base)
        for gene, u in changes.items():
            ind[index[gene]] = u
        return space.decode(ind)

    gnp_graph = dict(prior=0.0, mapping=0.0)  # first choices: gnp, graph mapping
    a, b = decode(**gnp_graph, m=0.1, k=0.1, width=0.1), decode(**gnp_graph, m=0.9, k=0.9, width=0.9)
    assert a == b and a.key == b.key  # m, k and width do not shape a gnp graph-as-network
    assert decode(**gnp_graph, p=0.1).key != decode(**gnp_graph, p=0.9).key
    complete = dict(prior=0.99, mapping=0.0)  # complete: deterministic, the seed does not matter
    assert decode(**complete, seed=0.1).prior == "complete"
    assert decode(**complete, seed=0.1).key == decode(**complete, seed=0.9).key
    assert decode(**gnp_graph, seed=0.1).key != decode(**gnp_graph, seed=0.9).key
