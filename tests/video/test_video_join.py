"""join_segments: separately encoded segments (source timestamps) joined without re-encoding, audio/subtitles copied
once from the source; errors; VideoWriter's copy_range for a segment's preview."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from helpers.media import deep_ramp, synthetic_frames, write_clip, write_deep_clip

from wildvsr.errors import InputError, OutputExistsError
from wildvsr.video import VideoReader, VideoWriter, join_segments, read_info
from wildvsr.video import writer as writer_module

N = 40
CUTS = ((0, 13), (13, 27), (27, N))  # frame ranges [A, B) of the segments
SRT = "1\n00:00:00,000 --> 00:00:00,400\nhello\n\n2\n00:00:00,600 --> 00:00:01,000\nworld\n\n"


def _source(tmp_path: Path, ext: str) -> Path:
    """N frames (48x32) with AAC audio; the .mkv one also has a SubRip subtitle stream (remuxed, as a camera/tool
    would deliver it)."""
    mp4 = write_clip(tmp_path / "src.mp4", synthetic_frames(N, 32, 48), audio=True)
    if ext == ".mp4":
        return mp4
    srt = tmp_path / "src.srt"
    srt.write_text(SRT)
    mkv = tmp_path / "src.mkv"
    with av.open(str(mp4)) as av_in, av.open(str(srt)) as subs, av.open(str(mkv), "w") as out:
        streams = (*av_in.streams.video, *av_in.streams.audio)
        outs = {s.index: out.add_stream_from_template(s) for s in streams}
        text_in = subs.streams.subtitles[0]
        text_out = out.add_stream_from_template(text_in)
        for packet in av_in.demux(*streams):  # one pass: a second demux() of the same file would start at its end
            if packet.size:
                packet.stream = outs[packet.stream.index]
                out.mux(packet)
        for packet in subs.demux(text_in):
            if packet.size:
                packet.stream = text_out
                out.mux(packet)
    return mkv


def _write_segments(source: Path, folder: Path, ext: str, cuts=CUTS, *, dtype: str = "uint8", like_changes=None,
                    **writer_kw) -> list[Path]:
    """Each segment as its own file, its frames written with their source pts (what an upscaling worker does)."""
    with VideoReader(source, dtype=dtype) as reader:
        info = reader.info
        frames = list(reader)
    if like_changes:
        info = dataclasses.replace(info, **like_changes)
    parts = []
    folder.mkdir(exist_ok=True)
    for i, (a, b) in enumerate(cuts):
        part = folder / f"seg{i}{ext}"
        with VideoWriter(part, like=info, **writer_kw) as writer:
            for frame in frames[a:b]:
                writer.write(frame.image, pts=frame.pts)
        parts.append(part)
    return parts


def _packets(path: Path, kind: str) -> list[tuple[Fraction, bytes]]:
    """(pts in seconds, payload) of the first ``kind`` stream's packets, in file order."""
    with av.open(str(path)) as container:
        stream = getattr(container.streams, kind)[0]
        return [(p.pts * p.time_base, bytes(p)) for p in container.demux(stream) if p.size]


