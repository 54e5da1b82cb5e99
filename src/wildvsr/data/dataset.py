"""Sequence sampling over clean clips: random clip/start, GT crop, whole-sequence flips/transpose, temporal mirror.

Every sample is a pure function of ``(seed, sample_id)``: the clip is chosen from a per-epoch permutation seeded with
``(seed, epoch)`` (epoch = ``sample_id // num_clips``); start frame, crop window, flips and anything the optional
``worker_stage`` draws come from ``numpy.random.default_rng([seed, sample_id])``. So a run is reproducible and
resuming only needs the sampler position (:class:`ShardedSampleSampler`), not any loader state.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from wildvsr.data.clips import ClipInfo, FrameSource, build_clip_index
from wildvsr.utils.frames import to_tensor

WorkerStage = Callable[[dict[str, Any], np.random.Generator], dict[str, Any]]
"""Optional CPU work done in the loader worker on a sample (e.g. sampling degradation parameters)."""


@dataclass(frozen=True)
class SequenceSpec:
    """What one sample looks like.

    Attributes:
        num_frames: frames L in the returned sequence.
        stochastic: read L/2 frames and mirror them in time (``[x1..xn, xn..x1]``).
        gt_size: square crop size in pixels.
        hflip / vflip / transpose: each applied to the whole sequence with p = 0.5.
        num_samples: if set, sample ids repeat modulo this (a fixed training set).
    """

    num_frames: int = 30
    stochastic: bool = True
    gt_size: int = 256
    hflip: bool = True
    vflip: bool = True
    transpose: bool = True
    num_samples: int | None = None

    @property
    def frames_to_load(self) -> int:
        return self.num_frames // 2 if self.stochastic else self.num_frames


def mirror_in_time(frames: np.ndarray) -> np.ndarray:
    """``[x1..xn]`` -> ``[x1..xn, xn..x1]`` along axis 0 (MME0 ``MirrorSequence``)."""
    return np.concatenate([frames, frames[::-1]], axis=0)


def augment(frames: np.ndarray, hflip: bool, vflip: bool, transpose: bool) -> np.ndarray:
    """Flip / transpose a ``(T, H, W, C)`` sequence, the same way for every frame."""
    if hflip:
        frames = frames[:, :, ::-1]
    if vflip:
        frames = frames[:, ::-1]
    if transpose:
        frames = frames.transpose(0, 2, 1, 3)
    return frames


class VideoSequenceDataset(Dataset):
    """Map-style dataset indexed by a global sample id (any non-negative int; there is no epoch length).

    ``ds[k]`` returns ``{"gt": float32 (L, 3, S, S) in [0, 1], "sample_id", "clip" (index), "start" (first frame),
    "crop" (top, left), "flips" (h, v, transpose drawn)}`` plus whatever ``worker_stage(sample, rng)`` adds (run in the worker process, after cropping).

    Args:
        clips: the clip index (see :func:`wildvsr.data.clips.build_clip_index`).
        spec: sampling settings.
        seed: base seed.
        cache_mb: per-process decoded-clip cache budget (0 = seek per sample).
        worker_stage: optional CPU stage run per sample with the sample's own generator.
    """

    def __init__(self, clips: list[ClipInfo], spec: SequenceSpec, seed: int = 0, cache_mb: int = 0,
                 worker_stage: WorkerStage | None = None) -> None:
        if not clips:
            raise ValueError("VideoSequenceDataset needs at least one clip")
        self.clips, self.spec, self.seed = clips, spec, int(seed)
        self.source = FrameSource(cache_mb)
        self.worker_stage = worker_stage

    @classmethod
    def from_roots(cls, roots: tuple[str, ...] | list[str], spec: SequenceSpec, seed: int = 0, cache_mb: int = 0,
                   worker_stage: WorkerStage | None = None) -> VideoSequenceDataset:
        clips = build_clip_index(roots, spec.frames_to_load, spec.gt_size)
        return cls(clips, spec, seed, cache_mb, worker_stage)

    def __len__(self) -> int:  # nominal: one pass over the clips; ids beyond it are valid too
        return len(self.clips)

    def clip_for(self, sample_id: int) -> int:
        n = len(self.clips)
        epoch, pos = divmod(sample_id, n)
        perm = np.random.default_rng([self.seed, epoch, 0x5EC]).permutation(n)
        return int(perm[pos])

    def __getitem__(self, sample_id: int) -> dict[str, Any]:
        sample_id = int(sample_id)
        if sample_id < 0:
            raise IndexError(f"sample id must be >= 0, got {sample_id}")
        if self.spec.num_samples is not None:
            sample_id %= self.spec.num_samples
        spec = self.spec
        ci = self.clip_for(sample_id)
        clip = self.clips[ci]
        rng = np.random.default_rng([self.seed, sample_id])
        n = spec.frames_to_load
        start = int(rng.integers(0, clip.num_frames - n + 1))
        top = int(rng.integers(0, clip.height - spec.gt_size + 1))
        left = int(rng.integers(0, clip.width - spec.gt_size + 1))
        flips = rng.random(3) < 0.5
        frames = self.source.read(clip, start, n)[:, top:top + spec.gt_size, left:left + spec.gt_size]
        frames = augment(frames, spec.hflip and flips[0], spec.vflip and flips[1], spec.transpose and flips[2])
        if spec.stochastic:
            frames = mirror_in_time(frames)
        gt = to_tensor(frames)
        sample: dict[str, Any] = {"gt": gt, "sample_id": sample_id, "clip": ci, "start": start, "crop": (top, left),
                                  "flips": tuple(bool(f) for f in flips)}
        if self.worker_stage is not None:
            sample = self.worker_stage(sample, rng)
        return sample


class ShardedSampleSampler(Sampler[int]):
    """Infinite, resumable sample ids sharded over ranks (a ``DistributedSampler`` without epochs).

    Step ``s`` of rank ``r`` (of ``world_size``) gets ids ``(s * world_size + r) * batch_size + j``, ``j < batch_size``;
    ranks never share an id and the stream restarts exactly at ``start_step``.
    """

    def __init__(self, batch_size: int, rank: int = 0, world_size: int = 1, start_step: int = 0,
                 max_steps: int | None = None) -> None:
        self.batch_size, self.rank, self.world_size = batch_size, rank, world_size
        self.start_step, self.max_steps = start_step, max_steps

    def ids_for_step(self, step: int) -> list[int]:
        base = (step * self.world_size + self.rank) * self.batch_size
        return list(range(base, base + self.batch_size))

    def __iter__(self) -> Iterator[int]:
        steps = itertools.count(self.start_step) if self.max_steps is None else range(self.start_step, self.max_steps)
        for step in steps:
            yield from self.ids_for_step(step)

    def __len__(self) -> int:
        if self.max_steps is None:
            raise TypeError("an endless ShardedSampleSampler has no length")
        return max(0, self.max_steps - self.start_step) * self.batch_size


def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, keep other per-sample values as lists."""
    out: dict[str, Any] = {}
    for key in samples[0]:
        values = [s[key] for s in samples]
        out[key] = torch.stack(values) if isinstance(values[0], torch.Tensor) else values
    return out
