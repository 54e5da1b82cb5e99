"""Constants and helpers of the app tests (a unique module name: importable from every test file)."""

from __future__ import annotations

from pathlib import Path

MAX_UPLOAD_MB = 1
MAX_FRAMES = 12
TINY = "basicvsr_tiny.safetensors"


def make_tiny_weights(path: Path) -> Path:
    """A real BasicVSR (SPyNet included), 8 channels and 1 block, fixed random weights (seconds on 2 cores)."""
    import torch

    from wildvsr.models import create_model, save_pretrained

    torch.manual_seed(0)  # test-only: the weights only need to be fixed, not good
    return save_pretrained(create_model("basicvsr", mid_channels=8, num_blocks=1), path)
