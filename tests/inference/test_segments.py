"""Segments (issue 28): ``--frames A:B`` / ``--start``/``--duration`` restore exactly that part, frame-accurate, with
the source's timestamps and the context a whole run gives those frames.

What is exact and what is not (README "Segments"): a segment whose ends lie on the whole run's chunk grid runs the
same model calls on the same frames, so its frames are bit-identical to the whole run's; a video model's segment
elsewhere sees the same ``--overlap`` context as any chunk (the seam fidelity measured here); a per-frame model's
stabilizer is warmed up on the frames before the segment (its settings' ``warmup_frames``), so the seam holds no
visible jump: measured against the whole run and as warping error across the seam vs inside.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from helpers.cli import run_wildvsr
from helpers.frames import assert_frames_close, psnr
from helpers.media import read_frames_and_times, synthetic_frames, write_clip
from helpers.models import save_tiny_model, TinyBiRecurrent
from wildvsr.errors import InputError
from wildvsr.inference import UpscaleConfig, upscale_video
from wildvsr.inference.chunking import iter_windows, plan_chunks
from wildvsr.inference.segments import Segment, parse_frames, parse_seconds
from wildvsr.inference.stabilizer_settings import STABILIZERS, WARMUP_RESIDUAL


# ------------------------------------------------------------------------------------------------ parsing, planning
def test_frames_and_times_parse_to_segments():
    assert parse_frames("10:20") == Segment(10, 20)
    assert parse_frames("10:") == Segment(10, None) and parse_frames(":5") == Segment(0, 5)
    for bad in ("", ":", "a:b", "5", "20:10", "3:3"):
        with pytest.raises(InputError):
            parse_frames(bad)
    assert parse_seconds("90.5", "--start") == 90.5 and parse_seconds("1:30", "--start") == 90
    assert parse_seconds("1:00:01.5", "--start") == 3601.5
    for bad in ("x", "1::2", "-3", "1:2:3:4", "nan"):
        with pytest.raises(InputError, match="--start"):
            parse_seconds(bad, "--start")
    # 2 s at 25 fps is frame 50 (not 51: float slack); 0.5 s more is frames 50-62
    assert Segment.from_seconds(2.0, 0.5, 25.0) == Segment(50, 63)
    assert Segment.from_seconds(0.0, None, 29.97) == Segment(0, None)
    with pytest.raises(InputError, match="starts at frame 40 but the input has 30 frames"):
        Segment(40, 50).within(30)
    assert Segment(20, 50).within(30) == Segment(20, 30) and Segment(20).within(30) == Segment(20)


def test_streamed_segment_windows_match_the_planned_ones_and_the_whole_grid():
    """For every video length, chunk length, overlap and segment: the streamed windows equal the planned ones, keep
    exactly the segment's frames, and a segment on the chunk grid gets the whole video's chunks."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        n, t, ov = int(rng.integers(1, 50)), int(rng.integers(1, 10)), int(rng.integers(0, 5))
        a = int(rng.integers(0, n))
        b = None if rng.random() < 0.3 else int(rng.integers(a + 1, n + 1))
        first = max(0, a - ov)
        items = range(first, n if b is None else min(n, b + ov))  # what a reader gives: lead-in + right context
        windows = list(iter_windows(items, t, ov, first=first, start=a, stop=b))
        assert [w.spec for w in windows] == plan_chunks(n, t, ov, start=a, stop=b)
        assert [i for w in windows for i in w.kept] == list(range(a, n if b is None else b))
        if a % t == 0 and (b is None or b % t == 0 or b == n):
            whole = [(s.start, s.stop, s.context_start, s.context_stop) for s in plan_chunks(n, t, ov)
                     if s.start >= a and (b is None or s.stop <= b)]
            assert whole == [(w.spec.start, w.spec.stop, w.spec.context_start, w.spec.context_stop)
                             for w in windows]


def test_stabilizer_warmup_leaves_under_one_percent_of_the_old_state():
    for settings in STABILIZERS.values():
        n = settings.warmup_frames
        assert settings.strength ** n <= WARMUP_RESIDUAL < settings.strength ** (n - 1)


