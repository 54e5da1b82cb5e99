"""Building the networks and optimisers of a recipe: generator (with init/freezing), discriminator, Adam groups."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from wildvsr.errors import ConfigError
from wildvsr.models import architecture_name, create_model, init_from_basicvsr, model_spec, resolve_weights
from wildvsr.models.factory import unwrap_checkpoint
from wildvsr.train.checkpoint import EMA_KEY, generator_weights, load_checkpoint
from wildvsr.train.config import DiscriminatorConfig, ModelConfig, OptimConfig
from wildvsr.models.weight_files import load_state_dict

logger = logging.getLogger(__name__)


def model_part(model: nn.Module, role: str) -> nn.Module | None:
    """The submodule a model declares for ``role`` (``spynet``, ``cleaning``, ``basicvsr``) in its spec's ``parts``
    (role -> dotted submodule path), or None when it declares none."""
    path = model_spec(model).parts.get(role)
    return model.get_submodule(path) if path is not None else None


def _create(name: str, key: str, kwargs: dict[str, Any]) -> nn.Module:
    try:
        return create_model(name, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"config key '{key}': {exc}") from None


def build_generator(cfg: ModelConfig, start_weights: bool = True) -> tuple[nn.Module, dict[str, torch.Tensor] | None]:
    """The generator with its initial weights, frozen parts set; also the EMA state from a ``.pt`` start checkpoint.

    Order: fresh model -> ``init_from_basicvsr`` (propagation + SPyNet) -> ``init_pretrained`` (the model's own
    ``init_from`` with the parts it declares) -> ``weights`` (ours; skipped without ``start_weights``: a resumed run
    takes every weight from its own checkpoint, so a later stage still resumes after the earlier stage's start
    checkpoint was pruned or moved) -> freezing.
    """
    model = _create(cfg.name, "model.kwargs", dict(cfg.kwargs))
    ema_state = None
    if cfg.init_from_basicvsr is not None:
        init_propagation(model, cfg.init_from_basicvsr)
    if cfg.init_pretrained:
        init_pretrained_parts(model, cfg.name)
    if cfg.weights is not None and start_weights:
        ema_state = load_generator_weights(model, cfg.weights)
    set_trainable(model, cfg)
    return model, ema_state


def set_trainable(model: nn.Module, cfg: ModelConfig) -> None:
    """Freeze or unfreeze SPyNet and the cleaning module as the config says (models may freeze SPyNet by default)."""
    spy = model_part(model, "spynet")
    if cfg.fix_spynet and spy is None:
        raise ConfigError(f"config key 'model.fix_spynet': model '{cfg.name}' has no SPyNet submodule")
    if spy is not None:
        spy.requires_grad_(not cfg.fix_spynet and cfg.spynet_lr_mult > 0)
    cleaning = model_part(model, "cleaning")
    if cfg.fix_cleaning and cleaning is None:
        raise ConfigError(f"config key 'model.fix_cleaning': model '{cfg.name}' has no cleaning module")
    if cleaning is not None:
        cleaning.requires_grad_(not cfg.fix_cleaning)


def init_pretrained_parts(model: nn.Module, name: str) -> None:
    """Initialise the parts a model's spec declares in ``pretrained_init`` (role -> shipped model name) from those
    models."""
    specs = model_spec(model).pretrained_init
    if not specs:
        raise ConfigError(f"config key 'model.init_pretrained': model '{name}' declares no pretrained parts "
                          "(only rcvsr does)")
    loaded = model.init_from({role: create_model(spec) for role, spec in specs.items()})
    logger.info("initialised %d tensors of %s from %s", len(loaded), name, ", ".join(specs.values()))


def init_propagation(model: nn.Module, spec: str) -> None:
    """Copy official BasicVSR weights (``reds4``, ``basicvsr.vimeo90k_bi`` or a ``.pth`` path) into propagation +
    SPyNet of a RealBasicVSR."""
    path = resolve_weights(spec, model="basicvsr")  # a bare tag is a BasicVSR tag
    if model_part(model, "basicvsr") is None:
        raise ConfigError(f"config key 'model.init_from_basicvsr': model {type(model).__name__} has no BasicVSR part")
    report = init_from_basicvsr(model, unwrap_checkpoint(load_state_dict(path)))
    logger.info("initialised propagation and SPyNet from %s (%d tensors)", path, len(report["loaded"]))


def load_generator_weights(model: nn.Module, weights: str) -> dict[str, torch.Tensor] | None:
    """Load a training checkpoint (``.pt``: its ``model`` state) or anything ``wildvsr.models`` can load.

    Returns the checkpoint's EMA state when it has one (stage 2 starts its EMA from stage 1's, as mmedit ``load_from``).
    """
    path = Path(weights).expanduser()
    if path.suffix == ".pt" and path.is_file():
        state = load_checkpoint(path)
        model.load_state_dict(generator_weights(state, ema=False, source=path))
        logger.info("loaded generator weights from training checkpoint %s (step %d)", path, state["step"])
        return generator_weights(state, ema=True, source=path) if EMA_KEY in state else None

    loaded = create_model(architecture_name(model), weights=weights, **dict(model_spec(model).config))
    model.load_state_dict(loaded.state_dict())
    logger.info("loaded generator weights %s", weights)
    return None


def build_discriminator(cfg: DiscriminatorConfig) -> nn.Module:
    return _create(cfg.name, "discriminator.kwargs", dict(cfg.kwargs))


def generator_param_groups(model: nn.Module, cfg: ModelConfig, optim: OptimConfig) -> list[dict[str, Any]]:
    """Adam groups: SPyNet at ``lr * spynet_lr_mult`` (when trainable), everything else at ``lr``; frozen excluded."""
    spy = model_part(model, "spynet")
    spy_ids = {id(p) for p in spy.parameters()} if spy is not None else set()
    main = [p for p in model.parameters() if p.requires_grad and id(p) not in spy_ids]
    spy = [p for p in model.parameters() if p.requires_grad and id(p) in spy_ids]
    groups = [{"params": main, "lr": optim.lr, "name": "main"}]
    if spy and cfg.spynet_lr_mult > 0:
        groups.append({"params": spy, "lr": optim.lr * cfg.spynet_lr_mult, "name": "spynet"})
    elif spy:
        for p in spy:
            p.requires_grad_(False)
    if not main:
        raise ConfigError("config: the generator has no trainable parameters (check model.fix_* keys)")
    return groups


def build_scheduler(optimizer: torch.optim.Optimizer, optim: OptimConfig) -> torch.optim.lr_scheduler.LRScheduler:
    if optim.scheduler == "multistep":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(optim.milestones), gamma=optim.gamma)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda=_constant)


def _constant(_: int) -> float:  # module-level so the scheduler state stays picklable
    return 1.0
