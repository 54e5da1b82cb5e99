"""Sampled degradation parameters (plain dataclasses, per frame) and the sampler that draws them from a config.

Sampling is pure NumPy on an explicit ``np.random.Generator``, so it runs in data-loader workers. Temporal modes:

- ``walk`` (RealBasicVSR, SPEC 3.2): categorical choices once per clip; each continuous parameter starts at
  p0 ~ U(range) and after every frame moves p <- clip(p + U(-step, step), range). Step 0 keeps it constant.
- ``clip``: one draw per clip, constant over its frames (VCISR: one draw per degradation batch).
- ``frame``: every frame drawn independently, as if it were an image (Real-ESRGAN).

Codec settings and the order of the final groups are always one draw per clip (a codec sees the whole clip).
Every per-frame field is a list of length ``num_frames``; ``DegradationParams.to_dict()`` is JSON-able.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from wildvsr.degrade.codec import CodecParams, resolve_encoder
from wildvsr.degrade.config import (
    BlurConfig,
    CodecConfig,
    DegradationConfig,
    DegradationStage,
    FinalStage,
    JpegConfig,
    NoiseConfig,
    ResizeConfig,
)
from wildvsr.degrade.kernels import sample_beta

RESIZE_MODES = ("up", "down", "keep")


@dataclasses.dataclass
class BlurParams:
    """Per-frame blur kernel parameters (``applied[t]`` False: frame t is not blurred)."""

    applied: list[bool]
    kernel_type: list[str]
    kernel_size: list[int]
    sigma_x: list[float]
    sigma_y: list[float]
    rotation: list[float]
    beta: list[float]
    omega: list[float]


@dataclasses.dataclass
class ResizeParams:
    """Per-frame resize: mode (up/down/keep, as drawn), interpolation and scale factor (relative to ``relative_to``)."""

    applied: list[bool]
    mode: list[str]
    interpolation: list[str]
    scale: list[float]


@dataclasses.dataclass
class NoiseParams:
    """Per-frame noise: ``kind`` gaussian (``level`` = sigma in 1/255) or poisson (``level`` = scale)."""

    applied: list[bool]
    kind: list[str]
    gray: list[bool]
    level: list[float]


@dataclasses.dataclass
class JpegParams:
    """Per-frame JPEG quality."""

    applied: list[bool]
    quality: list[int]


@dataclasses.dataclass
class StageParams:
    """One order's parameters; None = op absent from the config."""

    blur: BlurParams | None = None
    resize: ResizeParams | None = None
    noise: NoiseParams | None = None
    jpeg: JpegParams | None = None
    codec: CodecParams | None = None  # None also when skipped by its ``prob``


@dataclasses.dataclass
class FinalParams:
    """Final stage: which final (``alt``), order, per-frame interpolation, sinc, compression."""

    alt: bool
    resize_first: bool
    interpolation: list[str]
    sinc: BlurParams | None = None
    jpeg: JpegParams | None = None
    codec: CodecParams | None = None


@dataclasses.dataclass
class ClipParams:
    """All parameters for one clip."""

    stages: list[StageParams]
    final: FinalParams


@dataclasses.dataclass
class DegradationParams:
    """Parameters for a batch of clips, ``clips[b]`` for clip b, each per frame (``num_frames`` long lists)."""

    preset: str
    num_frames: int
    clips: list[ClipParams]

    def __len__(self) -> int:
        return len(self.clips)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (lists, str, int, float, bool, None)."""
        return dataclasses.asdict(self)

    @classmethod
    def concat(cls, items: Sequence[DegradationParams]) -> DegradationParams:
        """Join per-sample parameters (e.g. from loader workers) into one batch's, in order."""
        if not items:
            raise ValueError("concat needs at least one DegradationParams")
        t = items[0].num_frames
        if any(p.num_frames != t for p in items):
            raise ValueError(f"cannot concat parameters for different clip lengths {[p.num_frames for p in items]}")
        return cls(items[0].preset, t, [c for p in items for c in p.clips])

    def select(self, indices: Sequence[int]) -> DegradationParams:
        """The parameters of clips ``indices`` only."""
        return DegradationParams(self.preset, self.num_frames, [self.clips[i] for i in indices])

    def frames(self, start: int, stop: int) -> DegradationParams:
        """Parameters of frames ``start:stop`` of every clip (for processing a long video in temporal chunks)."""
        if not 0 <= start < stop <= self.num_frames:
            raise ValueError(f"frame range {start}:{stop} outside 0:{self.num_frames}")
        return DegradationParams(self.preset, stop - start, [_slice(c, start, stop) for c in self.clips])


