"""Issue 13: one test per defect found by the bad-input and kill campaign (each failed before its fix)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from reliability_testutils import error_lines, save_tiny_basicvsr, wildvsr
from wildvsr_testing import synthetic_frames, write_clip

from wildvsr.errors import InputError
from wildvsr.video import VideoReader, VideoWriter


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    return save_tiny_basicvsr(tmp_path_factory.mktemp("weights") / "basicvsr_tiny.safetensors")


# -- 1. odd output sizes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("codec,pix_fmt", [("ffv1", None), ("libx264", "yuv444p"), ("libx264", None)])
def test_odd_sizes_are_written_by_formats_that_hold_them(tmp_path, codec, pix_fmt):
    frames = synthetic_frames(2, 9, 13)
    out = tmp_path / "odd.mkv"
    with VideoWriter(out, fps=25, codec=codec, pix_fmt=pix_fmt) as writer:
        for img in frames:
            writer.write(img)
    with VideoReader(out) as reader:
        assert (reader.info.width, reader.info.height) == (13, 9) and reader.count_frames() == 2


def test_odd_size_with_explicit_420_is_refused_without_naming_a_missing_option(tmp_path):
    with pytest.raises(InputError, match="odd side") as err, VideoWriter(tmp_path / "o.mp4", pix_fmt="yuv420p") as w:
        w.write(np.zeros((9, 13, 3), np.uint8))
    assert "--pix-fmt" not in str(err.value)
    assert not list(tmp_path.iterdir())


def test_degrade_to_an_odd_size(tmp_path):
    src = write_clip(tmp_path / "in_52x32.mp4", synthetic_frames(3, 32, 52))
    run = wildvsr("degrade", src, tmp_path / "out.mp4", "--preset", "bicubic")
    assert run.returncode == 0, run.stderr
    with VideoReader(tmp_path / "out.mp4") as reader:
        assert (reader.info.width, reader.info.height) == (13, 8)


def test_upscale_odd_size_with_ffv1(tmp_path, tiny_weights):
    src = write_clip(tmp_path / "odd_47x33.mkv", synthetic_frames(3, 33, 47), pix_fmt="yuv444p")
    dst = tmp_path / "out.mkv"
    run = wildvsr("upscale", src, dst, "--scale", "3", "--codec", "ffv1", "--weights", tiny_weights,
                  "--device", "cpu", "--chunk-size", "2", "--overlap", "1")
    assert run.returncode == 0, run.stderr
    with VideoReader(dst) as reader:
        assert (reader.info.width, reader.info.height) == (141, 99) and reader.count_frames() == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd_47x33.mkv", "out.mkv"]
