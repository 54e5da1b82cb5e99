"""Noise-sequence extraction: official thresholds on real FLIR frames, flat vs textured synthetic regions,
temporal consistency against sequences assembled from independent windows."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.negvsr import flat_and_textured_clip
from helpers.shared_data import shared_path
from PIL import Image

from wildvsr.negvsr import ExtractionConfig, ExtractionSummary, scan_clip, to_gray, window_stats
from wildvsr.negvsr.extract import grid_positions, iter_clips

CFG = ExtractionConfig()


@pytest.fixture(scope="module")
def flir_clip() -> np.ndarray:
    folder = shared_path("noise_source", "flir_009_1")
    (start, clip), = list(iter_clips(folder, 30))
    assert start == 0
    return clip


def _gray_stats(seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame variance and mean of a stored RGB window sequence, through PIL 'L' independently of the library."""
    gray = np.stack([np.asarray(Image.fromarray(f).convert("L"), dtype=np.float64) for f in seq])
    return gray.var(axis=(1, 2)), gray.mean(axis=(1, 2))


def _meets_thresholds(seq: np.ndarray, cfg: ExtractionConfig = CFG) -> bool:
    var, mean = _gray_stats(seq)
    return bool((var < cfg.max_var).all() and (mean > cfg.min_mean).all()
                and var.var() <= cfg.max_var_of_var and mean.var() <= cfg.max_var_of_mean)


def test_flir_keeps_low_texture_windows_meeting_thresholds(flir_clip):
    summary = ExtractionSummary()
    kept = scan_clip(flir_clip, CFG, summary=summary)
    assert flir_clip.shape == (30, 768, 1024, 3)
    assert summary.scanned == 12 * 16 and summary.kept == len(kept) > 0
    assert summary.kept + sum(summary.rejected.values()) == summary.scanned
    for seq in kept:
        assert seq.frames.shape == (30, 64, 64, 3) and seq.frames.dtype == np.uint8
        # stored raw RGB, exactly the source pixels (not zero-mean)
        np.testing.assert_array_equal(seq.frames, flir_clip[:, seq.y:seq.y + 64, seq.x:seq.x + 64])
        assert _meets_thresholds(seq.frames)
        assert seq.stats["max_var"] < 50 and seq.stats["var_of_var"] <= 50 and seq.stats["var_of_mean"] <= 50


def test_flir_matches_a_direct_loop_of_the_official_rule(flir_clip):
    """The vectorised scan equals a plain per-window loop over the official grid (range(0, H - 64, 64))."""
    cfg = ExtractionConfig(grid="official")
    got = {(s.y, s.x) for s in scan_clip(flir_clip, cfg)}
    gray = np.stack([to_gray(f) for f in flir_clip]).astype(np.float64)
    expected = set()
    for y in range(0, 768 - 64, 64):
        for x in range(0, 1024 - 64, 64):
            win = gray[:, y:y + 64, x:x + 64]
            v, m = win.var(axis=(1, 2)), win.mean(axis=(1, 2))
            if (v < 50).all() and (m > 0).all() and v.var() <= 50 and m.var() <= 50:
                expected.add((y, x))
    assert got == expected and len(got) > 0
    rows, cols = grid_positions(768, 1024, 64, "official")
    assert (len(rows), len(cols)) == (11, 15)


def test_to_gray_is_pil_luma():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 200, 90]]], dtype=np.uint8)
    expected = np.round(rgb @ np.array([0.299, 0.587, 0.114]))
    np.testing.assert_allclose(to_gray(rgb).astype(float), expected, atol=1)


def test_synthetic_keeps_only_the_flat_region():
    clip = flat_and_textured_clip()
    summary = ExtractionSummary()
    kept = scan_clip(clip, CFG, summary=summary)
    assert {(s.y, s.x) for s in kept} == {(0, 0), (0, 64), (64, 0), (64, 64)}
    assert summary.scanned == 8 and summary.rejected["frame_variance"] == 4
    assert all(_meets_thresholds(s.frames) for s in kept)


def test_rejection_reasons_are_counted():
    flat = np.full((6, 64, 192, 3), 100, dtype=np.uint8)
    flat[:, :, 64:128] = 0  # black window: mean 0 fails mean > 0
    flat[0::2, :, 128:] = 120  # texture-free window flickering 100 <-> 120: var_t(mean) = 100 > 50 fails
    summary = ExtractionSummary()
    kept = scan_clip(flat, CFG, summary=summary)
    assert [(s.y, s.x) for s in kept] == [(0, 0)]
    assert summary.rejected == {"frame_variance": 0, "frame_mean": 1, "variance_of_variance": 0,
                                "variance_of_mean": 1}


def test_kept_sequence_is_temporally_consistent_unlike_independent_windows(flir_clip):
    """Kept: var_t(Var) under the threshold. Independent per-frame windows (each passing the per-frame test, like
    'w/ Noise' in Table 4) assembled into a sequence break the temporal criteria."""
    kept = scan_clip(flir_clip, CFG)
    for seq in kept:
        var, _ = _gray_stats(seq.frames)
        assert var.var() <= CFG.max_var_of_var

    gray = np.stack([to_gray(f) for f in flir_clip])
    rows, cols = grid_positions(768, 1024, 64)
    var, mean = window_stats(gray, 64, rows, cols)
    rng = np.random.default_rng(0)
    assembled = []
    for t in range(30):  # a window passing sigma/mu in frame t, drawn independently of the other frames
        ok = np.argwhere((var[t] < CFG.max_var) & (mean[t] > CFG.min_mean))
        r, c = ok[rng.integers(len(ok))]
        y, x = rows[r], cols[c]
        assembled.append(flir_clip[t, y:y + 64, x:x + 64])
    assembled = np.stack(assembled)
    a_var, a_mean = _gray_stats(assembled)
    assert (a_var < CFG.max_var).all()  # every frame on its own is an acceptable noise window ...
    assert a_var.var() > CFG.max_var_of_var or a_mean.var() > CFG.max_var_of_mean  # ... the sequence is not
    assert not _meets_thresholds(assembled)


def test_iter_clips_drops_the_tail(tmp_path):
    from helpers.negvsr import write_png_folder

    folder = write_png_folder(tmp_path / "f", flat_and_textured_clip(7)[:, :64, :64])
    summary = ExtractionSummary()
    clips = list(iter_clips(folder, 3, summary))
    assert [s for s, _ in clips] == [0, 3] and summary.frames_dropped == 1