# ------------------------------------------------------------------------------------------------ video model
@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """30 frames of moving content at 25 fps with audio (Matroska, as the FFV1 outputs: AAC's priming makes the
    muxer shift a Matroska file's timestamps by 21 ms, so source and outputs in one container compare exactly)."""
    return write_clip(tmp_path_factory.mktemp("seg") / "in.mkv", synthetic_frames(30, 24, 32, seed=7), fps=25,
                      audio=True)


def source_times(path: Path) -> list[float]:
    return read_frames_and_times(path)[1]


VIDEO_CFG = UpscaleConfig(device="cpu", chunk_size=6, overlap=3, codec="ffv1")  # lossless output: frames compared


@pytest.fixture(scope="module")
def whole_video_run(clip, tmp_path_factory) -> tuple[np.ndarray, list[float]]:
    return read_frames_and_times(upscale_video(clip, tmp_path_factory.mktemp("whole") / "out.mkv", VIDEO_CFG, model=TinyBiRecurrent()))


def test_video_model_segments_on_the_chunk_grid_are_bit_identical_to_the_whole_run(clip, whole_video_run, tmp_path):
    """Three segments cut on the grid (multiples of the chunk length): same frames, same timestamps (exact: the same
    model calls on the same frames), and each keeps the audio of its span."""
    whole, times = whole_video_run
    parts = [(0, 12), (12, 24), (24, 30)]
    for a, b in parts:
        out = upscale_video(clip, tmp_path / f"seg_{a}.mkv", VIDEO_CFG, model=TinyBiRecurrent(),
                            segment=Segment(a, b))
        frames, seg_times = read_frames_and_times(out)
        np.testing.assert_array_equal(frames, whole[a:b])
        assert seg_times == source_times(clip)[a:b]


def test_video_model_segment_off_the_grid_keeps_the_overlap_fidelity(clip, whole_video_run, tmp_path):
    """A segment starting between chunk boundaries: chunks are cut from its start, with ``--overlap`` context frames
    on each side as every chunk has, so its frames differ from the whole run's only as two chunkings differ (the
    tiny model's recurrence decays by 0.8 per frame: after 3 context frames the seam is well above 40 dB)."""
    whole, times = whole_video_run
    out = upscale_video(clip, tmp_path / "seg.mkv", VIDEO_CFG, model=TinyBiRecurrent(), segment=Segment(8, 21))
    frames, seg_times = read_frames_and_times(out)
    assert frames.shape[0] == 13 and seg_times == source_times(clip)[8:21]
    assert psnr(frames, whole[8:21]) > 40


def test_segment_past_the_end_is_one_clear_error(clip, tmp_path):
    with pytest.raises(InputError, match="starts at frame 30 but the input has 30 frames"):
        upscale_video(clip, tmp_path / "o.mkv", VIDEO_CFG, model=TinyBiRecurrent(), segment=Segment(30, 40))
    assert not list(tmp_path.iterdir())


def test_segment_output_keeps_only_its_span_of_audio(clip, tmp_path):
    """Frames 10-19 at 25 fps are 0.4-0.8 s: the output's audio packets are the source's of that span (with their
    source timestamps, so audio and video stay in sync)."""
    import av

    out = upscale_video(clip, tmp_path / "seg.mp4", UpscaleConfig(device="cpu", chunk_size=6, overlap=3),
                        model=TinyBiRecurrent(), segment=Segment(10, 20))
    with av.open(str(clip)) as c:
        src = [(p.pts * p.time_base, bytes(p)) for p in c.demux(c.streams.audio[0]) if p.size]
    with av.open(str(out)) as c:
        got = [(p.pts * p.time_base, bytes(p)) for p in c.demux(c.streams.audio[0]) if p.size]
    assert got and {b for _, b in got} <= {b for _, b in src}
    starts = [float(t) for t, _ in got]
    assert min(starts) < 0.4 + 1024 / 48000 and max(starts) < 0.8  # packets overlapping [0.4, 0.8) s only


# ------------------------------------------------------------------------------------------------ per-frame model
@pytest.fixture(scope="module")
def tiny_srvgg(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("w") / "srvgg.safetensors", "srvgg", num_feat=8, num_conv=2)


