"""Tutorial: build a network from a graph prior and train it in your own loop (runs in about 10 s on one core).

Run from the repository root: ``python docs/examples/train_own_loop.py``.
"""

import torch
import torch.nn.functional as F

from nasprior import Genome, build_network, load_task, make_graph

torch.manual_seed(0)
data = load_task("digits", seed=0)  # scikit-learn's 8x8 digits: bundled, no download

# Two hidden layers of 128 units whose masks come from a Watts-Strogatz graph (the layered mapping).
genome = Genome("watts_strogatz", mapping="layered", n_nodes=128, k=16, p=0.2, n_layers=2, width=128, seed=7)
graph = make_graph(genome)
net = build_network(genome, data.shape)
n_weights = sum(int(m.sum()) for name, m in net.named_buffers() if "mask" in name)
print(
    f"{genome.prior}: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges, {n_weights} masked-in weights"
)

optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
for epoch in range(15):
    net.train()
    for batch in torch.randperm(len(data.x_train)).split(64):
        loss = F.cross_entropy(net(data.x_train[batch]), data.y_train[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
net.eval()
with torch.no_grad():
    val_acc = (net(data.x_val).argmax(1) == data.y_val).float().mean().item()
print(f"validation accuracy after 15 epochs: {val_acc:.3f}")
