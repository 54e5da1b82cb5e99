"""The parts of a training run, each built by one function from the recipe and returned as a dataclass.

- :func:`build_networks` -> :class:`Networks`: ``net_g`` (generator), ``net_d`` (discriminator, with GAN) and the EMA;
- :func:`build_optimizers` -> :class:`Optimizers`: Adam + schedule for each network;
- :func:`build_objective` -> :class:`Objective`: the generator's loss terms and the GAN loss of the discriminator step.

The generator objective is a list of :class:`LossTerm`: a name (its log key) and a function of one
:class:`GeneratorPass` (the step's input, outputs and GT targets). A new loss - a distillation term against a frozen
teacher, say - is one more term appended to ``Objective.terms``; the step sums the terms in order and logs each.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from wildvsr.data.dataset import SequenceSpec, VideoSequenceDataset
from wildvsr.negvsr import AugNegativeLoss
from wildvsr.train.config import TrainConfig
from wildvsr.train.ema import ModelEMA
from wildvsr.train.losses import CleaningLoss, GANLoss, PixelLoss, build_perceptual_loss
from wildvsr.train.setup import build_discriminator, build_generator, build_scheduler, generator_param_groups


def step_seed(seed: int, step: int, rank: int, stream: int) -> int:
    """A 63-bit seed for one (step, rank, purpose) stream, independent of every other."""
    return int(np.random.SeedSequence([seed, step, rank, stream]).generate_state(2, np.uint64)[0] >> np.uint64(1))


@contextlib.contextmanager
def seeded(seed: int, stream: int) -> Iterator[None]:
    """Run a block (module construction) with torch's CPU RNG seeded from ``(seed, stream)``, restoring it after.

    ``nn.Module`` initialisers draw from the global generator; forking it keeps a run's initial weights a function of
    the recipe's seed alone (and identical on every DDP rank) without touching the caller's RNG stream.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(step_seed(seed, 0, 0, 100 + stream))
        yield


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DDP) else model


# ------------------------------------------------------------------------------------------------------- networks
@dataclasses.dataclass
class Networks:
    """``net_g``: the generator (video SR model); ``net_d``: the discriminator (None without GAN); ``ema``: EMA of
    ``net_g`` (None with ``train.ema_decay = 0``). All on the training device, not yet DDP-wrapped."""

    net_g: nn.Module
    net_d: nn.Module | None
    ema: ModelEMA | None


def build_networks(cfg: TrainConfig, device: torch.device, net_g: nn.Module | None = None,
                   net_d: nn.Module | None = None, *, resuming: bool = False) -> Networks:
    """The recipe's networks (``net_g`` / ``net_d`` given: used instead of building them); initial weights come from
    the recipe's seed; the EMA starts from the start checkpoint's EMA when ``model.weights`` has one (not read when
    ``resuming``: the run's checkpoint replaces all of it)."""
    ema_state = None
    if net_g is None:
        with seeded(cfg.seed, 0):  # weight init from the recipe's seed, not from whatever global state is
            net_g, ema_state = build_generator(cfg.model, start_weights=not resuming)
    net_g = net_g.to(device)
    if cfg.loss.gan_weight > 0:
        if net_d is None:
            with seeded(cfg.seed, 1):
                net_d = build_discriminator(cfg.discriminator)
        net_d = net_d.to(device)
    else:
        net_d = None
    ema = ModelEMA(net_g, cfg.train.ema_decay) if cfg.train.ema_decay > 0 else None
    if ema is not None and ema_state is not None:
        ema.load_state_dict(ema_state)
    return Networks(net_g, net_d, ema)


def wrap_ddp(nets: Networks, device: torch.device, find_unused_parameters: bool) -> tuple[nn.Module, nn.Module | None]:
    """``(net_g, net_d)`` in DDP; call after the weights are final (DDP broadcasts rank 0's at construction)."""
    ids = [device.index] if device.type == "cuda" else None
    net_g = DDP(nets.net_g, device_ids=ids, find_unused_parameters=find_unused_parameters)
    net_d = DDP(nets.net_d, device_ids=ids, broadcast_buffers=False) if nets.net_d is not None else None
    return net_g, net_d


# ----------------------------------------------------------------------------------------------------- optimisers
@dataclasses.dataclass
class Optimizers:
    """Adam and learning-rate schedule of ``net_g`` (``optim_g``, ``sched_g``) and of ``net_d`` (None without GAN)."""

    optim_g: torch.optim.Optimizer
    sched_g: torch.optim.lr_scheduler.LRScheduler
    optim_d: torch.optim.Optimizer | None = None
    sched_d: torch.optim.lr_scheduler.LRScheduler | None = None

    def state_dict(self) -> dict[str, Any]:
        """Checkpoint entries: ``optim_g``, ``sched_g``, and ``optim_d``, ``sched_d`` with a discriminator."""
        return {f.name: getattr(self, f.name).state_dict() for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}


