import pytest
import torch

from nasprior.errors import ConfigError
from nasprior.genome import Genome
from nasprior.networks import build_network
from nasprior.tasks import load_task
from nasprior.training import TrainConfig, accuracy, train


def test_sparse_network_learns_digits():
    data = load_task("digits", seed=0)
    assert len(data.x_val) > 0 and data.x_train.shape[1:] == (8, 8)
    assert abs(float(data.x_train.mean())) < 1e-4  # normalised with training statistics
    torch.manual_seed(0)
    net = build_network(Genome(prior="gnp", n_nodes=32, p=0.3, mapping="layered", n_layers=1, width=64), 64, 10)
    result = train(net, data.x_train, data.y_train, data.x_val, data.y_val,
                   TrainConfig(epochs=15, batch_size=64, lr=3e-3, patience=0), data.x_test, data.y_test)
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
