"""Typed training configuration: frozen dataclasses loaded from YAML, every key and value checked.

A recipe file (``configs/*.yaml``) is only storage: :func:`load_config` turns it into a :class:`TrainConfig`, rejecting
unknown keys and wrong types with a :class:`~wildvsr.errors.ConfigError` that names the dotted key
(``loss.pixel.kind``). ``--set key=value`` overrides (:func:`apply_overrides`) go through the same checks.
:meth:`TrainConfig.to_dict` is what every checkpoint stores.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from wildvsr.config import apply_overrides as _apply_overrides
from wildvsr.config import config_error, from_dict, read_yaml, to_dict
from wildvsr.errors import ConfigError

# ----------------------------------------------------------------------------------------------------------------------
# Sections


@dataclass(frozen=True)
class ModelConfig:
    """The generator and how it is initialised.

    Attributes:
        name: registry name for ``wildvsr.models.create_model`` (``realbasicvsr``; ``basicvsr`` has no cleaning output).
        kwargs: constructor arguments (``mid_channels``, ``num_propagation_blocks``, ``num_cleaning_blocks``).
        init_from_basicvsr: official BasicVSR weights (tag or ``.pth`` path) copied into propagation + SPyNet of a fresh
            RealBasicVSR (the official recipe initialises SPyNet only; the propagation copy is an option).
        weights: weights to start from (a stage-1 checkpoint ``.pt`` of ours, a ``.safetensors`` export or a tag);
            applied after ``init_from_basicvsr``. Official stage 2 ``load_from`` the stage-1 checkpoint.
        fix_spynet: freeze SPyNet (official configs and NegVSR: frozen).
        spynet_lr_mult: learning-rate multiplier for SPyNet when it is not frozen (BasicVSR trains it at 0.125).
        fix_cleaning: freeze the cleaning module (paper Supp. A stage 2) instead of training it (official stage 2).
        init_pretrained: initialise the parts the model declares in ``pretrained_init`` from those shipped models,
            before ``weights`` (RCVSR: body from ``srvgg.animevideov3``, SPyNet from BasicVSR REDS4).
    """

    name: str = "realbasicvsr"
    kwargs: dict[str, int | float | bool | str] = field(default_factory=dict)
    init_from_basicvsr: str | None = None
    weights: str | None = None
    fix_spynet: bool = True
    spynet_lr_mult: float = 0.125
    fix_cleaning: bool = False
    init_pretrained: bool = False


@dataclass(frozen=True)
class DataConfig:
    """Clean training clips and how sequences are sampled from them.

    Attributes:
        roots: video files and/or folders. A folder holding images is one clip (frame folder); a folder holding videos
            or sub-folders is scanned one level deep.
        num_frames: sequence length L given to the model (RealBasicVSR: 30).
        stochastic: load L/2 consecutive frames and mirror them in time (RealBasicVSR "stochastic degradation").
        gt_size: square GT crop in pixels (LQ is ``gt_size / scale``).
        scale: model scale; 4 only (the registry's generators are x4; the degradation preset must end at 1/4).
        hflip: random horizontal flip of the whole sequence (p = 0.5).
        vflip: random vertical flip (p = 0.5).
        transpose: random H/W transpose (p = 0.5).
        batch_size: sequences per process and step (official: 2/GPU x 8 GPUs = 16 in stage 1).
        num_workers: DataLoader worker processes (0 = load in the training process).
        cache_mb: per-worker memory budget for decoded clips (LRU); 0 seeks with ``reader.frames(start, count)`` per
            sample instead.
        num_samples: if set, sample ids repeat modulo this number (a fixed training set, for tests and overfitting).
        prefetch_factor: batches prefetched per worker.
    """

    roots: tuple[str, ...] = ()
    num_frames: int = 30
    stochastic: bool = True
    gt_size: int = 256
    scale: int = 4
    hflip: bool = True
    vflip: bool = True
    transpose: bool = True
    batch_size: int = 2
    num_workers: int = 4
    cache_mb: int = 0
    num_samples: int | None = None
    prefetch_factor: int = 2


@dataclass(frozen=True)
class DegradationConfig:
    """How the LQ input is made from the GT.

    Attributes:
        preset: ``wildvsr.degrade`` preset name or YAML path (``realbasicvsr``, ``realesrgan``, ``vcisr``, ``bicubic``).
        usm: compute the USM-sharpened GT (kernel 51, weight 0.5, threshold 10) and degrade from it (official).
    """

    preset: str = "realbasicvsr"
    usm: bool = True


@dataclass(frozen=True)
class PixelLossConfig:
    """A pixel loss term. ``kind``: ``l1`` (official configs) or ``charbonnier`` (paper); eps for Charbonnier."""

    kind: Literal["l1", "charbonnier"] = "l1"
    weight: float = 1.0
    eps: float = 1e-12


@dataclass(frozen=True)
class PerceptualLossConfig:
    """VGG19 perceptual loss (mmedit ``PerceptualLoss``: ImageNet input norm, L1 criterion, features before ReLU).

    Attributes:
        weight: loss weight (RealBasicVSR stage 2: 1.0); 0 disables the term.
        vgg_weights: path of torchvision's ``vgg19-dcbb9e9d.pth`` state dict. Not shipped and not downloadable here:
            with None the term is disabled with a warning even when ``weight > 0``.
        layer_weights: torchvision ``features`` index -> weight (conv1_2, conv2_2, conv3_4, conv4_4, conv5_4).
    """

    weight: float = 0.0
    vgg_weights: str | None = None
    layer_weights: dict[str, float] = field(
        default_factory=lambda: {"2": 0.1, "7": 0.1, "16": 1.0, "25": 1.0, "34": 1.0})


@dataclass(frozen=True)
class LossConfig:
    """All loss terms and which GT each one uses.

    Attributes:
        pixel: output vs GT.
        cleaning: cleaned LQ (cleaning-module output) vs area-downsampled (x1/4) GT; weight 0 disables it.
        perceptual: VGG19 feature loss.
        gan_weight: generator adversarial weight (vanilla BCE-with-logits); 0 = no discriminator.
        gan_frames: frames per clip the discriminator judges, evenly spaced (0 = all). On a CPU the U-Net
            discriminator costs more than a compact generator; texture is a per-frame property, so a few frames
            of each clip carry the signal at a fraction of the cost.
        aug_negative_weight: NegVSR lambda for L_Aug-N (0.5 in the paper); used only when ``negvsr.enabled``.
        sharpened_gt_pixel: pixel (and therefore cleaning) loss uses the USM GT (official: true).
        sharpened_gt_perceptual: perceptual loss uses the USM GT (official: true).
        sharpened_gt_gan: discriminator real samples / GAN target use the USM GT (official: false).
    """

    pixel: PixelLossConfig = field(default_factory=PixelLossConfig)
    cleaning: PixelLossConfig = field(default_factory=PixelLossConfig)
    perceptual: PerceptualLossConfig = field(default_factory=PerceptualLossConfig)
    gan_weight: float = 0.0
    gan_frames: int = 0
    aug_negative_weight: float = 0.5
    sharpened_gt_pixel: bool = True
    sharpened_gt_perceptual: bool = True
    sharpened_gt_gan: bool = False


@dataclass(frozen=True)
class DiscriminatorConfig:
    """``unet_discriminator_sn`` (Real-ESRGAN U-Net with spectral norm); used when ``loss.gan_weight > 0``."""

    name: str = "unet_discriminator_sn"
    kwargs: dict[str, int | float | bool | str] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimConfig:
    """Adam optimisers and learning-rate schedule.

    Attributes:
        lr: generator learning rate (stage 1: 1e-4; stage 2: 5e-5).
        lr_d: discriminator learning rate (1e-4).
        betas: Adam betas (0.9, 0.99).
        weight_decay: Adam weight decay.
        scheduler: ``constant`` or ``multistep`` (``milestones``, ``gamma``).
        milestones: steps at which the multistep schedule multiplies the LR by ``gamma``.
        gamma: multistep factor.
        grad_clip: max global gradient norm (0 = no clipping).
    """

    lr: float = 1e-4
    lr_d: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0
    scheduler: Literal["constant", "multistep"] = "constant"
    milestones: tuple[int, ...] = ()
    gamma: float = 0.5
    grad_clip: float = 0.0


@dataclass(frozen=True)
class NegVSRConfig:
    """NegVSR (NegMix + L_Aug-N) on top of the recipe.

    Attributes:
        enabled: mix the degraded LQ with noise sequences and add ``loss.aug_negative_weight`` x L_Aug-N.
        noise_bank: folder of noise sequences (``wildvsr.negvsr.NoiseBank``).
        mix_weight: M in V_N = M*N + (1 - M)*V (0.5).
        patch_size: rotation patch size in LQ pixels (4).
    """

    enabled: bool = False
    noise_bank: str | None = None
    mix_weight: float = 0.5
    patch_size: int = 4


@dataclass(frozen=True)
class ValidationConfig:
    """Validation every ``train.val_every`` steps (rank 0 only).

    Attributes:
        real_frames: frame folder or video of real LQ frames for NIQE (e.g. ``videolq_000``); None = skip.
        real_num_frames: frames used from it.
        real_crop: centre crop (LQ pixels) of the real frames, to keep validation cheap; 0 = full frames.
        synthetic_video: clean video for PSNR on degraded crops (e.g. Vid4 ``calendar.mkv``); None = skip.
        synthetic_num_frames: frames used from it.
        synthetic_crop: GT centre crop in pixels (LQ = crop / scale).
        seed: degradation seed of the synthetic set (fixed so PSNR is comparable across steps).
        save_images: write a PNG grid (LQ | output | GT) per validation.
        real_metrics: no-reference metrics of the real set: ``niqe``, ``brisque``, ``warping_error`` (SPyNet flow on
            the output; needs ``real_num_frames >= 2``).
    """

    real_frames: str | None = None
    real_num_frames: int = 5
    real_crop: int = 128
    synthetic_video: str | None = None
    synthetic_num_frames: int = 10
    synthetic_crop: int = 256
    seed: int = 1234
    save_images: bool = True
    real_metrics: tuple[Literal["niqe", "brisque", "warping_error"], ...] = ("niqe",)


@dataclass(frozen=True)
class TeacherConfig:
    """The frozen teacher of the distillation recipe.

    Attributes:
        name: registry name of any x4 upscale model (``rrdbnet``, ``srvgg``, ``basicvsr``, ...). Per-frame models
            (``temporal = False``) get the frames flattened to ``(B*T, 3, h, w)``.
        weights: weights tag (``x4plus``) or file; None = random initialisation (tests only; warns).
        kwargs: constructor arguments (e.g. the registry's tiny sizes in tests).
        amp: ``auto`` = bf16 autocast on a CUDA device with native bf16 (compute capability 8.0+), fp16 on older
            GPUs, fp32 on CPU; or ``bf16``/``fp16``/``fp32``.
        batch_frames: frames per teacher forward (bounds its memory).
        cache_dir: folder of the on-disk teacher-output cache (safetensors shards + ``index.json``; one sub-folder per
            DDP rank); None = no cache.
        cache_shard_mb: a shard is written once this many MiB of new outputs are pending (and at every checkpoint).
    """

    name: str = "rrdbnet"
    weights: str | None = "x4plus"
    kwargs: dict[str, int | float | bool | str] = field(default_factory=dict)
    amp: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    batch_frames: int = 16
    cache_dir: str | None = None
    cache_shard_mb: int = 256


@dataclass(frozen=True)
class TemporalLossConfig:
    """Temporal consistency of consecutive student outputs (distillation).

    ``weight * mean over non-occluded pixels |O_{t+1} - warp(O_t, flow_{t+1->t})|`` (L1), flow from
    SPyNet (official BasicVSR weights) on the input LQ (upsampled x4) or on the GT (``flow: gt``; samples without GT
    fall back to the LQ flow); ``occlusion``: forward-backward consistency mask (``wildvsr.models.flow``).
    """

    weight: float = 0.0
    flow: Literal["lq", "gt"] = "lq"
    occlusion: bool = True


@dataclass(frozen=True)
class DistillConfig:
    """Distillation of a frozen per-frame teacher into the generator (``configs/distill_realesrgan.yaml``).

    With ``enabled``, the step's targets are the teacher's outputs on the LQ; ``loss.pixel`` becomes the optional
    loss to the GT (only samples that have one), ``loss.cleaning`` compares the cleaned LQ with the downsampled GT
    (teacher output where there is no GT).

    Attributes:
        enabled: use the distillation recipe.
        teacher: the teacher model and its cache.
        real_roots: real low-quality clips without GT (videos / frame folders), cropped at ``gt_size / scale``.
        real_fraction: probability that a sample comes from ``real_roots`` (else a degraded ``data.roots`` clip).
        fixed_degradation: degrade each synthetic sample with a generator seeded by its sample id (its LQ is a
            function of the sample, so with ``data.num_samples`` the teacher cache hits after the first pass).
        teacher_loss: Charbonnier (or L1) to the teacher output.
        frequency_weight: weight of L1 between the 2-D Fourier amplitudes of each output frame and its teacher
            frame (``loss/freq``): it rewards the teacher's amount of fine detail even where the student cannot place
            it exactly, the part a pixel loss averages away; 0 disables it.
        augment: after the teacher (so cached outputs serve every variant), flip, transpose and reverse in time each
            sample's LQ, targets and GT together (a per-sample draw from the step's generator).
        temporal: the temporal term.
    """

    enabled: bool = False
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    real_roots: tuple[str, ...] = ()
    real_fraction: float = 0.0
    fixed_degradation: bool = False
    teacher_loss: PixelLossConfig = field(default_factory=lambda: PixelLossConfig("charbonnier", 1.0, 1e-6))
    frequency_weight: float = 0.0
    augment: bool = False
    temporal: TemporalLossConfig = field(default_factory=TemporalLossConfig)


@dataclass(frozen=True)
class MGLDConfig:
    """MGLD-VSR training (``configs/mgldvsr_stage1.yaml``, ``configs/mgldvsr_stage2.yaml``; ``model.name: mgldvsr``).

    Attributes:
        stage: 0 off; 1: the U-Net's conditioning (time-aware LR encoder, SFT layers) and temporal layers learn to
            predict the noise of GT latents (LDM epsilon loss; everything else frozen); 2: the video VAE decoder's
            temporal layers and CFW learn to decode the guided sampler's latents (P-MG Eq. 4-6).
        unet_weights, vae_weights: the authors' U-Net (LDM) and video VAE checkpoints to start from (null: random
            initialisation, only sensible for tests at tiny size); ``prompt_embedding`` only for a U-Net checkpoint
            without the OpenCLIP text tower.
        diff_weight, swc_weight, sobel_weight: stage 2's frame-difference and structure-weighted consistency terms
            (alpha, beta, and w in W = 1 + w Sobel(GT)); ``loss.pixel`` is its L1, ``loss.perceptual`` its
            perceptual term, ``loss.gan_weight`` its hinge GAN weight.
        disc_start: stage 2's generator GAN term starts at this step (the discriminator trains from the start).
    """

    stage: int = 0
    unet_weights: str | None = None
    vae_weights: str | None = None
    prompt_embedding: str | None = None
    diff_weight: float = 0.5
    swc_weight: float = 0.5
    sobel_weight: float = 3.0
    disc_start: int = 501


@dataclass(frozen=True)
class TrainLoopConfig:
    """Loop settings.

    Attributes:
        max_steps: total optimisation steps (stage 1: 300k; stage 2: 150k).
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``. With torchrun each process gets its
            own GPU: ``cuda``/``auto`` is ``cuda:<local rank>``, ``cuda:N`` is ``cuda:<N + local rank>``.
        amp: mixed precision: ``auto`` = bf16 autocast on a CUDA device with native bf16 (compute capability 8.0+),
            fp32 on older GPUs and on CPU; ``bf16`` (refused on a GPU without native bf16); ``fp32``.
        ema_decay: EMA momentum (0.999); 0 disables EMA.
        checkpoint_every: steps between checkpoints (one is always written at the end).
        keep_checkpoints: most recent checkpoints kept (older ones deleted).
        log_every: steps between progress lines / metric records.
        val_every: steps between validations (0 = never).
        deterministic: ``torch.use_deterministic_algorithms`` (slower; for exact-resume checks). On CPU a resumed
            run equals an uninterrupted one bit for bit. On CUDA it is not exact: the backward of ``grid_sample``
            (flow warping) and bilinear interpolation has no deterministic CUDA kernel (PyTorch only warns), so
            gradients, and so weights, differ in the last bits from run to run; the forward is deterministic.
        find_unused_parameters: DDP option.
    """

    max_steps: int = 300_000
    device: str = "auto"
    amp: Literal["auto", "bf16", "fp32"] = "auto"
    ema_decay: float = 0.999
    checkpoint_every: int = 5000
    keep_checkpoints: int = 3
    log_every: int = 100
    val_every: int = 5000
    deterministic: bool = False
    find_unused_parameters: bool = False


@dataclass(frozen=True)
class TrainConfig:
    """One training recipe (see ``configs/``)."""

    name: str = "train"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    degradation: DegradationConfig = field(default_factory=DegradationConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    negvsr: NegVSRConfig = field(default_factory=NegVSRConfig)
    val: ValidationConfig = field(default_factory=ValidationConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    mgld: MGLDConfig = field(default_factory=MGLDConfig)
    train: TrainLoopConfig = field(default_factory=TrainLoopConfig)

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML/JSON-able dict (tuples become lists); ``config_from_dict(cfg.to_dict()) == cfg``."""
        return to_dict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with top-level sections replaced (re-validated)."""
        return dataclasses.replace(self, **changes)


# ----------------------------------------------------------------------------------------------------------------------
# Value checks (types are checked while parsing; these are ranges and cross-field rules)


def _need(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise config_error(key, message)


def validate(cfg: TrainConfig) -> None:
    """Range and cross-field checks; raises :class:`ConfigError` naming the key."""
    d, m, lo, o, t, v, n = cfg.data, cfg.model, cfg.loss, cfg.optim, cfg.train, cfg.val, cfg.negvsr
    _need(bool(cfg.name.strip()), "name", "must be a non-empty string")
    _need(cfg.seed >= 0, "seed", f"must be >= 0, got {cfg.seed}")
    _need(bool(m.name), "model.name", "must be a model registry name such as 'realbasicvsr'")
    _need(m.spynet_lr_mult >= 0, "model.spynet_lr_mult", f"must be >= 0, got {m.spynet_lr_mult}")
    _need(d.num_frames >= 2, "data.num_frames", f"must be >= 2, got {d.num_frames}")
    _need(not d.stochastic or d.num_frames % 2 == 0, "data.num_frames",
          f"must be even with data.stochastic (L/2 frames are mirrored), got {d.num_frames}")
    # x4 only: every generator in the registry (BasicVSR, RealBasicVSR) has a fixed x4 upsampler and every shipped
    # preset ends at 1/4, so another value could not be honoured by the model it trains
    _need(d.scale == 4, "data.scale", f"must be 4 (the trainable generators are x4), got {d.scale}")
    _need(d.gt_size > 0 and d.gt_size % (d.scale * 4) == 0, "data.gt_size",
          f"must be a positive multiple of 4*scale={4 * d.scale}, got {d.gt_size}")
    _need(d.batch_size >= 1, "data.batch_size", f"must be >= 1, got {d.batch_size}")
    _need(d.num_workers >= 0, "data.num_workers", f"must be >= 0, got {d.num_workers}")
    _need(d.cache_mb >= 0, "data.cache_mb", f"must be >= 0, got {d.cache_mb}")
    _need(d.num_samples is None or d.num_samples >= 1, "data.num_samples", f"must be >= 1, got {d.num_samples}")
    _need(d.prefetch_factor >= 1, "data.prefetch_factor", f"must be >= 1, got {d.prefetch_factor}")
    for key, term in (("loss.pixel", lo.pixel), ("loss.cleaning", lo.cleaning)):
        _need(term.weight >= 0 and math.isfinite(term.weight), f"{key}.weight", f"must be >= 0, got {term.weight}")
        _need(term.eps > 0, f"{key}.eps", f"must be > 0, got {term.eps}")
    _need(lo.perceptual.weight >= 0, "loss.perceptual.weight", f"must be >= 0, got {lo.perceptual.weight}")
    for k, w in lo.perceptual.layer_weights.items():
        _need(k.isdigit() and 0 <= int(k) <= 35, "loss.perceptual.layer_weights",
              f"keys must be VGG19 features indices 0-35, got '{k}'")
        _need(w >= 0, f"loss.perceptual.layer_weights.{k}", f"must be >= 0, got {w}")
    _need(lo.gan_weight >= 0, "loss.gan_weight", f"must be >= 0, got {lo.gan_weight}")
    _need(0 <= lo.gan_frames <= d.num_frames, "loss.gan_frames",
          f"must be between 0 (all) and data.num_frames ({d.num_frames}), got {lo.gan_frames}")
    _need(lo.aug_negative_weight >= 0, "loss.aug_negative_weight", f"must be >= 0, got {lo.aug_negative_weight}")
    _need(o.lr > 0, "optim.lr", f"must be > 0, got {o.lr}")
    _need(o.lr_d > 0, "optim.lr_d", f"must be > 0, got {o.lr_d}")
    _need(all(0 <= b < 1 for b in o.betas), "optim.betas", f"must be two values in [0, 1), got {list(o.betas)}")
    _need(o.weight_decay >= 0, "optim.weight_decay", f"must be >= 0, got {o.weight_decay}")
    _need(list(o.milestones) == sorted(o.milestones) and all(s > 0 for s in o.milestones), "optim.milestones",
          "must be increasing positive steps")
    _need(o.gamma > 0, "optim.gamma", f"must be > 0, got {o.gamma}")
    _need(o.grad_clip >= 0, "optim.grad_clip", f"must be >= 0, got {o.grad_clip}")
    _need(not n.enabled or n.noise_bank is not None, "negvsr.noise_bank",
          "must be a noise-bank folder when negvsr.enabled is true")
    _need(0 <= n.mix_weight <= 1, "negvsr.mix_weight", f"must be in [0, 1], got {n.mix_weight}")
    _need(n.patch_size >= 1, "negvsr.patch_size", f"must be >= 1, got {n.patch_size}")
    _need(v.real_num_frames >= 1, "val.real_num_frames", f"must be >= 1, got {v.real_num_frames}")
    _need(v.real_crop >= 0, "val.real_crop", f"must be >= 0, got {v.real_crop}")
    _need(v.synthetic_num_frames >= 2, "val.synthetic_num_frames", f"must be >= 2, got {v.synthetic_num_frames}")
    _need(v.synthetic_crop > 0 and v.synthetic_crop % (4 * d.scale) == 0, "val.synthetic_crop",
          f"must be a positive multiple of {4 * d.scale}, got {v.synthetic_crop}")
    _validate_distill(cfg.distill, v)
    _validate_mgld(cfg)
    _need(t.max_steps >= 1, "train.max_steps", f"must be >= 1, got {t.max_steps}")
    _need(t.device == "auto" or t.device == "cpu" or t.device.startswith("cuda"), "train.device",
          f"must be auto, cpu, cuda or cuda:N, got '{t.device}'")
    _need(0 <= t.ema_decay < 1, "train.ema_decay", f"must be in [0, 1), got {t.ema_decay}")
    for key in ("checkpoint_every", "keep_checkpoints", "log_every"):
        _need(getattr(t, key) >= 1, f"train.{key}", f"must be >= 1, got {getattr(t, key)}")
    _need(t.val_every >= 0, "train.val_every", f"must be >= 0, got {t.val_every}")


def _validate_distill(ds: DistillConfig, v: ValidationConfig) -> None:
    _need(0 <= ds.real_fraction <= 1, "distill.real_fraction", f"must be in [0, 1], got {ds.real_fraction}")
    _need(ds.real_fraction == 0 or bool(ds.real_roots) or not ds.enabled, "distill.real_roots",
          "must list real LQ clips when distill.real_fraction > 0")
    _need(bool(ds.teacher.name), "distill.teacher.name", "must be a model registry name such as 'rrdbnet'")
    _need(ds.teacher.batch_frames >= 1, "distill.teacher.batch_frames", f"must be >= 1, got {ds.teacher.batch_frames}")
    _need(ds.teacher.cache_shard_mb >= 1, "distill.teacher.cache_shard_mb",
          f"must be >= 1, got {ds.teacher.cache_shard_mb}")
    for key, w in (("teacher_loss.weight", ds.teacher_loss.weight), ("temporal.weight", ds.temporal.weight),
                   ("frequency_weight", ds.frequency_weight)):
        _need(w >= 0 and math.isfinite(w), f"distill.{key}", f"must be >= 0, got {w}")
    _need(ds.teacher_loss.eps > 0, "distill.teacher_loss.eps", f"must be > 0, got {ds.teacher_loss.eps}")
    _need("warping_error" not in v.real_metrics or v.real_num_frames >= 2, "val.real_num_frames",
          "must be >= 2 for the warping_error metric")


def _validate_mgld(cfg: TrainConfig) -> None:
    mg = cfg.mgld
    _need(mg.stage in (0, 1, 2), "mgld.stage", f"must be 0 (off), 1 or 2, got {mg.stage}")
    if mg.stage == 0:
        return
    _need(cfg.model.name.partition(".")[0] == "mgldvsr", "model.name",
          f"must be mgldvsr with mgld.stage {mg.stage}, got '{cfg.model.name}'")
    _need(not cfg.distill.enabled and not cfg.negvsr.enabled, "mgld.stage",
          "MGLD-VSR training does not combine with distill or negvsr")
    _need((mg.unet_weights is None) == (mg.vae_weights is None), "mgld.vae_weights",
          "give both of the authors' files (mgld.unet_weights and mgld.vae_weights) or neither")
    for key in ("diff_weight", "swc_weight", "sobel_weight"):
        w = getattr(mg, key)
        _need(w >= 0 and math.isfinite(w), f"mgld.{key}", f"must be >= 0, got {w}")
    _need(mg.disc_start >= 0, "mgld.disc_start", f"must be >= 0, got {mg.disc_start}")


# ----------------------------------------------------------------------------------------------------------------------
# Loading (the one typed-config loader, :mod:`wildvsr.config`, with this schema)


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Build a :class:`TrainConfig` from a plain dict (unknown keys and wrong types raise :class:`ConfigError`)."""
    return from_dict(TrainConfig, data)


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides (values parsed as YAML) to a plain config dict (returns a new dict).

    Keys must exist in the schema; types are checked when the dict is turned into a :class:`TrainConfig`.
    """
    return _apply_overrides(TrainConfig, data, overrides)


def load_config(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a YAML recipe, apply ``--set`` overrides and validate.

    Raises:
        ConfigError: the file is missing or unreadable YAML, a key is unknown, or a value has the wrong type or range.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} not found; pass a YAML recipe such as configs/realbasicvsr_stage1.yaml")
    return config_from_dict(apply_overrides(read_yaml(path), list(overrides)))
