"""The named settings of the temporal stabilizer (no torch import: the config and the CLI validate names with it).

See :mod:`wildvsr.inference.stabilizer` for what the numbers do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["STABILIZERS", "StabilizerSettings", "TEMPORAL_CHOICES", "WARMUP_RESIDUAL"]

WARMUP_RESIDUAL = 0.01
"""Largest weight the state from before a segment's warm-up may keep in its first output frame."""


@dataclass(frozen=True)
class StabilizerSettings:
    """One named setting of :class:`wildvsr.inference.stabilizer.FlowStabilizer` (its module docstring has the
    formula).

    Attributes:
        strength: Largest weight of the warped previous output (0 = off; the fixed point of a static region keeps
            ``1 - strength`` of each new frame).
        sigma: Output difference (mean over RGB, [0, 1] scale, after a 5x5 box mean) at which the weight has fallen
            to ``exp(-1)`` of ``strength``: flicker is smaller and is smoothed, genuine changes are larger and pass.
        input_sigma: The same for the input frame vs the warped previous input (flow reliability).
        lam: Screened-Poisson weight of Bonneel et al. on the output grid (None: fuse all frequencies). The filter
            passes spatial periods above ``2 pi / sqrt(lam)`` output pixels.
    """

    strength: float = 0.7
    sigma: float = 0.15
    input_sigma: float = 0.08
    lam: float | None = None

    @property
    def warmup_frames(self) -> int:
        """Frames a segment's stabilizer runs before its first output frame (issue 28): the recursion keeps at most
        ``strength**n`` of a state ``n`` frames old, so after this many frames what came before the warm-up weighs
        under :data:`WARMUP_RESIDUAL` of the output, and a segment's first frames match an unsegmented run's
        (measured in ``tests/inference/test_segments.py``). 0 when the stabilizer is off."""
        if self.strength <= 0:
            return 0
        return math.ceil(math.log(WARMUP_RESIDUAL) / math.log(self.strength))


STABILIZERS: dict[str, StabilizerSettings] = {
    "fusion-light": StabilizerSettings(strength=0.5, sigma=0.1, input_sigma=0.06),
    "fusion": StabilizerSettings(strength=0.7, sigma=0.15, input_sigma=0.08),
    "fusion-strong": StabilizerSettings(strength=0.85, sigma=0.2, input_sigma=0.1),
    "bonneel": StabilizerSettings(strength=0.9, sigma=0.25, input_sigma=0.1, lam=0.05),
}
"""The named settings ``--temporal`` accepts (besides ``off`` and ``auto``): a ladder of fusion strengths (how much
of the warped previous output is kept, and how large a difference still counts as flicker) and the Bonneel et al.
low-frequency variant."""

TEMPORAL_CHOICES = ("auto", "off", *STABILIZERS)
"""What ``UpscaleConfig.temporal`` / ``--temporal`` accept: ``auto`` (the default setting for per-frame models,
nothing for temporal models), ``off``, or a setting name."""
