"""The synthetic protocol (degrade clean clips with a preset and a seed, then full-reference metrics), evaluate on
existing outputs with a reference, and the CLI's one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from helpers.cli import run_wildvsr
from helpers.media import synthetic_frames, write_clip

from wildvsr.errors import OutputExistsError
from wildvsr.evaluate import BenchmarkConfig, benchmark, degrade_clip, evaluate
from wildvsr.metrics import calculate_psnr


def _folder(path: Path, frames: np.ndarray) -> Path:
    path.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(path / f"{i:04d}.png")
    return path


def test_synthetic_bicubic_preset_with_bicubic_method(tmp_path: Path):
    clip = write_clip(tmp_path / "clean.mkv", synthetic_frames(4, 64, 64, seed=3), codec="ffv1", pix_fmt="bgr0")
    res = benchmark(clip, BenchmarkConfig("bicubic", "synthetic", preset="bicubic", seed=5), tmp_path / "out").to_dict()
    seq = res["methods"]["bicubic"]["sequences"]["clean"]
    assert seq["frames"] == [0, 1, 2, 3]
    assert all(20 < v < 60 for v in seq["values"]["psnr_y"]), seq["values"]
    assert all(0.5 < v <= 1 for v in seq["values"]["ssim_y"]), seq["values"]
    assert len(seq["pairs"]["warping_error"]) == 3 and np.isfinite(seq["mean"]["warping_error"])
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["settings"]["preset"] == "bicubic" and saved["settings"]["seed"] == 5
    assert "clean" in saved["degradation_params"]
    with Image.open(tmp_path / "out" / "curves_warping_error.png") as img:
        assert img.format == "PNG"


def test_degradation_is_fixed_by_seed():
    gt = synthetic_frames(3, 32, 32, seed=4)
    a, _ = degrade_clip(gt, "realbasicvsr", seed=1)
    b, _ = degrade_clip(gt, "realbasicvsr", seed=1)
    c, _ = degrade_clip(gt, "realbasicvsr", seed=2)
    assert a.shape == (3, 8, 8, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_evaluate_with_reference_matches_psnr_and_refuses_to_overwrite(tmp_path: Path):
    gt = synthetic_frames(3, 48, 48, seed=6)
    rng = np.random.default_rng(0)
    noisy = np.clip(gt.astype(int) + rng.integers(-6, 7, gt.shape), 0, 255).astype(np.uint8)
    out_dir, ref_dir = _folder(tmp_path / "method_x", noisy), _folder(tmp_path / "gt", gt)
    res = evaluate(out_dir, ref_dir, "frames", "psnr_y,psnr", tmp_path / "rep")
    seq = res["methods"]["method_x"]["sequences"]["method_x"]
    assert seq["frames"] == [0, 1, 2]
    for i in range(3):
        assert seq["values"]["psnr_y"][i] == pytest.approx(calculate_psnr(noisy[i], gt[i], test_y_channel=True))
        assert seq["values"]["psnr"][i] == pytest.approx(calculate_psnr(noisy[i], gt[i]))
    assert 'class="slider"' in (tmp_path / "rep" / "compare.html").read_text()
    with pytest.raises(OutputExistsError):
        evaluate(out_dir, ref_dir, "frames", "psnr_y", tmp_path / "rep")


@pytest.mark.parametrize("args, message", [
    (["benchmark", "--dataset", "{d}", "--methods", "bicubix", "--out", "{o}"], "unknown method 'bicubix'"),
    (["benchmark", "--dataset", "{d}", "--methods", "bicubic", "--protocol", "vid4", "--out", "{o}"],
     "unknown protocol 'vid4'"),
    (["evaluate", "{d}", "--metrics", "niqe,sharpness", "--out", "{o}"], "unknown metric 'sharpness'"),
])
def test_cli_unknown_names_exit_2_with_one_line(tmp_path: Path, args, message):
    data = _folder(tmp_path / "seq", synthetic_frames(2, 16, 16))
    argv = [a.format(d=data, o=tmp_path / "out") for a in args]
    proc = run_wildvsr(*argv)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()


def test_evaluate_full_reference_metric_without_reference_is_one_line_error(tmp_path: Path):
    from wildvsr.errors import InputError

    data = _folder(tmp_path / "seq", synthetic_frames(2, 16, 16))
    with pytest.raises(InputError, match="pass --reference"):
        evaluate(data, None, "synthetic", None, tmp_path / "rep")
    assert not (tmp_path / "rep").exists()
