"""Size features of a network: the baseline every structural predictor is compared with."""

from __future__ import annotations

from typing import Any

#: Names of the features of :func:`size_features`, in order.
SIZE_FEATURE_NAMES = ("n_params", "n_weights", "network_density", "first_layer_width", "n_hidden_layers", "n_flops")


def size_features(network: Any) -> dict[str, float]:
    """Size of a network.

    Parameters
    ----------
    network : SparseNetwork
        Any network of :mod:`nasprior.networks` (it has ``n_params``,
        ``n_weights``, ``density``, ``first_layer_width`` and
        ``n_hidden_layers``, and optionally ``n_flops``).

    Returns
    -------
    dict of str to float
        ``n_params`` (present weights + biases), ``n_weights`` (present
        weights), ``network_density`` (fraction of possible weights present),
        ``first_layer_width`` (units fed by the input), ``n_hidden_layers``,
        ``n_flops`` (multiply-accumulates of one forward pass per example:
        the network's ``n_flops`` where it has one, e.g. a convolutional
        network; else its present weights, one multiply-accumulate each, per
        time step for recurrent networks).
    """
    return {
        "n_params": float(network.n_params),
        "n_weights": float(network.n_weights),
        "network_density": float(network.density),
        "first_layer_width": float(network.first_layer_width),
        "n_hidden_layers": float(network.n_hidden_layers),
        "n_flops": float(getattr(network, "n_flops", network.n_weights)),
    }
