"""A graph isomorphism network (GIN) that predicts accuracy from a candidate's stage DAG and its size.

The feature-based predictors (:mod:`nasprior.predictors.regressors`) see a
graph through hand-made statistics. A graph neural network reads the graph
itself: :class:`GINRegressor` runs ``layers`` rounds of GIN message passing
(Xu, Hu, Leskovec & Jegelka 2019) over the oriented DAG of a genome (the
graph every stage of a ``convolutional`` network is wired by; the DAG of a
``graph`` network), with each node's in-degree, out-degree, depth and
source/sink flags as its first features, in both directions of the edges
(from predecessors and from successors, as a DAG is directed):

``h_v <- MLP((1 + eps) h_v + sum_{u -> v} h_u || sum_{v -> w} h_w)``

The sums of the node states after every round (the GIN readout), joined with
a vector of global features of the candidate (e.g. log parameters, log
multiply-accumulates, one-hot genes), go through an MLP to one number. It is
trained with Adam on the standardised target, full batch, from a seed; the
prediction is the mean of ``ensemble`` such networks from consecutive seeds.
Plain torch, dense padded batches: the graphs of these spaces have a few
dozen nodes at most.

References
----------
.. [Xu2019] K. Xu, W. Hu, J. Leskovec and S. Jegelka, "How powerful are graph
   neural networks?", ICLR 2019, arXiv:1810.00826.
.. [Wen2020] W. Wen, H. Liu, Y. Chen, H. Li, G. Bender and P.-J. Kindermans,
   "Neural predictor for neural architecture search", ECCV 2020 (a graph
   network on the cell DAG as an accuracy predictor).
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import torch
from torch import nn

from ..errors import PredictorError

#: Node features of :func:`dag_tensors`, in column order.
NODE_FEATURES = ("in_degree", "out_degree", "depth", "is_source", "is_sink", "bias")


def dag_tensors(graphs: Sequence[nx.DiGraph], max_nodes: int | None = None) -> tuple[torch.Tensor, ...]:
    """Padded dense tensors of DAGs: adjacency, node features and node mask.

    Parameters
    ----------
    graphs : sequence of networkx.DiGraph
        Acyclic graphs (nodes in any order; they are sorted).
    max_nodes : int, optional
        Padding size (default: the largest graph).

    Returns
    -------
    adjacency : torch.Tensor of float32, shape (n_graphs, max_nodes, max_nodes)
        ``adjacency[b, u, v] = 1`` for an edge u -> v.
    nodes : torch.Tensor of float32, shape (n_graphs, max_nodes, len(NODE_FEATURES))
        Degrees and depth divided by the graph's node count, source and sink flags, a constant 1.
    mask : torch.Tensor of float32, shape (n_graphs, max_nodes)
        1 for real nodes, 0 for padding.

    Raises
    ------
    PredictorError
        If a graph has a cycle or no nodes, or more than ``max_nodes`` nodes.
    """
    sizes = [g.number_of_nodes() for g in graphs]
    m = max(sizes, default=1) if max_nodes is None else max_nodes
    adjacency = torch.zeros(len(graphs), m, m)
    nodes = torch.zeros(len(graphs), m, len(NODE_FEATURES))
    mask = torch.zeros(len(graphs), m)
    for b, g in enumerate(graphs):
        n = g.number_of_nodes()
        if n == 0 or n > m or not nx.is_directed_acyclic_graph(g):
            raise PredictorError(
                f"graph {b} has {n} nodes{'' if n == 0 or n > m else ' and a cycle'}: the GIN reads DAGs of 1 to "
                f"{m} nodes (orient a prior graph with nasprior.dag.to_dag)"
            )
        order = {v: i for i, v in enumerate(sorted(g.nodes))}
        depth = {}
        for v in nx.topological_sort(g):
            depth[v] = max((depth[u] + 1 for u in g.predecessors(v)), default=0)
        for u, v in g.edges:
            adjacency[b, order[u], order[v]] = 1.0
        for v, i in order.items():
            d_in, d_out = g.in_degree(v), g.out_degree(v)
            nodes[b, i] = torch.tensor([d_in / n, d_out / n, depth[v] / n, float(d_in == 0), float(d_out == 0), 1.0])
            mask[b, i] = 1.0
    return adjacency, nodes, mask


class _GIN(nn.Module):
    def __init__(self, n_node: int, n_global: int, hidden: int, layers: int):
        super().__init__()
        self.embed = nn.Linear(n_node, hidden)
        self.eps = nn.Parameter(torch.zeros(layers))
        self.mlps = nn.ModuleList(
            nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
            for _ in range(layers)
        )
        self.head = nn.Sequential(nn.Linear(hidden * (layers + 1) + n_global, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, adjacency, nodes, mask, glob):
        h = torch.relu(self.embed(nodes)) * mask[..., None]
        pooled = [h.sum(1)]
        for eps, mlp in zip(self.eps, self.mlps):
            from_pred = adjacency.transpose(1, 2) @ h  # sum over u -> v
            from_succ = adjacency @ h  # sum over v -> w
            h = mlp(torch.cat([(1 + eps) * h + from_pred, from_succ], dim=-1)) * mask[..., None]
            pooled.append(h.sum(1))
        return self.head(torch.cat([*pooled, glob], dim=-1)).squeeze(-1)


class GINRegressor:
    """GIN over a candidate's DAG plus global features, regressing a scalar (e.g. validation accuracy).

    Parameters
    ----------
    hidden : int
        Width of the node states and MLPs.
    layers : int
        Rounds of message passing.
    epochs : int
        Full-batch Adam steps.
    lr, weight_decay : float
    ensemble : int
        Networks from seeds ``seed, seed + 1, ...`` whose predictions are averaged.
    seed : int
    """

    def __init__(
        self,
        hidden: int = 32,
        layers: int = 3,
        epochs: int = 400,
        lr: float = 3e-3,
        weight_decay: float = 1e-4,
        ensemble: int = 3,
        seed: int = 0,
    ):
        self.hidden, self.layers, self.epochs = hidden, layers, epochs
        self.lr, self.weight_decay, self.ensemble, self.seed = lr, weight_decay, ensemble, seed

    def fit(self, graphs: Sequence[nx.DiGraph], global_features: np.ndarray, y: np.ndarray) -> GINRegressor:
        """Fit on DAGs, their global features (shape (n, n_global)) and targets (shape (n,)).

        Raises
        ------
        PredictorError
            If the lengths differ, a graph is not a DAG, or fewer than 2 rows are given.
        """
        g = np.asarray(global_features, dtype=np.float64).reshape(len(graphs), -1)
        y = np.asarray(y, dtype=np.float64)
        if len(y) != len(graphs) or len(y) < 2:
            raise PredictorError(f"{len(graphs)} graphs and {len(y)} targets: give as many of each, at least 2")
        self.max_nodes_ = max(x.number_of_nodes() for x in graphs)
        self.g_mean_, self.g_std_ = g.mean(0), g.std(0) + 1e-9
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std() + 1e-12)
        tensors = dag_tensors(graphs, self.max_nodes_)
        glob = torch.tensor((g - self.g_mean_) / self.g_std_, dtype=torch.float32)
        target = torch.tensor((y - self.y_mean_) / self.y_std_, dtype=torch.float32)
        self.models_ = []
        with torch.random.fork_rng(devices=[]):
            for k in range(self.ensemble):
                torch.manual_seed(self.seed + k)
                model = _GIN(len(NODE_FEATURES), glob.shape[1], self.hidden, self.layers)
                optimiser = torch.optim.Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
                for _ in range(self.epochs):
                    optimiser.zero_grad()
                    loss = torch.mean((model(*tensors, glob) - target) ** 2)
                    loss.backward()
                    optimiser.step()
                self.models_.append(model.eval())
        return self

    def predict(self, graphs: Sequence[nx.DiGraph], global_features: np.ndarray) -> np.ndarray:
        """Predicted targets, shape (n,).

        Raises
        ------
        PredictorError
            If the regressor is not fitted, or a graph is larger than the largest it was fitted on.
        """
        if not hasattr(self, "models_"):
            raise PredictorError("the GIN regressor is not fitted: call fit first")
        g = np.asarray(global_features, dtype=np.float64).reshape(len(graphs), -1)
        tensors = dag_tensors(graphs, self.max_nodes_)
        glob = torch.tensor((g - self.g_mean_) / self.g_std_, dtype=torch.float32)
        with torch.no_grad():
            out = torch.stack([m(*tensors, glob) for m in self.models_]).mean(0).numpy()
        return out.astype(np.float64) * self.y_std_ + self.y_mean_
