"""Shared fixtures: small graphs, the offline data directory, quiet torch."""

from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)

#: ../shared/data beside the checkout, if present.
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """Path of the offline data sets; skips the test when they are absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"offline data not found at {SHARED_DATA}")
    return SHARED_DATA
