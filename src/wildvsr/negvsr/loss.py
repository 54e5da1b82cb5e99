"""Augmented-negative guidance loss L_Aug-N (P-Neg Eq. 14, 16).

``L_Aug-N = (1/B) * sum_i || Y_hat_i - Y_i ||_2`` with ``Y = VSR(V_lr)`` (positive) and ``Y_hat = VSR(NegMix(V_lr))``
(negative); the total is ``L_Aug-NP = L_Aug-P + lambda * L_Aug-N`` with lambda = 0.5.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from wildvsr.errors import InputError

REDUCTIONS = ("rms", "norm", "mse")
DETACH = ("none", "positive", "negative")


class AugNegativeLoss(nn.Module):
    """``weight * L_Aug-N(negative, positive)``.

    Reductions (``d_i`` = the difference of sample i flattened over T, C, H, W, with n elements):

    - ``"rms"`` (default): ``mean_i ||d_i||_2 / sqrt(n)``. Eq. 14's per-sample L2 distance, divided by sqrt(n) so that
      lambda = 0.5 weighs it on the scale of the mean-reduced pixel loss it is added to (Eq. 16). Same gradient
      direction per sample as Eq. 14.
    - ``"norm"``: ``mean_i ||d_i||_2``, Eq. 14 literally. Its size grows with sqrt(n) (about 2,400 x the ``rms``
      value for T = 30 frames of 3 x 256 x 256), so lambda = 0.5 would let it dominate L_Aug-P.
    - ``"mse"``: ``mean(d^2)`` over all elements (mmedit's ``MSELoss``); the official training code that would tell
      which one the authors used is not released.

    Gradient rule (``detach``): the paper minimises ``L_Aug-P + lambda * L_Aug-N`` jointly (Alg. 1) and says nothing
    about a stop-gradient, and the released code has no loss; so by default (``"none"``) **both outputs receive the
    gradient**: the negative output is pulled toward the positive one and the positive toward the negative.
    ``"positive"`` detaches the positive output (a fixed target: only the NegMix branch learns from this term);
    ``"negative"`` detaches the negative output (Fig. 1's wording, "L_Aug-N drives Y to learn the robust features
    present in the negative output").

    Args:
        weight: lambda (0.5 in the paper).
        reduction: ``"rms"``, ``"norm"`` or ``"mse"``.
        detach: ``"none"``, ``"positive"`` or ``"negative"``.

    Shapes: ``negative`` and ``positive`` are equal-shaped float tensors (B, ...), typically (B, T, 3, 4H, 4W) in
    [0, 1]. Returns a float32 scalar.
    """

    def __init__(self, weight: float = 0.5, reduction: Literal["rms", "norm", "mse"] = "rms",
                 detach: Literal["none", "positive", "negative"] = "none") -> None:
        super().__init__()
        if weight < 0:
            raise InputError(f"AugNegativeLoss weight must be >= 0, got {weight}")
        if reduction not in REDUCTIONS:
            raise InputError(f"AugNegativeLoss reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if detach not in DETACH:
            raise InputError(f"AugNegativeLoss detach must be one of {DETACH}, got {detach!r}")
        self.weight, self.reduction, self.detach = weight, reduction, detach

    def extra_repr(self) -> str:
        return f"weight={self.weight}, reduction={self.reduction!r}, detach={self.detach!r}"

    def forward(self, negative: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
        if negative.shape != positive.shape:
            raise InputError(f"negative {tuple(negative.shape)} and positive {tuple(positive.shape)} outputs differ")
        if self.detach == "positive":
            positive = positive.detach()
        elif self.detach == "negative":
            negative = negative.detach()
        diff = (negative.float() - positive.float()).flatten(1)
        if self.reduction == "mse":
            value = diff.pow(2).mean()
        else:
            value = torch.linalg.vector_norm(diff, ord=2, dim=1)
            if self.reduction == "rms":
                value = value / math.sqrt(diff.shape[1])
            value = value.mean()
        return self.weight * value
