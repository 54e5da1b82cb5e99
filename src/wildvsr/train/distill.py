"""Distillation recipe (issue 16): a frozen per-frame real-world teacher (Real-ESRGAN) trains a RealBasicVSR student.

The recipe runs in :class:`~wildvsr.train.trainer.Trainer` (same loop, checkpoints, DDP, AMP, EMA, validation);
:class:`DistillTrainer` changes only what a step sees:

- data (:class:`DistillDataset`): each sample is either a clean ``data.roots`` clip (degraded on the device as usual,
  GT available) or, with probability ``distill.real_fraction``, a crop of a real low-quality clip
  (``distill.real_roots``) without GT;
- targets (:meth:`DistillTrainer.prepare_batch`): the :class:`Teacher`'s output on every LQ frame (frozen, no grad,
  bf16/fp16 autocast on GPU, optionally cached on disk by :class:`~wildvsr.train.teacher_cache.TeacherCache`); the
  pixel target is the GT where there is one and the teacher output where there is none;
- losses (:func:`build_distill_objective`): ``loss/distill`` (Charbonnier to the teacher), ``loss/pix`` (L1 to the GT,
  samples with GT only), ``loss/clean`` (cleaned LQ vs the downsampled pixel target), ``loss/temporal`` (consecutive
  outputs warped with SPyNet flow of the LQ or GT, occlusion-masked), plus the recipe's other terms (NegVSR, GAN).
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from wildvsr.data.dataset import SequenceSpec, VideoSequenceDataset, collate
from wildvsr.models.flow import spynet_flow_fn
from wildvsr.models import create_model, model_spec
from wildvsr.train.callbacks import Callback, StepRecord
from wildvsr.train.config import TeacherConfig, TrainConfig
from wildvsr.train.losses import FrequencyLoss, PixelLoss, TemporalLoss, temporal_flows
from wildvsr.train.parts import GeneratorPass, LossTerm, Objective, seeded, build_objective, step_seed
from wildvsr.train.teacher_cache import TeacherCache, frame_key, input_digest
from wildvsr.train.trainer import Trainer
from wildvsr.utils.device import cuda_has_native_bf16

logger = logging.getLogger(__name__)

SYNTHETIC, REAL = "hr", "real"  # sample sources (also the first part of a cache key)


# ---------------------------------------------------------------------------------------------------------- teacher
def teacher_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype of the teacher: ``auto`` = bf16 on a CUDA device with native bf16 (compute capability 8.0+),
    fp16 on older GPUs (T4, V100: tensor cores for fp16, no bf16 convolution), fp32 (None) on CPU; ``bf16`` /
    ``fp16`` / ``fp32`` as named."""
    if amp == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if cuda_has_native_bf16(device) else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[amp]


