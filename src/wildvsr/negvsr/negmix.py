"""NegMix: mix a noise sequence into an LQ clip, then rotate random patches (P-Neg Eq. 6-10).

``V_neg = Neg(M * N_sq + (1 - M) * V_lr, P)`` (Eq. 10). ``Neg`` cuts each frame into ``patch_size x patch_size``
patches (a 16 x 16 grid of 4 x 4 patches on a 64 x 64 LQ, Eq. 7) and, for each patch with a draw ``p ~ U(0, 1)``
``<= P``, rotates it about its centre by ``k * 90`` degrees (Eq. 8-9). ``P`` is drawn per sample from
{0, 0.1, ..., 1.0} and is shared by the video and its noise (rotating the mix rotates both with the same angles).

Angle rules (``rule``):

- ``"paper"`` (default): k uniform in {0, 1, 2, 3}. The paper lists the angles as "[0, 90, 180, 270] degrees", so a
  selected patch stays put with probability 1/4.
- ``"official"``: ``k = torch.randint(0, 5)`` as in the released ``rot_p``; k = 4 is the identity, so a selected patch
  stays put with probability 2/5 and turns 90/180/270 degrees with probability 1/5 each.

The recipe (``configs/negvsr.yaml``, which calls :func:`negmix` with its defaults) uses the paper rule: the recipe
follows the paper's Alg. 1 elsewhere too (NegMix on the LQ before the network, not inside BasicVSR as the released
code does), and ``randint(0, 5)`` reads as an off-by-one that only lowers the share of moved patches from 3P/4 to
3P/5. ``rule="official"`` is there to reproduce the released code.

Time: the paper's ``T(V)`` makes ``n * s^2`` patches, each with its own draw, and the official ``rot_p`` folds time
into the batch, so by default every frame gets its own angles (``per_frame=True``). ``per_frame=False`` draws one
angle per patch position and applies it to all T frames of the sample (a temporally consistent negative).

What is rotated (``target``): ``"mix"`` rotates the mixed clip (Eq. 10, default). ``"noise"`` rotates only the noise
and mixes it into the unrotated LQ, which is what the released ``propagation_rotNoise(lrs, noises_rot)`` receives.

Mixing (``mode``): ``"convex"`` is Eq. 6, ``M * N + (1 - M) * V``, for raw banks (noise in [0, 1]); ``"additive"``
is ``V + M * N`` for zero-mean banks (a convex mix with zero-mean noise would darken the clip by (1 - M)).

The rotation direction is ``torch.rot90``'s (counter-clockwise for k = 1); the angle distribution is symmetric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from wildvsr.errors import InputError

#: The rotation probabilities P is drawn from: {0, 0.1, ..., 1.0}.
PROB_LEVELS = tuple(i / 10 for i in range(11))
RULES = ("paper", "official")


@dataclass(frozen=True)
class NegMixParams:
    """What one :func:`negmix` call drew.

    Attributes:
        prob: rotation probability P per sample, float (B,).
        k: quarter turns applied per patch, int64 (B, T or 1, H/ps, W/ps) in {0, 1, 2, 3} (0 = not rotated).
        selected: bool, same shape: the patch's draw p was <= P (it received an angle draw, possibly 0).
    """

    prob: torch.Tensor
    k: torch.Tensor
    selected: torch.Tensor


_PERM_CACHE: dict[tuple[int, str], torch.Tensor] = {}


def _rotation_index(patch_size: int, device: torch.device) -> torch.Tensor:
    """(4, ps*ps) int64: row k lists, for each output pixel of a flattened patch, its source pixel under rot90^k."""
    key = (patch_size, str(device))
    if key not in _PERM_CACHE:
        grid = torch.arange(patch_size * patch_size).view(patch_size, patch_size)
        _PERM_CACHE[key] = torch.stack([torch.rot90(grid, k, dims=(0, 1)).reshape(-1) for k in range(4)]).to(device)
    return _PERM_CACHE[key]


def rotate_patches(x: torch.Tensor, k: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Rotate every ``patch_size`` square of each frame about its centre by ``k * 90`` degrees.

    Args:
        x: (B, T, C, H, W), any float dtype; H and W multiples of ``patch_size``.
        k: int (B, T or 1, H/ps, W/ps) quarter turns (taken mod 4); a time size of 1 applies to all frames.
        patch_size: patch side.

    Returns:
        Tensor like ``x`` (a gather, so differentiable w.r.t. ``x``).
    """
    b, t, c, h, w = x.shape
    gh, gw, ps = h // patch_size, w // patch_size, patch_size
    if k.shape[0] != b or k.shape[1] not in (1, t) or tuple(k.shape[2:]) != (gh, gw):
        raise InputError(f"rotation map shape {tuple(k.shape)} does not fit clip {tuple(x.shape)} with {ps}px patches")
    patches = x.reshape(b, t, c, gh, ps, gw, ps).permute(0, 1, 3, 5, 2, 4, 6).reshape(b, t, gh, gw, c, ps * ps)
    index = _rotation_index(ps, x.device)[(k % 4).to(x.device)]  # (B, T|1, gh, gw, ps*ps)
    index = index.unsqueeze(4).expand(b, t, gh, gw, c, ps * ps)
    out = torch.gather(patches, -1, index)
    return out.reshape(b, t, gh, gw, c, ps, ps).permute(0, 1, 4, 2, 5, 3, 6).reshape(b, t, c, h, w)


