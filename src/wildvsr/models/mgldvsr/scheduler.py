"""The DDPM sampler MGLD-VSR runs: SD's linear-beta schedule (1000 steps, 0.00085 -> 0.012), respaced to 50 steps.

Built on ``diffusers.DDPMScheduler`` (optional extra ``wildvsr[diffusion]``) with the official code's settings:
epsilon prediction, no clipping of the predicted x0, the "fixed small" posterior variance, and the respacing of
``space_timesteps(1000, [50])`` (timesteps ``round(i * 999 / 49)``; diffusers' ``step`` with those custom timesteps
uses the respaced betas ``1 - abar_t / abar_prev`` exactly as the official ``register_schedule(given_betas=...)``).
The sampling start is StableSR's: ``x_T = q_sample(z_lr, t=999)`` on the full schedule, not pure noise.
"""

from __future__ import annotations

import torch

from wildvsr.errors import MissingDependencyError

__all__ = ["RespacedDDPM", "respaced_timesteps"]


def respaced_timesteps(num_train_timesteps: int, steps: int) -> list[int]:
    """Evenly spaced original timesteps, ascending (the official ``space_timesteps(T, [steps])`` for one section)."""
    if not 1 <= steps <= num_train_timesteps:
        raise ValueError(f"steps must be in [1, {num_train_timesteps}], got {steps}")
    if steps == 1:
        return [0]
    stride = (num_train_timesteps - 1) / (steps - 1)
    return sorted({round(i * stride) for i in range(steps)})


class RespacedDDPM:
    """A DDPM scheduler on a respaced subset of timesteps; the interface :func:`motion_guided_sample` needs.

    Args:
        steps: Sampling steps (the paper: 50).
        num_train_timesteps: Training steps of the schedule.
        beta_start: First beta of the linear schedule.
        beta_end: Last beta of the linear schedule.
    """

    def __init__(self, steps: int = 50, num_train_timesteps: int = 1000, beta_start: float = 0.00085,
                 beta_end: float = 0.012) -> None:
        try:
            from diffusers import DDPMScheduler
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MissingDependencyError("MGLD-VSR sampling needs diffusers: pip install 'wildvsr[diffusion]'") from exc
        # LDM's "linear" schedule is linear in sqrt(beta): diffusers calls it "scaled_linear".
        self._sched = DDPMScheduler(num_train_timesteps=num_train_timesteps, beta_start=beta_start, beta_end=beta_end,
                                    beta_schedule="scaled_linear", clip_sample=False, variance_type="fixed_small",
                                    prediction_type="epsilon")
        ts = respaced_timesteps(num_train_timesteps, steps)
        self._sched.set_timesteps(timesteps=ts[::-1])
        self.timesteps: list[int] = ts[::-1]  # descending, as sampled
        acp = self._sched.alphas_cumprod.double()
        prev = torch.cat([torch.ones(1, dtype=acp.dtype), acp[torch.tensor(ts[:-1], dtype=torch.long)]])
        cur = acp[torch.tensor(ts, dtype=torch.long)]
        var = (1 - prev) / (1 - cur) * (1 - cur / prev)  # posterior variance of the respaced chain, ascending
        self._variance = dict(zip(ts, var.tolist()))
        clipped = torch.log(torch.cat([var[1:2], var[1:]])) if len(ts) > 1 else torch.log(var.clamp_min(1e-20))
        self._log_variance_clipped = dict(zip(ts, clipped.tolist()))
        self.num_train_timesteps = num_train_timesteps

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """``abar_t`` of the full (training) schedule, ``(num_train_timesteps,)`` float32."""
        return self._sched.alphas_cumprod

    def add_noise(self, z0: torch.Tensor, noise: torch.Tensor, t: int) -> torch.Tensor:
        """``q(z_t | z_0)`` on the full schedule: ``sqrt(abar_t) z0 + sqrt(1 - abar_t) noise``."""
        return self._sched.add_noise(z0, noise, torch.tensor([t]))

    def variance(self, t: int) -> float:
        """Posterior variance ``sigma_t^2`` of the step from ``t`` (0 at the last step)."""
        return self._variance[t]

    def log_variance_clipped(self, t: int) -> float:
        """``log sigma_t^2`` with the last step's 0 replaced by the next one's (the official guidance weight)."""
        return self._log_variance_clipped[t]

    def step(self, eps: torch.Tensor, t: int, z: torch.Tensor,
             generator: torch.Generator | list[torch.Generator] | None = None) -> torch.Tensor:
        """One reverse step ``z_t -> z_prev``; ``generator`` may be a list with one generator per batch element."""
        return self._sched.step(eps, t, z, generator=generator).prev_sample
