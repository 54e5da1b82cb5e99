"""Building registered models with weights (``create_model``, ``resolve_weights``), and our own format
(``save_pretrained`` / ``from_pretrained``).

Our format is safetensors with the constructor kwargs alongside: either one ``.safetensors`` file whose metadata holds
``wildvsr.architecture`` and ``wildvsr.config`` (JSON), or a folder with ``model.safetensors`` + ``config.json``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from wildvsr.models.checkpoint_keys import GENERATOR_KEY
from wildvsr.errors import InputError, UnknownModelError, WeightsMismatchError, WeightsNotFoundError
from wildvsr.models.registry import ModelEntry, get_model_entry, get_pretrained_cfg, list_models, model_spec
from wildvsr.models.weights_spec import WeightsSpec, parse_weights_spec, split_name
from wildvsr.models.ncnn import assign_in_order, is_ncnn_pair
from wildvsr.models.pretrained_cfg import PretrainedCfg
from wildvsr.utils.files import atomic_path, atomic_write_text
from wildvsr.models.weight_files import cached_file, load_file_metadata, load_state_dict, resolve_file

__all__ = ["unwrap_checkpoint", "load_checked", "load_pretrained", "save_pretrained", "from_pretrained",
           "read_config", "guess_architecture", "architecture_name", "create_model", "create", "resolve_weights",
           "build"]

logger = logging.getLogger(__name__)

_META_ARCH = "wildvsr.architecture"
_META_CONFIG = "wildvsr.config"
# Where a checkpoint keeps its network, first match wins: BasicSR / Real-ESRGAN (their EMA first), mmcv, then a wildvsr
# training checkpoint by its declared key: the raw generator, as `wildvsr train export` writes by default (its EMA is
# asked for explicitly there, never guessed here; "model" is also what generic trainers use).
_WRAPPERS = ("params_ema", "params", "state_dict", GENERATOR_KEY)
_STRIP = ("module.", "_orig_mod.")  # DataParallel / torch.compile


def unwrap_checkpoint(obj: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The tensor dict inside a checkpoint: ``params_ema``, then ``params``, then ``state_dict``, then ``model``, then the
    dict itself;
    ``module.`` and ``_orig_mod.`` prefixes removed; non-tensor entries dropped."""
    for key in _WRAPPERS:
        if isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    out = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            continue
        changed = True
        while changed:
            changed = False
            for prefix in _STRIP:
                if key.startswith(prefix):
                    key, changed = key[len(prefix):], True
        out[key] = value
    return out


def guess_architecture(keys: list[str] | set[str]) -> str | None:
    """Best guess of which registered architecture a state dict belongs to (for error hints)."""
    keys = set(keys)

    def has(fragment: str) -> bool:
        return any(fragment in k for k in keys)

    if has("image_cleaning."):
        return "realbasicvsr"
    if has("backward_resblocks.") or has("backward_trunk."):
        return "basicvsr"
    if has("conv_9.") or has("conv9."):
        return "unet_discriminator_sn"
    if has("basic_module."):
        return "spynet"
    if has(".rdb1."):
        return "rrdbnet"
    if keys and all(k.startswith("body.") for k in keys):
        return "srvgg"
    return None


