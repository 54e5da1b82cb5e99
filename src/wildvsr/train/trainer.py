"""The training loop: data -> degradation (CPU workers + batched device stage) -> [NegMix] -> G/D steps -> EMA.

One :class:`Trainer` per process. Under ``torchrun`` each process drives one device; the generator and discriminator
are wrapped in DDP; rank 0 alone logs, validates and writes checkpoints. All randomness of a step is drawn from
generators seeded with ``(seed, step, rank)`` (plus ``(seed, sample_id)`` in the data workers), so ``--resume`` continues
exactly where the checkpoint was taken.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader

from wildvsr.data.dataset import SequenceSpec, ShardedSampleSampler, VideoSequenceDataset, collate
from wildvsr.errors import OutputExistsError
from wildvsr.utils.files import atomic_write_text
from wildvsr.train.checkpoint import (capture_rng_state, latest_checkpoint, load_checkpoint, restore_rng_state,
                                      save_checkpoint)
from wildvsr.train.config import TrainConfig
from wildvsr.train.distributed import DistInfo, init_distributed, reduce_mean
from wildvsr.train.ema import ModelEMA
from wildvsr.train.logbook import Logbook, progress_line
from wildvsr.train.losses import CleaningLoss, GANLoss, PixelLoss, build_perceptual_loss
from wildvsr.train.setup import (build_discriminator, build_generator, build_scheduler, generator_param_groups)

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"


def step_seed(seed: int, step: int, rank: int, stream: int) -> int:
    """A 63-bit seed for one (step, rank, purpose) stream, independent of every other."""
    return int(np.random.SeedSequence([seed, step, rank, stream]).generate_state(2, np.uint64)[0] >> np.uint64(1))


@contextlib.contextmanager
def _seeded(seed: int, stream: int) -> Iterator[None]:
    """Run a block (module construction) with torch's CPU RNG seeded from ``(seed, stream)``, restoring it after.

    ``nn.Module`` initialisers draw from the global generator; forking it keeps a run's initial weights a function of
    the recipe's seed alone (and identical on every DDP rank) without touching the caller's RNG stream.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(step_seed(seed, 0, 0, 100 + stream))
        yield


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DDP) else model