class Teacher:
    """A frozen upscale model producing the distillation targets.

    Args:
        cfg: teacher settings (model, weights, precision, frames per forward, cache).
        device: where it runs.
        seed: initialises a teacher without weights (tests) the same way in every process.
        cache_dir: this process's cache folder (None = no cache); only per-frame teachers are cached.

    ``teacher(lq, keys)``: ``lq (B, T, 3, h, w)`` in [0, 1] -> ``(B, T, 3, 4h, 4w)`` float32 in [0, 1]. ``keys``:
    ``B x T`` cache keys (None for a frame that must not be cached) or None.
    """

    def __init__(self, cfg: TeacherConfig, device: torch.device, seed: int = 0,
                 cache_dir: str | Path | None = None) -> None:
        if cfg.weights is None and "." not in cfg.name:
            logger.warning("distill.teacher.weights is null: the teacher %s is randomly initialised (tests only)",
                           cfg.name)
        with seeded(seed, 2):
            model = create_model(cfg.name, weights=cfg.weights, **dict(cfg.kwargs))
        self.model = model.to(device).eval().requires_grad_(False)
        self.device, self.cfg = device, cfg
        self.dtype = teacher_dtype(cfg.amp, device)
        self.per_frame = not model_spec(model).temporal
        ident = {"name": cfg.name, "weights": cfg.weights, "kwargs": dict(sorted(cfg.kwargs.items())),
                 "dtype": str(self.dtype), "device": device.type}
        self.cache = None
        if cache_dir is not None:
            if self.per_frame:
                self.cache = TeacherCache(cache_dir, json.dumps(ident, sort_keys=True), cfg.cache_shard_mb)
            else:
                logger.warning("distill.teacher.cache_dir ignored: %s is not a per-frame model", cfg.name)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """The raw model output of ``x`` (frames ``(N, 3, h, w)`` or a clip ``(B, T, 3, h, w)``), in chunks."""
        n = self.cfg.batch_frames
        with torch.no_grad(), self._autocast():
            return torch.cat([self.model(x[i:i + n].to(self.device)) for i in range(0, x.shape[0], n)])

    def __call__(self, lq: torch.Tensor, keys: list[list[str | None]] | None = None) -> torch.Tensor:
        b, t = lq.shape[:2]
        if not self.per_frame:
            return self._run(lq).float().clamp_(0, 1)
        frames = lq.flatten(0, 1)
        flat_keys = [k for row in keys for k in row] if keys is not None and self.cache is not None else [None] * b * t
        outs: list[torch.Tensor | None] = [None] * (b * t)
        todo: dict[tuple[str | None, str], list[int]] = {}  # (key, input digest) -> frame positions
        for i, key in enumerate(flat_keys):
            if key is None:
                todo.setdefault((None, str(i)), []).append(i)
                continue
            digest = input_digest(frames[i])
            if (key, digest) in todo:  # the same input twice in the batch (a mirrored real clip): computed once
                todo[(key, digest)].append(i)
            elif (hit := self.cache.get(key, digest)) is not None:
                outs[i] = hit
            else:
                todo[(key, digest)] = [i]
        if todo:
            firsts = [pos[0] for pos in todo.values()]
            fresh = self._run(frames[firsts])
            for ((key, digest), positions), out in zip(todo.items(), fresh):
                for i in positions:
                    outs[i] = out
                if key is not None:
                    self.cache.put(key, digest, out)
        out = torch.stack([o.to(self.device) for o in outs]).float().clamp_(0, 1)
        return out.reshape(b, t, *out.shape[1:])

    def flush(self) -> None:
        if self.cache is not None:
            self.cache.flush()


# ------------------------------------------------------------------------------------------------------------- data
def source_frame(start: int, position: int, loaded: int, stochastic: bool) -> int:
    """The clip frame shown at ``position`` of a sample that read ``loaded`` frames from ``start`` (and, with
    ``stochastic``, mirrored them in time)."""
    if stochastic and position >= loaded:
        position = 2 * loaded - 1 - position
    return start + position


class DistillDataset(Dataset):
    """Samples of the distillation recipe: degraded clean clips (with GT) mixed with real LQ clips (without).

    Sample ``k`` is real with probability ``real_fraction`` (a draw from ``(seed, k)``). A synthetic sample is the
    ``synthetic`` dataset's (``gt`` + degradation parameters); a real one is ``real``'s with its frames under ``lq``.
    Both get ``source`` and ``clip_name`` (for cache keys). :meth:`collate` groups a batch by source.
    """

    def __init__(self, synthetic: VideoSequenceDataset, real: VideoSequenceDataset | None, real_fraction: float,
                 seed: int) -> None:
        self.synthetic, self.real, self.real_fraction, self.seed = synthetic, real, real_fraction, seed

    def __len__(self) -> int:
        return len(self.synthetic)

    def is_real(self, sample_id: int) -> bool:
        if self.real is None or self.real_fraction <= 0:
            return False
        return bool(np.random.default_rng([self.seed, sample_id, 0xD157]).random() < self.real_fraction)

    def __getitem__(self, sample_id: int) -> dict[str, Any]:
        sample_id = int(sample_id)
        if self.synthetic.spec.num_samples is not None:  # a fixed set: the kind repeats with the sample
            sample_id %= self.synthetic.spec.num_samples
        real = self.is_real(sample_id)
        ds = self.real if real else self.synthetic
        sample = ds[sample_id]
        if real:
            sample["lq"] = sample.pop("gt")
        sample["source"] = REAL if real else SYNTHETIC
        sample["clip_name"] = Path(ds.clips[sample["clip"]].path).name
        return sample

    @staticmethod
    def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
        """``{"synthetic": collated synthetic samples or None, "real": collated real samples or None}``."""
        groups = {src: [s for s in samples if s["source"] == src] for src in (SYNTHETIC, REAL)}
        return {"synthetic": collate(groups[SYNTHETIC]) if groups[SYNTHETIC] else None,
                "real": collate(groups[REAL]) if groups[REAL] else None}


