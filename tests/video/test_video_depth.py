"""Default pixel formats by source bit depth (:mod:`wildvsr.video.depth`) and the writer's use of them."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from helpers.media import deep_ramp, write_deep_clip
from wildvsr.errors import InputError
from wildvsr.video import VideoReader, VideoWriter, read_info
from wildvsr.video.depth import format_depth, pick_deep_format


@pytest.mark.parametrize("codec,preferred,depth,expected", [
    ("libx264", "yuv420p10le", 10, "yuv420p10le"),
    ("libx265", "yuv420p10le", 10, "yuv420p10le"),
    ("libx265", "yuv420p10le", 12, "yuv420p12le"),  # the shallowest format that holds every source bit
    ("libsvtav1", "yuv420p10le", 10, "yuv420p10le"),
    ("ffv1", "gbrp16le", 10, "gbrp16le"),  # lossless RGB is kept as configured
])
def test_pick_deep_format_keeps_the_depth(codec, preferred, depth, expected):
    assert pick_deep_format(codec, preferred, depth) == expected


def test_encoder_without_a_deep_format_warns(caplog):
    """This build's libvpx-vp9 and mpeg4 are 8-bit only: the loss is written in a warning, never silent."""
    with caplog.at_level(logging.WARNING, logger="wildvsr.video.depth"):
        chosen = pick_deep_format("mpeg4", "yuv420p", 10)
    assert format_depth(chosen) == 8
    assert "10 bits" in caplog.text and "mpeg4" in caplog.text


def test_writer_default_follows_the_source_depth(tmp_path):
    # libx264's 10-bit encoder for the output: re-encoding this 2-frame 10-bit clip with PyAV's libx265 failed at the
    # flush ("Invalid argument") in 3 of about 5 whole-suite runs, never alone (0 of 130 runs in a fresh process);
    # x265's 10-bit output is covered by tests/video/test_video_join.py and tests/inference/test_bit_depth.py
    src = write_deep_clip(tmp_path / "in.mkv", deep_ramp(2, 64, 64))
    with VideoReader(src, dtype="source") as reader:
        assert reader.dtype == "uint16"
        with VideoWriter(tmp_path / "o.mkv", like=reader.info, codec="libx264", preset="ultrafast") as writer:
            for frame in reader:
                writer.write(frame.image, frame.pts)
    info = read_info(tmp_path / "o.mkv")
    assert info.pix_fmt == "yuv420p10le" and info.color_transfer == "arib-std-b67"


def test_pix_fmt_for_png_output_is_refused(tmp_path):
    with pytest.raises(InputError, match="video output only"):
        VideoWriter(tmp_path / "frames", pix_fmt="yuv420p")


def test_reader_source_dtype_is_uint8_for_8_bit(tmp_path):
    with VideoWriter(tmp_path / "f") as writer:
        writer.write(np.zeros((8, 8, 3), np.uint8))
    with VideoReader(tmp_path / "f", dtype="source") as reader:
        assert reader.dtype == "uint8" and next(iter(reader)).image.dtype == np.uint8


def test_libx265_refuses_frames_its_build_corrupts_memory_on(tmp_path):
    """PyAV's x265 crashes the process on frames 34-48 pixels wide: a one-line error instead, before any encoding."""
    with pytest.raises(InputError, match="too small for libx265"):
        with VideoWriter(tmp_path / "o.mkv", codec="libx265") as writer:
            writer.write(np.zeros((32, 48, 3), np.uint8))
    assert not list(tmp_path.iterdir())
