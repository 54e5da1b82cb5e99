"""Models: SPyNet, BasicVSR, RealBasicVSR, Real-ESRGAN's RRDBNet and SRVGGNetCompact, and the U-Net discriminator,
behind a timm-style registry.

>>> from wildvsr.models import create_model
>>> model = create_model("basicvsr", weights="reds4")   # (B, T, 3, H, W) [0, 1] -> (B, T, 3, 4H, 4W)

Each model declares what it provides once, in a :class:`ModelSpec` (``model_spec(model)``): video models
(``temporal=True``) take float ``(B, T, C, H, W)`` RGB in [0, 1]; per-frame models (``temporal=False``: RRDBNet,
SRVGGNetCompact) take ``(B, C, H, W)``. Weights never download; see :mod:`wildvsr.models.weight_files`.
"""

from wildvsr.models.basicvsr import BasicVSR
from wildvsr.models.discriminator import UNetDiscriminatorSN
from wildvsr.models.factory import (
    architecture_name,
    create,
    create_model,
    from_pretrained,
    guess_architecture,
    resolve_weights,
    save_pretrained,
)
from wildvsr.models.realbasicvsr import RealBasicVSR, init_from_basicvsr
from wildvsr.models.registry import (
    PretrainedCfg,
    get_pretrained_cfg,
    is_model,
    is_per_frame_model,
    list_models,
    model_info,
    model_spec,
    register_model,
    upscale_models,
)
from wildvsr.models.rrdbnet import RRDBNet
from wildvsr.models.spynet import SPyNet
from wildvsr.models.spec import ModelSpec
from wildvsr.models.srvgg import SRVGGNetCompact
from wildvsr.models.weights_spec import WeightsSpec, parse_weights_spec, split_name

__all__ = [
    "BasicVSR", "RealBasicVSR", "RRDBNet", "SRVGGNetCompact", "SPyNet", "UNetDiscriminatorSN", "PretrainedCfg",
    "create_model", "create", "list_models", "is_model", "model_info", "get_pretrained_cfg", "resolve_weights",
    "save_pretrained", "from_pretrained", "architecture_name", "guess_architecture", "init_from_basicvsr",
    "WeightsSpec", "parse_weights_spec", "split_name", "upscale_models", "is_per_frame_model", "ModelSpec",
    "model_spec", "register_model",
]