def _slice(obj: Any, start: int, stop: int) -> Any:
    if isinstance(obj, CodecParams):
        return obj
    if dataclasses.is_dataclass(obj):
        return dataclasses.replace(obj, **{f.name: _slice(getattr(obj, f.name), start, stop)
                                           for f in dataclasses.fields(obj)})
    if isinstance(obj, list):
        if obj and dataclasses.is_dataclass(obj[0]):
            return [_slice(v, start, stop) for v in obj]
        return obj[start:stop]
    return obj


# -------------------------------------------------------------------------------------------------------- sampling
class _Draw:
    """Draws shaped by the temporal mode: one value per clip (repeated) or one per frame."""

    def __init__(self, rng: np.random.Generator, temporal: str, num_frames: int) -> None:
        self.rng, self.temporal, self.n = rng, temporal, num_frames

    def _count(self) -> int:
        return self.n if self.temporal == "frame" else 1

    def _expand(self, values: list) -> list:
        return values if len(values) == self.n else values * self.n

    def flag(self, p: float) -> list[bool]:
        return self._expand([bool(v) for v in self.rng.uniform(size=self._count()) < p])

    def choice(self, options: Sequence, probs: Sequence[float] | None = None) -> list:
        probs = None if probs is None else np.asarray(probs, np.float64) / np.sum(probs)
        idx = self.rng.choice(len(options), size=self._count(), p=probs)
        return self._expand([options[int(i)] for i in idx])

    def walk(self, start: list[float], lo: float, hi: float, step: float) -> list[float]:
        """Per-frame values from per-clip/per-frame starts: walk (walk mode), repeat (clip) or as drawn (frame)."""
        if self.temporal == "frame":
            return [float(v) for v in start]
        p = float(start[0])
        if self.temporal != "walk" or step <= 0 or self.n == 1:
            return [p] * self.n
        steps = self.rng.uniform(-step, step, size=self.n - 1).tolist()  # one draw per frame transition
        out = [p]
        for r in steps:  # p <- clip(p + r, lo, hi), sequential because of the clipping
            p = min(hi, max(lo, p + r))
            out.append(p)
        return out

    def uniform(self, lo: float, hi: float, step: float = 0.0) -> list[float]:
        return self.walk([float(v) for v in self.rng.uniform(lo, hi, size=self._count())], lo, hi, step)


def _omega_range(cfg: BlurConfig, kernel_size: int) -> tuple[float, float]:
    if cfg.omega is not None:
        return cfg.omega
    return (math.pi / 3, math.pi) if kernel_size < 13 else (math.pi / 5, math.pi)


