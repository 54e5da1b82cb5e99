"""Fixtures for the degradation tests (the root conftest's helpers are loaded under a unique module name)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
_spec = importlib.util.spec_from_file_location("_wildvsr_degrade_tests_root", _ROOT_CONFTEST)
root = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = root
_spec.loader.exec_module(root)


@pytest.fixture(scope="session")
def grainy_clip() -> np.ndarray:
    """``(16, 128, 128, 3)`` uint8: smooth moving content plus mild grain (so rate control has work to do)."""
    rng = np.random.default_rng(0)
    frames = root.synthetic_frames(16, 128, 128).astype(np.float64)
    return np.clip(frames + rng.normal(0, 3, frames.shape), 0, 255).astype(np.uint8)
