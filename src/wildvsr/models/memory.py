"""Shared memory-estimate formulas for the architectures' own ``estimate_memory`` (see :data:`~wildvsr.models.spec.
MemoryFn`): a recurrent video model and a per-frame model. Torch-free.

They are rough fp32 CPU peaks, used to refuse calls that clearly cannot fit, to plan chunk lengths and to size
per-frame batches before any work is done. Under ``bf16``/``fp16`` autocast the feature activations (convolution
outputs) take ``act = 2`` bytes, while the input, the flows and the x4 output stay fp32 (the output is cast back with
``.float()``); that is the element size, not a measured GPU peak. A batch of clips runs each time step's
reconstruction for all of them at once, so every term, the transient ones included, scales with ``batch``.
"""

from __future__ import annotations

__all__ = ["video_memory", "frame_memory"]


def video_memory(mid: int, frames: int, height: int, width: int, *, rows: int | None = None, scale: int = 4,
                 batch: int = 1, act: int = 4) -> int:
    """A BasicVSR-style recurrent model of ``mid`` feature channels on ``batch`` clips of ``frames`` frames.

    Stored per frame: one direction's features, the x4 output, input and flows (measured for official BasicVSR at
    320x180 in fp32: 537 B per input pixel and frame, peak RSS over 4 vs 12 frames; this gives 540). Transient:
    SPyNet's full-resolution activations of one pair, and the upsampling path of one frame (12.3 KB per pixel), or of
    one strip of ``rows`` input rows for a model that reconstructs large frames in strips (None: whole frames).
    Checked with strips at 336x336, channels-last: peak RSS growth 730 / 1158 MiB for 4 / 12 frames, estimated
    676 / 1141.
    """
    rows = height if rows is None else rows
    per_frame = act * mid + 4 * (3 * scale * scale + 3 + 4 + 16)
    upsampling = act * (mid * scale * scale + 4 * mid * (scale // 2) ** 2 * 2) * rows * width
    return int(batch * (height * width * (frames * per_frame + act * 96) + upsampling))


def frame_memory(feat: int, hr: int, frames: int, height: int, width: int, *, scale: int = 4, batch: int = 1,
                 act: int = 4) -> int:
    """A per-frame model of ``feat`` channels on ``batch * frames`` images: per frame, three feature maps at input
    size (a dense block's concatenation), three of its ``hr`` channels at output size (RRDBNet's upsampling convs;
    0 for a pixel-shuffle model) and the x4 output."""
    per_pixel = act * (3 * feat + 3 * hr * scale * scale) + 4 * (2 * 3 * scale * scale + 3)
    return int(batch * frames * height * width * per_pixel)
