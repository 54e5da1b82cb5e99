"""MGLD-VSR's clips and its upscale job: the clip plan, --resume, segments, overlap, many inputs (tiny random model).

Equalities here are exact by construction: the same clips run the same operations on the same shapes (noise per seed
and frame index), finished clips are stored losslessly, and outputs go to PNG folders (no lossy encoder between)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from helpers.media import deep_ramp, synthetic_frames, write_clip, write_deep_clip

from wildvsr.inference.batch import run_many
from wildvsr.inference.resume import work_dir_for
from wildvsr.inference.segments import Segment
from wildvsr.models.mgldvsr.clips import Clip, first_clip_for, plan_clips, stream_clips
from wildvsr.video.reader import VideoReader

pytest.importorskip("diffusers")

from wildvsr.inference.mgldvsr_job import MGLDVSRJob, upscale_mgldvsr  # noqa: E402
from wildvsr.models.mgldvsr import MGLDVSR  # noqa: E402


def _reference_clips(n: int, length: int, overlap: int) -> list[tuple[int, int, int]]:
    """The clip rule stated directly (the official non-overlapping clips when overlap is 0): starts every
    ``length - overlap`` frames while frames remain beyond the overlap; each clip keeps the half of a shared range
    nearer its centre; the first keeps from 0, the last to the end. Returns (first, start, stop)."""
    stride = length - overlap
    starts = list(range(0, max(n - overlap, 1), stride))
    clips = []
    for k, first in enumerate(starts):
        keep_from = 0 if k == 0 else overlap - overlap // 2
        keep_to = length if k == len(starts) - 1 else length - overlap // 2
        clips.append((first, first + keep_from, first + min(keep_to, n - first)))
    return clips


@pytest.mark.parametrize("length", [1, 3, 5])
def test_clip_plan_follows_the_rule_and_tiles_the_video(length):
    for overlap in range(length):
        for n in range(1, 23):
            clips = plan_clips(n, length, overlap)
            assert [(c.first, c.start, c.stop) for c in clips] == _reference_clips(n, length, overlap), (n, overlap)
            assert [c.index for c in clips] == list(range(len(clips)))
            kept = [i for c in clips for i in range(c.start, c.stop)]
            assert kept == list(range(n))  # every frame kept exactly once, in order


def test_streamed_clips_repeat_the_final_frame_and_hold_length_plus_one():
    pulled = []

    def frames():
        for i in range(7):
            pulled.append(i)
            yield i

    seen = []
    for clip, items in stream_clips(frames(), 3, 1):
        assert len(items) == 3 and len(pulled) - clip.first <= 4  # the clip and one frame of lookahead
        seen.append((clip, items))
    assert seen[-1] == (Clip(2, 4, 5, 7), [4, 5, 6]) and seen[0][1] == [0, 1, 2]
    assert list(stream_clips(range(2), 5, 2)) == [(Clip(0, 0, 0, 2), [0, 1, 1, 1, 1])]
    with pytest.raises(ValueError, match=r"overlap must be an integer in \[0, 2\]"):
        list(stream_clips(range(4), 3, 3))


@pytest.mark.parametrize("overlap", [0, 1, 2, 4])
def test_a_segment_read_from_first_clip_for_its_start_gets_the_whole_runs_clips(overlap):
    length, n = 5, 23
    whole = plan_clips(n, length, overlap)
    stride = length - overlap
    for a in range(n):
        for b in range(a + 1, n + 1):
            k0 = first_clip_for(a, length, overlap)
            items = range(k0 * stride, min(n, b + length + 1))
            mine = [c for c, _ in stream_clips(items, length, overlap, first_clip=k0) if c.start < b and c.stop > a]
            assert mine == [c for c in whole if c.start < b and c.stop > a], (a, b)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return MGLDVSR(size="tiny").eval()  # clips of 3, 3 sampling steps


@pytest.fixture
def clip7(tmp_path):
    return write_clip(tmp_path / "in.mp4", synthetic_frames(7, 12, 16, seed=4))


def _frames(folder) -> np.ndarray:
    with VideoReader(folder) as reader:
        return np.stack([f.image for f in reader])


def test_resume_after_an_interrupt_recomputes_nothing_and_gives_the_same_frames(tiny, clip7, tmp_path):
    job = MGLDVSRJob(seed=2, device="cpu")
    upscale_mgldvsr(clip7, tmp_path / "whole", job, model=tiny)
    calls = []
    original = tiny.restore_clip

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    def stop_after_first_clip(_frames):
        raise KeyboardInterrupt

    tiny.restore_clip = counted
    try:
        with pytest.raises(KeyboardInterrupt):
            upscale_mgldvsr(clip7, tmp_path / "out", job, model=tiny, progress=stop_after_first_clip)
        assert work_dir_for(tmp_path / "out").is_dir() and not (tmp_path / "out").exists() and len(calls) == 1
        with pytest.raises(Exception, match="--resume"):
            upscale_mgldvsr(clip7, tmp_path / "out", job, model=tiny)  # a kept work folder is never overwritten
        upscale_mgldvsr(clip7, tmp_path / "out", MGLDVSRJob(seed=2, device="cpu", resume=True), model=tiny)
    finally:
        del tiny.restore_clip
    assert len(calls) == 1 + 2  # 7 frames are clips 0-2, 3-5, 6; the first was read back
    np.testing.assert_array_equal(_frames(tmp_path / "out"), _frames(tmp_path / "whole"))
    assert not work_dir_for(tmp_path / "out").exists()


def test_resume_refuses_other_settings_in_one_line(tiny, clip7, tmp_path):
    def interrupt(_frames):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        upscale_mgldvsr(clip7, tmp_path / "out", MGLDVSRJob(seed=2, device="cpu"), model=tiny, progress=interrupt)
    with pytest.raises(Exception, match=r"different settings \(differs in: seed\)"):
        upscale_mgldvsr(clip7, tmp_path / "out", MGLDVSRJob(seed=3, device="cpu", resume=True), model=tiny)


@pytest.mark.parametrize("overlap", [0, 1])
def test_a_segment_equals_those_frames_of_the_whole_run(tiny, clip7, tmp_path, overlap):
    job = MGLDVSRJob(seed=1, device="cpu", overlap=overlap)
    upscale_mgldvsr(clip7, tmp_path / "whole", job, model=tiny)
    whole = _frames(tmp_path / "whole")
    assert whole.shape == (7, 48, 64, 3)
    counts = []
    upscale_mgldvsr(clip7, tmp_path / "part", job, model=tiny, segment=Segment(2, 5), progress=counts.append)
    np.testing.assert_array_equal(_frames(tmp_path / "part"), whole[2:5])
    assert sum(counts) == 3


def test_overlap_changes_only_the_frames_a_shared_range_gives_other_context(tiny, clip7, tmp_path):
    upscale_mgldvsr(clip7, tmp_path / "a", MGLDVSRJob(seed=1, device="cpu"), model=tiny)
    upscale_mgldvsr(clip7, tmp_path / "b", MGLDVSRJob(seed=1, device="cpu", overlap=1), model=tiny)
    a, b = _frames(tmp_path / "a"), _frames(tmp_path / "b")
    np.testing.assert_array_equal(a[:2], b[:2])  # clip 0 (frames 0-2) is the same clip; it keeps 0-1 with overlap
    assert not np.array_equal(a[2:], b[2:])
    with pytest.raises(Exception, match="--overlap: the clip overlap must be an integer in"):
        upscale_mgldvsr(clip7, tmp_path / "c", MGLDVSRJob(device="cpu", overlap=3), model=tiny)


def test_many_inputs_share_one_model_and_skip_finished_outputs(tiny, tmp_path):
    srcs = [write_clip(tmp_path / f"in{i}.mp4", synthetic_frames(2, 8, 8, seed=i)) for i in range(2)]
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    job = MGLDVSRJob(device="cpu")

    def run_one(src, dst, resume, advance):
        upscale_mgldvsr(src, dst, dataclasses.replace(job, resume=resume), model=tiny, progress=advance)

    lines = []
    result = run_many([*srcs, bad], tmp_path / "out", run_one, ext="mkv", log=lines.append)
    assert result.summary() == "2 done, 0 skipped, 1 failed" and lines[0].startswith(f"FAILED {bad}")
    assert _frames(tmp_path / "out" / "in1.mkv").shape == (2, 32, 32, 3)
    again = run_many(srcs, tmp_path / "out", run_one, ext="mkv", log=lines.append)
    assert again.summary() == "0 done, 2 skipped, 0 failed"


def test_a_10_bit_source_is_restored_from_and_written_at_16_bits(tiny, tmp_path):
    """A 10-bit source is read as uint16 (no 8-bit rounding before the model) and the PNG output keeps 16 bits."""
    src = write_deep_clip(tmp_path / "in.mkv", deep_ramp(2, 16, 64), codec="libx264", tags="bt709")
    upscale_mgldvsr(src, tmp_path / "out", MGLDVSRJob(device="cpu"), model=tiny)
    with VideoReader(tmp_path / "out", dtype="source") as reader:
        frames = np.stack([f.image for f in reader])
    assert frames.dtype == np.uint16 and frames.shape == (2, 64, 256, 3)
    assert np.any(frames % 257 != 0)  # not 8-bit values scaled up


def test_cli_runs_a_model_in_wildvsrs_layout_with_segment_and_resume(tiny, clip7, tmp_path, capsys):
    """``--weights`` alone naming one .safetensors (what ``wildvsr export`` writes from a training run): the whole
    command, with --frames, --overlap and --resume accepted; the frames equal the library's for the same model."""
    from wildvsr.cli import main
    from wildvsr.models import save_pretrained

    weights = save_pretrained(tiny, tmp_path / "mgld_tiny.safetensors")
    upscale_mgldvsr(clip7, tmp_path / "lib", MGLDVSRJob(seed=4, device="cpu", overlap=1, steps=3), model=tiny,
                    segment=Segment(1, 4))
    with pytest.raises(SystemExit) as exit_info:
        main(["upscale", str(clip7), str(tmp_path / "cli"), "--model", "mgldvsr", "--weights", str(weights),
              "--steps", "3", "--seed", "4", "--overlap", "1", "--frames", "1:4", "--device", "cpu", "--resume", "-q"])
    assert exit_info.value.code in (0, None), capsys.readouterr().err
    np.testing.assert_array_equal(_frames(tmp_path / "cli"), _frames(tmp_path / "lib"))


def test_cli_many_inputs_build_the_model_once_and_report_each(tiny, tmp_path, capsys):
    from wildvsr.cli import main
    from wildvsr.models import save_pretrained

    weights = save_pretrained(tiny, tmp_path / "mgld_tiny.safetensors")
    srcs = [write_clip(tmp_path / f"in{i}.mp4", synthetic_frames(2, 8, 8, seed=i)) for i in range(2)]
    (tmp_path / "broken.mp4").write_text("not a video")
    with pytest.raises(SystemExit) as exit_info:
        main(["upscale", *map(str, srcs), str(tmp_path / "broken.mp4"), str(tmp_path / "out"), "--model", "mgldvsr",
              "--weights", str(weights), "--device", "cpu", "-q"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "2 done, 0 skipped, 1 failed" in err and "FAILED" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["in0.mp4", "in1.mp4"]
