"""The one helper for the cores available, and that the CLI and Dask defaults use it."""

from __future__ import annotations

import os

import pytest

from nasprior.cli import base
from nasprior.compute import cores


def test_available_cores_is_the_affinity_mask(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert cores.available_cores() == 3


def test_available_cores_without_affinity_is_the_cpu_count(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert cores.available_cores() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # undeterminable
    assert cores.available_cores() == 1


def test_threads_default_to_the_available_cores(monkeypatch):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    monkeypatch.setattr(base, "available_cores", lambda: 1)
    try:
        assert base.set_threads(type("Args", (), {"threads": None})()) == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
