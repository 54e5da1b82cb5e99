"""The training loop: data -> degradation (CPU workers + batched device stage) -> [NegMix] -> G/D steps -> EMA.

One :class:`Trainer` per process. Under ``torchrun`` each process drives one device; ``net_g`` (generator) and
``net_d`` (discriminator) are wrapped in DDP; rank 0 alone logs, validates and writes checkpoints. All randomness of a
step is drawn from generators seeded with ``(seed, step, rank)`` (plus ``(seed, sample_id)`` in the data workers), so
``--resume`` continues exactly where the checkpoint was taken. The parts are built in :mod:`wildvsr.train.parts`;
what happens around the steps (progress, metrics, validation, checkpoints) is :mod:`wildvsr.train.callbacks`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch import nn
from torch.utils.data import DataLoader

from wildvsr.data.dataset import ShardedSampleSampler, VideoSequenceDataset, collate
from wildvsr.errors import OutputExistsError
from wildvsr.negvsr import NoiseBank, negmix
from wildvsr.train.callbacks import Callback, Checkpoints, MetricsLog, Progress, StepRecord, Validation
from wildvsr.train.checkpoint import (DISCRIMINATOR_KEY, EMA_KEY, GENERATOR_KEY, capture_rng_state, latest_checkpoint,
                                      load_checkpoint, restore_rng_state, save_checkpoint)
from wildvsr.train.config import TrainConfig
from wildvsr.train.degradation import TrainingDegradation
from wildvsr.train.device_support import training_amp_dtype, warn_deterministic_limits
from wildvsr.train.distributed import DistInfo, init_distributed
from wildvsr.train.logbook import Logbook
from wildvsr.train.parts import (GeneratorPass, Objective, build_dataset, build_networks, build_objective,
                                 build_optimizers, gan_frames, step_seed, unwrap, wrap_ddp)
from wildvsr.train.validation import Validator
from wildvsr.utils.files import atomic_write_text

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"


def _resume_checkpoint(ckpt_dir: Path, resume: bool) -> Path | None:
    """The checkpoint to continue from (None: start at step 0); refuses a folder with checkpoints without resume."""
    found = latest_checkpoint(ckpt_dir)
    if not resume and found is not None:
        raise OutputExistsError(f"{ckpt_dir} already holds checkpoints; pass --resume to continue that run or "
                                "choose another --output")
    if resume and found is None:
        logger.warning("--resume given but %s has no checkpoint; starting from step 0", ckpt_dir)
    return found if resume else None


class Trainer:
    """Trains one recipe.

    Args:
        cfg: the recipe.
        output_dir: run folder (``checkpoints/``, ``metrics.jsonl``, ``val/``, ``config.yaml``; written by ``fit``).
        resume: continue from the newest checkpoint in ``output_dir/checkpoints``.
        dist_info: process placement (default: from the ``torchrun`` environment, else one process).
        net_g / net_d / degradation / dataset: injected parts (tests; custom setups). By default they are built from
            ``cfg``.
        progress: called with the step number after every step (the CLI's progress bar).

    ``train.deterministic`` needs the process-wide switch :func:`wildvsr.utils.seed.set_deterministic`, which
    :func:`train` sets; a Trainer never changes global state.
    """

    def __init__(self, cfg: TrainConfig, output_dir: str | os.PathLike, *, resume: bool = False,
                 dist_info: DistInfo | None = None, net_g: nn.Module | None = None, net_d: nn.Module | None = None,
                 degradation: Any | None = None, dataset: VideoSequenceDataset | None = None,
                 progress: Callable[[int], None] | None = None) -> None:
        self.cfg, self.output_dir, self.step = cfg, Path(output_dir), 0
        self.dist = dist_info or init_distributed(cfg.train.device)
        self.device = self.dist.device
        if cfg.train.deterministic:
            warn_deterministic_limits(self.device)
        self.amp_dtype = training_amp_dtype(cfg.train.amp, self.device)
        resume_from = _resume_checkpoint(self.output_dir / CHECKPOINT_DIR, resume)

        nets = build_networks(cfg, self.device, net_g, net_d, resuming=resume_from is not None)
        self.net_g, self.net_d, self.ema = nets.net_g, nets.net_d, nets.ema
        self.objective = self.build_objective(nets.net_d)
        self.optim = build_optimizers(cfg, nets)
        self.noise_bank = None
        if cfg.negvsr.enabled:
            self.noise_bank = NoiseBank(cfg.negvsr.noise_bank)
        if degradation is None:
            degradation = TrainingDegradation(cfg.degradation, cfg.data.scale)
        self.degradation = degradation
        self.dataset = dataset if dataset is not None else self.build_dataset(degradation)
        if resume_from is not None:
            self._load_state(load_checkpoint(resume_from))
            logger.info("resumed from %s at step %d", resume_from, self.step)
        if self.dist.distributed:
            self.net_g, self.net_d = wrap_ddp(nets, self.device, cfg.train.find_unused_parameters)
        self.logbook: Logbook | None = None
        self.callbacks = self._default_callbacks(progress)

    # the parts a recipe may build differently (wildvsr.train.distill.DistillTrainer)
    def build_dataset(self, degradation: Any) -> VideoSequenceDataset:
        return build_dataset(self.cfg, degradation)

    def build_objective(self, net_d: nn.Module | None) -> Objective:
        return build_objective(self.cfg, self.device, net_d)

    @property
    def raw_net_g(self) -> nn.Module:
        """``net_g`` without its DDP wrapper."""
        return unwrap(self.net_g)

    def _default_callbacks(self, progress: Callable[[int], None] | None) -> list[Callback]:
        """Progress, metrics, validation (main process, when a validation set is configured), checkpoints."""
        cfg = self.cfg
        callbacks: list[Callback] = [Progress(progress)] if progress is not None else []
        callbacks.append(MetricsLog(cfg.train.log_every))
        if self.dist.is_main and cfg.train.val_every > 0 and (cfg.val.real_frames or cfg.val.synthetic_video):
            validator = Validator(cfg, self.device, self.degradation, self.output_dir / "val")
            callbacks.append(Validation(validator, cfg.train.val_every))
        callbacks.append(Checkpoints(cfg.train.checkpoint_every))
        return callbacks

    # ------------------------------------------------------------------------------------------------------------
    # data

    def make_loader(self, start_step: int, max_steps: int) -> DataLoader:
        d = self.cfg.data
        sampler = ShardedSampleSampler(d.batch_size, self.dist.rank, self.dist.world_size, start_step, max_steps)
        kwargs: dict[str, Any] = {}
        if d.num_workers > 0:
            kwargs = {"prefetch_factor": d.prefetch_factor, "persistent_workers": False}
        return DataLoader(self.dataset, batch_size=d.batch_size, sampler=sampler, num_workers=d.num_workers,
                          collate_fn=getattr(self.dataset, "collate", collate), pin_memory=self.device.type == "cuda", drop_last=True, **kwargs)

    def prepare_batch(self, batch: dict[str, Any], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Move the GT to the device and run the degradation's device stage there (batched).

        Returns ``{"lq", "gt", "gt_usm"}`` on ``self.device``.
        """
        gt = batch["gt"].to(self.device, non_blocking=True)
        return self.degradation.device_stage(gt, batch, generator)

    # ------------------------------------------------------------------------------------------------------------
    # one step

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def generator_pass(self, data: dict[str, torch.Tensor], generator: torch.Generator,
                       rng: np.random.Generator) -> GeneratorPass:
        """``net_g`` on the LQ (and, with NegVSR, on its NegMix copy in the same forward) and the GT targets."""
        lq, gt, gt_usm, lo = data["lq"], data["gt"], data["gt_usm"], self.cfg.loss
        b, inputs = lq.shape[0], lq
        if self.noise_bank is not None:  # one forward over [V_lr; NegMix(V_lr)] (DDP allows one forward per step)

            noise = self.noise_bank.sample(b, lq.shape[1], lq.shape[-2], lq.shape[-1], rng).to(self.device)
            mixed = negmix(lq, noise, generator=generator, mix_weight=self.cfg.negvsr.mix_weight,
                           patch_size=self.cfg.negvsr.patch_size)
            inputs = torch.cat([lq, mixed], dim=0)
        if self.objective.wants_cleaned:
            out, cleaned = self.net_g(inputs, return_lqs=True)
        else:
            out, cleaned = self.net_g(inputs), None
        out_neg = None
        if self.noise_bank is not None:
            out, out_neg = out[:b], out[b:]
            cleaned = cleaned[:b] if cleaned is not None else None
        return GeneratorPass(lq, out, cleaned, out_neg, gt_pix=gt_usm if lo.sharpened_gt_pixel else gt,
                             gt_per=gt_usm if lo.sharpened_gt_perceptual else gt,
                             gt_gan=gt_usm if lo.sharpened_gt_gan else gt)

    def train_step(self, data: dict[str, torch.Tensor], generator: torch.Generator,
                   rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """One generator step (and one discriminator step with GAN); returns detached loss values.

        ``generator`` / ``rng``: the step's torch and NumPy random generators (NegMix, noise-bank draws).
        """
        logs: dict[str, torch.Tensor] = {}
        self.net_g.train()
        self.optim.optim_g.zero_grad(set_to_none=True)
        if self.net_d is not None:
            unwrap(self.net_d).requires_grad_(False)
        with self._autocast():
            p = self.generator_pass(data, generator, rng)
            total = p.out.new_zeros((), dtype=torch.float32)
            for term in self.objective.terms:
                logs[term.name] = term.fn(p)
                total = total + logs[term.name]
        total.backward()
        if self.cfg.optim.grad_clip > 0:
            logs["grad_norm"] = torch.nn.utils.clip_grad_norm_(
                [q for q in self.net_g.parameters() if q.requires_grad], self.cfg.optim.grad_clip)
        self.optim.optim_g.step()
        self.optim.sched_g.step()
        logs["loss/total"] = total.detach()
        if self.net_d is not None:
            logs.update(self._discriminator_step(p))
        if self.ema is not None:
            self.ema.update(self.raw_net_g)
        return {k: v.detach() for k, v in logs.items()}

    def _discriminator_step(self, p: GeneratorPass) -> dict[str, torch.Tensor]:
        net_d, gan, k = self.net_d, self.objective.gan, self.cfg.loss.gan_frames
        unwrap(net_d).requires_grad_(True)
        self.optim.optim_d.zero_grad(set_to_none=True)
        with self._autocast():
            l_real = gan(net_d(gan_frames(p.gt_gan, k)), True, is_disc=True)
        l_real.backward()
        with self._autocast():
            l_fake = gan(net_d(gan_frames(p.out.detach(), k)), False, is_disc=True)
        l_fake.backward()
        self.optim.optim_d.step()
        self.optim.sched_d.step()
        return {"loss/d_real": l_real.detach(), "loss/d_fake": l_fake.detach()}

    # ------------------------------------------------------------------------------------------------------------
    # loop

    def _step_generators(self) -> tuple[torch.Generator, np.random.Generator]:
        """The torch and NumPy random generators of the current step (seeded from ``(seed, step, rank)``)."""
        generator = torch.Generator(device=self.device)
        generator.manual_seed(step_seed(self.cfg.seed, self.step, self.dist.rank, 1))
        return generator, np.random.default_rng(step_seed(self.cfg.seed, self.step, self.dist.rank, 2))

    def fit(self, max_steps: int | None = None) -> dict[str, Any]:
        """Train until ``max_steps`` (default ``train.max_steps``); returns a summary of the run.

        Summary keys: ``step``, ``it_s`` (steps/s after the first step), ``data_wait`` (fraction of wall time spent
        waiting for batches), ``losses`` (list of per-step ``loss/total``), ``checkpoint`` (last path),
        ``weight_digests`` (one per rank).
        """
        max_steps = max_steps or self.cfg.train.max_steps
        start, totals, wait, busy = self.step, [], 0.0, 0.0
        self._open_run()
        batches = iter(self.make_loader(start, max_steps))
        for cb in self.callbacks:
            cb.on_fit_start(self)
        while self.step < max_steps:
            t0 = time.perf_counter()
            batch = next(batches)
            t1 = time.perf_counter()
            generator, rng = self._step_generators()
            logs = self.train_step(self.prepare_batch(batch, generator), generator, rng)
            self.step += 1
            values = {k: float(v) for k, v in logs.items()}
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            t2 = time.perf_counter()
            totals.append(values["loss/total"])
            if self.step > start + 1:  # the first step pays for worker start-up and lazy init
                wait, busy = wait + t1 - t0, busy + t2 - t0
            rec = StepRecord(self.step, max_steps, values, t1 - t0, t2 - t0)
            for cb in self.callbacks:
                cb.on_step_end(self, rec)
        del batches
        for cb in self.callbacks:
            cb.on_fit_end(self)
        digests = self._close_run()
        checkpoints = [cb.last for cb in self.callbacks if isinstance(cb, Checkpoints)]
        return {"step": self.step, "it_s": (self.step - start - 1) / busy if busy > 0 else float("nan"),
                "data_wait": wait / busy if busy > 0 else float("nan"), "losses": totals,
                "checkpoint": checkpoints[-1] if checkpoints else None, "weight_digests": digests}

    def _open_run(self) -> None:
        """Main process: the run folder, its ``config.yaml`` and the metrics log."""
        if self.dist.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.output_dir / "config.yaml", yaml.safe_dump(self.cfg.to_dict(), sort_keys=False),
                              overwrite=True)
            self.logbook = Logbook(self.output_dir)

    def _close_run(self) -> list[str]:
        """The DDP desync check (generator digests of every rank, logged and recorded) and closing the log."""
        digests = self.weight_digests()
        if self.logbook is not None:
            if self.dist.distributed:
                same = len(set(digests)) == 1
                (logger.info if same else logger.error)("generator weights across %d ranks: %s", len(digests),
                                                        "identical" if same else "DIFFERENT " + " ".join(digests))
            self.logbook.write(self.step, {"weight_digests": digests})
            self.logbook.close()
            self.logbook = None
        return digests

    def weight_digests(self) -> list[str]:
        """SHA-256 (16 hex) of the generator weights on every rank (DDP desync check); one entry per rank."""
        h = hashlib.sha256()
        for k, v in sorted(self.raw_net_g.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        mine = h.hexdigest()[:16]
        if not self.dist.distributed:
            return [mine]
        out: list[Any] = [None] * self.dist.world_size
        dist.all_gather_object(out, mine)
        return out

    # ------------------------------------------------------------------------------------------------------------
    # checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs except the RNG states (:meth:`save` adds those of every rank)."""
        per_step = self.cfg.data.batch_size * self.dist.world_size
        state: dict[str, Any] = {
            "format": "wildvsr-train-checkpoint",
            "version": 1,
            "config": self.cfg.to_dict(),
            "step": self.step,
            GENERATOR_KEY: self.raw_net_g.state_dict(),
            **self.optim.state_dict(),
            "sampler": {"step": self.step, "batch_size": self.cfg.data.batch_size,
                        "world_size": self.dist.world_size, "samples_seen": self.step * per_step},
            "world_size": self.dist.world_size,
        }
        if self.ema is not None:
            state[EMA_KEY] = self.ema.state_dict()
        if self.net_d is not None:
            state[DISCRIMINATOR_KEY] = unwrap(self.net_d).state_dict()
        return state

    def save(self) -> Path | None:
        """Write a checkpoint (rank 0; every rank contributes its RNG state). Returns its path on rank 0."""
        rng = capture_rng_state()
        if self.dist.distributed:
            all_rng: list[Any] = [None] * self.dist.world_size
            dist.all_gather_object(all_rng, rng)
        else:
            all_rng = [rng]
        if not self.dist.is_main:
            return None
        state = self.state_dict()
        state["rng"] = all_rng
        path = save_checkpoint(state, self.output_dir / CHECKPOINT_DIR, self.step, self.cfg.train.keep_checkpoints)
        logger.info("checkpoint %s", path)
        return path

    def _load_state(self, state: dict[str, Any]) -> None:
        self.raw_net_g.load_state_dict(state[GENERATOR_KEY])
        self.optim.optim_g.load_state_dict(state["optim_g"])
        self.optim.sched_g.load_state_dict(state["sched_g"])
        if self.ema is not None and EMA_KEY in state:
            self.ema.load_state_dict(state[EMA_KEY])
        if self.net_d is not None:
            if DISCRIMINATOR_KEY not in state:
                logger.warning("checkpoint has no discriminator; it starts fresh")
            else:
                unwrap(self.net_d).load_state_dict(state[DISCRIMINATOR_KEY])
                self.optim.optim_d.load_state_dict(state["optim_d"])
                self.optim.sched_d.load_state_dict(state["sched_d"])
        self.step = int(state["step"])
        saved_world = int(state.get("world_size", 1))
        if saved_world != self.dist.world_size:
            logger.warning("checkpoint was written with %d processes, now %d: the sample stream differs from an "
                           "uninterrupted run", saved_world, self.dist.world_size)
        rngs = state.get("rng") or []
        if self.dist.rank < len(rngs):
            restore_rng_state(rngs[self.dist.rank])
