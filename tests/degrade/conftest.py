"""Fixtures for the degradation tests (helpers come from the ``helpers`` package)."""

import numpy as np
import pytest
from helpers.media import synthetic_frames


@pytest.fixture(scope="session")
def grainy_clip() -> np.ndarray:
    """``(16, 128, 128, 3)`` uint8: smooth moving content plus mild grain (so rate control has work to do)."""
    rng = np.random.default_rng(0)
    frames = synthetic_frames(16, 128, 128).astype(np.float64)
    return np.clip(frames + rng.normal(0, 3, frames.shape), 0, 255).astype(np.uint8)
