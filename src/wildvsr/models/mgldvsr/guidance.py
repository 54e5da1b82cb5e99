"""Motion-guided latent sampling (MGLD-VSR, ECCV 2024, Sec. 3.2, Eq. 2-3), for any latent diffusion upscaler.

Flows are estimated on the LR frames (SPyNet here, RAFT in the official code; the paper's Table 4 finds the two
close), resized to the latent grid, and checked forward against backward (UnFlow; alpha 0.01, beta 0.5 with plain
norms, as the official ``forward_backward_consistency_check``). The energy is the masked latent warping error over
both directions,

    E(z) = sum_i mean(M_i^> |warp(z_{i+1}, f_{i->i+1}) - z_i|) + sum_i mean(M_i^< |warp(z_i, f_{i+1->i}) - z_{i+1}|)

(a mean over all elements, as ``F.l1_loss`` of masked tensors in the official code, so occluded pixels count zero),
and after each DDPM step ``z <- z - eta * s_t * grad_z E(z)``. The paper writes ``s_t = sigma_t^2``; the official code
(``p_sample_canvas``) uses ``s_t = -log sigma_t^2`` (clipped), which is what the published results were sampled with:
``weight="official"`` (default) or ``weight="paper"``. Note: the official ``compute_temporal_condition_v4`` pairs
``warp(z_i, flow_i)`` with ``z_{i-1}`` (an index shift); we follow the paper's pairing.

The sampler is written against two small interfaces: a denoiser ``(z (B, T, C, h, w), t) -> eps`` and a scheduler
with ``timesteps``, ``step``, ``variance`` and ``log_variance_clipped`` (:class:`~.scheduler.RespacedDDPM`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import torch
import torch.nn.functional as F

from wildvsr.models.layers import flow_warp

__all__ = ["MotionGuide", "latent_motion_guide", "occlusion_valid", "resize_flow", "warping_energy",
           "motion_guided_sample", "frame_generators"]

FlowFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``flow_fn(ref, supp) -> (N, 2, H, W)`` pixels such that ``flow_warp(supp, flow)`` matches ``ref`` (SPyNet)."""
Denoiser = Callable[[torch.Tensor, int], torch.Tensor]


class Scheduler(Protocol):
    timesteps: Sequence[int]

    def step(self, eps: torch.Tensor, t: int, z: torch.Tensor, generator=None) -> torch.Tensor: ...

    def variance(self, t: int) -> float: ...

    def log_variance_clipped(self, t: int) -> float: ...


