"""upscale_video end to end on small real files, with the tiny stand-in model passed in code (fast)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.interrupts import interrupt_after
from helpers.media import synthetic_frames, write_clip, write_pngs
from helpers.models import TinyBiRecurrent
from wildvsr.errors import InputError, OutputExistsError, VSRError
from wildvsr.inference import UpscaleConfig, Upscaler, upscale_video
from wildvsr.inference.resume import work_dir_for
from wildvsr.video import VideoReader

CFG = UpscaleConfig(device="cpu", chunk_size=4, overlap=2)


def read_all(path):
    with VideoReader(path) as r:
        frames = list(r)
        return r.info, np.stack([f.image for f in frames]), [f.pts for f in frames]


def test_video_to_video_keeps_size_count_timestamps_and_audio(tmp_path):
    src = write_clip(tmp_path / "in.mp4", synthetic_frames(10, 48, 64), fps=24, audio=True)
    dst = upscale_video(src, tmp_path / "out.mp4", CFG, model=TinyBiRecurrent())
    info_in, _, pts_in = read_all(src)
    info, frames, pts = read_all(dst)
    assert (info.width, info.height) == (256, 192) and frames.shape == (10, 192, 256, 3)
    assert info.fps == info_in.fps == 24
    assert [p * info.time_base for p in pts] == [p * info_in.time_base for p in pts_in]
    assert len(info.audio_streams) == 1 and info.audio_streams[0].codec == "aac"
    assert not work_dir_for(dst).exists()


def test_streaming_run_equals_in_memory_upscaler(tmp_path):
    """The file path (reader -> chunks -> writer) gives exactly Upscaler.upscale_frames on the same frames."""
    frames = synthetic_frames(11, 24, 32, seed=4)
    src = write_pngs(tmp_path / "frames", frames)
    model = TinyBiRecurrent()
    out = upscale_video(src, tmp_path / "out", CFG, model=model)
    _, got, _ = read_all(out)
    ref = Upscaler(model, "cpu", chunk_size=4, overlap=2).upscale_frames(frames)
    np.testing.assert_array_equal(got, ref)


def test_image_to_image_and_scale_2(tmp_path):
    src = write_pngs(tmp_path / "one", synthetic_frames(1, 20, 30))
    img = next(src.iterdir())
    out = upscale_video(img, tmp_path / "big.png", UpscaleConfig(device="cpu", scale=2), model=TinyBiRecurrent())
    info, frames, _ = read_all(out)
    assert out.is_file() and frames.shape == (1, 40, 60, 3)


def test_interrupted_run_resumes_to_identical_frames(tmp_path, monkeypatch):
    """Ctrl-C (KeyboardInterrupt) after the second chunk keeps the work dir; --resume finishes it identically."""
    frames = synthetic_frames(14, 24, 32, seed=5)
    src = write_pngs(tmp_path / "frames", frames)
    model = TinyBiRecurrent()
    full = upscale_video(src, tmp_path / "full", CFG, model=model)
    dst = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        upscale_video(src, dst, CFG, progress=interrupt_after(2), model=model)
    assert not dst.exists() and work_dir_for(dst).is_dir()
    with pytest.raises(OutputExistsError, match="--resume"):
        upscale_video(src, dst, CFG, model=model)
    computed = []
    real = Upscaler.process_window

    def spy(self, window, spec=None, plan=None):  # the real method still runs; we record which chunks were computed
        computed.append(spec.index)
        return real(self, window, spec, plan)

    monkeypatch.setattr(Upscaler, "process_window", spy)
    upscale_video(src, dst, UpscaleConfig(device="cpu", chunk_size=4, overlap=2, resume=True), model=model)
    assert computed == [2, 3]  # chunks 0 and 1 came from the work dir
    np.testing.assert_array_equal(read_all(dst)[1], read_all(full)[1])
    assert not work_dir_for(dst).exists()


def test_resume_refuses_a_different_call_plan(tmp_path, monkeypatch):
    """A resumed run must call the model with the frames per call of the first run (a per-frame model's batch is
    planned from a memory budget): another plan could round differently in the last bit on some CPUs, so the work
    folder records the plan and a resume that would re-plan is refused, naming what changed."""
    from wildvsr.inference import plan as plan_module
    from wildvsr.models import create_model

    frames = synthetic_frames(9, 16, 20, seed=6)
    src = write_pngs(tmp_path / "frames", frames)
    model = create_model("srvgg", num_feat=4, num_conv=1)
    cfg = UpscaleConfig(device="cpu", chunk_size=3)
    calls = []

    def interrupt(n):
        calls.append(n)
        if len(calls) == 1:
            raise KeyboardInterrupt

    dst = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        upscale_video(src, dst, cfg, progress=interrupt, model=model)
    planned = Upscaler(model, "cpu", chunk_size=3).plan(16, 20).frames_per_call
    assert planned > 1  # the budget allows batching: a smaller budget really changes the plan
    monkeypatch.setattr(plan_module, "FRAME_BATCH_BUDGET", 1)
    with pytest.raises(InputError, match="frames_per_call"):
        upscale_video(src, dst, UpscaleConfig(device="cpu", chunk_size=3, resume=True), model=model)
    monkeypatch.undo()
    upscale_video(src, dst, UpscaleConfig(device="cpu", chunk_size=3, resume=True), model=model)
    np.testing.assert_array_equal(read_all(dst)[1], read_all(upscale_video(src, tmp_path / "ref", cfg, model=model))[1])


def test_existing_output_is_refused_and_kept(tmp_path):
    src = write_clip(tmp_path / "in.mp4", synthetic_frames(3, 16, 16))
    dst = tmp_path / "out.mp4"
    dst.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        upscale_video(src, dst, CFG, model=TinyBiRecurrent())
    assert dst.read_bytes() == b"keep me"
    upscale_video(src, dst, UpscaleConfig(device="cpu", overwrite=True), model=TinyBiRecurrent())
    assert read_all(dst)[1].shape == (3, 64, 64, 3)


@pytest.mark.parametrize("make", ["missing", "garbage", "empty_dir", "text"])
def test_bad_inputs_leave_nothing_behind(tmp_path, make):
    src = tmp_path / "in.mp4"
    if make == "garbage":
        src.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif make == "empty_dir":
        src = tmp_path / "empty"
        src.mkdir()
    elif make == "text":
        src = tmp_path / "notes.txt"
        src.write_text("not a video")
    with pytest.raises(VSRError):
        upscale_video(src, tmp_path / "out.mp4", CFG, model=TinyBiRecurrent())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in [src] if p.exists())


def test_many_frames_into_one_png_is_refused_early(tmp_path):
    src = write_clip(tmp_path / "in.mp4", synthetic_frames(3, 16, 16))
    with pytest.raises(InputError, match="single image"):
        upscale_video(src, tmp_path / "out.png", CFG, model=TinyBiRecurrent())
    assert not (tmp_path / "out.png").exists()
