import math

import networkx as nx
import numpy as np
import pytest
import torch

from nasprior.dag import layer_nodes, to_dag
from nasprior.errors import ConfigError
from nasprior.features import mask_scores as tp
from nasprior.genome import Genome
from nasprior.networks import GraphNetwork, LayeredNetwork, build_network, dense_fan_in_init_
from nasprior.priors import layerwise as bp
from nasprior.priors import make_graph
from nasprior.priors import radixnet as rn
from nasprior.space import SearchSpace
from nasprior.tasks import TaskShape


def int_product(masks):
    """masks[-1] @ ... @ masks[0] as exact integers."""
    p = masks[0].astype(np.int64)
    for m in masks[1:]:
        p = m.astype(np.int64) @ p
    return p


# -- RadiX-Net ---------------------------------------------------------------------------------


def test_radix_layer_by_hand():
    # N = 4, radix 2, place value 2: output o reads inputs o and o - 2 (mod 4)
    expected = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]], dtype=bool)
    assert (rn.radix_layer(4, 2, 2) == expected).all()
    assert rn.radix_layer(5, 5).all()  # radix N: dense


@pytest.mark.parametrize(
    "radix_lists, blocks",
    [
        ([[2, 3], [6], [3]], [1, 2, 1, 3, 2]),
        ([[2, 2, 2], [4, 2], [2]], None),
        ([[3, 3]], [2, 1, 4]),
    ],
)
def test_radixnet_paths_are_uniform_and_density_is_r_over_n(radix_lists, blocks):
    masks = rn.radixnet_masks(radix_lists, blocks)
    radices = [r for system in radix_lists for r in system]
    n = math.prod(radix_lists[0])
    b = blocks or [1] * (len(radices) + 1)
    assert [m.shape for m in masks] == [(n * b[i + 1], n * b[i]) for i in range(len(radices))]
    for m, r in zip(masks, radices):
        assert m.mean() == pytest.approx(r / n)  # Kronecker widening keeps the density
    plain = rn.radixnet_masks(radix_lists)
    for m, r in zip(plain, radices):
        assert m.sum() == r * n and (m.sum(axis=0) == r).all() and (m.sum(axis=1) == r).all()
    p = int_product(masks)
    assert p.min() == p.max() > 0  # every input reaches every output by the same number of paths
    # the constant: complete systems multiply to J (all ones) and J @ J = N J; the last system's layers have
    # row sums prod(last system); every interior Kronecker block multiplies the count by its size
    n_systems = len(radix_lists)
    per_block = math.prod(radix_lists[-1]) * n ** (n_systems - 2) if n_systems > 1 else 1
    assert p[0, 0] == per_block * math.prod(b[1:-1])
    scores = tp.topology_scores(masks)
    assert scores["path_count_cv"] == 0.0 and scores["path_reach"] == 1.0


@pytest.mark.parametrize(
    "radix_lists, message",
    [
        ([], "non-empty list"),
        ([[2, 3], [2, 2], [3]], "system 1 \\[2, 2\\] multiplies to 4, .* N = 6"),
        ([[2, 3], [4]], "last radix system \\[4\\] multiplies to 4, which does not divide N = 6"),
        ([[2, 0]], "radix 1 of system 0 = 0"),
        ([[2, 2.5]], "radix 1 of system 0"),
        ([[2], []], "system 1"),
    ],
)
def test_radix_lists_are_validated(radix_lists, message):
    with pytest.raises(ConfigError, match=message):
        rn.radixnet_masks(radix_lists)


def test_radixnet_blocks_are_validated():
    with pytest.raises(ConfigError, match="give 3 Kronecker block sizes"):
        rn.radixnet_masks([[2, 2]], [1, 1])
    with pytest.raises(ConfigError, match="block size 1"):
        rn.radixnet_masks([[2, 2]], [1, 0, 1])