@pytest.fixture(scope="module")
def panning_clip(tmp_path_factory) -> Path:
    """A scene panning 1 px per frame with fresh noise in every frame (the per-frame model flickers), lossless."""
    n, h, w = 40, 32, 32
    big = synthetic_frames(1, h, w + n, seed=3)[0].astype(np.int16)
    noise = np.random.default_rng(3).integers(-6, 7, size=(n, h, w, 3))
    frames = np.stack([np.clip(big[:, t:t + w] + noise[t], 0, 255).astype(np.uint8) for t in range(n)])
    return write_clip(tmp_path_factory.mktemp("pan") / "pan.mkv", frames, codec="ffv1", pix_fmt="bgr0")


def test_per_frame_segments_warm_the_stabilizer_up_so_the_seam_does_not_jump(panning_clip, tiny_srvgg, tmp_path):
    """A per-frame model with the fusion stabilizer, cut into 3 segments off the chunk grid: every segment's frames
    match the whole run's to within the warm-up residual (each segment reads ``warmup_frames`` frames before its start
    so its recurrence has forgotten where it started), and the warping error across each seam is no worse than
    inside the segments."""
    from wildvsr.metrics.warping import warping_error

    cfg = UpscaleConfig(model="srvgg", weights=str(tiny_srvgg), device="cpu", precision="fp32", temporal="fusion",
                        chunk_size=8, codec="ffv1")
    whole, _ = read_frames_and_times(upscale_video(panning_clip, tmp_path / "whole.mkv", cfg))
    cuts = [0, 14, 27, 40]
    parts = [read_frames_and_times(upscale_video(panning_clip, tmp_path / f"s{a}.mkv", cfg, segment=Segment(a, b)))[0]
             for a, b in zip(cuts, cuts[1:])]
    joined = np.concatenate(parts)
    assert joined.shape == whole.shape
    np.testing.assert_array_equal(parts[0], whole[:14])  # the first segment is the whole run's start
    for a, b, part in zip(cuts[1:], cuts[2:], parts[1:]):
        assert psnr(part[:1], whole[a:a + 1]) > 45, f"seam at frame {a}"
        assert_frames_close(part[4:], whole[a + 4:b], max_level=1, max_fraction=0.01)
    # warping error of each consecutive pair of output frames (the flicker measure): the pairs across the seams
    _, per_pair = warping_error(joined, per_pair=True)  # per_pair[t - 1]: frames t-1 -> t
    inside = [e for t, e in enumerate(per_pair, 1) if t not in cuts]
    for t in cuts[1:-1]:
        assert per_pair[t - 1] <= max(inside), f"seam at frame {t} flickers: {per_pair[t - 1]:.3f} vs {inside}"


# ------------------------------------------------------------------------------------------------ CLI
def test_cli_start_and_duration_give_the_frames_of_that_time(clip, tiny_srvgg, tmp_path):
    out = tmp_path / "preview.mkv"
    res = run_wildvsr("upscale", str(clip), str(out), "--model", "srvgg", "--weights", str(tiny_srvgg), "--device", "cpu",
                  "--start", "0:00.4", "--duration", "0.2", "--codec", "ffv1", "-q")
    assert res.returncode == 0, res.stderr
    frames, times = read_frames_and_times(out)
    _, src_times = read_frames_and_times(clip)
    assert frames.shape[0] == 5 and times == src_times[10:15]


@pytest.mark.parametrize("args, message", [
    (["--frames", "5"], "--frames takes A:B"),
    (["--frames", "40:50"], "starts at frame 40 but the input has 30 frames"),
    (["--frames", "1:2", "--start", "1"], "not both"),
    (["--start", "soon"], "--start takes seconds"),
])
def test_cli_bad_segments_are_one_line_and_exit_2(clip, tiny_srvgg, tmp_path, args, message):
    res = run_wildvsr("upscale", str(clip), str(tmp_path / "o.mkv"), "--model", "srvgg", "--weights", str(tiny_srvgg),
                  "--device", "cpu", "-q", *args)
    assert res.returncode == 2 and message in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "o.mkv").exists()
