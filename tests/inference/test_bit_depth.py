"""Bit depth through ``upscale`` (issue 31): a 10-bit source comes out 10-bit with its colour tags, an 8-bit one stays
8-bit, 16-bit PNG frames stay 16-bit, and a pixel format the codec cannot write is refused before any frame.

The model is a tiny SRVGG whose last conv is zeroed, so it is an exact nearest-neighbour x4 (its skip path): the
levels that reach the writer are the source's levels, and any 8-bit squeeze in the pipeline would show in them.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

from helpers.cli import run_wildvsr
from helpers.interrupts import interrupt_after
from helpers.media import deep_ramp, luma_codes, read_frames, synthetic_frames, write_clip, write_deep_clip, write_pngs
from wildvsr.inference import UpscaleConfig, Upscaler, upscale_video
from wildvsr.inference.resume import work_dir_for
from wildvsr.models import create_model
from wildvsr.video import read_info

CFG = UpscaleConfig(device="cpu", precision="fp32", crf=10, preset="ultrafast")


def nearest_x4():
    """SRVGG (tiny) whose residual branch outputs zeros: output = nearest x4 of the input, in float."""
    model = create_model("srvgg", num_feat=8, num_conv=2)
    with torch.no_grad():
        last = model.body[-1]
        last.weight.zero_()
        last.bias.zero_()
    return model


def tags(info):
    return info.color_matrix, info.color_primaries, info.color_transfer, info.color_range


@pytest.mark.parametrize("kind,codec,ext", [("hlg", "libx265", "mkv"), ("bt709", "libx264", "mp4")])
def test_10_bit_source_gives_10_bit_output_with_its_tags(tmp_path, kind, codec, ext):
    src = write_deep_clip(tmp_path / f"in.{ext}", deep_ramp(4, 48, 64), tags=kind, codec=codec)
    out = upscale_video(src, tmp_path / "out.mp4", CFG, model=nearest_x4())  # default temporal: the stabilizer runs
    info_in, info = read_info(src), read_info(out)
    assert (info.pix_fmt, info.bit_depth) == ("yuv420p10le", 10)
    assert tags(info) == tags(info_in) and info.color_matrix is not None


def test_smooth_10_bit_ramp_keeps_more_than_256_levels(tmp_path):
    src = write_deep_clip(tmp_path / "ramp.mp4", deep_ramp(2, 48, 64, grey=True), tags="bt709", codec="libx264")
    out = upscale_video(src, tmp_path / "out.mp4", UpscaleConfig(device="cpu", precision="fp32", crf=0,
                                                                   preset="ultrafast", temporal="off"),
                        model=nearest_x4())
    levels_in, levels_out = luma_codes(src), luma_codes(out)
    # A grey ramp's luma in an 8-bit pipeline has at most 256 codes, however the 10-bit file maps them.
    assert len(np.unique(levels_out)) > 256
    # Same picture, 16x the pixels: the spread of codes agrees up to the 4:2:0 and RGB round trips (a few codes).
    assert abs(int(levels_out.min()) - int(levels_in.min())) <= 4
    assert abs(int(levels_out.max()) - int(levels_in.max())) <= 4


def test_8_bit_source_stays_8_bit(tiny_clip, tmp_path):
    out = upscale_video(tiny_clip, tmp_path / "out.mp4", CFG, model=nearest_x4())
    assert (read_info(out).pix_fmt, read_info(out).bit_depth) == ("yuv420p", 8)


def test_explicit_8_bit_pix_fmt_is_obeyed(tmp_path):
    src = write_deep_clip(tmp_path / "in.mkv", deep_ramp(2, 48, 64))
    out = upscale_video(src, tmp_path / "out.mp4", UpscaleConfig(device="cpu", pix_fmt="yuv420p", temporal="off"),
                        model=nearest_x4())
    assert read_info(out).pix_fmt == "yuv420p" and read_info(out).color_transfer == "arib-std-b67"


def test_16_bit_png_folder_keeps_16_bit_pngs(tmp_path):
    frames = deep_ramp(3, 24, 32)
    src = write_pngs(tmp_path / "frames", frames)
    out = upscale_video(src, tmp_path / "out", UpscaleConfig(device="cpu", precision="fp32", temporal="off"),
                        model=nearest_x4())
    assert read_info(out).bit_depth == 16 and read_info(out).pix_fmt.startswith("rgb48")
    got = read_frames(out, dtype="source")
    assert got.dtype == np.uint16
    # The nearest x4 model repeats each pixel 4x4; float rounding (x / 65535 * 65535) may move a value by 1 code.
    expected = frames.repeat(4, axis=1).repeat(4, axis=2)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1


def test_tiled_uint16_frames_match_whole_frames():
    frames = deep_ramp(2, 40, 40)
    model = nearest_x4()
    whole = Upscaler(model, "cpu", tile=0).upscale_frames(frames)
    tiled = Upscaler(model, "cpu", tile=16, tile_overlap=4).upscale_frames(frames)
    assert whole.dtype == tiled.dtype == np.uint16
    # Tiles are feather-blended in float: weights summing to 1 can move a 16-bit code by 1 (not bit-equal).
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


def test_interrupted_16_bit_run_resumes_to_identical_frames(tmp_path):
    """The resume work dir stores uint16 chunks losslessly (FFV1 gbrp16le) and reads them back as uint16."""
    src = write_pngs(tmp_path / "frames", deep_ramp(6, 16, 16))
    cfg = UpscaleConfig(device="cpu", precision="fp32", chunk_size=2, temporal="off")
    full = upscale_video(src, tmp_path / "full", cfg, model=nearest_x4())
    dst = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        upscale_video(src, dst, cfg, progress=interrupt_after(2), model=nearest_x4())
    assert work_dir_for(dst).is_dir()
    upscale_video(src, dst, UpscaleConfig(device="cpu", precision="fp32", chunk_size=2, temporal="off", resume=True),
                  model=nearest_x4())
    np.testing.assert_array_equal(read_frames(dst, dtype="source"), read_frames(full, dtype="source"))


def test_pix_fmt_the_codec_cannot_write_is_refused_before_any_frame(tmp_path):
    src = write_clip(tmp_path / "in.mp4", synthetic_frames(2, 16, 16))
    before = set(tmp_path.iterdir())
    run = run_wildvsr("upscale", src, tmp_path / "o.mp4", "--model", "srvgg", "--pix-fmt", "yuv420p12le", "--quiet")
    assert run.returncode == 2, run.stderr
    assert run.stderr.count("\n") == 1 and "libx264" in run.stderr and "yuv420p12le" in run.stderr, run.stderr
    assert set(tmp_path.iterdir()) == before  # no output, no work folder
