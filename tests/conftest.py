"""Root fixtures. Helpers live in the ``helpers`` package (``from helpers.media import ...``; never ``from conftest``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.media import synthetic_frames, write_clip


@pytest.fixture
def tiny_clip(tmp_path: Path) -> Path:
    """An 8-frame 64x48 H.264 mp4 written in the test's own folder."""
    return write_clip(tmp_path / "tiny.mp4", synthetic_frames(8, 48, 64))
