"""Typed degradation configs (frozen dataclasses) and YAML presets.

A pipeline is ``stages`` (each: blur -> resize -> noise -> JPEG -> video codec, every op optional; the same
``DegradationStage`` type serves the first and the second order) followed by a ``FinalStage`` that brings the frames
to the LQ size (``H / scale``) and applies the last compression. ``load_preset(name_or_path)`` reads a preset shipped
in ``presets/`` or any YAML file with the same keys; unknown keys raise ``ConfigError`` naming the key. To customise,
copy a preset YAML and edit it.

Units: ranges are ``[lo, hi]`` pairs; Gaussian noise sigma is in 1/255 units (as in the papers); bit rates are bit/s;
angles and the sinc cut-off ``omega`` are radians. ``*_step`` fields are the per-frame random-walk step sizes
(RealBasicVSR), used when ``temporal: walk``.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from wildvsr.config import config_error, from_dict, read_yaml, to_dict
from wildvsr.degrade.kernels import KernelType
from wildvsr.degrade.resize import Interpolation
from wildvsr.errors import ConfigError

PI = math.pi
Temporal = Literal["walk", "clip", "frame"]
TEMPORAL_MODES: tuple[str, ...] = typing.get_args(Temporal)


@dataclasses.dataclass(frozen=True)
class BlurConfig:
    """Random blur kernel (Real-ESRGAN / RealBasicVSR ``RandomBlur``); also the final sinc filter.

    ``omega: null`` means [pi/3, pi] for kernels smaller than 13, else [pi/5, pi]. ``beta_sampling``: ``split`` is
    Real-ESRGAN's U(lo, 1) or U(1, hi) with p = 1/2; ``uniform`` is U(lo, hi); ``mmedit`` reproduces MMEditing's
    quirk (the walked beta b is re-drawn per frame as U(b, 1) or U(1, b), so it varies between b and 1).
    """

    prob: float = 1.0
    kernel_list: tuple[KernelType, ...] = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso",
                                    "plateau_aniso", "sinc")
    kernel_prob: tuple[float, ...] = (0.405, 0.225, 0.108, 0.027, 0.108, 0.027, 0.1)
    kernel_sizes: tuple[int, ...] = (7, 9, 11, 13, 15, 17, 19, 21)
    sigma_x: tuple[float, float] = (0.2, 3.0)
    sigma_y: tuple[float, float] = (0.2, 3.0)
    rotation: tuple[float, float] = (-PI, PI)
    beta_gaussian: tuple[float, float] = (0.5, 4.0)
    beta_plateau: tuple[float, float] = (1.0, 2.0)
    omega: tuple[float, float] | None = None
    beta_sampling: Literal["split", "uniform", "mmedit"] = "split"
    sigma_x_step: float = 0.0
    sigma_y_step: float = 0.0
    rotation_step: float = 0.0
    beta_gaussian_step: float = 0.0
    beta_plateau_step: float = 0.0
    omega_step: float = 0.0


@dataclasses.dataclass(frozen=True)
class ResizeConfig:
    """Random resize: mode up/down/keep with ``mode_prob``; up U(1, hi), down U(lo, 1), keep 1 (then walks in [lo, hi]).

    ``relative_to``: ``current`` (the frame's size now; RealBasicVSR, Real-ESRGAN stage 1) or ``target`` (the final
    LQ size, Real-ESRGAN stage 2: ``ori / 4 * s``). ``even`` rounds sizes down to even numbers.
    """

    prob: float = 1.0
    mode_prob: tuple[float, float, float] = (0.2, 0.7, 0.1)
    scale: tuple[float, float] = (0.15, 1.5)
    scale_step: float = 0.0
    interpolations: tuple[Interpolation, ...] = ("area", "bilinear", "bicubic")
    interpolation_prob: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)
    relative_to: Literal["current", "target"] = "current"
    even: bool = False


@dataclasses.dataclass(frozen=True)
class NoiseConfig:
    """Gaussian (p = ``gaussian_prob``, sigma in 1/255) or Poisson noise, gray with ``gray_prob``."""

    prob: float = 1.0
    gaussian_prob: float = 0.5
    gaussian_sigma: tuple[float, float] = (1.0, 30.0)
    gaussian_sigma_step: float = 0.0
    poisson_scale: tuple[float, float] = (0.05, 3.0)
    poisson_scale_step: float = 0.0
    gray_prob: float = 0.4
    clip: bool = True


@dataclasses.dataclass(frozen=True)
class JpegConfig:
    """JPEG quality ~ U(quality) (rounded), walking by ``quality_step``.

    ``backend``: ``libjpeg`` (real libjpeg via Pillow, CPU; default) or ``torch`` (``diffjpeg.diff_jpeg`` on the
    tensors' device, no host round trip; agrees with libjpeg to about 40-48 dB PSNR).
    """

    prob: float = 1.0
    quality: tuple[float, float] = (30.0, 95.0)
    quality_step: float = 0.0
    backend: Literal["libjpeg", "torch"] = "libjpeg"


@dataclasses.dataclass(frozen=True)
class CodecConfig:
    """Video compression of the whole clip through a real encoder.

    ``style: realbasicvsr``: codec by ``codec_prob``, ``bitrate`` U-int range (bit/s), stream ``fps`` fixed (1).
    ``style: vcisr``: CRF = randint(crf) + ``crf_offset[codec]`` for x264/x265, bitrate = randint(bitrate_kbps) * 1000
    for the others; ``preset`` by ``preset_prob``; fps = randint(fps) (``mpeg2_fps`` for mpeg2video); width ratio:
    shrink U(ratio[0], 1) / expand U(1, ratio[1]) / keep by ``ratio_prob`` (MPEG-2: max(r, 1)).
    """

    style: Literal["realbasicvsr", "vcisr"] = "realbasicvsr"
    prob: float = 1.0
    codecs: tuple[str, ...] = ("libx264", "h264", "mpeg4")
    codec_prob: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)
    bitrate: tuple[float, float] = (1e4, 1e5)
    fps: tuple[int, int] = (1, 1)
    crf: tuple[int, int] = (20, 32)
    crf_offset: tuple[int, ...] = (0, 0, 0, 0)
    bitrate_kbps: tuple[float, float] = (3800, 5800)
    presets: tuple[str, ...] = ("medium",)
    preset_prob: tuple[float, ...] = (1.0,)
    mpeg2_fps: int = 25
    ratio: tuple[float, float] = (1.0, 1.0)
    ratio_prob: tuple[float, float, float] = (0.0, 0.0, 1.0)
    container: str = "mp4"


@dataclasses.dataclass(frozen=True)
class DegradationStage:
    """One order of degradation, applied blur -> resize -> noise -> JPEG -> codec (absent ops are skipped)."""

    blur: BlurConfig | None = None
    resize: ResizeConfig | None = None
    noise: NoiseConfig | None = None
    jpeg: JpegConfig | None = None
    codec: CodecConfig | None = None


@dataclasses.dataclass(frozen=True)
class FinalStage:
    """Resize to the LQ size (``H // scale``) + optional sinc, and the final compression (JPEG and/or codec).

    ``resize_first_prob`` is the probability that [resize + sinc] runs before the compression group: 0.5 is
    Real-ESRGAN's / RealBasicVSR's ``DegradationsWithShuffle``, 1 a fixed order.
    """

    interpolations: tuple[Interpolation, ...] = ("area", "bilinear", "bicubic")
    interpolation_prob: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)
    antialias: bool = False
    sinc: BlurConfig | None = None
    jpeg: JpegConfig | None = None
    codec: CodecConfig | None = None
    resize_first_prob: float = 1.0
    clamp: bool = True


@dataclasses.dataclass(frozen=True)
class DegradationConfig:
    """A whole degradation pipeline.

    Attributes:
        name: preset name (recorded in the parameters).
        temporal: how parameters vary over a clip's frames: ``walk`` (RealBasicVSR random walk, categorical choices
            once per clip), ``clip`` (one draw per clip, constant; VCISR), ``frame`` (independent per frame, as if
            each frame were an image; Real-ESRGAN).
        stages: first, second ... order (same type, different numbers).
        final: the last resize and compression.
        alt_final: an alternative final stage used with ``alt_final_prob`` per clip (VCISR's 5 % "V1" path).
        quantize: round to 8-bit levels and clamp at the end.
        scale: LQ = GT / scale.
    """

    name: str = "custom"
    temporal: Temporal = "walk"
    stages: tuple[DegradationStage, ...] = ()
    final: FinalStage = FinalStage()
    alt_final: FinalStage | None = None
    alt_final_prob: float = 0.0
    quantize: bool = True
    scale: int = 4

    def __post_init__(self) -> None:
        if self.temporal not in TEMPORAL_MODES:  # checked at load too; this catches direct construction
            raise config_error("temporal", f"{self.temporal!r} is not one of {', '.join(map(repr, TEMPORAL_MODES))}")
        if self.scale < 1:
            raise config_error("scale", f"must be >= 1, got {self.scale}")

    def to_dict(self) -> dict[str, Any]:
        """Plain (YAML/JSON-able) dict; ``from_dict(to_dict())`` gives an equal config."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DegradationConfig:
        """Build from a plain dict, rejecting unknown keys, wrong types and unknown choices with ``ConfigError``
        naming the key path (``final.jpeg.backend: 'torchh' is not one of 'libjpeg', 'torch'``)."""
        return from_dict(cls, data)


PRESETS = ("bicubic", "realesrgan", "realbasicvsr", "vcisr")


def preset_path(name: str) -> Path:
    """Path of a shipped preset YAML (``bicubic``, ``realesrgan``, ``realbasicvsr``, ``vcisr``)."""
    return Path(str(resources.files("wildvsr.degrade") / "presets" / f"{name}.yaml"))


def load_preset(name_or_path: str | Path) -> DegradationConfig:
    """Load a shipped preset by name, or a YAML file by path.

    Raises:
        ConfigError: unknown preset name, unreadable YAML, or an unknown/ill-typed key (named in the message).
    """
    text_path = Path(name_or_path)
    if str(name_or_path) in PRESETS:
        text_path = preset_path(str(name_or_path))
    elif not (text_path.suffix in (".yaml", ".yml") or text_path.exists()):
        raise ConfigError(f"unknown degradation preset {str(name_or_path)!r}; use one of {', '.join(PRESETS)} "
                          "or a path to a YAML file")
    if not text_path.is_file():
        raise ConfigError(f"degradation config {text_path} not found; use one of {', '.join(PRESETS)} or a YAML path")
    return DegradationConfig.from_dict(read_yaml(text_path))
