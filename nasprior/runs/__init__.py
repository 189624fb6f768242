"""Runs: what a command writes and reads back.

* :mod:`~nasprior.runs.outputs`: the one checked path by which commands
  create run directories, run locks and output files;
* :mod:`~nasprior.runs.records`: the append-only record log (one JSON object
  per evaluated candidate) and its schema;
* :mod:`~nasprior.runs.sampling`: ``nasprior sample``, a random, exhaustive or
  final-fidelity sample of a space trained as a run;
* :mod:`~nasprior.runs.tabular`: a table of trained genomes that answers a
  search by lookup.

Each module keeps its own layer (``tests/test_architecture.py``): import
them by their full names.
"""