def load_checked(model: nn.Module, state: dict[str, torch.Tensor], arch: str, source: str) -> None:
    """Strict load with one-line errors: missing/unexpected keys or shape mismatches -> ``WeightsMismatchError``."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[0]})")
        if shapes:
            k = shapes[0]
            parts.append(f"{len(shapes)} shape mismatches (e.g. {k}: file {tuple(state[k].shape)} vs model "
                         f"{tuple(own[k].shape)})")
        guess = guess_architecture(state)
        if guess and guess != arch:
            hint = f"did you pass {guess} weights to --model {arch}?"
        else:
            hint = "the file may be another size of this model; pass its constructor options (e.g. block counts)"
        raise WeightsMismatchError(f"weights {source} do not fit {arch}: {'; '.join(parts)}; {hint}")
    model.load_state_dict(state, strict=True)


def read_config(path: Path) -> tuple[str | None, dict[str, Any]]:
    """(architecture, constructor kwargs) stored with our weights: safetensors metadata or a ``config.json`` beside."""
    meta = load_file_metadata(path)
    if _META_ARCH in meta:
        return meta[_META_ARCH], json.loads(meta.get(_META_CONFIG, "{}"))
    config_json = path.parent / "config.json"
    if path.name == "model.safetensors" and config_json.is_file():
        data = json.loads(config_json.read_text())
        return data.pop("architecture", None), data
    return None, {}


def resolve_weights(spec: str | os.PathLike | PretrainedCfg, model: str | None = None) -> Path:
    """A local weights file for a weights string (see :mod:`wildvsr.models.weights_spec`; ``model`` is the model in
    context, for a bare tag or ``"default"``) or a :class:`PretrainedCfg`.

    Raises:
        WeightsNotFoundError: the file is not available offline (the message says where to put it).
        WeightsMismatchError: the file's SHA-256 differs from the registered one.
        UnknownModelError: ``spec`` is neither an existing path nor a registered name.
    """
    if isinstance(spec, PretrainedCfg):
        return resolve_file(spec)
    return _resolve_spec(parse_weights_spec(spec, model))


def _resolve_spec(spec: WeightsSpec) -> Path:
    if spec.kind == "path":
        return resolve_file(spec.path)
    if spec.kind == "file":  # a bare file name: a registered file (package data, cache), else any file in the cache
        cfg = _cfg_for_file(spec.text)
        if cfg is not None:
            return resolve_file(cfg, spec.text)
        found = cached_file(spec.text)
        if found is None:
            raise WeightsNotFoundError(f"weights file not found: {spec.path}")
        return found
    try:
        cfg = get_pretrained_cfg(spec.model, spec.tag)
    except UnknownModelError as exc:
        raise UnknownModelError(f"{spec.text!r} is neither a weights file nor a registered weights name ({exc})") \
            from None
    return resolve_file(cfg)


def _cfg_for_file(name: str) -> PretrainedCfg | None:
    """The registered weights whose file (or alternative name) is ``name``."""
    for model in list_models():
        for cfg in get_model_entry(model).pretrained.values():
            if name == cfg.file or name in cfg.alt_files:
                return cfg
    return None


def load_pretrained(entry: ModelEntry, weights: str | os.PathLike, kwargs: dict[str, Any]) -> nn.Module:
    """Resolve ``weights`` (a weights string in the context of ``entry``), build ``entry``'s model with the right
    config and load strictly."""
    spec = parse_weights_spec(weights, entry.name)
    if spec.kind == "name" and spec.model == entry.name:
        cfg = get_pretrained_cfg(entry.name, spec.tag)  # an unknown tag raises, listing the known ones
        path = resolve_file(cfg)
        config = dict(cfg.model_kwargs)
        source = f"{cfg.name} ({path.name})"
    else:
        path = _resolve_spec(spec)
        config = _stored_config(entry, path)
        source = str(path)
    if is_ncnn_pair(path):  # nameless tensors in graph order: named by the model's own state-dict order
        model = build(entry, {**config, **kwargs})
        state = assign_in_order(load_state_dict(path), model.state_dict(), source)
    else:
        state = entry.filter_fn(unwrap_checkpoint(load_state_dict(path)))
        # sizes read off the file (a foreign BasicSR BasicVSR may have num_block=15), then the stored config, kwargs
        inferred = entry.config_fn(state) if entry.config_fn is not None else {}
        model = build(entry, {**inferred, **config, **kwargs})
    load_checked(model, state, entry.name, source)
    logger.info("loaded %s weights from %s", entry.name, path)
    return model.eval()


def _stored_config(entry: ModelEntry, path: Path) -> dict[str, Any]:
    """Constructor kwargs for ``entry`` stored with a weights file given by path (ours, or a registered file's)."""
    arch, config = read_config(path)
    # SPyNet may be taken out of any saved BasicVSR/RealBasicVSR (its filter extracts the spynet.* part)
    if arch is not None and arch != entry.name and entry.name != "spynet":
        raise WeightsMismatchError(f"weights {path} are for {arch}, not {entry.name}; "
                                   f"did you pass {arch} weights to --model {entry.name}?")
    if arch != entry.name:
        config = {}  # the stored config is the other architecture's
    registered = next((c for c in entry.pretrained.values() if c.file == path.name), None)
    if arch is None and registered is not None:
        config = dict(registered.model_kwargs)  # a registered file given by path: its registered sizes
    return config


def create_model(name: str, weights: str | os.PathLike | None = None, **kwargs: Any) -> nn.Module:
    """Build a registered model, optionally with weights.

    Args:
        name: Model name, or ``"name.tag"`` as a shorthand for ``weights=tag``.
        weights: None (random init), ``"default"`` (the model's default tag), a weights tag (``"reds4"``), or a path
            to a ``.pth``/``.safetensors`` file (ours or a foreign layout the model's key map understands).
        **kwargs: Constructor overrides (None values are dropped, so CLI defaults don't override the model's).

    Returns:
        The model on CPU in fp32; in eval mode when weights were loaded, else in train mode (PyTorch's default).

    Raises:
        UnknownModelError, WeightsNotFoundError, WeightsMismatchError.
    """
    model_name, tag = split_name(name)
    if tag:
        if weights is not None and weights != tag:
            raise UnknownModelError(f"model {name!r} names weights {tag!r} but weights={weights!r} was also given")
        weights = tag
    entry = get_model_entry(model_name)
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if weights is None:
        return build(entry, kwargs)
    return load_pretrained(entry, weights, kwargs)


def build(entry: ModelEntry, kwargs: dict[str, Any]) -> nn.Module:
    """``entry``'s model from constructor kwargs, with its spec attached as ``model.spec`` (bound to the instance's
    ``config``, the constructor kwargs it records)."""
    model = entry.builder(**kwargs)
    model.spec = entry.spec.bind(entry.name, getattr(model, "config", {}))
    return model


create = create_model  # timm's short name (tests/models/test_models_registry.py keeps it public)


def architecture_name(model: nn.Module) -> str:
    """Registry name of a model instance (``"realbasicvsr"``); ``InputError`` if its class is not registered."""
    for name in list_models():
        if type(model) is get_model_entry(name).builder:
            return name
    raise InputError(f"{type(model).__name__} is not a registered wildvsr model (known: {', '.join(list_models())})")


def save_pretrained(model: nn.Module, path: str | os.PathLike, *, overwrite: bool = False,
                    metadata: dict[str, str] | None = None) -> Path:
    """Save ``model`` in our format (atomically).

    ``path`` ending in ``.safetensors``: one file, config in its metadata. Otherwise a folder with
    ``model.safetensors`` and ``config.json``. Returns the weights file written.
    """
    arch = architecture_name(model)
    config = dict(model_spec(model).config)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    meta = {**(metadata or {}), _META_ARCH: arch, _META_CONFIG: json.dumps(config, sort_keys=True), "format": "pt"}
    path = Path(path)
    if path.suffix == ".safetensors":
        with atomic_path(path, overwrite=overwrite) as tmp:
            save_file(state, str(tmp), metadata=meta)
        return path
    path.mkdir(parents=True, exist_ok=True)
    target = path / "model.safetensors"
    with atomic_path(target, overwrite=overwrite) as tmp:
        save_file(state, str(tmp), metadata=meta)
    atomic_write_text(path / "config.json", json.dumps({"architecture": arch, **config}, indent=2, sort_keys=True))
    return target


def from_pretrained(path: str | os.PathLike, **kwargs: Any) -> nn.Module:
    """Load a model saved by :func:`save_pretrained` (file or folder); kwargs override the stored config."""
    file = resolve_file(path)
    arch, _ = read_config(file)
    if arch is None:
        raise WeightsMismatchError(f"{file} has no wildvsr config (not written by save_pretrained); "
                                   f"use create_model(NAME, weights=PATH) instead")
    return load_pretrained(get_model_entry(arch), file, {k: v for k, v in kwargs.items() if v is not None})
