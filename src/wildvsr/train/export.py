"""Turning a training checkpoint into weights ``wildvsr upscale --weights`` loads (our safetensors format)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from wildvsr.errors import InputError
from wildvsr.models import create_model, save_pretrained
from wildvsr.train.checkpoint import EMA_KEY, GENERATOR_KEY, generator_weights, latest_checkpoint, load_checkpoint
from wildvsr.train.config import config_from_dict

logger = logging.getLogger(__name__)


def export_checkpoint(checkpoint: str | os.PathLike, output: str | os.PathLike, *, ema: bool = False,
                      half: bool = False, overwrite: bool = False) -> Path:
    """Write the generator of ``checkpoint`` as one ``.safetensors`` file with its architecture and config in the
    metadata (``wildvsr.models.save_pretrained``).

    Args:
        checkpoint: a ``step_*.pt`` file, or a run / ``checkpoints`` folder (its newest checkpoint is used).
        output: target ``.safetensors`` path (written atomically).
        ema: export the EMA weights instead of the raw ones.
        half: store fp16 tensors (half the size; ``upscale`` casts back to its precision).
        overwrite: replace an existing output.

    Raises:
        InputError: no checkpoint there, no EMA in it, or the output does not end in ``.safetensors``.
    """
    checkpoint, output = Path(checkpoint), Path(output)
    if output.suffix != ".safetensors":
        raise InputError(f"export output must end in .safetensors, got {output}")
    if checkpoint.is_dir():
        found = latest_checkpoint(checkpoint / "checkpoints") or latest_checkpoint(checkpoint)
        if found is None:
            raise InputError(f"no step_*.pt checkpoint in {checkpoint}")
        checkpoint = found
    state = load_checkpoint(checkpoint)
    cfg = config_from_dict(state["config"])
    key = EMA_KEY if ema else GENERATOR_KEY
    model = create_model(cfg.model.name, **dict(cfg.model.kwargs))
    model.load_state_dict(generator_weights(state, ema=ema, source=checkpoint))
    if half:
        model = model.half()
    meta = {"wildvsr.train.step": str(state["step"]), "wildvsr.train.recipe": cfg.name,
            "wildvsr.train.weights": key}
    path = save_pretrained(model, output, overwrite=overwrite, metadata=meta)
    logger.info("exported %s weights of %s (step %d) to %s", key, checkpoint, state["step"], path)
    return path
