"""`wildvsr upscale` as a user runs it: real subprocesses, real model architecture (tiny BasicVSR weights saved to a
safetensors file, so CPU runs take seconds), kill -9 and --resume, and the bad-input exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.cli import run_wildvsr
from helpers.interrupts import signal_after_first_chunk
from helpers.media import read_frames, synthetic_frames, write_clip
from helpers.models import save_tiny_model
from helpers.shared_data import shared_path

from wildvsr.inference.resume import work_dir_for
from wildvsr.models import create_model, save_pretrained
from wildvsr.video import VideoReader, VideoWriter

@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    """A real BasicVSR architecture (SPyNet included) with 8 channels and 1 block, random weights, as safetensors."""
    return save_tiny_model(tmp_path_factory.mktemp("weights") / "basicvsr_tiny.safetensors")


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("in") / "frames"
    with VideoWriter(folder) as w:
        for img in synthetic_frames(12, 32, 32, seed=7):
            w.write(img)
    return folder


@pytest.mark.slow
def test_kill_9_then_resume_gives_the_uninterrupted_frames(tmp_path, tiny_weights, frames_dir):
    opts = ["--model", "basicvsr", "--weights", tiny_weights, "--device", "cpu", "--chunk-size", "4", "--overlap", "2",
            "--quiet"]
    dst = tmp_path / "out"
    manifest = work_dir_for(dst) / "manifest.json"
    _, done = signal_after_first_chunk(["upscale", frames_dir, dst, *opts], dst)
    assert done >= 1 and not dst.exists() and work_dir_for(dst).is_dir()
    chunks_before = len(json.loads(manifest.read_text())["chunks"])
    assert chunks_before < 3  # killed mid-run (12 frames / 4 per chunk)

    again = run_wildvsr("upscale", frames_dir, dst, *opts)  # no --resume: refused with a hint
    assert again.returncode == 2 and "--resume" in again.stderr and not dst.exists()
    resumed = run_wildvsr("--verbose", "upscale", frames_dir, dst, *opts, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {chunks_before} finished chunk(s)" in resumed.stderr
    assert not work_dir_for(dst).exists()

    # The uninterrupted run, in the same kind of process (CPU float results depend on the thread count).
    ref = tmp_path / "ref"
    assert run_wildvsr("upscale", frames_dir, ref, *opts).returncode == 0
    np.testing.assert_array_equal(read_frames(dst), read_frames(ref))
    assert read_frames(dst).shape == (12, 128, 128, 3)


@pytest.mark.slow
def test_dove_clip_end_to_end(tmp_path, tiny_weights):
    """The real CLI on real footage: the first 6 frames of the shortest dove_demo clip (318x180, 16 fps; the whole
    32-frame clip takes minutes on 2 CPU cores even with tiny weights, see the report): 4x size, same count and fps."""
    full = shared_path("real_lq", "dove_demo", "002.mp4")
    with VideoReader(full) as r:
        fps = r.info.fps
        head = np.stack([f.image for _, f in zip(range(6), r)])
        assert len(r.info.audio_streams) == 0  # the dove clips have no audio (audio: test_audio_is_kept)
    src = write_clip(tmp_path / "dove_head.mp4", head, fps=int(fps), options={"crf": "12"})
    dst = tmp_path / "out.mp4"
    run = run_wildvsr("upscale", src, dst, "--model", "basicvsr", "--weights", tiny_weights, "--device", "cpu")
    assert run.returncode == 0, run.stderr
    with VideoReader(src) as a, VideoReader(dst) as b:
        assert (b.info.width, b.info.height) == (4 * a.info.width, 4 * a.info.height) == (1272, 720)
        assert b.info.fps == a.info.fps == 16
        assert sum(1 for _ in b) == sum(1 for _ in a) == 6


def test_videolq_folder_to_png_folder(tmp_path, tiny_weights):
    """The videolq_000 frame folder path, on a 40x24 centre-cropped copy (the full 640x360 clip through BasicVSR
    takes tens of minutes on 2 CPU cores; see the report): 31 PNGs at 4x."""
    src = tmp_path / "videolq_crop"
    with VideoReader(shared_path("real_lq", "videolq_000")) as r, VideoWriter(src) as w:
        for f in r:
            w.write(f.image[168:192, 300:340])
    dst = tmp_path / "out"
    run = run_wildvsr("upscale", src, dst, "--model", "basicvsr", "--weights", tiny_weights, "--device", "cpu", "--quiet")
    assert run.returncode == 0, run.stderr
    pngs = sorted(dst.glob("*.png"))
    assert len(pngs) == 31
    with VideoReader(dst) as r:
        assert (r.info.width, r.info.height) == (160, 96) and r.info.num_frames == 31


def test_audio_is_kept(tmp_path, tiny_weights):
    src = write_clip(tmp_path / "in.mp4", synthetic_frames(6, 24, 32), audio=True)
    dst = tmp_path / "out.mkv"
    run = run_wildvsr("upscale", src, dst, "--model", "basicvsr", "--weights", tiny_weights, "--device", "cpu", "--quiet")
    assert run.returncode == 0, run.stderr
    with VideoReader(dst) as r:
        assert (r.info.width, r.info.height) == (128, 96) and r.info.audio_streams[0].codec == "aac"


def _expect_failure(tmp_path, *args, match: str):
    before = set(tmp_path.iterdir())
    run = run_wildvsr("upscale", *args)
    assert run.returncode == 2, (run.returncode, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and match in lines[0], run.stderr
    assert set(tmp_path.iterdir()) == before  # no partial output, no work dir


def test_missing_weights(tmp_path, tiny_clip):
    _expect_failure(tmp_path, tiny_clip, tmp_path / "o.mp4", "--model", "basicvsr", "--weights", tmp_path / "nope.pth",
                    match="nope.pth")


def test_weights_of_another_architecture(tmp_path, tiny_clip):
    other = tmp_path / "rbv.safetensors"
    save_pretrained(create_model("realbasicvsr", mid_channels=8, num_propagation_blocks=1, num_cleaning_blocks=1),
                    other)
    _expect_failure(tmp_path, tiny_clip, tmp_path / "o.mp4", "--model", "basicvsr", "--weights", other,
                    match="realbasicvsr")


def test_unknown_model_and_bad_option(tmp_path, tiny_clip):
    _expect_failure(tmp_path, tiny_clip, tmp_path / "o.mp4", "--model", "nosuch", match="nosuch")
    _expect_failure(tmp_path, tiny_clip, tmp_path / "o.mp4", "--precision", "fp8", match="precision")
    if not torch.cuda.is_available():
        _expect_failure(tmp_path, tiny_clip, tmp_path / "o.mp4", "--device", "cuda", match="CUDA is not available")


def test_corrupt_input(tmp_path, tiny_weights):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000))
    _expect_failure(tmp_path, bad, tmp_path / "o.mp4", "--model", "basicvsr", "--weights", tiny_weights,
                    match="bad.mp4")


def test_frame_too_large_for_the_device(tmp_path, tiny_weights):
    """A 6000x6000 image needs hundreds of GiB untiled (``--tile 0``; auto would tile it): refused before the model
    runs, with a --tile hint."""
    big = tmp_path / "big.png"
    with VideoWriter(big) as w:
        w.write(np.full((6000, 6000, 3), 90, np.uint8))
    before = set(tmp_path.iterdir())
    # fp32: on a CPU with bf16 units "auto" is bf16, whose smaller estimate (and this machine's RAM) may let it run
    run = run_wildvsr("upscale", big, tmp_path / "o.png", "--model", "basicvsr", "--weights", tiny_weights, "--device",
                  "cpu", "--tile", "0", "--precision", "fp32")
    assert run.returncode == 2 and "--tile" in run.stderr and "GiB" in run.stderr, run.stderr
    assert set(tmp_path.iterdir()) == before
