"""Graph priors: random-graph models that generate candidate topologies.

Each prior is a :class:`Prior` in the registry :data:`PRIORS`, defined in
its own module:

* :mod:`~nasprior.priors.random_graphs`: ``gnp`` (Erdős–Rényi),
  ``watts_strogatz``, ``barabasi_albert``, ``complete`` (dense baseline);
* :mod:`~nasprior.priors.layerwise`: ``radixnet``, ``expander``, ``er_set``
  (masks per layer; ``mapping = "layered"`` only);
* :mod:`~nasprior.priors.block_model`: ``block_model`` (stochastic block model).

To add a prior, write a module that calls :func:`register_prior` and import
it here.
"""

# Each module registers its priors on import; the order is the registry's order.
from . import random_graphs  # noqa: F401  isort: skip
from . import layerwise  # noqa: F401  isort: skip
from . import block_model  # noqa: F401  isort: skip
from .base import PRIORS, Prior, get_prior, make_graph, network_key, network_of, register_prior

__all__ = ["PRIORS", "Prior", "get_prior", "make_graph", "network_key", "network_of", "register_prior"]
