"""The CPU cores this process may use: the one default of ``--threads`` and ``--workers``."""

from __future__ import annotations

import os

__all__ = ["available_cores"]


def available_cores() -> int:
    """Return the number of CPU cores this process may run on.

    On Linux this is the size of the process's CPU affinity mask
    (:func:`os.sched_getaffinity`), which honours ``taskset``, cgroup cpusets
    and batch schedulers that pin a job to some cores; elsewhere it is
    :func:`os.cpu_count` (all cores of the machine).

    Returns
    -------
    int
        Number of cores, at least 1.
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
