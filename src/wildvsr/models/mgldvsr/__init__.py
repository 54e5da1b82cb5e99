"""MGLD-VSR (Yang et al., ECCV 2024): motion-guided latent diffusion for real-world video super-resolution.

>>> from wildvsr.models.mgldvsr import MGLDVSR, load_official
>>> model = load_official(MGLDVSR(), "mgldvsr_unet.ckpt", "video_vae_cfw.ckpt")   # the authors' two files
>>> out = model.restore_sequence(lqs, seed=0)   # (B, N, 3, h, w) [0, 1] -> (B, N, 3, 4h, 4w)

One concern per module: :mod:`.blocks` (U-Net blocks), :mod:`.unet` (denoiser and time-aware LR encoder),
:mod:`.vae` (SD encoder, temporal-aware decoder, CFW), :mod:`.text` (the fixed empty-prompt embedding),
:mod:`.scheduler` (respaced DDPM on diffusers), :mod:`.guidance` (motion-guided sampling, Eq. 2-3, for any latent
diffusion upscaler), :mod:`.model` (end to end), :mod:`.manifest` and :mod:`.checkpoint` (official files, strict).
"""

from wildvsr.models.mgldvsr.checkpoint import OFFICIAL_SOURCE, checkpoint_filter_fn, load_official
from wildvsr.models.mgldvsr.guidance import MotionGuide, latent_motion_guide, motion_guided_sample, warping_energy
from wildvsr.models.mgldvsr.model import SPEC, TINY_CONFIG, MGLDVSR, MGLDVSRConfig, SamplingConfig

__all__ = ["MGLDVSR", "SPEC", "MGLDVSRConfig", "SamplingConfig", "TINY_CONFIG", "load_official", "checkpoint_filter_fn",
           "OFFICIAL_SOURCE", "MotionGuide", "latent_motion_guide", "motion_guided_sample", "warping_energy"]
