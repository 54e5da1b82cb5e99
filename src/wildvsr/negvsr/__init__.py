"""NegVSR (P-Neg; SPEC 5): sequential real-world noise banks, NegMix negatives and the L_Aug-N loss.

- :func:`build_noise_bank` / ``wildvsr extract-noise``: keep low-texture, temporally steady window sequences of noisy
  videos (Eq. 4-5) in an on-disk bank; :class:`NoiseBank` loads it and samples (B, T, 3, H, W) noise.
- :func:`negmix`: Eq. 6-10 on batched (B, T, C, H, W) clips, any device, seeded by a ``torch.Generator``.
- :class:`AugNegativeLoss`: lambda * L_Aug-N (Eq. 14, 16).
"""

from wildvsr.negvsr.bank import NoiseBank, NoiseBankWriter, build_noise_bank
from wildvsr.negvsr.extract import (REJECT_REASONS, ExtractionConfig, ExtractionSummary, NoiseSequence,
                                    extract_noise_sequences, scan_clip, to_gray, window_stats)
from wildvsr.negvsr.loss import AugNegativeLoss
from wildvsr.negvsr.negmix import PROB_LEVELS, NegMixParams, draw_rotations, negmix, rotate_patches

__all__ = ["PROB_LEVELS", "REJECT_REASONS", "AugNegativeLoss", "ExtractionConfig", "ExtractionSummary", "NegMixParams",
           "NoiseBank", "NoiseBankWriter", "NoiseSequence", "build_noise_bank", "draw_rotations",
           "extract_noise_sequences", "negmix", "rotate_patches", "scan_clip", "to_gray", "window_stats"]