@dataclass(frozen=True)
class MotionGuide:
    """Latent-grid flows and validity masks of a clip of T frames (all ``(B, T-1, ., h, w)``).

    ``flow_next[:, i]`` warps frame i+1 onto frame i; ``flow_prev[:, i]`` warps frame i onto frame i+1.
    ``valid_next``/``valid_prev`` are 1 where that flow passes the forward-backward check, 0 where occluded.
    """

    flow_next: torch.Tensor
    flow_prev: torch.Tensor
    valid_next: torch.Tensor
    valid_prev: torch.Tensor


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a pixel flow ``(N, 2, H, W)`` to ``size`` (h, w), its values rescaled to the new grid."""
    h, w = size
    out = F.interpolate(flow, size=(h, w), mode="bilinear", align_corners=False)
    scale = torch.tensor([w / flow.shape[-1], h / flow.shape[-2]], dtype=out.dtype, device=out.device)
    return out * scale.view(1, 2, 1, 1)


def occlusion_valid(flow_ab: torch.Tensor, flow_ba: torch.Tensor, alpha: float = 0.01,
                    beta: float = 0.5) -> torch.Tensor:
    """1 where ``flow_ab`` (on grid a) agrees with ``flow_ba`` sampled where it points, 0 where occluded.

    Occluded: ``|f_ab + f_ba(p + f_ab)| > alpha (|f_ab| + |f_ba|) + beta`` (``(N, 2, h, w)`` each -> ``(N, 1, h, w)``).
    """
    back = flow_warp(flow_ba, flow_ab.permute(0, 2, 3, 1))
    diff = torch.linalg.vector_norm(flow_ab + back, dim=1, keepdim=True)
    norm = torch.linalg.vector_norm
    mag = norm(flow_ab, dim=1, keepdim=True) + norm(flow_ba, dim=1, keepdim=True)
    return (diff <= alpha * mag + beta).to(flow_ab.dtype)


def latent_motion_guide(frames: torch.Tensor, latent_size: tuple[int, int], flow_fn: FlowFn) -> MotionGuide:
    """Flows between neighbouring LR frames ``(B, T, 3, H, W)`` [0, 1], moved to the latent grid, with masks."""
    b, t = frames.shape[:2]
    if t < 2:
        raise ValueError(f"motion guidance needs at least 2 frames, got {t}")
    cur = frames[:, :-1].reshape(-1, *frames.shape[2:])  # (B*(T-1), 3, H, W)
    nxt = frames[:, 1:].reshape(-1, *frames.shape[2:])
    with torch.no_grad():
        f_next = resize_flow(flow_fn(cur, nxt).float(), latent_size)  # frame i+1 -> onto i
        f_prev = resize_flow(flow_fn(nxt, cur).float(), latent_size)  # frame i -> onto i+1
        v_next, v_prev = occlusion_valid(f_next, f_prev), occlusion_valid(f_prev, f_next)

    def shape(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(b, t - 1, *x.shape[1:])

    return MotionGuide(shape(f_next), shape(f_prev), shape(v_next), shape(v_prev))


def warping_energy(z: torch.Tensor, guide: MotionGuide) -> torch.Tensor:
    """Masked latent warping error ``E(z)`` of latents ``(B, T, C, h, w)`` (a 0-dim tensor, differentiable)."""
    b, t, c, h, w = z.shape
    cur = z[:, :-1].reshape(-1, c, h, w)
    nxt = z[:, 1:].reshape(-1, c, h, w)

    def flat(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(-1, *x.shape[2:])

    fn, fp = flat(guide.flow_next).to(z.dtype), flat(guide.flow_prev).to(z.dtype)
    vn, vp = flat(guide.valid_next).to(z.dtype), flat(guide.valid_prev).to(z.dtype)
    err_next = (vn * (flow_warp(nxt, fn.permute(0, 2, 3, 1)) - cur)).abs()  # (B*(T-1), C, h, w)
    err_prev = (vp * (flow_warp(cur, fp.permute(0, 2, 3, 1)) - nxt)).abs()
    # one mean per frame pair and direction, summed over pairs (the official F.l1_loss per pair)
    return err_next.reshape(b, t - 1, -1).mean(dim=(0, 2)).sum() + err_prev.reshape(b, t - 1, -1).mean(dim=(0, 2)).sum()


def _guidance_scale(scheduler: Scheduler, t: int, weight: str) -> float:
    if weight == "official":
        return -scheduler.log_variance_clipped(t)
    if weight == "paper":
        return scheduler.variance(t)
    raise ValueError(f"weight must be 'official' or 'paper', got {weight!r}")


def frame_generators(seed: int, frame_indices: Sequence[int],
                     device: torch.device | str = "cpu") -> list[torch.Generator]:
    """One generator per frame, seeded by (seed, frame index): the noise of a frame does not depend on how the video
    is cut into clips."""
    return [torch.Generator(device).manual_seed((seed * 1_000_003 + int(i)) % (2 ** 63)) for i in frame_indices]


def motion_guided_sample(denoiser: Denoiser, scheduler: Scheduler, z_start: torch.Tensor, guide: MotionGuide | None,
                         *, eta: float = 10.0, weight: str = "official",
                         generator: torch.Generator | list[torch.Generator] | None = None,
                         callback: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """Reverse diffusion with motion guidance after every step (Eq. 3); ``eta = 0`` or no guide: plain DDPM.

    Args:
        denoiser: ``(z (B, T, C, h, w), t) -> eps`` of the same shape.
        scheduler: Timesteps and DDPM step (see module docstring).
        z_start: ``z_T`` ``(B, T, C, h, w)``.
        guide: Flows and masks on the latent grid (:func:`latent_motion_guide`).
        eta: Guidance strength (the paper: 10).
        weight: ``"official"`` (``-log sigma_t^2``, the released code) or ``"paper"`` (``sigma_t^2``, Eq. 3).
        generator: One generator, or one per frame (``B*T``, frame-major as ``z.flatten(0, 1)``).
        callback: Called with ``(step_index, num_steps)`` after each step.

    Returns:
        ``z_0`` ``(B, T, C, h, w)``.
    """
    z = z_start
    shape = z.shape
    steps = list(scheduler.timesteps)
    for k, t in enumerate(steps):
        with torch.no_grad():
            eps = denoiser(z, t)
            z = scheduler.step(eps.flatten(0, 1), t, z.flatten(0, 1), generator=generator).reshape(shape)
        if guide is not None and eta != 0:
            with torch.enable_grad():
                zg = z.detach().requires_grad_(True)
                grad, = torch.autograd.grad(warping_energy(zg, guide), zg)
            z = (z - eta * _guidance_scale(scheduler, t, weight) * grad).detach()
        if callback is not None:
            callback(k, len(steps))
    return z