def test_radixnet_for_a_genome_shape():
    # width 512 = 8**3, 3 layers: N = 512, one complete system [8, 8, 8]; 784 inputs in 512 near-equal groups
    n, k = rn.radixnet_plan(512, 3, 8)
    assert (n, k) == (512, 3)
    masks = rn.radixnet_layered_masks(784, 512, 3, 8)
    assert [m.shape for m in masks] == [(512, 784), (512, 512), (512, 512)]
    assert all(m.mean() == pytest.approx(8 / 512) for m in masks[1:])
    p = int_product(masks)
    assert p.min() == p.max() == 1
    # width 384 = 3 * 2**7, radix 2, 2 layers: N = 4, dense blocks of 96 units, density 2/4
    masks = rn.radixnet_layered_masks(100, 384, 2, 2)
    assert rn.radixnet_plan(384, 2, 2) == (4, 2)
    assert masks[1].mean() == pytest.approx(0.5)
    p = int_product(masks)
    assert p.min() == p.max() == 96  # paths run through the 96 units of one interior block
    with pytest.raises(ConfigError, match="multiple of radix = 3"):
        rn.radixnet_plan(512, 2, 3)
    with pytest.raises(ConfigError, match="N = 512 > n_inputs = 64"):
        rn.radixnet_layered_masks(64, 512, 3, 8)


# -- random regular and Erdős–Rényi layers -----------------------------------------------------