def build_optimizers(cfg: TrainConfig, nets: Networks) -> Optimizers:
    o = cfg.optim
    optim_g = torch.optim.Adam(generator_param_groups(unwrap(nets.net_g), cfg.model, o), lr=o.lr, betas=o.betas,
                               weight_decay=o.weight_decay)
    out = Optimizers(optim_g, build_scheduler(optim_g, o))
    if nets.net_d is not None:
        out.optim_d = torch.optim.Adam(nets.net_d.parameters(), lr=o.lr_d, betas=o.betas, weight_decay=o.weight_decay)
        out.sched_d = build_scheduler(out.optim_d, o)
    return out


# ------------------------------------------------------------------------------------------------------ objective
@dataclasses.dataclass
class GeneratorPass:
    """One generator forward of a training step: what every loss term reads. Videos ``(B, T, 3, H, W)`` in [0, 1].

    Attributes:
        lq: the degraded input ``(B, T, 3, h, w)`` (without the NegMix copies).
        out: ``net_g(lq)``, ``(B, T, 3, 4h, 4w)``.
        cleaned: the cleaning module's output ``(B, T, 3, h, w)`` when the cleaning loss is on, else None.
        out_neg: NegVSR: the output for the NegMix input, else None.
        gt_pix / gt_per / gt_gan: the GT (or USM GT) the pixel+cleaning / perceptual / GAN terms compare against.
        extra: what a recipe's own terms read (distillation: ``teacher``, ``num_gt``, ``flow_backward``, ...).
    """

    lq: torch.Tensor
    out: torch.Tensor
    cleaned: torch.Tensor | None
    out_neg: torch.Tensor | None
    gt_pix: torch.Tensor
    gt_per: torch.Tensor
    gt_gan: torch.Tensor
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class LossTerm:
    """A generator loss term: ``fn(pass) -> scalar`` (weighted already), logged as ``name`` (``loss/pix``)."""

    name: str
    fn: Callable[[GeneratorPass], torch.Tensor]


@dataclasses.dataclass
class Objective:
    """The generator's loss terms (summed in order), the GAN loss (the discriminator step uses it too), and whether
    ``net_g`` must also return its cleaning output."""

    terms: list[LossTerm]
    gan: GANLoss
    wants_cleaned: bool


def gan_frames(video: torch.Tensor, k: int) -> torch.Tensor:
    """The frames of ``video`` ``(B, T, C, H, W)`` the discriminator judges, as ``(B * k, C, H, W)``: ``k`` evenly
    spaced frames per clip (the centres of ``k`` equal parts of the clip), or all ``T`` when ``k`` is 0."""
    t = video.shape[1]
    if k == 0 or k == t:
        return video.flatten(0, 1)
    idx = [int((i + 0.5) * t / k) for i in range(k)]
    return video[:, idx].flatten(0, 1)


def build_objective(cfg: TrainConfig, device: torch.device, net_d: nn.Module | None) -> Objective:
    """The recipe's loss terms, in the order they are summed: pix, clean, per, gan, aug_n (those switched on)."""
    lo = cfg.loss
    gan = GANLoss(lo.gan_weight)
    terms: list[LossTerm] = []
    if lo.pixel.weight > 0:
        pixel = PixelLoss(lo.pixel.kind, lo.pixel.weight, lo.pixel.eps)
        terms.append(LossTerm("loss/pix", lambda p: pixel(p.out, p.gt_pix)))
    wants_cleaned = lo.cleaning.weight > 0 and not cfg.model.fix_cleaning
    if wants_cleaned:
        cleaning = CleaningLoss(lo.cleaning.kind, lo.cleaning.weight, lo.cleaning.eps, cfg.data.scale)
        terms.append(LossTerm("loss/clean", lambda p: cleaning(p.cleaned, p.gt_pix)))
    perceptual = build_perceptual_loss(lo.perceptual.vgg_weights, lo.perceptual.layer_weights, lo.perceptual.weight)
    if perceptual is not None:
        perceptual.to(device)
        terms.append(LossTerm("loss/per", lambda p: perceptual(p.out, p.gt_per)))
    if net_d is not None:  # the raw module: the generator step needs no DDP sync of D
        k = lo.gan_frames
        terms.append(LossTerm("loss/gan", lambda p: gan(net_d(gan_frames(p.out, k)), True, is_disc=False)))
    if cfg.negvsr.enabled:
        aug_negative = AugNegativeLoss(weight=lo.aug_negative_weight)
        terms.append(LossTerm("loss/aug_n", lambda p: aug_negative(p.out_neg, p.out)))
    return Objective(terms, gan, wants_cleaned)


# ----------------------------------------------------------------------------------------------------------- data
def build_dataset(cfg: TrainConfig, degradation: Any) -> VideoSequenceDataset:
    """The recipe's sequence dataset; the degradation's ``worker_stage`` (if any) runs in the loader workers."""
    d = cfg.data
    spec = SequenceSpec(d.num_frames, d.stochastic, d.gt_size, d.hflip, d.vflip, d.transpose, d.num_samples)
    return VideoSequenceDataset.from_roots(d.roots, spec, cfg.seed, d.cache_mb, getattr(degradation, "worker_stage",
                                                                                        None))
