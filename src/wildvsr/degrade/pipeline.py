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

import dataclasses
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import torch

from wildvsr.degrade.codec import CodecParams, compress_video
from wildvsr.degrade.config import DegradationConfig, FinalStage
from wildvsr.degrade.diffjpeg import diff_jpeg
from wildvsr.degrade.jpeg import jpeg_roundtrip
from wildvsr.degrade.kernels import filter2D, make_kernel, pad_kernel
from wildvsr.degrade.params import BlurParams, ClipParams, DegradationParams, NoiseParams, sample_params
from wildvsr.degrade.pixel_noise import add_gaussian_noise, add_poisson_noise
from wildvsr.degrade.resize import resize
from wildvsr.utils.frames import to_frames, to_tensor

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


# ------------------------------------------------------------------------------------------------- steps and context
@dataclasses.dataclass(frozen=True)
class Step:
    """One step of a clip's sequence.

    Attributes:
        label: where it sits in the pipeline (``order1.blur``, ``final.resize``, ``alt_final.jpeg``); clips whose
            current steps share a label run together.
        op: key of :data:`OPS` (``blur``, ``resize``, ``noise``, ``jpeg``, ``codec``, ``final_resize``).
        cfg: the op's config (``BlurConfig`` ...; the ``FinalStage`` for ``final_resize``).
        params: this clip's sampled parameters for the step (per-frame lists; ``CodecParams`` for a codec; the
            per-frame interpolation list for ``final_resize``).
    """

    label: str
    op: str
    cfg: Any
    params: Any


@dataclasses.dataclass
class Context:
    """What every step handler works on: the batch as a flat frame list (``frames[clip * t + j]``, each
    ``(3, h, w)``, replaced in place as steps run) and the settings of this ``apply`` call."""

    frames: list[torch.Tensor]
    t: int
    target: tuple[int, int]
    generator: torch.Generator | None
    executor: Executor | None

    def items(self, group: Group, applied_only: bool = True) -> list[Item]:
        """``(index in frames, frame index in its clip, the clip's params)`` for every frame of the group's clips
        (only the frames whose ``params.applied[j]`` is set, unless ``applied_only`` is False)."""
        items = [(ci * self.t + j, j, p) for ci, p in zip(group.clip_ids, group.params) for j in range(self.t)]
        return [it for it in items if it[2].applied[it[1]]] if applied_only else items

    def put(self, indices: Sequence[int], out: Sequence[torch.Tensor]) -> None:
        for i, f in zip(indices, out):
            self.frames[i] = f


@dataclasses.dataclass(frozen=True)
class Group:
    """The clips that run one step together: the step's config, their ids and each one's parameters for it."""

    cfg: Any
    clip_ids: list[int]
    params: list[Any]


Item = tuple[int, int, Any]
Handler = Callable[[Context, Group], None]


def _by_shape(ctx: Context, items: list[Item], *extra: Callable[[Item], Any]) -> list[tuple[tuple, list[Item]]]:
    """``(key, items)`` groups by ``key = (frame shape, *extra keys)``, in first-occurrence order (deterministic)."""
    keys = [(tuple(ctx.frames[it[0]].shape), *(f(it) for f in extra)) for it in items]
    return [(key, [items[k] for k in idxs]) for key, idxs in _groups(keys).items()]


def _blur(ctx: Context, group: Group) -> None:
    for _, sel in _by_shape(ctx, ctx.items(group)):
        kmax = max(p.kernel_size[j] for _, j, p in sel)
        kernels = np.stack([pad_kernel(_kernel_for(p, j), kmax) for _, j, p in sel])
        x = _stack([ctx.frames[i] for i, _, _ in sel])[:, None]  # (n, 1, 3, h, w)
        ctx.put([i for i, _, _ in sel], filter2D(x, torch.from_numpy(kernels)[:, None])[:, 0])


