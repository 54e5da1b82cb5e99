"""VGG19 ``features`` (torchvision layout) for the perceptual loss, without torchvision.

The module indices match ``torchvision.models.vgg19().features`` so a torchvision state dict
(``vgg19-dcbb9e9d.pth``; keys ``features.N.weight`` / ``features.N.bias``) loads directly and the perceptual-loss
layer ids ('2', '7', '16', '25', '34' = conv1_2, conv2_2, conv3_4, conv4_4, conv5_4) mean the same thing.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from wildvsr.errors import WeightsMismatchError, WeightsNotFoundError

# Configuration "E" of Simonyan & Zisserman: channel counts, "M" = 2x2 max-pool.
VGG19_CFG: tuple[int | str, ...] = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
                                    512, 512, 512, 512, "M", 512, 512, 512, 512, "M")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_features() -> nn.Sequential:
    """An uninitialised VGG19 ``features`` stack (37 modules, indices as torchvision's)."""
    layers: list[nn.Module] = []
    in_ch = 3
    for v in VGG19_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_ch, int(v), kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            in_ch = int(v)
    return nn.Sequential(*layers)


def load_vgg19_features(path: str | os.PathLike, last_layer: int = 36) -> nn.Sequential:
    """VGG19 ``features[: last_layer + 1]`` with weights from a torchvision-layout state dict, frozen, in eval mode.

    Raises:
        WeightsNotFoundError: ``path`` does not exist.
        WeightsMismatchError: the file is not a VGG19 state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(
            f"VGG19 weights {path} not found; give the path of torchvision's vgg19-dcbb9e9d.pth "
            "(loss.perceptual.vgg_weights) or set loss.perceptual.weight=0")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    feats = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    if not feats:
        raise WeightsMismatchError(f"{path} has no 'features.*' keys; expected torchvision's VGG19 state dict")
    model = vgg19_features()
    try:
        model.load_state_dict(feats, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise WeightsMismatchError(f"{path} does not fit VGG19 features: {first}") from None
    model = model[: last_layer + 1]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
