"""VideoReader: real clips, colour matrices and ranges, seeking, timestamps, bit depth, gray/RGBA, rotation."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from helpers.media import synthetic_frames, write_clip
from helpers.shared_data import shared_path
from helpers.video_reference import patch_image, raw_decode, write_vfr_clip, write_yuv_clip
from PIL import Image

from wildvsr.video import VideoReader, read_info


# -- real data ----------------------------------------------------------------------------------------------------
def test_dove_demo_clips_read_with_right_counts_and_sizes():
    folder = shared_path("real_lq", "dove_demo")
    clips = sorted(folder.glob("*.mp4"))
    assert len(clips) == 7
    for clip in clips:
        count, width, height, _ = raw_decode(clip)  # PyAV alone is the reference
        with VideoReader(clip) as reader:
            info = reader.info
            frames = [f.image for f in reader]
        assert (info.width, info.height) == (width, height), clip
        assert info.num_frames == count and info.num_frames_exact, clip
        assert len(frames) == count, clip
        assert all(f.shape == (height, width, 3) and f.dtype == np.uint8 for f in frames)


def test_videolq_folder_reads_31_frames_640x360():
    folder = shared_path("real_lq", "videolq_000")
    with VideoReader(folder) as reader:
        info = reader.info
        frames = list(reader.frames(0, None))
    assert info.is_image_sequence and info.num_frames == 31 and (info.width, info.height) == (640, 360)
    assert len(frames) == 31 and frames[0].image.shape == (360, 640, 3)
    first_name = sorted(folder.iterdir())[0]
    assert np.array_equal(frames[0].image, np.asarray(Image.open(first_name).convert("RGB")))


# -- colour -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("matrix,full_range", [("bt709", False), ("bt601", True), ("bt601", False), ("bt709", True)])
def test_tagged_matrix_and_range_decode_within_2_levels(tmp_path, matrix, full_range):
    img = patch_image(2, 6, 32)  # 64x192: SD, so a reader ignoring the tags would use BT.601 limited
    clip = write_yuv_clip(tmp_path / "c.mp4", img, matrix=matrix, full_range=full_range)
    with VideoReader(clip) as reader:
        info = reader.info
        out = next(iter(reader)).image
    assert info.decode_matrix == matrix and info.decode_range == ("full" if full_range else "limited")
    assert info.color_range == ("full" if full_range else "limited")
    _assert_patches(out, img, 32)


@pytest.mark.parametrize("size,matrix", [((720, 1280), "bt709"), ((64, 192), "bt601")])
def test_untagged_video_uses_hd_rule(tmp_path, size, matrix):
    h, w = size
    img = np.tile(patch_image(2, 6, 32), (h // 64 + 1, w // 192 + 1, 1))[:h, :w]
    clip = write_yuv_clip(tmp_path / "u.mp4", img, matrix=matrix, full_range=False, tag=False, num_frames=1)
    with VideoReader(clip) as reader:
        assert reader.info.color_matrix is None and reader.info.decode_matrix == matrix
        out = next(iter(reader)).image
    _assert_patches(out[:64, :192], img[:64, :192], 32)


def _assert_patches(out: np.ndarray, ref: np.ndarray, patch: int) -> None:
    rows, cols = ref.shape[0] // patch, ref.shape[1] // patch
    for i in range(rows):
        for j in range(cols):
            c = slice(i * patch + patch // 4, (i + 1) * patch - patch // 4), \
                slice(j * patch + patch // 4, (j + 1) * patch - patch // 4)
            err = np.abs(out[c].astype(int) - ref[c].astype(int)).max()
            assert err <= 2, f"patch {i},{j} colour {ref[c][0, 0]} decoded as {out[c][0, 0]} (error {err})"


# -- seeking and timestamps ---------------------------------------------------------------------------------------
def test_frames_seek_matches_sequential_and_skips_the_start(tmp_path):
    frames = synthetic_frames(120, 32, 48)
    clip = write_clip(tmp_path / "g.mp4", frames, options={"g": "10", "preset": "ultrafast"})
    with VideoReader(clip) as reader:
        all_frames = [f.image for f in reader]
    for start, count in [(100, 5), (70, 4), (37, 4), (5, 3), (0, 2), (118, 10)]:
        with VideoReader(clip) as reader:
            got = list(reader.frames(start, count))
            assert [f.index for f in got] == list(range(start, min(120, start + count)))
            for f in got:
                assert np.array_equal(f.image, all_frames[f.index])
            if start >= 70:  # far ahead: decoded from the keyframe before start (GOP 10), not from frame 0
                assert reader.decoded_count < 30, (start, reader.decoded_count)
    with VideoReader(clip) as reader:  # one reader, several windows in any order
        for start in (90, 10, 50, 11, 0):
            got = list(reader.frames(start, 2))
            assert [f.index for f in got] == [start, start + 1]
            assert all(np.array_equal(f.image, all_frames[f.index]) for f in got)


def test_vfr_timestamps_are_read_exactly(tmp_path):
    pts_ms = [0, 40, 70, 150, 160, 300, 333, 340, 500, 520]
    clip = write_vfr_clip(tmp_path / "vfr.mkv", synthetic_frames(len(pts_ms), 32, 32), pts_ms)
    with VideoReader(clip) as reader:
        times = [f.time for f in reader]
        assert reader.count_frames() == len(pts_ms)  # Matroska has no frame count: counted by demuxing
    assert times == pytest.approx([p / 1000 for p in pts_ms], abs=1e-9)


# -- formats, depth, gray, alpha, rotation ------------------------------------------------------------------------
def test_ten_bit_input_uint8_by_default_uint16_when_asked(tmp_path):
    frames = synthetic_frames(3, 32, 48)
    clip = write_clip(tmp_path / "p10.mkv", frames, codec="ffv1", pix_fmt="yuv444p10le")
    with VideoReader(clip) as reader:
        assert reader.info.bit_depth == 10 and reader.info.pix_fmt == "yuv444p10le"
        img8 = next(iter(reader)).image
    with VideoReader(clip, dtype="uint16") as reader:
        img16 = next(iter(reader)).image
    assert img8.dtype == np.uint8 and img16.dtype == np.uint16 and img16.shape == img8.shape
    assert np.abs(img16.astype(np.int64) / 257 - img8).max() <= 2.0  # two rounding paths, same picture
    assert np.any(img16 % 257 != 0)  # finer than 8-bit steps: the 10-bit precision is kept
    assert np.abs(img8.astype(int) - frames[0]).max() <= 3


def test_gray_and_rgba_png_folders_become_rgb(tmp_path):
    rng = np.random.default_rng(0)
    gray, rgba = tmp_path / "gray", tmp_path / "rgba"
    gray.mkdir()
    rgba.mkdir()
    g = rng.integers(0, 256, (2, 20, 30), dtype=np.uint8)
    a = rng.integers(0, 256, (2, 20, 30, 4), dtype=np.uint8)
    for i in range(2):
        Image.fromarray(g[i], "L").save(gray / f"f{i}.png")
        Image.fromarray(a[i], "RGBA").save(rgba / f"f{i}.png")
    with VideoReader(gray) as reader:
        out = [f.image for f in reader]
    assert all(np.array_equal(o, np.repeat(g[i][..., None], 3, -1)) for i, o in enumerate(out))
    with VideoReader(rgba) as reader:
        assert reader.info.has_alpha
        out = [f.image for f in reader]
    assert all(np.array_equal(o, a[i][..., :3]) for i, o in enumerate(out))  # alpha dropped, RGB untouched


def test_gray_video_becomes_rgb(tmp_path):
    frames = synthetic_frames(3, 32, 48)
    clip = write_clip(tmp_path / "gray.mkv", frames, codec="ffv1", pix_fmt="gray")
    with VideoReader(clip) as reader:
        img = next(iter(reader)).image
    assert img.shape == (32, 48, 3)
    assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])


def test_natural_sort_and_single_image(tmp_path):
    for i in (1, 2, 10):
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(tmp_path / f"frame{i}.png")
    with VideoReader(tmp_path) as reader:
        assert [int(f.image[0, 0, 0]) for f in reader] == [1, 2, 10]
    with VideoReader(tmp_path / "frame10.png") as reader:
        assert reader.info.num_frames == 1 and int(next(iter(reader)).image[0, 0, 0]) == 10


def test_rotation_applied_by_default_and_carried_otherwise(tmp_path):
    frames = synthetic_frames(2, 32, 48)
    path = tmp_path / "rot.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv444p"
        stream.options = {"qp": "0"}
        stream.set_display_rotation(90)
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with VideoReader(path) as reader:
        info = reader.info
        upright = next(iter(reader)).image
    with VideoReader(path, apply_rotation=False) as reader:
        stored = next(iter(reader)).image
        assert reader.info.rotation == 90 and not reader.info.rotation_applied
    assert info.rotation == 90 and info.rotation_applied and (info.width, info.height) == (32, 48)
    assert stored.shape == (32, 48, 3) and upright.shape == (48, 32, 3)
    assert np.array_equal(upright, np.rot90(stored, 1))


def test_gif_and_webm_and_avi_read(tmp_path):
    frames = synthetic_frames(4, 32, 48)
    for name, codec, pix in (("a.gif", "gif", "rgb8"), ("a.webm", "libvpx-vp9", "yuv420p"),
                             ("a.avi", "mpeg4", "yuv420p")):
        clip = write_clip(tmp_path / name, frames, codec=codec, pix_fmt=pix)
        with VideoReader(clip) as reader:
            out = [f.image for f in reader]
        assert len(out) == 4 and out[0].shape == (32, 48, 3), name


def test_info_fields_for_a_clip_with_audio(tmp_path):
    clip = write_clip(tmp_path / "a.mp4", synthetic_frames(10, 32, 48), audio=True)
    info = read_info(clip)
    assert info.fps == Fraction(25) and info.num_frames == 10 and info.codec == "h264"
    assert len(info.audio_streams) == 1 and info.audio_streams[0].codec == "aac"
    assert info.audio_streams[0].sample_rate == 48000 and info.audio_streams[0].channels == 1
    d = info.to_dict()
    assert d["fps"] == "25/1" and d["audio_streams"][0]["codec"] == "aac"