def _decoded(path: Path) -> list[tuple[Fraction, np.ndarray]]:
    """(pts in seconds, the stored YUV samples) of every frame, as decoded: no colour conversion in between."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            planes = [np.frombuffer(bytes(p), np.uint8).reshape(p.height, p.line_size) for p in frame.planes]
            width = frame.width * (2 if frame.format.components[0].bits > 8 else 1)
            crop = [pl[:, :width if i == 0 else width // 2] for i, pl in enumerate(planes)]
            out.append((frame.pts * frame.time_base, np.concatenate([c.ravel() for c in crop])))
    return out


def _assert_joined(joined: Path, parts: list[Path], source: Path) -> None:
    """The join holds the parts' packets and frames unchanged, at the source's times."""
    frames = _decoded(joined)
    expected = [f for part in parts for f in _decoded(part)]
    assert len(frames) == N == len(expected)
    assert [t for t, _ in frames] == [t for t, _ in _decoded(source)]  # the source's pts, exactly
    assert all(t == u and np.array_equal(a, b) for (t, a), (u, b) in zip(frames, expected))  # bit-exact
    assert [d for _, d in _packets(joined, "video")] == [d for p in parts for _, d in _packets(p, "video")]


@pytest.mark.parametrize("src_ext,part_ext,out_ext", [(".mp4", ".mp4", ".mp4"), (".mkv", ".mkv", ".mkv"),
                                                     (".mp4", ".mkv", ".mp4"), (".mp4", ".mp4", ".mkv")])
def test_segments_join_frame_exact_with_source_audio(tmp_path, src_ext, part_ext, out_ext):
    source = _source(tmp_path, src_ext)
    parts = _write_segments(source, tmp_path, part_ext)  # libx264 defaults: B-frames, so dts lag pts
    joined = tmp_path / f"joined{out_ext}"
    started = time.perf_counter()
    assert join_segments(parts, joined, streams_from=source) == joined
    print(f"join of {len(parts)} parts ({N} frames) into {out_ext}: {1000 * (time.perf_counter() - started):.0f} ms")

    if out_ext == ".mkv" and src_ext == ".mp4":
        # Matroska cannot store the source's negative audio pts (AAC priming, -21.3 ms): the muxer shifts every
        # stream by that much rounded to its 1 ms ticks (as VideoWriter's own .mkv output does), so A/V stay in sync
        # to the millisecond but the times move.
        times, src_times = [t for t, _ in _decoded(joined)], [t for t, _ in _decoded(source)]
        audio, src_audio = _packets(joined, "audio"), _packets(source, "audio")
        offset = times[0] - src_times[0]
        assert abs(offset + src_audio[0][0]) <= Fraction(1, 1000)
        assert [t - offset for t in times] == src_times
        assert [d for _, d in audio] == [d for _, d in src_audio]
        assert abs((audio[0][0] - times[0]) - (src_audio[0][0] - src_times[0])) <= Fraction(1, 1000)
        return
    _assert_joined(joined, parts, source)
    assert _packets(joined, "audio") == _packets(source, "audio")  # bytes and pts: copied once, untouched
    if out_ext == ".mkv":
        assert _packets(joined, "subtitles") == _packets(source, "subtitles")
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_short_segment_joins_only_at_the_end(tmp_path):
    """x264 delays dts by 2 frames (B-frames), except in an encode of <= 2 frames, whose dts equal its pts: such a
    part in the middle makes the next part's dts go back (refused, naming the cause); as the last part it joins."""
    source = _source(tmp_path, ".mp4")
    parts = _write_segments(source, tmp_path, ".mp4", cuts=((0, 13), (13, 15), (15, N)))
    with pytest.raises(InputError, match=r"part 1 \(seg1.mp4\) has only 2 frame\(s\).*merge short segments"):
        join_segments(parts, tmp_path / "joined.mp4")
    parts = _write_segments(source, tmp_path / "end", ".mp4", cuts=((0, 20), (20, N - 1), (N - 1, N)))
    joined = join_segments(parts, tmp_path / "joined.mp4", streams_from=source)
    _assert_joined(joined, parts, source)


def test_ten_bit_x265_segments_join_with_tags(tmp_path):
    # 64x64: x265 (this build) corrupted the heap encoding 48x32 frames (glibc abort; 32x32 and 64x64 were clean)
    source = write_deep_clip(tmp_path / "deep.mp4", deep_ramp(N, 64, 64))  # BT.2020 / HLG, 10-bit HEVC
    parts = _write_segments(source, tmp_path, ".mp4", dtype="uint16", codec="libx265")
    joined = join_segments(parts, tmp_path / "joined.mp4")
    _assert_joined(joined, parts, source)
    info, part_info = read_info(joined), read_info(parts[0])
    assert info.codec == "hevc" and info.bit_depth == 10 and info.num_frames == N
    assert (info.color_primaries, info.color_transfer) == ("bt2020", "arib-std-b67")
    assert (info.color_matrix, info.color_range) == (part_info.color_matrix, part_info.color_range)