def sample_blur(d: _Draw, cfg: BlurConfig) -> BlurParams:
    """Kernel parameters for a clip's frames (isotropic types record sigma_y = sigma_x and rotation 0)."""
    applied = d.flag(cfg.prob)
    ktype = d.choice(cfg.kernel_list, cfg.kernel_prob)
    ksize = [int(k) for k in d.choice(cfg.kernel_sizes)]
    sx = d.uniform(*cfg.sigma_x, cfg.sigma_x_step)
    sy = d.uniform(*cfg.sigma_y, cfg.sigma_y_step)
    rot = d.uniform(*cfg.rotation, cfg.rotation_step)
    # omega range can depend on the kernel size (per clip in walk/clip mode, per frame in frame mode)
    om_lo, om_hi = _omega_range(cfg, ksize[0])
    if d.temporal == "frame":
        om = [float(d.rng.uniform(*_omega_range(cfg, k))) for k in ksize]
    else:
        om = d.uniform(om_lo, om_hi, cfg.omega_step)
    betas = {}
    for key, rng_, step in (("generalized", cfg.beta_gaussian, cfg.beta_gaussian_step),
                            ("plateau", cfg.beta_plateau, cfg.beta_plateau_step)):
        if cfg.beta_sampling == "split":
            start = [sample_beta(d.rng, rng_) for _ in range(d._count())]
            betas[key] = d.walk(start, *rng_, step)
        elif cfg.beta_sampling == "uniform":
            betas[key] = d.uniform(*rng_, step)
        elif cfg.beta_sampling == "mmedit":
            walked = d.uniform(*rng_, step)
            betas[key] = [sample_beta(d.rng, (b, b)) for b in walked]
        else:
            raise ValueError(f"unknown beta_sampling {cfg.beta_sampling!r}; use split, uniform or mmedit")
    beta = []
    for i, kt in enumerate(ktype):
        beta.append(betas["generalized"][i] if kt.startswith("generalized")
                    else betas["plateau"][i] if kt.startswith("plateau") else 1.0)
        if kt in ("iso", "generalized_iso", "plateau_iso"):
            sy[i], rot[i] = sx[i], 0.0
    return BlurParams(applied, ktype, ksize, sx, sy, rot, beta, om)


def sample_resize(d: _Draw, cfg: ResizeConfig) -> ResizeParams:
    """Mode up/down/keep -> start U(1, hi) / U(lo, 1) / 1, then the walk over [lo, hi]."""
    applied = d.flag(cfg.prob)
    mode = d.choice(RESIZE_MODES, cfg.mode_prob)
    interp = d.choice(cfg.interpolations, cfg.interpolation_prob)
    lo, hi = cfg.scale
    starts = []
    for m in mode[:d._count()]:
        starts.append(float(d.rng.uniform(1.0, hi)) if m == "up" else float(d.rng.uniform(lo, 1.0))
                      if m == "down" else 1.0)
    return ResizeParams(applied, mode, interp, d.walk(starts, lo, hi, cfg.scale_step))


def sample_noise(d: _Draw, cfg: NoiseConfig) -> NoiseParams:
    applied = d.flag(cfg.prob)
    kind = d.choice(("gaussian", "poisson"), (cfg.gaussian_prob, 1.0 - cfg.gaussian_prob))
    gray = d.flag(cfg.gray_prob)
    sigma = d.uniform(*cfg.gaussian_sigma, cfg.gaussian_sigma_step)
    scale = d.uniform(*cfg.poisson_scale, cfg.poisson_scale_step)
    level = [s if k == "gaussian" else p for k, s, p in zip(kind, sigma, scale)]
    return NoiseParams(applied, kind, gray, level)


def sample_jpeg(d: _Draw, cfg: JpegConfig) -> JpegParams:
    applied = d.flag(cfg.prob)
    q = d.uniform(*cfg.quality, cfg.quality_step)
    lo, hi = cfg.quality
    return JpegParams(applied, [int(np.clip(round(v), lo, hi)) for v in q])


