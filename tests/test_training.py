import pytest
import torch

from nasprior.errors import ConfigError
from nasprior.genome import Genome
from nasprior.networks import build_network
from nasprior.tasks import TaskShape, load_task
from nasprior.training import TrainConfig, accuracy, train


def test_sparse_network_learns_digits():
    data = load_task("digits", seed=0)
    assert len(data.x_val) > 0 and data.x_train.shape[1:] == (8, 8)
    assert abs(float(data.x_train.mean())) < 1e-4  # normalised with training statistics
    torch.manual_seed(0)
    net = build_network(
        Genome(prior="gnp", n_nodes=32, p=0.3, mapping="layered", n_layers=1, width=64), TaskShape("t", 64, 10)
    )
    result = train(
        net,
        data.x_train,
        data.y_train,
        data.x_val,
        data.y_val,
        TrainConfig(epochs=15, batch_size=64, lr=3e-3, patience=0),
        data.x_test,
        data.y_test,
    )
    assert result.val_acc > 0.85
    assert result.test_acc > 0.8
    assert result.epochs_run == 15 and len(result.curve) == 15
    assert result.curve[-1]["train_loss"] < result.curve[0]["train_loss"]
    assert accuracy(net, data.x_val, data.y_val) == pytest.approx(result.val_acc)  # best weights restored


def test_early_stopping():
    torch.manual_seed(0)
    x, y = torch.randn(64, 5), torch.randint(0, 2, (64,))  # labels are noise: validation stalls
    net = torch.nn.Linear(5, 2)
    result = train(net, x, y, x[:16], y[:16], TrainConfig(epochs=50, patience=2, lr=1e-6))
    assert result.epochs_run < 50


def test_invalid_training_options():
    with pytest.raises(ConfigError, match="'epochs'"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="'optimizer'.*adam"):
        TrainConfig(optimizer="rmsprop")


def test_set_zeta_rewires_masks_at_fixed_density():
    torch.manual_seed(0)
    genome = Genome(prior="er_set", mapping="layered", n_layers=2, width=32, epsilon=4.0, seed=2)
    net = build_network(genome, TaskShape("t", 20, 3))
    masks0 = [layer.mask.clone() for layer in net.layers]
    x = torch.randn(2048, 20)
    y = x[:, :3].argmax(dim=1)  # learnable, so a later epoch (with rewired masks) is the best one kept
    result = train(net, x, y, x[:128], y[:128], TrainConfig(epochs=3, batch_size=64, lr=0.01, patience=0, set_zeta=0.3))
    assert result.curve[1]["val_acc"] > result.curve[0]["val_acc"]
    for layer, m0 in zip(net.layers, masks0):
        assert int(layer.mask.sum()) == int(m0.sum())  # density unchanged
        assert not torch.equal(layer.mask, m0)  # topology evolved
        assert (layer.weight[~layer.mask] == 0).all()
    assert net.output_layer.mask.all()
    with pytest.raises(ConfigError, match="'set_zeta'.*fraction"):
        TrainConfig(set_zeta=1.5)


def test_length_bucketed_batches_cover_every_example_once_with_similar_lengths():
    from nasprior.training import length_bucketed_batches

    lengths = torch.randint(1, 40, (1000,), generator=torch.Generator().manual_seed(0))
    batches = length_bucketed_batches(lengths, 64, torch.Generator().manual_seed(1))
    assert sorted(torch.cat(batches).tolist()) == list(range(1000))
    assert max(len(b) for b in batches) == 64
    spread = [int(lengths[b].max() - lengths[b].min()) for b in batches]
    assert max(spread) <= 3  # ~25 examples per length: a batch of 64 spans at most 4 lengths
    again = length_bucketed_batches(lengths, 64, torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip(batches, again))  # seeded


def test_bucket_by_length_needs_id_sequences():
    x = torch.randn(20, 3)
    y = torch.zeros(20, dtype=torch.long)
    with pytest.raises(ConfigError, match="bucket_by_length"):
        train(torch.nn.Linear(3, 2), x, y, x, y, TrainConfig(epochs=1, bucket_by_length=True))