def build_distill_dataset(cfg: TrainConfig, degradation: Any) -> DistillDataset:
    """The clean-clip dataset of ``data`` and, with ``distill.real_roots``, the real-LQ one (crops of
    ``gt_size / scale``, same length, flips and mirroring; its own seed)."""
    d, ds = cfg.data, cfg.distill
    spec = SequenceSpec(d.num_frames, d.stochastic, d.gt_size, d.hflip, d.vflip, d.transpose, d.num_samples)
    synthetic = VideoSequenceDataset.from_roots(d.roots, spec, cfg.seed, d.cache_mb,
                                                getattr(degradation, "worker_stage", None))
    real = None
    if ds.real_roots and ds.real_fraction > 0:
        real_spec = SequenceSpec(d.num_frames, d.stochastic, d.gt_size // d.scale, d.hflip, d.vflip, d.transpose,
                                 d.num_samples)
        real = VideoSequenceDataset.from_roots(ds.real_roots, real_spec, cfg.seed + 1, d.cache_mb)
    return DistillDataset(synthetic, real, ds.real_fraction, cfg.seed)


def dihedral_time(video: torch.Tensor, ops: tuple[bool, bool, bool, bool]) -> torch.Tensor:
    """``video (T, C, H, W)`` flipped left-right, up-down, transposed (H <-> W) and reversed in time, as ``ops`` says."""
    hflip, vflip, transpose, reverse = ops
    dims = [d for d, on in ((-1, hflip), (-2, vflip), (0, reverse)) if on]
    if dims:
        video = video.flip(dims)
    return video.transpose(-1, -2) if transpose else video


def augment_after_teacher(data: dict[str, Any], generator: torch.Generator) -> dict[str, Any]:
    """Each sample's LQ, teacher output, GT (``gt``, ``gt_usm``, ``gt_flow``) given one shared random dihedral
    transform and time reversal (four fair coins per sample from ``generator``). Done after the teacher so that its
    cached outputs serve all 16 variants; transposition needs square crops, which the recipes use."""
    b = data["lq"].shape[0]
    coins = torch.rand(b, 4, generator=generator, device=generator.device) < 0.5
    out = dict(data)
    for key in ("lq", "teacher", "gt", "gt_usm", "gt_flow"):
        video = data[key]
        if coins[:, 2].any() and video.shape[-1] != video.shape[-2]:
            raise ValueError(f"distill.augment transposes, which needs square crops; {key} is {tuple(video.shape)}")
        out[key] = torch.stack([dihedral_time(video[i], tuple(coins[i].tolist())) for i in range(video.shape[0])]) \
            if video.shape[0] else video
    return out


# -------------------------------------------------------------------------------------------------------- objective
def build_distill_objective(cfg: TrainConfig, device: torch.device, net_d: nn.Module | None) -> Objective:
    """``loss/distill``, ``loss/pix`` (GT samples only), the recipe's other terms (``loss/clean`` against the pixel
    target, perceptual, GAN, NegVSR) and ``loss/temporal``; terms with weight 0 are left out."""
    base = build_objective(cfg, device, net_d)
    ds, lo = cfg.distill, cfg.loss
    terms: list[LossTerm] = []
    if ds.teacher_loss.weight > 0:
        to_teacher = PixelLoss(ds.teacher_loss.kind, ds.teacher_loss.weight, ds.teacher_loss.eps)
        terms.append(LossTerm("loss/distill", lambda p: to_teacher(p.out, p.extra["teacher"])))
    if ds.frequency_weight > 0:
        freq = FrequencyLoss(ds.frequency_weight)
        terms.append(LossTerm("loss/freq", lambda p: freq(p.out, p.extra["teacher"])))
    if lo.pixel.weight > 0:
        to_gt = PixelLoss(lo.pixel.kind, lo.pixel.weight, lo.pixel.eps)
        terms.append(LossTerm("loss/pix", lambda p: gt_only(to_gt, p)))
    terms += [t for t in base.terms if t.name != "loss/pix"]
    if ds.temporal.weight > 0:
        temporal = TemporalLoss(ds.temporal.weight)
        terms.append(LossTerm("loss/temporal",
                              lambda p: temporal(p.out, p.extra["flow_backward"], p.extra["flow_mask"])))
    return Objective(terms, base.gan, base.wants_cleaned)