@pytest.mark.parametrize("n_in, n_out, degree", [(300, 200, 8), (128, 256, 16), (50, 50, 50), (7, 40, 3)])
def test_random_regular_degrees(n_in, n_out, degree):
    mask = bp.random_regular_mask(n_in, n_out, degree, seed=3)
    assert mask.shape == (n_out, n_in)
    assert (mask.sum(axis=1) == degree).all()
    in_degree = mask.sum(axis=0)
    assert in_degree.max() - in_degree.min() <= 1
    if (n_out * degree) % n_in == 0:
        assert (in_degree == n_out * degree // n_in).all()  # biregular
    assert (bp.random_regular_mask(n_in, n_out, degree, seed=3) == mask).all()
    if degree < n_in:
        assert (bp.random_regular_mask(n_in, n_out, degree, seed=4) != mask).any()


def test_random_regular_rejects_bad_degree():
    with pytest.raises(ConfigError, match="choose a degree in \\[1, 10\\]"):
        bp.random_regular_mask(10, 5, 11)
    with pytest.raises(ConfigError, match="degree = 0"):
        bp.random_regular_mask(10, 5, 0)


def test_set_density_and_er_mask():
    assert bp.set_density(784, 512, 20) == pytest.approx(20 * 1296 / (784 * 512))
    assert bp.set_density(3072, 4000, 20) == pytest.approx(0.0115104, abs=1e-6)  # SET's CIFAR-10 MLP, first layer
    assert bp.set_density(10, 10, 20) == 1.0  # capped
    for bad in (0, -1.0, float("nan"), float("inf"), "20"):
        with pytest.raises(ConfigError, match="epsilon .* out of range"):
            bp.set_density(100, 100, bad)
    mask = bp.er_set_mask(784, 512, 20, seed=0)
    p = bp.set_density(784, 512, 20)
    sd = math.sqrt(p * (1 - p) / mask.size)
    assert abs(mask.mean() - p) < 5 * sd
    assert (bp.er_set_mask(784, 512, 20, seed=0) == mask).all()
    with pytest.raises(ConfigError, match="density"):
        bp.erdos_renyi_mask(10, 10, 1.5)


# -- data-free scores --------------------------------------------------------------------------


@pytest.mark.parametrize("n, dense_limit", [(10, 300), (60, 20)])  # dense LAPACK and ARPACK paths
def test_scores_of_a_cycle_have_known_values(n, dense_limit, monkeypatch):
    monkeypatch.setattr(tp, "DENSE_LIMIT", dense_limit)
    # radix_layer(n, 2) joins input i to outputs i and i + 1: the bipartite graph is the cycle C_{2n}
    mask = rn.radix_layer(n, 2)
    assert tp.algebraic_connectivity(mask) == pytest.approx(2 - 2 * math.cos(math.pi / n), rel=1e-8, abs=1e-12)
    # singular values of I + shift: 2 |cos(pi k / n)|, so sigma_1 = 2, sigma_2 = 2 cos(pi / n)
    assert tp.spectral_gap(mask, normalized=False) == pytest.approx(2 - 2 * math.cos(math.pi / n), rel=1e-6, abs=1e-12)
    assert tp.spectral_gap(mask) == pytest.approx(1 - math.cos(math.pi / n), rel=1e-6, abs=1e-12)


def test_scores_of_disconnected_and_complete_layers():
    block = np.kron(np.eye(2, dtype=bool), np.ones((30, 40), dtype=bool))  # two dense blocks, no link between
    assert tp.spectral_gap(block) == pytest.approx(0.0, abs=1e-12)
    assert tp.algebraic_connectivity(block) == 0.0
    assert tp.algebraic_connectivity(np.ones((3, 5), dtype=bool)) == 3.0  # K_{5,3}: min(5, 3)
    assert tp.spectral_gap(np.ones((3, 5), dtype=bool)) == pytest.approx(1.0)
    # closed form agrees with the eigensolver on K_{m,n} minus one edge (not dense, so it is solved)
    almost = np.ones((4, 6), dtype=bool)
    almost[0, 0] = False
    lap = tp.bipartite_laplacian(almost).toarray()
    assert tp.algebraic_connectivity(almost) == pytest.approx(np.linalg.eigvalsh(lap)[1])


def test_arpack_paths_match_dense_solvers(monkeypatch):
    monkeypatch.setattr(tp, "DENSE_LIMIT", 40)  # exercise ARPACK on small layers
    # the RadiX-Net layer has the clustered low spectrum on which plain which="SM" Lanczos can return a wrong value
    for mask in (
        bp.random_regular_mask(120, 100, 6, seed=1),
        bp.er_set_mask(120, 100, 2, seed=0),
        rn.radixnet_layered_masks(110, 100, 2, 10)[0],
    ):
        lap = tp.bipartite_laplacian(mask).toarray()
        dense_l2 = max(np.linalg.eigvalsh(lap)[1], 0.0)
        assert tp.algebraic_connectivity(mask) == pytest.approx(dense_l2, rel=1e-8, abs=1e-10)
        s = np.linalg.svd(mask.astype(float), compute_uv=False)
        assert tp.spectral_gap(mask) == pytest.approx((s[0] - s[1]) / s[0], rel=1e-8, abs=1e-12)


def test_expander_beats_a_ring_of_the_same_degree():
    expander = bp.random_regular_mask(160, 160, 8, seed=0)
    ring = rn.radix_layer(160, 8)  # a banded (ring lattice) layer with the same degrees
    assert tp.spectral_gap(expander) > 0.25 > 0.01 > tp.spectral_gap(ring)
    assert tp.algebraic_connectivity(expander) > 50 * tp.algebraic_connectivity(ring)  # 2.86 vs 0.032


def test_topology_scores_keys_and_path_uniformity():
    er = [bp.er_set_mask(100, 80, 5, seed=0), bp.er_set_mask(80, 80, 5, seed=1)]
    scores = tp.topology_scores(er)
    assert tuple(scores) == tp.TOPOLOGY_SCORE_NAMES
    assert scores["path_count_cv"] > 0.1
    assert 0 < scores["path_reach"] <= 1
    assert scores["layer_spectral_gap_min"] <= scores["layer_spectral_gap_mean"]
    counts = int_product(er).astype(float)
    assert scores["path_count_cv"] == pytest.approx(counts.std() / counts.mean())
    # 200 dense layers of 64: 64**199 paths overflows float64 without rescaling
    deep = [np.ones((64, 64), dtype=bool)] * 200
    assert tp.topology_scores(deep, score_layers=[0])["path_count_cv"] == 0.0
    empty = tp.topology_scores([np.zeros((3, 4), dtype=bool)])
    assert empty["path_reach"] == 0.0 and empty["path_count_cv"] == pytest.approx(math.sqrt(11))


def test_network_scores_of_a_graph_network_by_hand():
    g = nx.Graph([(0, 1), (1, 2), (0, 2)])  # 0 -> 1 -> 2 and the skip 0 -> 2; node 3 isolated
    g.add_node(3)
    net = GraphNetwork(to_dag(g), n_inputs=5, n_outputs=4)
    scores = tp.network_topology_scores(net)
    # sinks 3 (1 path from each input) and 2 (paths 0->2 and 0->1->2): counts [1]*5 + [2]*5
    assert scores["path_count_cv"] == pytest.approx(1 / 3)
    assert scores["path_reach"] == 1.0
    # layers: input 5 -> {0, 3} dense (K_{5,2}: gap 1, lambda_2 = 2), 1 <- 0 (K_{1,1}: 2), 2 <- {0, 1} (K_{2,1}: 1)
    assert scores["layer_algebraic_connectivity_min"] == pytest.approx(1.0)
    assert scores["layer_algebraic_connectivity_mean"] == pytest.approx(5 / 3)
    assert scores["layer_spectral_gap_mean"] == pytest.approx(1.0)


# -- sparse initialisation ---------------------------------------------------------------------


def test_real_fan_in_init_keeps_the_activation_scale_dense_init_vanishes():
    depth, width, degree = 24, 256, 13  # density 13 / 256 = 5.1%
    masks = [bp.random_regular_mask(width, width, degree, seed=[0, i]) for i in range(depth)]
    torch.manual_seed(0)
    net = LayeredNetwork(masks, n_outputs=10)  # MaskedLinear: real fan-in init (sparse_init_)
    x = torch.randn(512, width, generator=torch.Generator().manual_seed(0))

    def ratio():
        h, stds = x, []
        with torch.no_grad():
            for layer in net.layers:
                h = torch.relu(layer(h))
                stds.append(h.std().item())
        return stds[-1] / stds[0]

    real = ratio()
    assert 1 / 3 < real < 3  # measured 0.74 (seed 0); 0.58 - 1.27 over ER/regular masks and seeds
    for layer in net.layers:
        dense_fan_in_init_(layer.weight, layer.mask)
        assert (layer.weight[~layer.mask] == 0).all()
    dense = ratio()
    # each layer scales the variance by about degree / width: std ratio ~ (13/256) ** (23 / 2) ~ 1e-15
    predicted = (degree / width) ** ((depth - 1) / 2)
    assert dense < 1e-6
    assert abs(math.log10(dense) - math.log10(predicted)) < 1.5


# -- genome, priors, search space, network -----------------------------------------------------

LAYERED = [
    Genome(prior="radixnet", mapping="layered", n_layers=3, width=128, radix=4, seed=1),
    Genome(prior="expander", mapping="layered", n_layers=3, width=96, degree=8, seed=1),
    Genome(prior="er_set", mapping="layered", n_layers=2, width=64, epsilon=5.0, seed=1),
]


@pytest.mark.parametrize("genome", LAYERED, ids=lambda g: g.prior)
def test_layer_wise_priors_build_networks_and_graphs(genome):
    net = build_network(genome, TaskShape("t", 100, 10))
    assert isinstance(net, LayeredNetwork)
    masks = bp.genome_masks(genome, 100)
    assert [tuple(layer.mask.shape) for layer in net.layers] == [m.shape for m in masks]
    assert all((layer.mask.numpy() == m).all() for layer, m in zip(net.layers, masks))
    assert net(torch.randn(3, 100)).shape == (3, 10)
    # hidden-to-hidden masks do not depend on the input size
    for a, b in zip(bp.genome_masks(genome, 300)[1:], masks[1:]):
        assert (a == b).all()
    graph = make_graph(genome)
    assert graph.number_of_nodes() == genome.n_layers * genome.width
    assert graph.number_of_edges() == sum(int(m.sum()) for m in masks[1:])
    assert len(layer_nodes(to_dag(graph))) == genome.n_layers
    assert (bp.genome_masks(genome, 100)[0] == masks[0]).all()  # deterministic


def test_layer_wise_genome_masks_follow_their_genes():
    rr = bp.genome_masks(LAYERED[1], 100)
    assert all((m.sum(axis=1) == 8).all() for m in rr)
    er = bp.genome_masks(LAYERED[2].replace(width=400, epsilon=20.0), 784)
    assert er[0].mean() == pytest.approx(bp.set_density(784, 400, 20.0), abs=0.005)
    rx = bp.genome_masks(LAYERED[0], 100)  # width 128 = 2 * 4**3: N = 64, blocks of 2
    assert all(m.mean() == pytest.approx(4 / 64) for m in rx[1:])
    p = int_product(rx)
    assert p.min() == p.max()


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"prior": "radixnet", "mapping": "graph"}, "needs mapping = 'layered'"),
        ({"prior": "expander", "mapping": "graph"}, "needs mapping = 'layered'"),
        ({"prior": "radixnet", "mapping": "layered", "width": 100, "radix": 8}, "multiple of radix = 8"),
        ({"prior": "expander", "mapping": "layered", "width": 32, "degree": 40}, "'degree' = 40 exceeds width = 32"),
        ({"prior": "er_set", "mapping": "layered", "epsilon": 0.0}, "'epsilon'"),
        ({"radix": 1}, "'radix'"),
    ],
)
def test_layer_wise_genomes_are_validated(fields, message):
    with pytest.raises(ConfigError, match=message):
        Genome.from_dict(fields)


