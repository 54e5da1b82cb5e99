"""Fixtures for training tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.train import write_clips


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> Path:
    """Two 12-frame 96x80 lossless synthetic clips (GT crops of 64 have room to move)."""
    return write_clips(tmp_path_factory.mktemp("clips"))
