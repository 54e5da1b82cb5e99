"""Exponential moving average of a model's weights (MME0 ``core/hooks/ema.py`` rule)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA:
    """Keeps ``ema = param + (ema - param) * decay`` for trainable parameters, updated after every optimiser step.

    Frozen parameters (SPyNet) and buffers are copied directly, as MME0 does (their momentum is 0).

    Args:
        model: the (unwrapped) model to track; a deep copy is kept in eval mode without gradients.
        decay: momentum (0.999 in RealBasicVSR).
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        self.decay = float(decay)
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """One EMA step from ``model``'s current weights."""
        ema_params = dict(self.module.named_parameters())
        for name, p in model.named_parameters():
            e = ema_params[name]
            if p.requires_grad:
                e.copy_(p.detach().to(e.dtype) + (e - p.detach().to(e.dtype)) * self.decay)  # MME0 form, kept literal
            else:
                e.copy_(p.detach())
        ema_buffers = dict(self.module.named_buffers())
        for name, b in model.named_buffers():
            ema_buffers[name].copy_(b)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
