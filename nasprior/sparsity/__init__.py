"""Sparsity: pruning (Stier et al. 2021; Han et al. 2015), SET rewiring (Mocanu et al. 2018), the topology distance
NNSTD (Liu et al. 2020) and the pruning/rewiring reproduction experiments.

The modules sit at different layers of the package (NNSTD needs only numpy, the experiments train networks), so
this package imports none of them: import ``nasprior.sparsity.pruning``, ``.set_rewiring``, ``.nnstd`` or
``.experiments`` directly.
"""
