"""Temporal stabilizer for per-frame x4 models: keep each frame's restored detail, remove its frame-to-frame flicker.

A per-frame model (Real-ESRGAN) restores every frame on its own, so the detail it invents changes from frame to frame.
The stabilizer runs forward in time over the model outputs ``S_t`` and returns

    O_t = S_t + L( w_t * (Warp(O_{t-1}) - S_t) )

* ``Warp(O_{t-1})`` is the previous *stabilized* output moved onto frame t. The flow is SPyNet (official BasicVSR
  REDS4 weights) on the **input** frames, upsampled x4: the input does not carry the model's flicker, and flow at the
  input resolution costs 1/16 of flow at the output's.
* ``w_t`` in [0, ``strength``] per output pixel: zero where the forward-backward check of the input flow fails
  (occlusions, the same check as the warping-error metric), where the input itself changed after warping (the flow is
  wrong there, or the scene changed: cuts, lighting), and where the warped previous output differs from the current
  one by much more than flicker does (``sigma``: a genuine change passes through instead of leaving a ghost). A frame
  where most of the input fails to follow the flow (a cut) is not fused at all.
* ``L`` is the identity (``fusion``: flow-guided recurrent fusion, all frequencies), or the screened-Poisson low-pass
  of Bonneel et al., "Blind video temporal consistency" (SIGGRAPH Asia 2015): ``O_t`` keeps the gradients of ``S_t``
  and takes its colours from the weighted target, i.e. it minimises ``|grad O - grad S|^2 + lam |O - T|^2`` with
  ``T = S + w (Warp(O_{t-1}) - S)``, solved exactly with Neumann boundaries by a DCT (an FFT of the mirrored image).
  Its solution is ``S + L_lam(T - S)`` with ``L_lam`` the filter ``lam / (lam + |k|^2)``.

The state between calls is the last input frame and the last stabilized output (one frame each: memory does not grow
with the video's length), so a stream cut into chunks gives the same frames as one call. All tensors are float32 in
[0, 1]; the previous output is kept unrounded.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from wildvsr.errors import ConfigError, InputError
from wildvsr.inference.stabilizer_settings import STABILIZERS, StabilizerSettings
from wildvsr.models.flow import consistency_mask, spynet_flow_fn
from wildvsr.models.layers import flow_warp

__all__ = ["STABILIZERS", "FlowStabilizer", "StabilizerSettings", "build_stabilizer", "screened_poisson_lowpass"]

SCALE = 4
"""Output / input size ratio the stabilizer expects (the per-frame models are x4)."""

CUT_RELIABILITY = 0.3
"""A frame whose mean flow reliability (input weight) is below this is treated as a scene cut: nothing is fused."""


def build_stabilizer(name: str, device: torch.device | str = "cpu") -> FlowStabilizer | None:
    """The stabilizer called ``name`` (a key of :data:`STABILIZERS`) on ``device``; ``"off"`` gives None.

    Raises:
        ConfigError: unknown name (the message lists the known ones).
    """
    if name == "off":
        return None
    if name not in STABILIZERS:
        raise ConfigError(f"unknown temporal stabilizer {name!r}; choose off, auto or one of: "
                          f"{', '.join(STABILIZERS)}")
    return FlowStabilizer(STABILIZERS[name], device, name=name)


class FlowStabilizer:
    """Streaming temporal stabilizer (module docstring). Call it on consecutive chunks of one video, in order.

    Args:
        settings: A :class:`StabilizerSettings`.
        device: Where the flow network runs and the state lives.
        flow_fn: Flow estimator ``(ref, supp) -> flow`` (default SPyNet with the BasicVSR REDS4 weights).
        name: The setting's name in :data:`STABILIZERS` (what an upscale plan records).
    """

    def __init__(self, settings: StabilizerSettings, device: torch.device | str = "cpu", flow_fn=None,
                 name: str = "custom") -> None:
        self.settings = settings
        self.name = name
        self.device = torch.device(device)
        self._flow_fn = flow_fn
        self.prev_lq: torch.Tensor | None = None  # (1, 3, H, W) float32
        self.prev_out: torch.Tensor | None = None  # (1, 3, 4H, 4W) float32, unrounded

    @property
    def flow_fn(self):
        if self._flow_fn is None:  # SPyNet is built on first use (and shared with the warping-error metric)
            self._flow_fn = spynet_flow_fn(self.device)
        return self._flow_fn

    # ------------------------------------------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget the previous frame (call between videos)."""
        self.prev_lq = self.prev_out = None

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The carried state (empty before the first frame): ``prev_lq`` and ``prev_out`` on CPU."""
        if self.prev_lq is None:
            return {}
        return {"prev_lq": self.prev_lq.cpu(), "prev_out": self.prev_out.cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore :meth:`state_dict` (an empty dict resets)."""
        if not state:
            self.reset()
            return
        self.prev_lq = state["prev_lq"].to(self.device, torch.float32)
        self.prev_out = state["prev_out"].to(self.device, torch.float32)

    # ------------------------------------------------------------------------------------------------------- call
    def __call__(self, lq: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
        """Stabilize ``sr`` ``(N, 3, 4H, 4W)`` given its inputs ``lq`` ``(N, 3, H, W)``, both [0, 1], time order.

        Returns:
            ``(N, 3, 4H, 4W)`` float32 (values of ``sr``'s range; not clamped).
        """
        if lq.dim() != 4 or sr.dim() != 4 or lq.shape[0] != sr.shape[0] or lq.shape[1] != 3 or sr.shape[1] != 3 \
                or tuple(sr.shape[-2:]) != (SCALE * lq.shape[-2], SCALE * lq.shape[-1]):
            raise InputError(f"stabilizer expects lq (N, 3, H, W) and sr (N, 3, 4H, 4W), got {tuple(lq.shape)} and "
                             f"{tuple(sr.shape)}")
        lq = lq.to(self.device, torch.float32)
        sr = sr.to(self.device, torch.float32)
        if self.prev_lq is not None and self.prev_lq.shape[-2:] != lq.shape[-2:]:
            self.reset()  # a new video of another size
        if self.settings.strength <= 0:
            self.prev_lq, self.prev_out = lq[-1:].clone(), sr[-1:].clone()
            return sr
        outs = []
        start = 0
        if self.prev_lq is None:  # the first frame of the video has nothing to agree with
            outs.append(sr[:1])
            start = 1
        if start < lq.shape[0]:
            prev = torch.cat([self.prev_lq, lq[:-1]]) if start == 0 else lq[:-1]
            weights, flows = self._input_weights(lq[start:], prev)
            out = sr[start - 1:start] if start == 1 else self.prev_out
            for i in range(lq.shape[0] - start):
                out = self._fuse(sr[start + i:start + i + 1], out, flows[i:i + 1], weights[i:i + 1])
                outs.append(out)
        result = torch.cat(outs)
        self.prev_lq, self.prev_out = lq[-1:].clone(), result[-1:].clone()
        return result

    def _input_weights(self, cur: torch.Tensor, prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per input pixel reliability of the flow ``cur -> prev`` ``(M, 1, H, W)`` in [0, 1], and that flow."""
        backward = self.flow_fn(cur, prev).float()  # on cur's grid, points into prev
        forward = self.flow_fn(prev, cur).float()
        visible = consistency_mask(backward, forward).float()
        residual = (cur - flow_warp(prev, backward.permute(0, 2, 3, 1), padding_mode="border")).abs().mean(1, True)
        residual = F.avg_pool2d(residual, 3, 1, 1, count_include_pad=False)
        weight = visible * torch.exp(-(residual / self.settings.input_sigma) ** 2)
        # A frame where most of the input does not follow the flow is a cut (or a flash): start afresh there.
        weight = weight * (weight.mean(dim=(1, 2, 3), keepdim=True) >= CUT_RELIABILITY)
        return weight, backward

    def _fuse(self, cur: torch.Tensor, prev_out: torch.Tensor, flow: torch.Tensor, weight: torch.Tensor
              ) -> torch.Tensor:
        """One step of the recurrence for a single frame: ``(1, 3, 4H, 4W)`` tensors, flow/weight at input size."""
        size = cur.shape[-2:]
        flow_hr = F.interpolate(flow, size=size, mode="bilinear", align_corners=False) * SCALE
        warped = flow_warp(prev_out, flow_hr.permute(0, 2, 3, 1), interp_mode="bicubic", padding_mode="border")
        diff = warped - cur
        change = F.avg_pool2d(diff.abs().mean(1, True), 5, 1, 2, count_include_pad=False)
        w = F.interpolate(weight, size=size, mode="bilinear", align_corners=False)
        w = self.settings.strength * w * torch.exp(-(change / self.settings.sigma) ** 2)
        delta = w * diff
        if self.settings.lam is not None:
            delta = screened_poisson_lowpass(delta, self.settings.lam)
        return cur + delta


def screened_poisson_lowpass(x: torch.Tensor, lam: float) -> torch.Tensor:
    """Solve ``lam * u - Laplace(u) = lam * x`` with Neumann boundaries (DCT-II basis, via an FFT of the mirrored
    image) -> ``u``, same shape as ``x`` ``(B, C, H, W)``.

    Equivalent to ``argmin_u |grad u|^2 + lam |u - x|^2``; frequency ``k`` is kept by ``lam / (lam + L(k))`` with
    ``L`` the eigenvalues of the 5-point Laplacian, ``4 sin^2(pi k_y / 2H) + 4 sin^2(pi k_x / 2W)``.
    """
    h, w = x.shape[-2:]
    mirrored = torch.cat([x, x.flip(-2)], -2)
    mirrored = torch.cat([mirrored, mirrored.flip(-1)], -1)  # (B, C, 2H, 2W), even symmetric: a DCT-II in FFT form
    ky = torch.arange(2 * h, device=x.device, dtype=torch.float32)
    kx = torch.arange(w + 1, device=x.device, dtype=torch.float32)
    eig = 4 * torch.sin(math.pi * ky / (2 * h))[:, None] ** 2 + 4 * torch.sin(math.pi * kx / (2 * w))[None, :] ** 2
    spectrum = torch.fft.rfft2(mirrored) * (lam / (lam + eig))
    return torch.fft.irfft2(spectrum, s=(2 * h, 2 * w))[..., :h, :w]