def draw_rotations(batch: int, frames: int, grid_h: int, grid_w: int, prob: torch.Tensor, *,
                   generator: torch.Generator, rule: str = "paper") -> tuple[torch.Tensor, torch.Tensor]:
    """Draw the per-patch rotations.

    Args:
        batch, frames: B and the number of independent time slots (T, or 1 for angles shared over time).
        grid_h, grid_w: patches per column and row.
        prob: P per sample, float (B,).
        generator: the random source; draws happen on its device.
        rule: ``"paper"`` or ``"official"`` (module docstring).

    Returns:
        ``(k, selected)``: int64 (B, frames, grid_h, grid_w) quarter turns in {0..3}, and the bool selection mask.
    """
    if rule not in RULES:
        raise InputError(f"rule must be one of {RULES}, got {rule!r}")
    dev = generator.device
    shape = (batch, frames, grid_h, grid_w)
    # u in [0, 1): u < P is "p <= P" with p = 1 - u in (0, 1], so P = 0 never and P = 1 always rotates.
    u = torch.rand(shape, generator=generator, device=dev)
    selected = u < prob.to(dev, torch.float32).view(batch, 1, 1, 1)
    k = torch.randint(0, 4 if rule == "paper" else 5, shape, generator=generator, device=dev) % 4
    return torch.where(selected, k, torch.zeros_like(k)), selected


def negmix(lq: torch.Tensor, noise: torch.Tensor, *, generator: torch.Generator, mix_weight: float = 0.5,
           prob: float | torch.Tensor | None = None, patch_size: int = 4, rule: Literal["paper", "official"] = "paper",
           per_frame: bool = True, target: Literal["mix", "noise"] = "mix",
           mode: Literal["convex", "additive"] = "convex",
           return_params: bool = False) -> torch.Tensor | tuple[torch.Tensor, NegMixParams]:
    """Make the NegMix negative of an LQ clip (Eq. 10).

    Args:
        lq: LQ clip V_lr, float (B, T, 3, H, W) in [0, 1]; H, W multiples of ``patch_size``.
        noise: noise sequences N_sq, float (B, T, 3, H, W) (from :meth:`NoiseBank.sample`); moved to ``lq``'s device.
        generator: random source for P, p and k (any device; draws are moved to ``lq``'s device).
        mix_weight: M (0.5 in the paper).
        prob: P: None draws it per sample from {0, 0.1, ..., 1}; a float or a (B,) tensor fixes it.
        patch_size: patch side in pixels (4).
        rule: angle distribution, ``"paper"`` (default) or ``"official"``.
        per_frame: independent angles per frame (paper and official code) or one angle per patch for all frames.
        target: rotate the ``"mix"`` (Eq. 10) or only the ``"noise"``.
        mode: ``"convex"`` (Eq. 6) or ``"additive"`` (zero-mean banks).
        return_params: also return the :class:`NegMixParams` drawn.

    Returns:
        The negative clip, like ``lq`` (values stay in [0, 1] for a convex mix of [0, 1] inputs); with
        ``return_params``, ``(clip, params)``.
    """
    if lq.ndim != 5:
        raise InputError(f"lq must be (B, T, C, H, W), got shape {tuple(lq.shape)}")
    if noise.shape != lq.shape:
        raise InputError(f"noise shape {tuple(noise.shape)} must equal lq shape {tuple(lq.shape)}")
    if not 0.0 <= mix_weight <= 1.0:
        raise InputError(f"mix_weight must be in [0, 1], got {mix_weight}")
    if target not in ("mix", "noise") or mode not in ("convex", "additive"):
        raise InputError(f"target must be 'mix' or 'noise' and mode 'convex' or 'additive', got {target!r}, {mode!r}")
    b, t, _, h, w = lq.shape
    if patch_size < 1 or h % patch_size or w % patch_size:
        raise InputError(f"clip size {h}x{w} is not a multiple of patch_size {patch_size}")
    noise = noise.to(device=lq.device, dtype=lq.dtype)
    dev = generator.device
    if prob is None:
        prob_t = torch.randint(0, len(PROB_LEVELS), (b,), generator=generator, device=dev).float() / 10
    else:
        prob_t = torch.as_tensor(prob, dtype=torch.float32, device=dev).expand(b).clone()
        if ((prob_t < 0) | (prob_t > 1)).any():
            raise InputError(f"prob must be in [0, 1], got {prob}")
    k, selected = draw_rotations(b, t if per_frame else 1, h // patch_size, w // patch_size, prob_t,
                                 generator=generator, rule=rule)
    k = k.to(lq.device)
    base = lq if mode == "additive" else lq * (1.0 - mix_weight)
    if target == "mix":
        out = rotate_patches(base + mix_weight * noise, k, patch_size)
    else:
        out = base + mix_weight * rotate_patches(noise, k, patch_size)
    if return_params:
        return out, NegMixParams(prob=prob_t.to(lq.device), k=k, selected=selected.to(lq.device))
    return out
