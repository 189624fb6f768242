import json

import numpy as np
import pytest

from nasprior.cli import main
from nasprior.errors import ConfigError
from nasprior.sparsity.nnstd import neuron_costs, nnstd, nnstd_layers, population_diversity


def random_masks(widths, density, seed):
    rng = np.random.default_rng(seed)
    return [rng.random((n_out, n_in)) < density for n_in, n_out in zip(widths[:-1], widths[1:])]


def permute_hidden(masks, seed):
    """Rename the hidden units of every layer: rows of layer l and columns of layer l+1."""
    rng = np.random.default_rng(seed)
    out = [m.copy() for m in masks]
    for l in range(len(out) - 1):
        p = rng.permutation(out[l].shape[0])
        out[l] = out[l][p]
        out[l + 1] = out[l + 1][:, p]
    return out


def test_neuron_costs_by_hand():
    a = np.array([[1, 1, 0, 0], [0, 0, 0, 0]], dtype=bool)
    b = np.array([[0, 1, 1, 0], [0, 0, 0, 0], [1, 1, 0, 0]], dtype=bool)
    cost = neuron_costs(a, b)
    # {0,1} vs {1,2}: Δ = {0,2}, ∪ = {0,1,2}; empty vs empty: 0; empty vs {1,2}: 1
    np.testing.assert_allclose(cost, [[2 / 3, 1.0, 0.0], [1.0, 0.0, 1.0]])


def test_distance_zero_to_itself_and_to_permutations():
    masks = random_masks([30, 20, 16, 12], 0.3, seed=0)
    assert nnstd(masks, masks) == 0.0
    assert nnstd(masks, permute_hidden(masks, seed=1)) == pytest.approx(0.0, abs=1e-12)
    # permuting the shared input features is a real change
    shuffled_inputs = [masks[0][:, np.random.default_rng(2).permutation(30)]] + masks[1:]
    assert nnstd(masks, shuffled_inputs) > 0.1


def test_disjoint_topologies_are_at_distance_one():
    a = [np.zeros((4, 6), bool), np.zeros((3, 4), bool)]
    a[0][:, :3] = True  # every hidden unit reads inputs 0-2
    a[1][:, :] = True  # every output reads every hidden unit
    b = [~a[0], np.zeros((3, 4), bool)]  # hidden units read inputs 3-5, outputs read nothing
    assert nnstd(a, b) == pytest.approx(1.0)
    assert nnstd_layers(a, b) == [pytest.approx(1.0), pytest.approx(1.0)]


def test_known_value_single_layer():
    a = [np.array([[1, 1, 0], [0, 0, 1]], bool)]
    b = [np.array([[0, 0, 1], [1, 0, 0]], bool)]
    # best pairing: a0 {0,1} <-> b1 {0} (1/2), a1 {2} <-> b0 {2} (0): layer distance 0.5 / 2
    assert nnstd(a, b) == pytest.approx(0.25)


def test_symmetric_and_bounded():
    for seed in range(4):
        a = random_masks([25, 15, 10], 0.2 + 0.1 * seed, seed=seed)
        b = random_masks([25, 15, 10], 0.4, seed=100 + seed)
        d = nnstd(a, b)
        assert 0.0 < d <= 1.0
        assert d == pytest.approx(nnstd(b, a))


def test_population_diversity():
    a = random_masks([20, 10, 5], 0.3, seed=0)
    b = random_masks([20, 10, 5], 0.3, seed=1)
    c = random_masks([20, 10, 5], 0.3, seed=2)
    assert population_diversity([a]) == 0.0
    assert population_diversity([a, permute_hidden(a, 3)]) == pytest.approx(0.0, abs=1e-12)
    expected = np.mean([nnstd(a, b), nnstd(a, c), nnstd(b, c)])
    assert population_diversity([a, b, c]) == pytest.approx(expected)


def test_different_widths_are_refused():
    with pytest.raises(ConfigError, match="equal layer widths"):
        nnstd(random_masks([10, 5, 3], 0.5, 0), random_masks([10, 6, 3], 0.5, 0))


def test_cli_nnstd(tmp_path, capsys):
    genome = {"prior": "gnp", "n_nodes": 16, "p": 0.3, "mapping": "layered", "n_layers": 2, "width": 32, "seed": 1}
    path = tmp_path / "a.json"
    path.write_text(json.dumps(genome))
    assert main(["nnstd", str(path), json.dumps(genome), "--n-inputs", "20"]) == 0
    assert "NNSTD: 0.0000" in capsys.readouterr().out
    other = dict(genome, seed=2)
    assert main(["nnstd", str(path), json.dumps(other), "--task", "digits"]) == 0
    out = capsys.readouterr().out
    assert "NNSTD: 0.0000" not in out and "NNSTD: " in out
    wider = dict(genome, width=48)
    assert main(["nnstd", str(path), json.dumps(wider), "--n-inputs", "20"]) == 2
    assert "equal layer widths" in capsys.readouterr().err
