"""Synthetic real-world degradations for video SR: RealBasicVSR, Real-ESRGAN, VCISR and bicubic, from YAML presets.

Tensors are ``(B, T, 3, H, W)`` float RGB in [0, 1] throughout (``(N, C, H, W)`` also accepted by the single ops).

Two phases (STYLE.md section 11):

1. ``Degrader.sample_params(batch, num_frames, rng: np.random.Generator) -> DegradationParams`` - NumPy only, cheap;
   runs in data-loader workers. Per-frame values (RealBasicVSR random walk, or constant / independent per frame);
   ``.to_dict()`` is JSON-able; ``DegradationParams.concat([...])`` joins per-sample params into a batch's;
   ``.frames(start, stop)`` slices frames (chunked processing of long videos).
2. ``Degrader.apply(gt, params, generator, cpu_executor=None) -> lq (B, T, 3, H/4, W/4)``.

Where each step runs (the stage split):

- blur, resize, noise, final resize, sinc: torch, batched, on ``gt.device`` (the GPU in training);
- JPEG: libjpeg via Pillow on CPU, per frame (uint8 transfer each way; ~2 ms per 256x256 frame), or, with
  ``jpeg.backend: torch`` in the config, ``diff_jpeg`` on the device (40-48 dB PSNR agreement with libjpeg);
- video codec: PyAV (FFmpeg) on CPU, one encoder per clip, in memory. In ``realbasicvsr`` the codec sits between
  tensor steps (end of the first order, and in the final shuffled group), so one ``apply`` call alternates device
  and CPU. To keep the GPU process from coding serially, pass ``cpu_executor``: a ``ThreadPoolExecutor(n)`` or
  ``ProcessPoolExecutor(n)``; the B clips of each codec step and the frames of each JPEG step are then coded
  concurrently by ``n`` CPU workers (same output). ``compress_video(frames_uint8, CodecParams)`` and
  ``jpeg.jpeg_roundtrip(img, quality)`` are the picklable units of work those workers run.
- The alternative split - everything in the loader workers on CPU - is ``apply`` on a CPU ``(1, T, 3, H, W)``
  tensor inside the worker (what MMEditing does); ``benchmarks/degrade_throughput.py`` measures both parts.

Whole-video use: ``degrade_video(src, dst, DegradeConfig(preset, seed, ...))`` (``wildvsr degrade``) and the gallery of stages.
"""

from wildvsr.degrade.codec import CodecParams, compress_video, decode_clip, encode_clip, resolve_encoder
from wildvsr.degrade.config import (
    PRESETS,
    BlurConfig,
    CodecConfig,
    DegradationConfig,
    DegradationStage,
    FinalStage,
    JpegConfig,
    NoiseConfig,
    ResizeConfig,
    load_preset,
    preset_path,
)
from wildvsr.degrade.diffjpeg import diff_jpeg
from wildvsr.degrade.jpeg import add_jpg_compression, random_add_jpg_compression
from wildvsr.degrade.kernels import (
    bivariate_gaussian,
    bivariate_generalized_gaussian,
    bivariate_plateau,
    circular_lowpass_kernel,
    filter2D,
    make_kernel,
    random_mixed_kernels,
)
from wildvsr.degrade.params import DegradationParams
from wildvsr.degrade.pipeline import Degrader
from wildvsr.degrade.pixel_noise import (
    add_gaussian_noise,
    add_poisson_noise,
    generate_gaussian_noise,
    generate_poisson_noise,
    random_add_gaussian_noise,
    random_add_poisson_noise,
)
from wildvsr.degrade.resize import resize, usm_sharp
from wildvsr.degrade.temporal import mirror_sequence
from wildvsr.degrade.vcisr import patch_batches, patches_as_frames
from wildvsr.degrade.video import DegradeConfig, DegradeResult, degrade_video

__all__ = [
    "PRESETS", "BlurConfig", "CodecConfig", "CodecParams", "DegradationConfig", "DegradationParams",
    "DegradationStage", "Degrader", "FinalStage", "JpegConfig", "NoiseConfig", "ResizeConfig",
    "add_gaussian_noise", "add_jpg_compression", "add_poisson_noise", "bivariate_gaussian",
    "bivariate_generalized_gaussian", "bivariate_plateau", "circular_lowpass_kernel", "compress_video",
    "DegradeConfig", "DegradeResult", "decode_clip", "degrade_video", "diff_jpeg", "encode_clip", "filter2D", "generate_gaussian_noise",
    "generate_poisson_noise", "load_preset",
    "make_kernel", "mirror_sequence", "patch_batches", "patches_as_frames", "preset_path",
    "random_add_gaussian_noise", "random_add_jpg_compression", "random_add_poisson_noise", "random_mixed_kernels",
    "resize", "resolve_encoder", "usm_sharp",
]
