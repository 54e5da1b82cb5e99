"""``Degrader``: applies sampled parameters to a GT batch - tensor ops on the GT's device, codecs on CPU.

Frames can change size independently (a resize scale that walks per frame), so the batch is held as a list of
``(3, h, w)`` frames while it is degraded. Each step gathers the frames it acts on, groups those of equal size and
runs the batched op once per group (on the GPU: one launch per group, not per frame); the final resize brings every
frame to ``(H // scale, W // scale)`` and the result is stacked back to ``(B, T, 3, h, w)``.

Step kinds and where they run:
- tensor steps (blur, resize, noise, final resize, sinc): on ``gt.device``, random numbers from ``generator``;
- JPEG: libjpeg through Pillow on CPU, per frame (frames go to CPU as uint8 and back), or with ``backend: torch``
  the torch JPEG (``diffjpeg``) on the device;
- codec: PyAV on CPU, one encoder per clip.
``cpu_executor`` (any ``concurrent.futures.Executor``) runs the CPU steps in parallel - the clips of a codec step, the
frames of a JPEG step: a ``ThreadPoolExecutor`` (FFmpeg and libjpeg release the GIL while coding) or a
``ProcessPoolExecutor`` (``compress_video``, ``jpeg_roundtrip`` and ``CodecParams`` are picklable). Results are
identical with or without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor

import numpy as np
import torch

from wildvsr.degrade.codec import CodecParams, compress_video
from wildvsr.degrade.config import DegradationConfig, FinalStage
from wildvsr.degrade.diffjpeg import diff_jpeg
from wildvsr.degrade.jpeg import jpeg_roundtrip, tensor_to_uint8, uint8_to_tensor
from wildvsr.degrade.kernels import filter2D, make_kernel, pad_kernel
from wildvsr.degrade.params import (
    BlurParams,
    ClipParams,
    DegradationParams,
    JpegParams,
    NoiseParams,
    ResizeParams,
    sample_params,
)
from wildvsr.degrade.pixel_noise import add_gaussian_noise, add_poisson_noise
from wildvsr.degrade.resize import resize

logger = logging.getLogger(__name__)

# trace callback: (step label, clip-0 frame-0 image (3, h, w)) after each step, for the gallery
Trace = Callable[[str, torch.Tensor], None]


def _groups(keys: Sequence) -> dict:
    """``{key: [positions]}`` in first-occurrence order (deterministic)."""
    out: dict = {}
    for i, k in enumerate(keys):
        out.setdefault(k, []).append(i)
    return out


def _stack(frames: Sequence[torch.Tensor]) -> torch.Tensor:
    """``torch.stack(frames)``, but without a copy when the frames already lie back to back in one tensor
    (the usual case: the previous step's output, or the GT batch itself)."""
    f0 = frames[0]
    n, step, storage = len(frames), f0.numel(), f0.untyped_storage().data_ptr()
    if f0.is_contiguous() and all(
            f.shape == f0.shape and f.is_contiguous() and f.untyped_storage().data_ptr() == storage
            and f.storage_offset() == f0.storage_offset() + k * step for k, f in enumerate(frames)):
        return torch.as_strided(f0, (n, *f0.shape), (step, *f0.stride()))
    return torch.stack(list(frames))


def _kernel_for(p: BlurParams, t: int) -> np.ndarray:
    return make_kernel(p.kernel_type[t], p.kernel_size[t], sigma_x=p.sigma_x[t], sigma_y=p.sigma_y[t],
                       rotation=p.rotation[t], beta=p.beta[t], omega=p.omega[t])


class Degrader:
    """A degradation pipeline built from a ``DegradationConfig``.

    Typical use (training): ``params = deg.sample_params(1, T, rng)`` in each loader worker,
    ``DegradationParams.concat`` in the collate, then ``lq = deg.apply(gt_usm.cuda(), params, generator)``.
    """

    def __init__(self, config: DegradationConfig) -> None:
        self.config = config

    @property
    def scale(self) -> int:
        return self.config.scale

    def sample_params(self, batch: int, num_frames: int, rng: np.random.Generator) -> DegradationParams:
        """Per-frame parameters for ``batch`` clips of ``num_frames`` frames (NumPy only; loader-worker safe)."""
        return sample_params(self.config, batch, num_frames, rng)

    def __call__(self, gt: torch.Tensor, rng: np.random.Generator,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, DegradationParams]:
        """Sample and apply in one go: ``(lq, params)``."""
        params = self.sample_params(gt.shape[0], gt.shape[1], rng)
        return self.apply(gt, params, generator), params

    # ---------------------------------------------------------------------------------------------------- apply
    def apply(self, gt: torch.Tensor, params: DegradationParams, generator: torch.Generator | None = None, *,
              cpu_executor: Executor | None = None, trace: Trace | None = None) -> torch.Tensor:
        """Degrade ``gt`` with ``params``.

        Args:
            gt: ``(B, T, 3, H, W)`` float in [0, 1] (the USM-sharpened GT in RealBasicVSR training), any device.
            params: from ``sample_params`` (``len(params) == B``, ``params.num_frames == T``).
            generator: torch generator on ``gt.device`` for pixel noise (None: the global one).
            cpu_executor: run the CPU steps (per-clip codecs, per-frame JPEG) in parallel (module docstring).
            trace: called with (label, clip 0 frame 0) after every step (gallery).

        Returns:
            LQ ``(B, T, 3, H // scale, W // scale)`` on ``gt.device``, in [0, 1] (8-bit levels with ``quantize``).
        """
        if gt.dim() != 5 or gt.shape[2] != 3:
            raise ValueError(f"gt must be (B, T, 3, H, W), got {tuple(gt.shape)}")
        b, t, _, h, w = gt.shape
        if len(params) != b or params.num_frames != t:
            raise ValueError(f"params are for {len(params)} clips x {params.num_frames} frames, gt is {b} x {t}")
        target = (max(1, h // self.scale), max(1, w // self.scale))
        frames = [gt[i, j] for i in range(b) for j in range(t)]
        if trace:
            trace("input", frames[0])
        seqs = [self._sequence(c) for c in params.clips]
        for pos in range(max(len(s) for s in seqs)):
            active = [(ci, seqs[ci][pos]) for ci in range(b) if pos < len(seqs[ci])]
            by_step = _groups([step[0] for _, step in active])
            for label, members in by_step.items():
                clip_ids = [active[m][0] for m in members]
                op, cfg = active[members[0]][1][1:3]
                self._run(op, label, cfg, [params.clips[ci] for ci in clip_ids], clip_ids, frames, t, target,
                          generator, cpu_executor, [active[m][1][3] for m in members])
                if trace and 0 in clip_ids:
                    trace(self._describe(label, active[members[clip_ids.index(0)]][1][3]), frames[0])
        out = _stack(frames).reshape(b, t, *frames[0].shape)
        if self.config.quantize:
            out = torch.clamp((out * 255.0).round(), 0, 255) / 255.0
        return out

    def _sequence(self, clip: ClipParams) -> list[tuple]:
        """The clip's ordered steps: ``(label, op, cfg, params)``."""
        seq: list[tuple] = []
        for si, (sc, sp) in enumerate(zip(self.config.stages, clip.stages), start=1):
            for op in ("blur", "resize", "noise", "jpeg", "codec"):
                cfg, p = getattr(sc, op), getattr(sp, op)
                if cfg is not None and p is not None:
                    seq.append((f"order{si}.{op}", op, cfg, p))
        fp = clip.final
        fc: FinalStage = self.config.alt_final if fp.alt else self.config.final
        tag = "alt_final" if fp.alt else "final"
        group_resize = [(f"{tag}.resize", "final_resize", fc, fp.interpolation)]
        if fc.sinc is not None and fp.sinc is not None:
            group_resize.append((f"{tag}.sinc", "blur", fc.sinc, fp.sinc))
        group_comp = []
        if fc.jpeg is not None and fp.jpeg is not None:
            group_comp.append((f"{tag}.jpeg", "jpeg", fc.jpeg, fp.jpeg))
        if fc.codec is not None and fp.codec is not None:
            group_comp.append((f"{tag}.codec", "codec", fc.codec, fp.codec))
        seq += group_resize + group_comp if fp.resize_first else group_comp + group_resize
        return seq

    @staticmethod
    def _describe(label: str, p) -> str:
        if isinstance(p, BlurParams):
            return f"{label} {p.kernel_type[0]} k{p.kernel_size[0]}" if p.applied[0] else f"{label} (skipped)"
        if isinstance(p, ResizeParams):
            return f"{label} {p.interpolation[0]} x{p.scale[0]:.2f}" if p.applied[0] else f"{label} (skipped)"
        if isinstance(p, NoiseParams):
            lvl = f"s{p.level[0]:.1f}" if p.kind[0] == "gaussian" else f"x{p.level[0]:.2f}"
            return (f"{label} {p.kind[0]}{' gray' if p.gray[0] else ''} {lvl}" if p.applied[0]
                    else f"{label} (skipped)")
        if isinstance(p, JpegParams):
            return f"{label} q{p.quality[0]}" if p.applied[0] else f"{label} (skipped)"
        if isinstance(p, CodecParams):
            rate = f"crf{p.crf}" if p.crf is not None else f"{p.bitrate / 1000:.0f}k"
            return f"{label} {p.encoder} {rate}"
        if isinstance(p, list):
            return f"{label} {p[0]}"
        return label

    # ----------------------------------------------------------------------------------------------------- steps
    def _run(self, op, label, cfg, clips, clip_ids, frames, t, target, generator, executor, plist) -> None:
        if op == "codec":
            self._codec(clip_ids, plist, frames, t, executor)
            return
        # (frame index in `frames`, frame index within the clip, that clip's params for this step)
        items = [(ci * t + j, j, p) for ci, p in zip(clip_ids, plist) for j in range(t)]
        if op == "final_resize":
            self._final_resize(items, frames, target, cfg)
            return
        items = [it for it in items if it[2].applied[it[1]]]
        if not items:
            return
        if op == "blur":
            self._blur(items, frames)
        elif op == "resize":
            self._resize(items, frames, cfg, target)
        elif op == "noise":
            self._noise(items, frames, cfg, generator)
        elif op == "jpeg":
            if cfg.backend == "torch":
                self._diff_jpeg(items, frames)
            elif cfg.backend == "libjpeg":
                self._jpeg(items, frames, executor)
            else:
                raise ValueError(f"unknown JPEG backend {cfg.backend!r} ({label}); use libjpeg or torch")
        else:
            raise ValueError(f"unknown degradation step {op!r} ({label})")

    @staticmethod
    def _blur(items, frames) -> None:
        for idxs in _groups([tuple(frames[i].shape) for i, _, _ in items]).values():
            sel = [items[k] for k in idxs]
            kmax = max(p.kernel_size[j] for _, j, p in sel)
            kernels = np.stack([pad_kernel(_kernel_for(p, j), kmax) for _, j, p in sel])
            x = _stack([frames[i] for i, _, _ in sel])[:, None]  # (n, 1, 3, h, w)
            y = filter2D(x, torch.from_numpy(kernels)[:, None])[:, 0]
            for (i, _, _), f in zip(sel, y):
                frames[i] = f

    @staticmethod
    def _resize(items, frames, cfg, target) -> None:
        keys = []
        for i, j, p in items:
            h, w = frames[i].shape[-2:] if cfg.relative_to == "current" else target
            nh, nw = max(2, int(h * p.scale[j])), max(2, int(w * p.scale[j]))
            if cfg.even:
                nh, nw = max(2, nh - nh % 2), max(2, nw - nw % 2)
            keys.append((tuple(frames[i].shape), (nh, nw), p.interpolation[j]))
        for (_, size, mode), idxs in _groups(keys).items():
            x = _stack([frames[items[k][0]] for k in idxs])
            y = resize(x, size=size, mode=mode)
            for k, f in zip(idxs, y):
                frames[items[k][0]] = f

    @staticmethod
    def _final_resize(items, frames, target, cfg: FinalStage) -> None:
        keys = [(tuple(frames[i].shape), p[j]) for i, j, p in items]
        for (_, mode), idxs in _groups(keys).items():
            x = _stack([frames[items[k][0]] for k in idxs])
            y = resize(x, size=target, mode=mode, antialias=cfg.antialias)
            if cfg.clamp:
                y = y.clamp(0, 1)
            for k, f in zip(idxs, y):
                frames[items[k][0]] = f

    @staticmethod
    def _noise(items, frames, cfg, generator) -> None:
        keys = [(tuple(frames[i].shape), p.kind[j]) for i, j, p in items]
        for (_, kind), idxs in _groups(keys).items():
            sel = [items[k] for k in idxs]
            x = _stack([frames[i] for i, _, _ in sel])[:, None]  # (n, 1, 3, h, w)
            level = np.array([p.level[j] for _, j, p in sel], np.float32)[:, None]
            gray = np.array([p.gray[j] for _, j, p in sel])[:, None]
            if kind == "gaussian":
                y = add_gaussian_noise(x, level / 255.0, gray, generator, clip=cfg.clip)
            else:
                y = add_poisson_noise(x, level, gray, generator, clip=cfg.clip)
            for (i, _, _), f in zip(sel, y[:, 0]):
                frames[i] = f

    @staticmethod
    def _jpeg(items, frames, executor: Executor | None) -> None:
        for idxs in _groups([tuple(frames[i].shape) for i, _, _ in items]).values():
            sel = [items[k] for k in idxs]
            x = _stack([frames[i] for i, _, _ in sel])
            imgs = list(tensor_to_uint8(x))
            qualities = [p.quality[j] for _, j, p in sel]
            if executor is not None and len(imgs) > 1:
                out = np.stack(list(executor.map(jpeg_roundtrip, imgs, qualities, chunksize=8)))
            else:
                out = np.stack([jpeg_roundtrip(img, q) for img, q in zip(imgs, qualities)])
            y = uint8_to_tensor(out, x)
            for (i, _, _), f in zip(sel, y):
                frames[i] = f

    @staticmethod
    def _diff_jpeg(items, frames) -> None:
        for idxs in _groups([tuple(frames[i].shape) for i, _, _ in items]).values():
            sel = [items[k] for k in idxs]
            x = _stack([frames[i] for i, _, _ in sel])
            y = diff_jpeg(x, np.array([p.quality[j] for _, j, p in sel]))
            for (i, _, _), f in zip(sel, y):
                frames[i] = f

    @staticmethod
    def _codec(clip_ids, plist, frames, t, executor: Executor | None) -> None:
        ref = frames[clip_ids[0] * t]
        clips_u8 = [[tensor_to_uint8(frames[ci * t + j]) for j in range(t)] for ci in clip_ids]
        if executor is not None and len(clip_ids) > 1:
            results = list(executor.map(compress_video, clips_u8, plist))
        else:
            results = [compress_video(c, p) for c, p in zip(clips_u8, plist)]
        for ci, out in zip(clip_ids, results):
            y = uint8_to_tensor(out, ref)
            for j in range(t):
                frames[ci * t + j] = y[j]
