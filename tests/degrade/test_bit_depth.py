"""``degrade_video`` and bit depth: a 10-bit source is read at its depth; the shipped presets quantize the LQ to 8-bit
levels (an 8-bit delivered video, by design) and a preset without ``quantize`` keeps the depth in its output."""

import dataclasses

import numpy as np

from helpers.media import deep_ramp, read_frames, write_deep_clip
from wildvsr.degrade.config import load_preset
from wildvsr.degrade.video import DegradeConfig, degrade_video
from wildvsr.video import read_info


def test_quantizing_preset_writes_exact_8_bit_levels(tmp_path):
    src = write_deep_clip(tmp_path / "in.mkv", deep_ramp(3, 64, 64))
    out = tmp_path / "lq"
    degrade_video(src, out, DegradeConfig(preset="bicubic"))
    assert read_info(out).bit_depth == 8 and read_frames(out, dtype="source").dtype == np.uint8


def test_preset_without_quantize_keeps_10_bits(tmp_path):
    src = write_deep_clip(tmp_path / "in.mkv", deep_ramp(3, 64, 64, grey=True))
    cfg = dataclasses.replace(load_preset("bicubic"), quantize=False)
    out = degrade_video(src, tmp_path / "lq.mkv", DegradeConfig(preset=cfg)).output
    info = read_info(out)
    assert info.pix_fmt == "yuv444p10le" and info.color_transfer == "arib-std-b67"
    png = degrade_video(src, tmp_path / "lq16", DegradeConfig(preset=cfg)).output
    levels = np.unique(read_frames(png, dtype="source")[..., 1])
    # 16x16 LQ pixels of a grey ramp: an 8-bit squeeze would leave values on the 257-step grid.
    assert read_frames(png, dtype="source").dtype == np.uint16 and np.any(levels % 257 != 0)