def gt_only(loss: PixelLoss, p: GeneratorPass) -> torch.Tensor:
    """``loss`` over the samples that have a GT (the first ``num_gt`` of the batch), scaled by their share of the
    batch (so a sample weighs the same whatever the mix); 0 when none has one."""
    n = int(p.extra["num_gt"])
    if n == 0:
        return p.out.new_zeros((), dtype=torch.float32)
    return loss(p.out[:n], p.gt_pix[:n]) * (n / p.out.shape[0])


# ---------------------------------------------------------------------------------------------------------- trainer
class TeacherCacheFlush(Callback):
    """Writes the teacher's pending cached outputs every ``every`` steps and at the end."""

    def __init__(self, every: int) -> None:
        self.every = every

    def on_step_end(self, trainer: Trainer, rec: StepRecord) -> None:
        if rec.step % self.every == 0:
            trainer.teacher.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        trainer.teacher.flush()


class DistillTrainer(Trainer):
    """The :class:`Trainer` with the distillation data, targets and objective (``distill.enabled``).

    ``teacher``: an injected :class:`Teacher` (tests); by default built from ``distill.teacher``, with the cache in
    ``cache_dir/rank{r}``.
    """

    def __init__(self, cfg: TrainConfig, output_dir: str | Path, *, teacher: Teacher | None = None,
                 **kwargs: Any) -> None:
        super().__init__(cfg, output_dir, **kwargs)
        tc = cfg.distill.teacher
        cache = Path(tc.cache_dir).expanduser() / f"rank{self.dist.rank}" if tc.cache_dir else None
        self.teacher = teacher or Teacher(tc, self.device, cfg.seed, cache)
        ds = cfg.distill
        # GT-only recipes (the ablation without teacher targets) skip the teacher: no term reads it
        self.needs_teacher = ds.teacher_loss.weight > 0 or ds.frequency_weight > 0 or ds.real_fraction > 0
        self.flow_fn = None
        if cfg.distill.temporal.weight > 0:
            self.flow_fn = spynet_flow_fn(self.device)

    # the hooks of Trainer.__init__
    def build_dataset(self, degradation: Any) -> DistillDataset:
        return build_distill_dataset(self.cfg, degradation)

    def build_objective(self, net_d: nn.Module | None) -> Objective:
        return build_distill_objective(self.cfg, self.device, net_d)

    def _default_callbacks(self, progress: Any) -> list[Callback]:
        return [*super()._default_callbacks(progress), TeacherCacheFlush(self.cfg.train.checkpoint_every)]

    def _degrade(self, syn: dict[str, Any], generator: torch.Generator) -> dict[str, torch.Tensor]:
        """The synthetic part's ``{"gt", "gt_usm", "lq"}``; with ``distill.fixed_degradation`` each sample is
        degraded with a generator seeded by its sample id (so its LQ is a function of the sample)."""
        gt = syn["gt"].to(self.device, non_blocking=True)
        if not self.cfg.distill.fixed_degradation:
            return self.degradation.device_stage(gt, syn, generator)
        parts = []
        for i, sid in enumerate(syn["sample_id"]):
            g = torch.Generator(device=self.device)
            g.manual_seed(step_seed(self.cfg.seed, sid, 0, 7))
            parts.append(self.degradation.device_stage(gt[i:i + 1], {"degrade_params": [syn["degrade_params"][i]]}, g))
        return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}

    def _cache_keys(self, group: dict[str, Any], source: str) -> list[list[str | None]]:
        """Per frame cache keys of a collated group (synthetic frames only with ``fixed_degradation``)."""
        d = self.cfg.data
        size = d.gt_size if source == SYNTHETIC else d.gt_size // d.scale
        loaded = d.num_frames // 2 if d.stochastic else d.num_frames
        keys = []
        for j, sid in enumerate(group["sample_id"]):
            if source == SYNTHETIC and not self.cfg.distill.fixed_degradation:
                keys.append([None] * d.num_frames)
                continue
            crop = (*group["crop"][j], size)
            keys.append([frame_key(source, group["clip_name"][j], source_frame(group["start"][j], t, loaded,
                                                                             d.stochastic),
                                   crop, group["flips"][j], f"{sid}.{t}" if source == SYNTHETIC else None)
                         for t in range(d.num_frames)])
        return keys

    def prepare_batch(self, batch: dict[str, Any], generator: torch.Generator) -> dict[str, Any]:
        """LQ of the batch (synthetic samples first, then real ones), the teacher's outputs and the pixel targets.

        Returns ``{"lq", "gt", "gt_usm", "teacher", "num_gt", "gt_flow"}``: ``gt``/``gt_usm`` hold the GT (plain / USM)
        of the first ``num_gt`` samples and the teacher output for the rest; ``gt_flow`` the plain GT of the first
        ``num_gt`` (for ``distill.temporal.flow: gt``).
        """
        syn, real = batch["synthetic"], batch["real"]
        lqs, keys, gts, gts_usm = [], [], [], []
        if syn is not None:
            data = self._degrade(syn, generator)
            lqs.append(data["lq"])
            gts.append(data["gt"])
            gts_usm.append(data["gt_usm"])
            keys += self._cache_keys(syn, SYNTHETIC)
        if real is not None:
            lqs.append(real["lq"].to(self.device, non_blocking=True))
            keys += self._cache_keys(real, REAL)
        lq = torch.cat(lqs)
        teacher = self.teacher(lq, keys) if self.needs_teacher else lq.new_zeros(
            (0, *lq.shape[1:3], lq.shape[-2] * self.cfg.data.scale, lq.shape[-1] * self.cfg.data.scale))
        num_gt = len(gts) and gts[0].shape[0]
        rest = [teacher[num_gt:]] if num_gt < lq.shape[0] else []
        gt_flow = gts[0] if gts else teacher[:0]
        data = {"lq": lq, "gt": torch.cat(gts + rest), "gt_usm": torch.cat(gts_usm + rest), "teacher": teacher,
                "num_gt": num_gt, "gt_flow": gt_flow}
        if self.cfg.distill.augment:
            data = augment_after_teacher(data, generator)
        return data

    def generator_pass(self, data: dict[str, Any], generator: torch.Generator,
                       rng: np.random.Generator) -> GeneratorPass:
        p = super().generator_pass(data, generator, rng)
        p.extra.update(teacher=data["teacher"], num_gt=data["num_gt"])
        if self.flow_fn is not None:
            p.extra["flow_backward"], p.extra["flow_mask"] = self._flows(data)
        return p

    def _flows(self, data: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Backward flows + masks on the output grid: from the GT for samples with one (``temporal.flow: gt``),
        from the LQ (upsampled) otherwise."""
        tc, scale, n = self.cfg.distill.temporal, self.cfg.data.scale, data["num_gt"]
        lq = data["lq"]
        with torch.autocast(device_type=self.device.type, enabled=False):
            if tc.flow == "gt" and n > 0:
                parts = [temporal_flows(data["gt_flow"], self.flow_fn, 1, tc.occlusion)]
                if n < lq.shape[0]:
                    parts.append(temporal_flows(lq[n:], self.flow_fn, scale, tc.occlusion))
                return torch.cat([f for f, _ in parts]), torch.cat([m for _, m in parts])
            return temporal_flows(lq, self.flow_fn, scale, tc.occlusion)