def sample_codec(rng: np.random.Generator, cfg: CodecConfig) -> CodecParams | None:
    """One clip's codec settings (RealBasicVSR or VCISR style), or None when skipped by ``prob``."""
    if rng.uniform() >= cfg.prob:
        return None
    probs = np.asarray(cfg.codec_prob, np.float64) / np.sum(cfg.codec_prob)
    idx = int(rng.choice(len(cfg.codecs), p=probs))
    codec = cfg.codecs[idx]
    encoder = resolve_encoder(codec)
    if cfg.style == "realbasicvsr":
        bitrate = int(rng.integers(int(cfg.bitrate[0]), int(cfg.bitrate[1]) + 1))
        fps = int(rng.integers(cfg.fps[0], cfg.fps[1] + 1))
        return CodecParams(codec, encoder, fps=fps, bitrate=bitrate, container=cfg.container)
    if cfg.style != "vcisr":
        raise ValueError(f"unknown codec style {cfg.style!r}; use realbasicvsr or vcisr")
    crf = bitrate = None
    if encoder in ("libx264", "libx265"):
        crf = int(rng.integers(cfg.crf[0], cfg.crf[1] + 1)) + int(cfg.crf_offset[idx])
    else:
        bitrate = int(rng.integers(int(cfg.bitrate_kbps[0]), int(cfg.bitrate_kbps[1]) + 1)) * 1000
    pp = np.asarray(cfg.preset_prob, np.float64) / np.sum(cfg.preset_prob)
    preset = str(cfg.presets[int(rng.choice(len(cfg.presets), p=pp))])
    fps = int(rng.integers(cfg.fps[0], cfg.fps[1] + 1))
    rmode = int(rng.choice(3, p=np.asarray(cfg.ratio_prob, np.float64) / np.sum(cfg.ratio_prob)))
    ratio = float(rng.uniform(cfg.ratio[0], 1.0)) if rmode == 0 else float(rng.uniform(1.0, cfg.ratio[1])) \
        if rmode == 1 else 1.0
    if codec == "mpeg2video":
        fps, ratio = cfg.mpeg2_fps, max(ratio, 1.0)
    return CodecParams(codec, encoder, fps=fps, bitrate=bitrate, crf=crf,
                       preset=preset if encoder in ("libx264", "libx265") else None, width_ratio=ratio,
                       container=cfg.container)


def _sample_stage(d: _Draw, cfg: DegradationStage) -> StageParams:
    return StageParams(
        blur=sample_blur(d, cfg.blur) if cfg.blur else None,
        resize=sample_resize(d, cfg.resize) if cfg.resize else None,
        noise=sample_noise(d, cfg.noise) if cfg.noise else None,
        jpeg=sample_jpeg(d, cfg.jpeg) if cfg.jpeg else None,
        codec=sample_codec(d.rng, cfg.codec) if cfg.codec else None)


def _sample_final(d: _Draw, cfg: FinalStage, alt: bool) -> FinalParams:
    resize_first = bool(d.rng.uniform() < cfg.resize_first_prob)
    return FinalParams(alt, resize_first, d.choice(cfg.interpolations, cfg.interpolation_prob),
                       sinc=sample_blur(d, cfg.sinc) if cfg.sinc else None,
                       jpeg=sample_jpeg(d, cfg.jpeg) if cfg.jpeg else None,
                       codec=sample_codec(d.rng, cfg.codec) if cfg.codec else None)


def sample_clip(cfg: DegradationConfig, num_frames: int, rng: np.random.Generator) -> ClipParams:
    """Draw one clip's parameters (``num_frames`` frames) from ``cfg``."""
    d = _Draw(rng, cfg.temporal, num_frames)
    stages = [_sample_stage(d, s) for s in cfg.stages]
    alt = cfg.alt_final is not None and bool(rng.uniform() < cfg.alt_final_prob)
    final = _sample_final(d, cfg.alt_final if alt else cfg.final, alt)
    return ClipParams(stages, final)


def sample_params(cfg: DegradationConfig, batch: int, num_frames: int,
                  rng: np.random.Generator) -> DegradationParams:
    """Parameters for ``batch`` clips of ``num_frames`` frames each."""
    if batch < 1 or num_frames < 1:
        raise ValueError(f"batch and num_frames must be >= 1, got {batch}, {num_frames}")
    return DegradationParams(cfg.name, num_frames, [sample_clip(cfg, num_frames, rng) for _ in range(batch)])