def _resize(ctx: Context, group: Group) -> None:
    def size(it: Item) -> tuple[int, int]:
        i, j, p = it
        h, w = ctx.frames[i].shape[-2:] if group.cfg.relative_to == "current" else ctx.target
        nh, nw = max(2, int(h * p.scale[j])), max(2, int(w * p.scale[j]))
        return (max(2, nh - nh % 2), max(2, nw - nw % 2)) if group.cfg.even else (nh, nw)

    for (_, new_size, mode), sel in _by_shape(ctx, ctx.items(group), size,
                                              lambda it: it[2].interpolation[it[1]]):
        ctx.put([i for i, _, _ in sel], resize(_stack([ctx.frames[i] for i, _, _ in sel]), size=new_size, mode=mode))


def _final_resize(ctx: Context, group: Group) -> None:
    for (_, mode), sel in _by_shape(ctx, ctx.items(group, applied_only=False), lambda it: it[2][it[1]]):
        x = _stack([ctx.frames[i] for i, _, _ in sel])
        y = resize(x, size=ctx.target, mode=mode, antialias=group.cfg.antialias)
        ctx.put([i for i, _, _ in sel], y.clamp(0, 1) if group.cfg.clamp else y)


def _noise(ctx: Context, group: Group) -> None:
    for (_, kind), sel in _by_shape(ctx, ctx.items(group), lambda it: it[2].kind[it[1]]):
        x = _stack([ctx.frames[i] for i, _, _ in sel])[:, None]  # (n, 1, 3, h, w)
        level = np.array([p.level[j] for _, j, p in sel], np.float32)[:, None]
        gray = np.array([p.gray[j] for _, j, p in sel])[:, None]
        if kind == "gaussian":
            y = add_gaussian_noise(x, level / 255.0, gray, ctx.generator, clip=group.cfg.clip)
        else:
            y = add_poisson_noise(x, level, gray, ctx.generator, clip=group.cfg.clip)
        ctx.put([i for i, _, _ in sel], y[:, 0])


def _libjpeg(ctx: Context, sel: list[Item]) -> torch.Tensor:
    """libjpeg through Pillow on CPU, per frame (in ``ctx.executor`` when given)."""
    x = _stack([ctx.frames[i] for i, _, _ in sel])
    imgs = list(to_frames(x))
    qualities = [p.quality[j] for _, j, p in sel]
    if ctx.executor is not None and len(imgs) > 1:
        out = np.stack(list(ctx.executor.map(jpeg_roundtrip, imgs, qualities, chunksize=8)))
    else:
        out = np.stack([jpeg_roundtrip(img, q) for img, q in zip(imgs, qualities)])
    return to_tensor(out, x.device, x.dtype)


def _torch_jpeg(ctx: Context, sel: list[Item]) -> torch.Tensor:
    """``diff_jpeg`` on the frames' device."""
    return diff_jpeg(_stack([ctx.frames[i] for i, _, _ in sel]), np.array([p.quality[j] for _, j, p in sel]))


JPEG_BACKENDS: dict[str, Callable[[Context, list[Item]], torch.Tensor]] = {"libjpeg": _libjpeg, "torch": _torch_jpeg}


def _jpeg(ctx: Context, group: Group) -> None:
    backend = JPEG_BACKENDS.get(group.cfg.backend)
    if backend is None:  # a config built in code (loaded ones are checked against the Literal)
        raise ValueError(f"unknown JPEG backend {group.cfg.backend!r}; use {' or '.join(JPEG_BACKENDS)}")
    for _, sel in _by_shape(ctx, ctx.items(group)):
        ctx.put([i for i, _, _ in sel], backend(ctx, sel))


def _codec(ctx: Context, group: Group) -> None:
    """One encoder per clip on CPU (the clips in ``ctx.executor`` when given)."""
    t, ref = ctx.t, ctx.frames[group.clip_ids[0] * ctx.t]
    clips_u8 = [[to_frames(ctx.frames[ci * t + j]) for j in range(t)] for ci in group.clip_ids]
    if ctx.executor is not None and len(clips_u8) > 1:
        results = list(ctx.executor.map(compress_video, clips_u8, group.params))
    else:
        results = [compress_video(c, p) for c, p in zip(clips_u8, group.params)]
    for ci, out in zip(group.clip_ids, results):
        ctx.put(range(ci * t, (ci + 1) * t), to_tensor(out, ref.device, ref.dtype))


