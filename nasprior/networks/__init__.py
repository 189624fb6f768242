"""Networks: sparse torch networks built from a genome's prior graph.

* :mod:`~nasprior.networks.layers`: the masked layer and the base class of
  every sparse network (real fan-in initialisation, mask upkeep, counts);
* :mod:`~nasprior.networks.registry`: the mapping registry and
  :func:`build_network` (genome + task shape -> network);
* :mod:`~nasprior.networks.feedforward`: mappings ``graph``
  (graph-as-network) and ``layered`` (fixed widths, masks from the graph);
* :mod:`~nasprior.networks.recurrent`: mapping ``recurrent`` (masked
  RNN/GRU/LSTM layers per DAG layer);
* :mod:`~nasprior.networks.convolutional`: mapping ``convolutional``
  (randomly wired CNNs; Xie et al. 2019).
* :mod:`~nasprior.networks.sparse`: the real sparse (CSR) layer the layered
  mapping uses for large, sparse layers.

To add a mapping, write a module that calls :func:`register_mapping` and
import it here.
"""

# Each module registers its mappings on import; the order is the registry's order.
from . import feedforward  # noqa: F401  isort: skip
from . import recurrent  # noqa: F401  isort: skip
from . import convolutional  # noqa: F401  isort: skip
from .convolutional import RandWireNetwork, image_shape
from .feedforward import GraphNetwork, LayeredNetwork, layered_masks
from .layers import MaskedLinear, SparseNetwork, dense_fan_in_init_, sparse_init_
from .recurrent import CELLS, RecurrentGraphNetwork, build_recurrent_network
from .registry import MAPPINGS, Mapping, build_network, get_mapping, register_mapping
from .sparse import SPARSE_MAX_DENSITY, SPARSE_MIN_WEIGHTS, SparseLinear, use_sparse_kernel

__all__ = [
    "CELLS",
    "SPARSE_MAX_DENSITY",
    "SPARSE_MIN_WEIGHTS",
    "SparseLinear",
    "use_sparse_kernel",
    "GraphNetwork",
    "RandWireNetwork",
    "image_shape",
    "LayeredNetwork",
    "MAPPINGS",
    "Mapping",
    "MaskedLinear",
    "RecurrentGraphNetwork",
    "SparseNetwork",
    "build_network",
    "build_recurrent_network",
    "dense_fan_in_init_",
    "get_mapping",
    "layered_masks",
    "register_mapping",
    "sparse_init_",
]
