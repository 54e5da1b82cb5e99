"""The official BasicVSR (REDS4 weights) through the runner, on small centre crops of real footage (CPU cost:
BasicVSR takes seconds per 64x64 frame on 2 CPU cores, so the crops are small; ``benchmarks/chunk_overlap_curve.py``
measures the same thing on larger crops or full frames)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.frames import psnr
from helpers.media import read_frames
from helpers.shared_data import shared_path
from wildvsr.inference import Upscaler, plan_chunks
from wildvsr.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP
from wildvsr.inference.tiling import iter_tiles
from wildvsr.models import create_model


@pytest.fixture(scope="module")
def basicvsr():
    return create_model("basicvsr", weights="reds4")


def videolq_crop(size: int, frames: int | None = None) -> np.ndarray:
    clip = read_frames(shared_path("real_lq", "videolq_000"))[:frames]
    h, w = clip.shape[1:3]
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(clip[:, y:y + size, x:x + size])


@pytest.mark.slow
def test_streaming_equals_whole_sequence_on_videolq(basicvsr):
    """Chunk/overlap 24/8 (the shortest planned chunk and the default overlap) on all 31 frames of videolq_000 (32x32 centre crop): every frame >= 40 dB PSNR
    against one whole-sequence pass. Chunk 0's context window is the whole clip here, so only chunk 1 (frames
    24-30, context 16-30) is computed separately; the full streaming path is checked against the in-memory one in
    test_inference_runner.py."""
    clip = videolq_crop(32)
    assert len(clip) == 31
    up = Upscaler(basicvsr, "cpu", chunk_size=DEFAULT_CHUNK_SIZE)
    assert (up.chunk_size, up.overlap) == (DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP) == (24, 8)
    whole = up.process_window(clip)
    plan = plan_chunks(len(clip), up.chunk_size, up.overlap)
    assert [(s.context_start, s.context_stop) for s in plan] == [(0, 31), (16, 31)]
    chunked = np.concatenate([whole[:24], up.process_window(clip[16:31], plan[1])])
    scores = [psnr(a, b) for a, b in zip(chunked[24:], whole[24:])]
    assert min(scores) >= 40, scores
    assert min(scores) < float("inf")  # the missing context really changes the output a little


@pytest.mark.slow
def test_tiled_matches_untiled_with_official_weights(basicvsr):
    """3 frames of a 64x64 crop, tiles of 32 with 8 pixels of context: >= 40 dB, and the error along tile borders."""
    clip = videolq_crop(64, frames=3)
    ref = Upscaler(basicvsr, "cpu", chunk_size=3, overlap=0).upscale_frames(clip)
    tiled = Upscaler(basicvsr, "cpu", chunk_size=3, overlap=0, tile=32, tile_overlap=8).upscale_frames(clip)
    assert psnr(tiled, ref) >= 40
    err = np.abs(tiled.astype(int) - ref.astype(int))
    border = 32 * 4  # the core edge between tiles, in output pixels
    seam = max(err[:, border - 2:border + 2].max(), err[:, :, border - 2:border + 2].max())
    assert len(list(iter_tiles(64, 64, 32, 8))) == 4
    print(f"tiled vs untiled: {psnr(tiled, ref):.2f} dB, max abs error {err.max()}, along tile borders {seam}")
    assert seam <= 16