def test_layer_wise_genome_ignores_n_nodes_and_round_trips():
    g = Genome(prior="expander", mapping="layered", width=32, n_nodes=64, degree=4)  # n_nodes > width is fine here
    assert Genome.from_json(g.to_json()) == g
    assert g.replace(degree=5).key != g.key


def test_decode_repairs_layer_wise_genomes():
    space = SearchSpace(
        {
            "prior": ["radixnet", "expander", "er_set"],
            "mapping": ["graph"],
            "width": [100, 520],
            "n_layers": [1, 3],
            "radix": [2, 16],
            "degree": [4, 600],
        }
    )
    import random

    rng = random.Random(0)
    seen = set()
    for _ in range(60):
        g = space.decode(space.random_individual(rng))  # raises ConfigError if a repair is missing
        seen.add(g.prior)
        assert g.mapping == "layered"
        if g.prior == "radixnet":
            assert g.width % g.radix == 0
            bp.genome_masks(g, 784)
        if g.prior == "expander":
            assert g.degree <= g.width
    assert seen == {"radixnet", "expander", "er_set"}


def test_evaluator_features_hold_topology_scores_for_every_prior():
    from nasprior.evaluation import CANDIDATE_FEATURES as PREDICTOR_FEATURES
    from nasprior.evaluation import Evaluator
    from nasprior.tasks import TaskData
    from nasprior.training import TrainConfig

    x, y = torch.zeros(4, 64), torch.arange(4) % 2
    data = TaskData("digits", x, y, x, y, x, y, n_classes=2)
    ev = Evaluator(data, TrainConfig(), run_id="t", seed=0)
    small = [
        Genome(prior="radixnet", mapping="layered", n_layers=2, width=32, radix=4),
        Genome(prior="expander", mapping="layered", n_layers=2, width=32, degree=4),
        Genome(prior="er_set", mapping="layered", n_layers=2, width=32, epsilon=4.0),
        Genome(prior="gnp", n_nodes=20, p=0.3, seed=2),
        Genome(prior="gnp", n_nodes=16, p=0.3, mapping="layered", width=32, n_layers=2),
    ]
    for genome in small:
        features = ev.features(genome)
        assert set(PREDICTOR_FEATURES) <= set(features)
        assert set(tp.TOPOLOGY_SCORE_NAMES) <= set(PREDICTOR_FEATURES)
        assert all(math.isfinite(features[name]) for name in PREDICTOR_FEATURES)