# ----------------------------------------------------------------------------------------- describing a step (gallery)
def _skipped(describe: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda p: describe(p) if p.applied[0] else "(skipped)"


def _describe_noise(p: NoiseParams) -> str:
    level = f"s{p.level[0]:.1f}" if p.kind[0] == "gaussian" else f"x{p.level[0]:.2f}"
    return f"{p.kind[0]}{' gray' if p.gray[0] else ''} {level}"


def _describe_codec(p: CodecParams) -> str:
    return f"{p.encoder} {f'crf{p.crf}' if p.crf is not None else f'{p.bitrate / 1000:.0f}k'}"


@dataclasses.dataclass(frozen=True)
class Op:
    """A step kind: its handler and how a clip's parameters read in the gallery (frame 0)."""

    run: Handler
    describe: Callable[[Any], str]


OPS: dict[str, Op] = {
    "blur": Op(_blur, _skipped(lambda p: f"{p.kernel_type[0]} k{p.kernel_size[0]}")),
    "resize": Op(_resize, _skipped(lambda p: f"{p.interpolation[0]} x{p.scale[0]:.2f}")),
    "noise": Op(_noise, _skipped(_describe_noise)),
    "jpeg": Op(_jpeg, _skipped(lambda p: f"q{p.quality[0]}")),
    "codec": Op(_codec, _describe_codec),
    "final_resize": Op(_final_resize, lambda p: str(p[0])),
}
STAGE_OPS = ("blur", "resize", "noise", "jpeg", "codec")  # the order within one degradation order


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
        ctx = Context([gt[i, j] for i in range(b) for j in range(t)], t,
                      (max(1, h // self.scale), max(1, w // self.scale)), generator, cpu_executor)
        if trace:
            trace("input", ctx.frames[0])
        seqs = [self._sequence(c) for c in params.clips]
        for pos in range(max(len(s) for s in seqs)):
            # the clips' pos-th steps, run together where they are the same step (same label: same op and config)
            active = [(ci, seq[pos]) for ci, seq in enumerate(seqs) if pos < len(seq)]
            for members in _groups([step.label for _, step in active]).values():
                clip_ids = [active[m][0] for m in members]
                first = active[members[0]][1]
                self._run(first.op, ctx, Group(first.cfg, clip_ids, [active[m][1].params for m in members]))
                if trace and clip_ids[0] == 0:
                    trace(f"{first.label} {OPS[first.op].describe(first.params)}", ctx.frames[0])
        out = _stack(ctx.frames).reshape(b, t, *ctx.frames[0].shape)
        if self.config.quantize:
            out = torch.clamp((out * 255.0).round(), 0, 255) / 255.0
        return out

    def _run(self, op: str, ctx: Context, group: Group) -> None:
        """Run one step for a group of clips (a method, so a subclass can time or record the steps)."""
        OPS[op].run(ctx, group)

    def _sequence(self, clip: ClipParams) -> list[Step]:
        """The clip's ordered steps: each order's ops, then the final resize group and compression group (in the
        clip's drawn order)."""
        seq = [Step(f"order{si}.{op}", op, getattr(sc, op), getattr(sp, op))
               for si, (sc, sp) in enumerate(zip(self.config.stages, clip.stages), start=1) for op in STAGE_OPS
               if getattr(sc, op) is not None and getattr(sp, op) is not None]
        fp = clip.final
        fc: FinalStage = self.config.alt_final if fp.alt else self.config.final
        tag = "alt_final" if fp.alt else "final"
        group_resize = [Step(f"{tag}.resize", "final_resize", fc, fp.interpolation)]
        if fc.sinc is not None and fp.sinc is not None:
            group_resize.append(Step(f"{tag}.sinc", "blur", fc.sinc, fp.sinc))
        group_comp = [Step(f"{tag}.{op}", op, getattr(fc, op), getattr(fp, op)) for op in ("jpeg", "codec")
                      if getattr(fc, op) is not None and getattr(fp, op) is not None]
        return seq + (group_resize + group_comp if fp.resize_first else group_comp + group_resize)