def test_rotation_and_colour_tags_are_kept(tmp_path):
    source = _source(tmp_path, ".mp4")
    parts = _write_segments(source, tmp_path, ".mp4", cuts=((0, 20), (20, N)),
                            like_changes={"rotation": 90, "rotation_applied": False})
    joined = join_segments(parts, tmp_path / "joined.mkv")
    info, part_info = read_info(joined, apply_rotation=False), read_info(parts[0], apply_rotation=False)
    assert info.rotation == part_info.rotation == 90
    tags = ("color_matrix", "color_range", "color_primaries", "color_transfer")
    assert [getattr(info, t) for t in tags] == [getattr(part_info, t) for t in tags]
    assert part_info.color_matrix is not None


def _digest(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def test_bad_parts_are_refused_in_one_line_and_nothing_is_written(tmp_path):
    source = _source(tmp_path, ".mp4")
    parts = _write_segments(source, tmp_path, ".mp4")
    with VideoReader(source) as reader:
        info = reader.info
        late = [f for f in reader if f.index >= 27]
    small = tmp_path / "small.mp4"  # the last segment at another size (e.g. another scale)
    with VideoWriter(small, like=info) as writer:
        for frame in late:
            writer.write(np.ascontiguousarray(frame.image[:16, :24]), pts=frame.pts)
    before = _digest([*parts, small, source])
    dst = tmp_path / "joined.mp4"
    cases = [([*parts[:2], small], InputError, "size 24x16 but part 0"),
             ([parts[0], tmp_path / "gone.mp4", parts[2]], InputError, "part 1 .*does not exist"),
             ([parts[1], parts[0], parts[2]], InputError, "part 1 .*not after part 0.*time order"),
             ([parts[0], parts[0]], InputError, "not after"),
             ([], InputError, "no parts")]
    for bad, error, message in cases:
        with pytest.raises(error, match=message) as caught:
            join_segments(bad, dst, streams_from=source)
        assert "\n" not in str(caught.value)
        assert not dst.exists() and not [p for p in tmp_path.iterdir() if ".partial" in p.name]
    with pytest.raises(OutputExistsError, match="is the input"):
        join_segments(parts, parts[2], overwrite=True)
    with pytest.raises(OutputExistsError, match="is the input"):
        join_segments(parts, source, streams_from=source, overwrite=True)
    with pytest.raises(InputError, match="extension|cannot join"):
        join_segments(parts, tmp_path / "joined.mp5")
    assert _digest([*parts, small, source]) == before


@pytest.mark.parametrize("seek", [False, True])
def test_segment_preview_copies_only_its_span_of_audio_and_subtitles(tmp_path, monkeypatch, seek):
    if seek:  # a segment far into a long source starts reading near t0 (here: 0.1 s before it)
        monkeypatch.setattr(writer_module, "_SEEK_MARGIN", 0.1)
    source = _source(tmp_path, ".mkv")
    with VideoReader(source) as reader:
        frames = [f for f in reader if 13 <= f.index <= 27]
    t0, t1 = frames[0].time, frames.pop().time  # the segment [13, 27): 0.541 s .. 1.101 s (the .mkv is 21 ms late)
    preview = tmp_path / "preview.mkv"
    with VideoWriter(preview, like=reader.info, copy_streams_from=source, copy_range=(t0, t1)) as writer:
        for frame in frames:
            writer.write(frame.image, pts=frame.pts)

    with av.open(str(source)) as container:
        stream = container.streams.audio[0]
        spans = [(p.pts * p.time_base, (p.pts + p.duration) * p.time_base, bytes(p))
                 for p in container.demux(stream) if p.size]
    expected = [(start, data) for start, end, data in spans if end > t0 and start < t1]
    assert 0 < len(expected) < len(spans)
    assert _packets(preview, "audio") == expected  # source bytes at source times
    assert [t for t, _ in _decoded(preview)] == [Fraction(f.pts) * reader.info.time_base for f in frames]
    cues = _packets(source, "subtitles")  # "hello" at 0.021-0.421 s, "world" at 0.621-1.021 s
    assert [d for _, d in cues] == [b"hello", b"world"]
    assert _packets(preview, "subtitles") == cues[1:]

    with pytest.raises(InputError, match="empty"):
        VideoWriter(tmp_path / "x.mkv", copy_streams_from=source, copy_range=(1.0, 0.5))
    with pytest.raises(InputError, match="copy_streams_from"):
        VideoWriter(tmp_path / "x.mkv", copy_range=(0.0, None))
