"""What the Upscale tab offers: the registry's upscale models (default preselected, with description and licence),
and the one mapping from the tab's controls to :class:`wildvsr.inference.UpscaleConfig` keyword arguments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wildvsr.app.settings import AppSettings
from wildvsr.defaults import DEFAULT_TEMPORAL, DEFAULT_UPSCALE_MODEL, RECOMMENDED_STABILIZER
from wildvsr.models.factory import read_config, resolve_weights
from wildvsr.models.weights_spec import split_name
from wildvsr.models.registry import get_model_entry, is_per_frame_model, upscale_models
from wildvsr.models.weight_files import locate
from wildvsr.inference.config import PRECISIONS  # noqa: F401  (the app offers the same choices as the CLI)

TILE_CHOICES = (0, 128, 256, 512)  # 0: auto (tiles only for a video model's large frames)


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model list: ``value`` is what the client sends; ``model``/``weights`` go to UpscaleConfig."""

    value: str
    label: str
    model: str
    weights: str | None = None
    tag: str | None = None  # the registry weights tag (also for the default weights, where ``weights`` is None)


def model_choices(settings: AppSettings) -> list[ModelChoice]:
    """Every registered upscale model with each of its weights (``name`` = default weights, ``name.tag`` others),
    then the server's extra weights files (``file:NAME``). The default model comes first."""
    choices = []
    for name in upscale_models():
        entry = get_model_entry(name)
        for tag, cfg in entry.pretrained.items():
            value = name if tag == entry.default_tag else f"{name}.{tag}"
            missing = "" if locate(cfg) is not None else " [weights not installed]"
            label = f"{value}: {entry.description} ({cfg.license or 'licence unknown'}; {tag}){missing}"
            choices.append(ModelChoice(value, label, name, None if value == name else tag, tag))
    for path in settings.weights:
        choices.append(ModelChoice(f"file:{path.name}", f"file:{path.name}: weights file given to the server "
                                   f"({_architecture(path)})", _architecture(path), str(path)))
    default = default_choice(choices)
    return sorted(choices, key=lambda c: c.value != default)


def default_choice(choices: list[ModelChoice]) -> str:
    """The value of :data:`wildvsr.defaults.DEFAULT_UPSCALE_MODEL` (``name`` or ``name.tag``) in ``choices``."""
    name, tag = split_name(DEFAULT_UPSCALE_MODEL)
    for choice in choices:
        if choice.value == DEFAULT_UPSCALE_MODEL or (tag and choice.model == name and choice.tag == tag):
            return choice.value
    return choices[0].value if choices else DEFAULT_UPSCALE_MODEL


def _architecture(path: Path) -> str:
    """The architecture stored with our weights files; a foreign file is read as the default model's architecture
    (as ``wildvsr upscale --weights FILE`` does)."""
    arch, _ = read_config(resolve_weights(path))
    return arch or split_name(DEFAULT_UPSCALE_MODEL)[0]


def upscale_config_kwargs(choice: ModelChoice, temporal: bool, precision: str, tile: int | None,
                          device: str) -> dict[str, Any]:
    """The Upscale tab's controls as :class:`UpscaleConfig` keyword arguments (the one place that maps them).

    ``temporal`` (the stabilizer checkbox) turns on :data:`wildvsr.defaults.RECOMMENDED_STABILIZER` for per-frame
    models (``"auto"`` when the default already names one); video models need none (``"auto"`` gives them none).
    """
    kwargs: dict[str, Any] = {"model": choice.model, "weights": choice.weights, "precision": precision,
                              "tile": int(tile) if tile else None, "device": device, "resume": True}
    if not temporal:
        kwargs["temporal"] = "off"
    elif is_per_frame_model(choice.model) and DEFAULT_TEMPORAL == "off":
        kwargs["temporal"] = RECOMMENDED_STABILIZER
    else:
        kwargs["temporal"] = "auto"
    return kwargs