class Trainer:
    """Trains one recipe.

    Args:
        cfg: the recipe.
        output_dir: run folder (``checkpoints/``, ``metrics.jsonl``, ``val/``, ``config.yaml``).
        resume: continue from the newest checkpoint in ``output_dir/checkpoints``.
        dist_info: process placement (default: from the ``torchrun`` environment, else one process).
        generator / discriminator / degradation / dataset: injected parts (tests; custom setups). By default they
            are built from ``cfg``.
        progress: called with the step number after every step (the CLI's progress bar).
    """

    def __init__(self, cfg: TrainConfig, output_dir: str | os.PathLike, *, resume: bool = False,
                 dist_info: DistInfo | None = None, generator: nn.Module | None = None,
                 discriminator: nn.Module | None = None, degradation: Any | None = None,
                 dataset: VideoSequenceDataset | None = None,
                 progress: Callable[[int], None] | None = None) -> None:
        self.cfg = cfg
        self.output_dir = Path(output_dir)
        self.dist = dist_info or init_distributed(cfg.train.device)
        self.device = self.dist.device
        self.progress = progress
        self.step = 0
        t = cfg.train
        if t.deterministic:  # process-wide switch; warn (not fail) on ops without a deterministic kernel
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
        self.amp_dtype = torch.bfloat16 if (t.amp == "bf16" or (t.amp == "auto" and self.device.type == "cuda")) \
            else None

        ckpt_dir = self.output_dir / CHECKPOINT_DIR
        resume_from = latest_checkpoint(ckpt_dir) if resume else None
        if not resume and latest_checkpoint(ckpt_dir) is not None:
            raise OutputExistsError(f"{ckpt_dir} already holds checkpoints; pass --resume to continue that run or "
                                    "choose another --output")
        if resume and resume_from is None:
            logger.warning("--resume given but %s has no checkpoint; starting from step 0", ckpt_dir)

        # networks
        ema_state = None
        if generator is None:
            with _seeded(cfg.seed, 0):  # weight init from the recipe's seed, not from whatever global state is
                generator, ema_state = build_generator(cfg.model)
        self.generator = generator.to(self.device)
        self.has_cleaning = cfg.loss.cleaning.weight > 0 and not cfg.model.fix_cleaning
        self.use_gan = cfg.loss.gan_weight > 0
        if self.use_gan and discriminator is None:
            with _seeded(cfg.seed, 1):
                discriminator = build_discriminator(cfg.discriminator)
        self.discriminator = discriminator.to(self.device) if self.use_gan and discriminator is not None else None

        # losses
        self.pixel_loss = PixelLoss(cfg.loss.pixel.kind, cfg.loss.pixel.weight, cfg.loss.pixel.eps)
        self.cleaning_loss = CleaningLoss(cfg.loss.cleaning.kind, cfg.loss.cleaning.weight, cfg.loss.cleaning.eps,
                                          cfg.data.scale)
        self.perceptual_loss = build_perceptual_loss(cfg.loss.perceptual.vgg_weights, cfg.loss.perceptual.layer_weights,
                                                     cfg.loss.perceptual.weight)
        if self.perceptual_loss is not None:
            self.perceptual_loss.to(self.device)
        self.gan_loss = GANLoss(cfg.loss.gan_weight)

        # NegVSR
        self.noise_bank = None
        self.aug_negative_loss = None
        if cfg.negvsr.enabled:
            from wildvsr.negvsr import AugNegativeLoss, NoiseBank

            self.noise_bank = NoiseBank(cfg.negvsr.noise_bank)
            self.aug_negative_loss = AugNegativeLoss(weight=cfg.loss.aug_negative_weight)

        # optimisers, schedulers, EMA
        self.optim_g = torch.optim.Adam(generator_param_groups(unwrap(self.generator), cfg.model, cfg.optim),
                                        lr=cfg.optim.lr, betas=cfg.optim.betas, weight_decay=cfg.optim.weight_decay)
        self.sched_g = build_scheduler(self.optim_g, cfg.optim)
        self.optim_d = self.sched_d = None
        if self.discriminator is not None:
            self.optim_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.optim.lr_d, betas=cfg.optim.betas,
                                            weight_decay=cfg.optim.weight_decay)
            self.sched_d = build_scheduler(self.optim_d, cfg.optim)
        self.ema = ModelEMA(self.generator, t.ema_decay) if t.ema_decay > 0 else None
        if self.ema is not None and ema_state is not None:
            self.ema.load_state_dict(ema_state)

        # degradation and data
        if degradation is None:
            from wildvsr.train.degradation import TrainingDegradation

            degradation = TrainingDegradation(cfg.degradation, cfg.data.scale)
        self.degradation = degradation
        if dataset is None:
            d = cfg.data
            spec = SequenceSpec(d.num_frames, d.stochastic, d.gt_size, d.hflip, d.vflip, d.transpose, d.num_samples)
            dataset = VideoSequenceDataset.from_roots(d.roots, spec, cfg.seed, d.cache_mb,
                                                      getattr(degradation, "worker_stage", None))
        self.dataset = dataset

        if resume_from is not None:
            self._load_state(load_checkpoint(resume_from))
            logger.info("resumed from %s at step %d", resume_from, self.step)

        # DDP wrapping after the weights are final (DDP broadcasts rank 0's parameters at construction)
        if self.dist.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.generator = DDP(self.generator, device_ids=ids,
                                 find_unused_parameters=t.find_unused_parameters)
            if self.discriminator is not None:
                self.discriminator = DDP(self.discriminator, device_ids=ids, broadcast_buffers=False)

        self.logbook: Logbook | None = None
        self.validator = None
        if self.dist.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            import yaml

            atomic_write_text(self.output_dir / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
            self.logbook = Logbook(self.output_dir)
            if t.val_every > 0 and (cfg.val.real_frames or cfg.val.synthetic_video):
                from wildvsr.train.validation import Validator

                self.validator = Validator(cfg, self.device, self.degradation, self.output_dir / "val")

    # ------------------------------------------------------------------------------------------------------------
    # data

    def make_loader(self, start_step: int, max_steps: int) -> DataLoader:
        d = self.cfg.data
        sampler = ShardedSampleSampler(d.batch_size, self.dist.rank, self.dist.world_size, start_step, max_steps)
        kwargs: dict[str, Any] = {}
        if d.num_workers > 0:
            kwargs = {"prefetch_factor": d.prefetch_factor, "persistent_workers": False}
        return DataLoader(self.dataset, batch_size=d.batch_size, sampler=sampler, num_workers=d.num_workers,
                          collate_fn=collate, pin_memory=self.device.type == "cuda", drop_last=True, **kwargs)

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

    def train_step(self, data: dict[str, torch.Tensor], generator: torch.Generator,
                   rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """One generator step (and one discriminator step with GAN); returns detached loss values."""
        cfg = self.cfg
        lq, gt, gt_usm = data["lq"], data["gt"], data["gt_usm"]
        gt_pix = gt_usm if cfg.loss.sharpened_gt_pixel else gt
        gt_per = gt_usm if cfg.loss.sharpened_gt_perceptual else gt
        gt_gan = gt_usm if cfg.loss.sharpened_gt_gan else gt
        b = lq.shape[0]
        logs: dict[str, torch.Tensor] = {}

        self.generator.train()
        self.optim_g.zero_grad(set_to_none=True)
        if self.discriminator is not None:
            unwrap(self.discriminator).requires_grad_(False)
        with self._autocast():
            inputs = lq
            if self.noise_bank is not None:  # one forward over [V_lr; NegMix(V_lr)] (DDP allows one forward per step)
                from wildvsr.negvsr import negmix

                noise = self.noise_bank.sample(b, lq.shape[1], lq.shape[-2], lq.shape[-1], rng).to(self.device)
                mixed = negmix(lq, noise, generator=generator, mix_weight=cfg.negvsr.mix_weight,
                               patch_size=cfg.negvsr.patch_size)
                inputs = torch.cat([lq, mixed], dim=0)
            if self.has_cleaning:
                out, cleaned = self.generator(inputs, return_lqs=True)
            else:
                out, cleaned = self.generator(inputs), None
            out_neg = None
            if self.noise_bank is not None:
                out, out_neg = out[:b], out[b:]
                cleaned = cleaned[:b] if cleaned is not None else None
            total = out.new_zeros((), dtype=torch.float32)
            if cfg.loss.pixel.weight > 0:
                logs["loss/pix"] = self.pixel_loss(out, gt_pix)
                total = total + logs["loss/pix"]
            if cleaned is not None:
                logs["loss/clean"] = self.cleaning_loss(cleaned, gt_pix)
                total = total + logs["loss/clean"]
            if self.perceptual_loss is not None:
                logs["loss/per"] = self.perceptual_loss(out, gt_per)
                total = total + logs["loss/per"]
            if self.discriminator is not None:
                fake_logits = unwrap(self.discriminator)(out.flatten(0, 1))
                logs["loss/gan"] = self.gan_loss(fake_logits, True, is_disc=False)
                total = total + logs["loss/gan"]
            if out_neg is not None:
                logs["loss/aug_n"] = self.aug_negative_loss(out_neg, out)
                total = total + logs["loss/aug_n"]
        total.backward()
        if cfg.optim.grad_clip > 0:
            logs["grad_norm"] = torch.nn.utils.clip_grad_norm_(
                [p for p in self.generator.parameters() if p.requires_grad], cfg.optim.grad_clip)
        self.optim_g.step()
        self.sched_g.step()
        logs["loss/total"] = total.detach()

        if self.discriminator is not None:
            d = self.discriminator
            unwrap(d).requires_grad_(True)
            self.optim_d.zero_grad(set_to_none=True)
            with self._autocast():
                l_real = self.gan_loss(d(gt_gan.flatten(0, 1)), True, is_disc=True)
            l_real.backward()
            with self._autocast():
                l_fake = self.gan_loss(d(out.detach().flatten(0, 1)), False, is_disc=True)
            l_fake.backward()
            self.optim_d.step()
            self.sched_d.step()
            logs["loss/d_real"], logs["loss/d_fake"] = l_real.detach(), l_fake.detach()

        if self.ema is not None:
            self.ema.update(unwrap(self.generator))
        return {k: v.detach() for k, v in logs.items()}

    # ------------------------------------------------------------------------------------------------------------
    # loop

    def fit(self, max_steps: int | None = None) -> dict[str, Any]:
        """Train until ``max_steps`` (default ``train.max_steps``); returns a summary of the run.

        Summary keys: ``step``, ``it_s`` (steps/s after the first step), ``data_wait`` (fraction of wall time spent
        waiting for batches), ``losses`` (list of per-step ``loss/total``), ``checkpoint`` (last path).
        """
        cfg, t = self.cfg, self.cfg.train
        max_steps = max_steps or t.max_steps
        start = self.step
        loader = self.make_loader(start, max_steps)
        it: Iterator = iter(loader)
        totals: list[float] = []
        window: dict[str, float] = {}
        window_n = 0
        wait = busy = 0.0
        win_wait = win_time = 0.0
        t_first = None
        last_ckpt = None
        if self.validator is not None and start == 0:
            self._validate()
        while self.step < max_steps:
            t0 = time.perf_counter()
            batch = next(it)
            t1 = time.perf_counter()
            gen = torch.Generator(device=self.device)
            gen.manual_seed(step_seed(cfg.seed, self.step, self.dist.rank, 1))
            rng = np.random.default_rng(step_seed(cfg.seed, self.step, self.dist.rank, 2))
            data = self.prepare_batch(batch, gen)
            logs = self.train_step(data, gen, rng)
            self.step += 1
            values = {k: float(v) for k, v in logs.items()}
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            t2 = time.perf_counter()
            totals.append(values["loss/total"])
            if self.step > start + 1:  # the first step pays for worker start-up and lazy init
                wait += t1 - t0
                busy += t2 - t0
            else:
                t_first = t2
            win_wait += t1 - t0
            win_time += t2 - t0
            for k, v in values.items():
                window[k] = window.get(k, 0.0) + v
            window_n += 1
            if self.progress is not None:
                self.progress(self.step)
            if self.step % t.log_every == 0 or self.step == max_steps:
                means = reduce_mean({k: v / window_n for k, v in window.items()}, self.device)
                it_s = window_n / win_time if win_time > 0 else 0.0
                frac = win_wait / win_time if win_time > 0 else 0.0
                lr = self.optim_g.param_groups[0]["lr"]
                if self.dist.is_main:
                    losses = {k: v for k, v in means.items() if k.startswith("loss/")}
                    logger.info(progress_line(self.step, max_steps, it_s, frac, losses, lr))
                    rec = {**means, "it_s": it_s, "data_wait": frac, "lr": lr}
                    if self.device.type == "cuda":
                        rec["peak_mem_gib"] = torch.cuda.max_memory_allocated(self.device) / 2**30
                    self.logbook.write(self.step, rec)
                window, window_n, win_wait, win_time = {}, 0, 0.0, 0.0
            if self.validator is not None and t.val_every > 0 and self.step % t.val_every == 0:
                self._validate()
            if self.step % t.checkpoint_every == 0 or self.step == max_steps:
                last_ckpt = self.save()
        digests = self.weight_digests()
        if self.logbook is not None:
            if self.dist.distributed:
                same = len(set(digests)) == 1
                (logger.info if same else logger.error)("generator weights across %d ranks: %s", len(digests),
                                                        "identical" if same else "DIFFERENT " + " ".join(digests))
            self.logbook.write(self.step, {"weight_digests": digests})
            self.logbook.close()
        del it, loader
        it_s = (self.step - start - 1) / busy if busy > 0 else float("nan")
        return {"step": self.step, "it_s": it_s, "data_wait": wait / busy if busy > 0 else float("nan"),
                "losses": totals, "checkpoint": last_ckpt, "weight_digests": digests}

    def weight_digests(self) -> list[str]:
        """SHA-256 (16 hex) of the generator weights on every rank (DDP desync check); one entry per rank."""
        h = hashlib.sha256()
        for k, v in sorted(unwrap(self.generator).state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
        mine = h.hexdigest()[:16]
        if not self.dist.distributed:
            return [mine]
        out: list[Any] = [None] * self.dist.world_size
        dist.all_gather_object(out, mine)
        return out

    def _validate(self) -> None:
        model = self.ema.module if self.ema is not None else unwrap(self.generator)
        results = self.validator.run(model, self.step)
        if results:
            logger.info("validation at step %d: %s", self.step,
                        " ".join(f"{k} {v:.4f}" for k, v in results.items()))
            self.logbook.write(self.step, results)

    # ------------------------------------------------------------------------------------------------------------
    # checkpoints

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "format": "wildvsr-train-checkpoint",
            "version": 1,
            "config": self.cfg.to_dict(),
            "step": self.step,
            "model": unwrap(self.generator).state_dict(),
            "optim_g": self.optim_g.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "sampler": {"step": self.step, "batch_size": self.cfg.data.batch_size,
                        "world_size": self.dist.world_size,
                        "samples_seen": self.step * self.cfg.data.batch_size * self.dist.world_size},
            "world_size": self.dist.world_size,
        }
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        if self.discriminator is not None:
            state["discriminator"] = unwrap(self.discriminator).state_dict()
            state["optim_d"] = self.optim_d.state_dict()
            state["sched_d"] = self.sched_d.state_dict()
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
        unwrap(self.generator).load_state_dict(state["model"])
        self.optim_g.load_state_dict(state["optim_g"])
        self.sched_g.load_state_dict(state["sched_g"])
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
        if self.discriminator is not None:
            if "discriminator" not in state:
                logger.warning("checkpoint has no discriminator; it starts fresh")
            else:
                unwrap(self.discriminator).load_state_dict(state["discriminator"])
                self.optim_d.load_state_dict(state["optim_d"])
                self.sched_d.load_state_dict(state["sched_d"])
        self.step = int(state["step"])
        saved_world = int(state.get("world_size", 1))
        if saved_world != self.dist.world_size:
            logger.warning("checkpoint was written with %d processes, now %d: the sample stream differs from an "
                           "uninterrupted run", saved_world, self.dist.world_size)
        rngs = state.get("rng") or []
        if self.dist.rank < len(rngs):
            restore_rng_state(rngs[self.dist.rank])


def train(cfg: TrainConfig, output_dir: str | os.PathLike, *, resume: bool = False, max_steps: int | None = None,
          progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run a recipe (the library call behind ``wildvsr train``); seeds the process, joins torchrun's group if any."""
    from wildvsr.train.distributed import cleanup_distributed
    from wildvsr.utils.seed import seed_everything

    info = init_distributed(cfg.train.device)
    seed_everything(cfg.seed, info.rank)
    try:
        trainer = Trainer(cfg, output_dir, resume=resume, dist_info=info, progress=progress)
        return trainer.fit(max_steps)
    finally:
        cleanup_distributed()
