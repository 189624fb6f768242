"""Compute: where and how the work runs.

* :mod:`~nasprior.compute.cores`: the CPU cores this process may use (the
  default of ``--threads`` and ``--workers``);
* :mod:`~nasprior.compute.parallel`: candidates evaluated as Dask futures on a
  local or a user's cluster;
* :mod:`~nasprior.compute.progress`: a live rich display on a terminal, plain
  lines elsewhere.

Each module keeps its own layer (``tests/test_architecture.py``): import
them by their full names.
"""
