"""VideoWriter: codecs, colour tags, timestamps (CFR/VFR), audio copy, frame folders, atomic output."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import numpy as np
import pytest
from helpers.media import synthetic_frames, write_clip
from helpers.shared_data import shared_path
from helpers.video_reference import audio_span, patch_image, raw_decode, write_vfr_clip
from PIL import Image

from wildvsr.errors import InputError, OutputExistsError, VideoIOError
from wildvsr.video import VideoReader, VideoWriter
from wildvsr.video.convert import convert_video


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


@pytest.mark.slow
def test_ffv1_round_trip_of_vid4_calendar_is_bit_exact(tmp_path):
    from wildvsr.cli import main

    src = shared_path("hr_eval", "vid4", "calendar.mkv")
    out = tmp_path / "out.mkv"
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", str(src), str(out), "--codec", "ffv1"])
    assert exit_info.value.code == 0
    n = 0
    with VideoReader(src) as a, VideoReader(out) as b:
        assert b.info.codec == "ffv1" and (b.info.width, b.info.height) == (a.info.width, a.info.height)
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x.image, y.image), f"frame {x.index} differs"
            assert abs(x.time - y.time) <= 1e-3
            n += 1
    assert n == 41


@pytest.mark.parametrize("size,matrix,tag", [((64, 192), "bt601", "smpte170m"), ((720, 1280), "bt709", "bt709")])
def test_writer_converts_and_tags_consistently(tmp_path, size, matrix, tag):
    h, w = size
    img = np.tile(patch_image(2, 6, 32), (h // 64 + 1, w // 192 + 1, 1))[:h, :w]
    out = tmp_path / "c.mp4"
    with VideoWriter(out, fps=25, crf=0, preset="ultrafast") as writer:  # crf 0: lossless x264
        writer.write(img)
    with av.open(str(out)) as container:  # tags as FFmpeg reads them
        cc = container.streams.video[0].codec_context
        frame = next(container.decode(video=0))
        assert (frame.colorspace, frame.color_range) == ({"bt709": 1, "bt601": 6}[matrix], 1)
        assert cc.color_primaries == {"bt709": 1, "bt601": 6}[matrix]
    with VideoReader(out) as reader:
        assert reader.info.color_matrix == tag and reader.info.color_range == "limited"
        back = next(iter(reader)).image
    mask = np.zeros((64, 192), bool)  # patch interiors of the first tile
    for j in range(6):
        for i in range(2):
            mask[i * 32 + 8:i * 32 + 24, j * 32 + 8:j * 32 + 24] = True
    assert np.abs((back.astype(int) - img.astype(int))[:64, :192][mask]).max() <= 2


@pytest.mark.parametrize("codec,ext", [("libx264", "mp4"), ("libx265", "mkv"), ("ffv1", "mkv"), ("libvpx-vp9", "webm"),
                                       ("libsvtav1", "mkv"), ("mpeg4", "avi"), ("libx264", "mov")])
def test_codecs_write_readable_files(tmp_path, codec, ext):
    frames = synthetic_frames(6, 64, 64)
    out = tmp_path / f"o.{ext}"
    preset = {"libx264": "ultrafast", "libx265": "ultrafast", "libsvtav1": "12"}.get(codec)
    with VideoWriter(out, fps=25, codec=codec, preset=preset) as writer:
        for img in frames:
            writer.write(img)
    count, width, height, times = raw_decode(out)
    assert (count, width, height) == (6, 64, 64)
    assert times == pytest.approx([i / 25 for i in range(6)], abs=1e-3)
    with VideoReader(out) as reader:
        psnr_ok = [np.abs(f.image.astype(int) - frames[f.index]).mean() < 12 for f in reader]
    assert all(psnr_ok)
    if codec == "ffv1":
        with VideoReader(out) as reader:
            assert all(np.array_equal(f.image, frames[f.index]) for f in reader)  # lossless RGB


def test_unavailable_codec_and_codec_container_mismatch_are_clear(tmp_path):
    with pytest.raises(InputError, match="libaom-av1"):
        VideoWriter(tmp_path / "a.mkv", codec="libaom-av1")
    with pytest.raises(InputError, match="ffv1 cannot be stored in a .mov"):
        VideoWriter(tmp_path / "a.mov", codec="ffv1")
    with pytest.raises(InputError, match="cannot write .gif"):
        VideoWriter(tmp_path / "a.gif")
    assert list(tmp_path.iterdir()) == []


def test_odd_size_auto_444_or_clear_error(tmp_path, caplog):
    frames = synthetic_frames(2, 241, 321)
    out = tmp_path / "odd.mp4"
    with caplog.at_level(logging.WARNING), VideoWriter(out, fps=25) as writer:
        for img in frames:
            writer.write(img)
    assert "odd side" in caplog.text
    with VideoReader(out) as reader:
        assert (reader.info.width, reader.info.height, reader.info.pix_fmt) == (321, 241, "yuv444p")
        assert np.abs(next(iter(reader)).image.astype(int) - frames[0]).mean() < 3
    bad = tmp_path / "odd420.mp4"
    with pytest.raises(InputError, match="odd side"), VideoWriter(bad, fps=25, pix_fmt="yuv420p") as writer:
        writer.write(frames[0])
    assert not bad.exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize("ext", ["mp4", "mkv", "mov"])
def test_vfr_timestamps_kept_within_one_tick(tmp_path, ext):
    pts_ms = [0, 40, 70, 150, 160, 300, 333, 340, 500, 520, 521, 700]
    frames = synthetic_frames(len(pts_ms), 32, 32)
    src = write_vfr_clip(tmp_path / "vfr.mkv", frames, pts_ms)
    out = tmp_path / f"out.{ext}"
    with VideoReader(src) as reader:
        info = reader.info
        src_frames = list(reader)
        with VideoWriter(out, like=info, preset="ultrafast") as writer:
            for f in src_frames:
                writer.write(f.image, f.pts)
    with av.open(str(out)) as container:
        out_tb = container.streams.video[0].time_base
    _, _, _, out_times = raw_decode(out)
    tick = float(max(info.time_base, out_tb))
    assert len(out_times) == len(pts_ms)
    for t_in, t_out in zip([f.time for f in src_frames], out_times):
        assert abs(t_in - t_out) <= tick + 1e-9, (t_in, t_out, tick)


def test_cfr_timestamps_and_fps_kept(tmp_path, tiny_clip):
    out = tmp_path / "o.mkv"
    convert_video(tiny_clip, out, preset="ultrafast")
    with VideoReader(tiny_clip) as a, VideoReader(out) as b:
        assert a.info.fps == b.info.fps
        assert [round(f.time, 3) for f in a] == [round(f.time, 3) for f in b]


@pytest.mark.parametrize("ext", ["mp4", "mkv"])
def test_audio_copied_same_codec_and_duration(tmp_path, ext):
    src = write_clip(tmp_path / "a.mp4", synthetic_frames(25, 32, 48), audio=True)
    out = tmp_path / f"o.{ext}"
    convert_video(src, out, preset="ultrafast")
    codec_in, span_in, frame_size, rate = audio_span(src)
    codec_out, span_out, _, _ = audio_span(out)
    assert codec_out == codec_in == "aac"
    assert abs(span_out - span_in) <= frame_size / rate, (span_in, span_out)
    with av.open(str(out)) as container:  # packets interleaved, not all audio at the end
        kinds = [p.stream.type for p in container.demux() if p.size]
    first_audio = kinds.index("audio")
    assert first_audio < len(kinds) // 2


def test_audio_transcoded_to_opus_for_webm_with_warning(tmp_path, caplog):
    src = write_clip(tmp_path / "a.mp4", synthetic_frames(25, 32, 48), audio=True)
    out = tmp_path / "o.webm"
    with caplog.at_level(logging.WARNING):
        convert_video(src, out, codec="libvpx-vp9")
    assert "transcoding it to libopus" in caplog.text
    codec, span_out, _, _ = audio_span(out)
    _, span_in, _, _ = audio_span(src)
    assert codec == "opus" and abs(span_out - span_in) < 0.05


def test_no_audio_option_drops_streams(tmp_path):
    src = write_clip(tmp_path / "a.mp4", synthetic_frames(5, 32, 48), audio=True)
    out = tmp_path / "o.mp4"
    convert_video(src, out, copy_audio=False, preset="ultrafast")
    with VideoReader(out) as reader:
        assert reader.info.audio_streams == ()


def test_frame_folder_output_names_and_16_bit(tmp_path):
    frames = synthetic_frames(3, 16, 24)
    out = tmp_path / "frames"
    with VideoWriter(out) as writer:
        for img in frames:
            writer.write(img)
    assert sorted(p.name for p in out.iterdir()) == ["00000000.png", "00000001.png", "00000002.png"]
    assert np.array_equal(np.asarray(Image.open(out / "00000001.png")), frames[1])
    deep = (frames.astype(np.uint16) * 257 + 3)
    out16 = tmp_path / "frames16"
    with VideoWriter(out16) as writer:
        for img in deep:
            writer.write(img)
    with VideoReader(out16, dtype="uint16") as reader:
        assert reader.info.bit_depth == 16
        assert all(np.array_equal(f.image, deep[f.index]) for f in reader)


def test_interrupted_write_leaves_nothing_and_keeps_existing(tmp_path):
    out = tmp_path / "o.mp4"
    with pytest.raises(RuntimeError), VideoWriter(out, fps=25) as writer:
        writer.write(synthetic_frames(1, 32, 32)[0])
        raise RuntimeError("interrupted")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    out.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        VideoWriter(out, fps=25)
    with pytest.raises(RuntimeError), VideoWriter(out, fps=25, overwrite=True) as writer:
        writer.write(synthetic_frames(1, 32, 32)[0])
        raise RuntimeError("interrupted")
    assert out.read_bytes() == b"keep me" and _leftovers(tmp_path) == []
    with VideoWriter(out, fps=25, overwrite=True) as writer:
        writer.write(synthetic_frames(1, 32, 32)[0])
    assert raw_decode(out)[0] == 1 and (out.stat().st_mode & 0o777) != 0o600


def test_zero_frames_bad_frames_and_input_as_output(tmp_path, tiny_clip):
    out = tmp_path / "z.mp4"
    with pytest.raises(VideoIOError, match="no frames"), VideoWriter(out, fps=25):
        pass
    assert not out.exists()
    with pytest.raises(InputError, match=r"\(H, W, 3\)"), VideoWriter(out, fps=25) as writer:
        writer.write(np.zeros((8, 8), np.uint8))
    with pytest.raises(InputError, match="does not increase"), VideoWriter(out, fps=25) as writer:
        writer.write(np.zeros((8, 8, 3), np.uint8), pts=5)
        writer.write(np.zeros((8, 8, 3), np.uint8), pts=5)
    assert not out.exists() and _leftovers(tmp_path) == []
    with VideoReader(tiny_clip) as reader:
        with pytest.raises(OutputExistsError, match="is the input"):
            VideoWriter(tiny_clip, like=reader.info, overwrite=True)
        with pytest.raises(OutputExistsError, match="is the input"):
            VideoWriter(tmp_path / "x" / ".." / tiny_clip.name, copy_streams_from=tiny_clip, overwrite=True)


def _clip_with_srt(tmp_path: Path) -> Path:
    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,400\nhello\n\n2\n00:00:00,500 --> 00:00:00,900\nworld\n\n")
    path = tmp_path / "sub.mkv"
    with av.open(str(srt)) as subs, av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 48, 32, "yuv420p"
        text = container.add_stream_from_template(subs.streams.subtitles[0])
        for img in synthetic_frames(25, 32, 48):
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        for packet in subs.demux(subs.streams.subtitles[0]):
            if packet.size:
                packet.stream = text
                container.mux(packet)
    return path


def _subtitles(path: Path) -> tuple[str, list[tuple[float, str]]]:
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        cues = []
        for packet in container.demux(stream):
            if packet.size > 2:
                data = bytes(packet)
                text = data[2:].decode() if stream.codec_context.name == "mov_text" else data.decode()
                cues.append((round(float(packet.pts * packet.time_base), 3), text))
        return stream.codec_context.name, cues


def test_subtitles_copied_or_converted(tmp_path, caplog):
    src = _clip_with_srt(tmp_path)
    expected = [(0.0, "hello"), (0.5, "world")]
    mkv, mp4, back, webm = (tmp_path / n for n in ("o.mkv", "o.mp4", "back.mkv", "o.webm"))
    convert_video(src, mkv, preset="ultrafast")
    assert _subtitles(mkv) == ("subrip", expected) or _subtitles(mkv) == ("srt", expected)
    with caplog.at_level(logging.WARNING):
        convert_video(src, mp4, preset="ultrafast")
    assert "converting its text to mov_text" in caplog.text
    assert _subtitles(mp4) == ("mov_text", expected)
    convert_video(mp4, back, preset="ultrafast")  # mov_text cannot go into Matroska: back to SubRip
    assert _subtitles(back)[1] == expected
    convert_video(src, webm, codec="libvpx-vp9")
    assert _subtitles(webm) == ("webvtt", expected)
