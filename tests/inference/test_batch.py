"""Many inputs (issue 28): ``wildvsr upscale IN [IN ...] OUT_FOLDER`` and :mod:`wildvsr.inference.batch`.

Real files and, where exit codes and stderr matter, the real CLI in a subprocess; a tiny BasicVSR (8 channels, one
block, SPyNet included) saved to a safetensors file keeps each run to seconds on a CPU.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import run_wildvsr
from helpers.interrupts import signal_after_first_chunk
from helpers.media import read_frames, synthetic_frames, write_clip, write_pngs
from helpers.models import save_tiny_model

from wildvsr.errors import InputError, WeightsNotFoundError
from wildvsr.inference import UpscaleConfig
from wildvsr.inference.batch import batch_outputs, expand_inputs, is_batch, output_for, upscale_many
from wildvsr.inference.resume import work_dir_for
from wildvsr.video import VideoReader

@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("weights") / "basicvsr_tiny.safetensors")


@pytest.fixture
def opts(tiny_weights) -> list:
    return ["--model", "basicvsr", "--weights", tiny_weights, "--device", "cpu"]


def clip(path: Path, frames: int = 6, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_clip(path, synthetic_frames(frames, 24, 32, seed=seed))


def stderr_lines(run: subprocess.CompletedProcess) -> list[str]:
    return run.stderr.strip().splitlines()


# --------------------------------------------------------------------------------------------------- the CLI
def test_broken_file_and_finished_output_do_not_stop_the_batch(tmp_path, opts):
    """The issue's test: a folder with a broken file, an input whose output exists and two good clips."""
    src = tmp_path / "in"
    clip(src / "good1.mp4", frames=5, seed=1)
    clip(src / "good2.mp4", frames=7, seed=2)
    clip(src / "finished.mp4", frames=3, seed=3)
    (src / "broken.mp4").write_text("this is a text file, not a video\n")
    out = tmp_path / "out"
    out.mkdir()
    finished = out / "finished.mp4"
    finished.write_bytes(b"an output written by an earlier run")
    os.utime(finished, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    before = (finished.read_bytes(), finished.stat().st_mtime_ns)

    # progress lines every 0 s: each input's lines carry its name, and end with its closing line
    run = run_wildvsr("upscale", src, out, *opts, env={"WILDVSR_PROGRESS_SECONDS": "0"})

    assert run.returncode == 1, run.stderr
    lines = stderr_lines(run)
    about_broken = [line for line in lines if "broken.mp4" in line]
    assert len(about_broken) == 1 and about_broken[0].startswith(f"FAILED {src / 'broken.mp4'}: "), run.stderr
    assert "not a video file" in about_broken[0]
    assert lines[-1] == "2 done, 1 skipped, 1 failed" and "Traceback" not in run.stderr
    assert any(line.startswith("upscaling good1.mp4: ") and "/5 frames" in line for line in lines), run.stderr
    assert any(line.startswith("upscaling good2.mp4: ") and "/7 frames" in line for line in lines), run.stderr
    for name, frames in (("good1.mp4", 5), ("good2.mp4", 7)):
        assert any(line.startswith(f"upscaling {name}: {frames} frames in ") and line.endswith(f" -> {out / name}")
                   for line in lines), run.stderr
    assert (finished.read_bytes(), finished.stat().st_mtime_ns) == before
    assert sorted(p.name for p in out.iterdir()) == ["finished.mp4", "good1.mp4", "good2.mp4"]  # no work folder
    for name, frames in (("good1.mp4", 5), ("good2.mp4", 7)):
        assert read_frames(out / name).shape == (frames, 96, 128, 3)


def test_interrupted_batch_resumes(tmp_path, opts):
    """kill -9 during the second input; the same command again skips the first, resumes the second from its work
    folder and gives exactly the frames of an uninterrupted batch."""
    inputs = [write_pngs(tmp_path / name, synthetic_frames(n, 32, 32, seed=i))
              for i, (name, n) in enumerate((("first", 4), ("second", 24), ("third", 4)))]
    run_opts = [*opts, "--chunk-size", "4", "--overlap", "2", "--quiet"]
    out = tmp_path / "out"
    second = out / "second"

    _, done = signal_after_first_chunk(["upscale", *inputs, out, *run_opts], second)
    assert done >= 1 and work_dir_for(second).is_dir() and not second.exists()
    manifest = json.loads((work_dir_for(second) / "manifest.json").read_text())
    assert len(manifest["chunks"]) < 6  # killed mid-input (24 frames / 4 per chunk)
    # the model was loaded once for the batch, yet the manifest names it as a single run would
    assert manifest["settings"]["model"] == "basicvsr" and manifest["settings"]["weights"]["path"].endswith(
        "basicvsr_tiny.safetensors")
    first_done = (out / "first").stat().st_mtime_ns
    assert len(list((out / "first").glob("*.png"))) == 4 and not (out / "third").exists()

    again = run_wildvsr("--verbose", "upscale", *inputs, out, *run_opts)
    assert again.returncode == 0, again.stderr
    assert f"skipped {inputs[0]}: {out / 'first'} exists" in again.stderr
    assert f"resuming: {len(manifest['chunks'])} finished chunk(s)" in again.stderr
    assert stderr_lines(again)[-1] == "2 done, 1 skipped, 0 failed"
    assert (out / "first").stat().st_mtime_ns == first_done
    assert sorted(p.name for p in out.iterdir()) == ["first", "second", "third"]

    ref = tmp_path / "ref"  # uninterrupted, in the same kind of process (CPU float results depend on the threads)
    assert run_wildvsr("upscale", *inputs, ref, *run_opts).returncode == 0
    for name, n in (("first", 4), ("second", 24), ("third", 4)):
        got = read_frames(out / name)
        assert got.shape == (n, 128, 128, 3)
        np.testing.assert_array_equal(got, read_frames(ref / name))


def test_glob_the_shell_did_not_expand(tmp_path, opts):
    """A quoted pattern (no shell here) is expanded by wildvsr; --ext picks the outputs' container."""
    for name in ("b.mp4", "a.mp4"):
        clip(tmp_path / "in" / name, frames=3)
    (tmp_path / "in" / "notes.txt").write_text("not matched")
    out = tmp_path / "out"
    run = run_wildvsr("upscale", tmp_path / "in" / "*.mp4", out, *opts, "--quiet", "--ext", "mkv")
    assert run.returncode == 0, run.stderr
    assert stderr_lines(run) == ["2 done, 0 skipped, 0 failed"]
    assert sorted(p.name for p in out.iterdir()) == ["a.mkv", "b.mkv"]
    with VideoReader(out / "a.mkv") as r:
        assert r.info.container.startswith("matroska") and r.info.num_frames in (None, 3)

    nothing = run_wildvsr("upscale", tmp_path / "in" / "*.mov", tmp_path / "out2", *opts)
    assert nothing.returncode == 2 and stderr_lines(nothing) == [f"error: {tmp_path / 'in' / '*.mov'} matches no file"]
    assert not (tmp_path / "out2").exists()


def test_name_collision_is_refused_before_any_work(tmp_path, opts):
    a, b = clip(tmp_path / "x" / "clip.mp4"), clip(tmp_path / "y" / "clip.mp4", seed=1)
    out = tmp_path / "out"
    run = run_wildvsr("upscale", a, b, out, *opts)
    assert run.returncode == 2, run.stderr
    assert stderr_lines(run) == [f"error: {a} and {b} would both be written to {out / 'clip.mp4'}; rename one or "
                                 "upscale them into different folders"]
    assert not out.exists()


def test_single_input_is_the_single_job(tmp_path, opts):
    """One file or frame folder: the job as before (no summary line, an existing folder is an existing output)."""
    src = clip(tmp_path / "in.mp4", frames=3)
    run = run_wildvsr("upscale", src, tmp_path / "out.mkv", *opts, "--quiet")
    assert run.returncode == 0 and run.stderr == "", run.stderr
    assert read_frames(tmp_path / "out.mkv").shape == (3, 96, 128, 3)

    frames = write_pngs(tmp_path / "frames", synthetic_frames(2, 16, 16))
    (tmp_path / "existing").mkdir()
    run = run_wildvsr("upscale", frames, tmp_path / "existing", *opts)
    assert run.returncode == 2 and stderr_lines(run) == [
        f"error: output {tmp_path / 'existing'} already exists; pass --overwrite to replace it"]

    run = run_wildvsr("upscale", src, tmp_path / "o.mp4", *opts, "--ext", "mkv")
    assert run.returncode == 2 and "--ext applies to many inputs" in run.stderr and len(stderr_lines(run)) == 1

    run = run_wildvsr("upscale", src)
    assert run.returncode == 2 and "Missing argument 'output'" in run.stderr


# ------------------------------------------------------------------------------------------------ the library
def test_expand_inputs(tmp_path):
    videos = tmp_path / "videos"
    for name in ("10.mp4", "2.mp4", "1.mkv", ".hidden.mp4", "readme.txt"):
        (videos / name).parent.mkdir(exist_ok=True)
        (videos / name).write_bytes(b"x")
    (videos / "sub").mkdir()
    (videos / "sub" / "deep.mp4").write_bytes(b"x")
    frames = write_pngs(tmp_path / "frames", synthetic_frames(2, 8, 8))
    (frames / "preview.mp4").write_bytes(b"x")  # a frame folder stays one input whatever else it holds
    missing = tmp_path / "missing.mp4"

    got = expand_inputs([videos, frames, videos / "2.mp4", str(videos / "*.mp4"), missing])
    assert got == [videos / "1.mkv", videos / "2.mp4", videos / "10.mp4", frames, missing]  # order kept, once each
    assert is_batch([videos]) and is_batch([str(videos / "*.mp4")]) and is_batch([frames, missing])
    assert not is_batch([frames]) and not is_batch([videos / "2.mp4"]) and not is_batch([missing])

    with pytest.raises(InputError, match=r"matches no file"):
        expand_inputs([str(tmp_path / "*.avi")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"holds no video files and no images"):
        expand_inputs([tmp_path / "empty"])


def test_output_names(tmp_path):
    out = tmp_path / "out"
    assert output_for(Path("a/clip.mp4"), out) == out / "clip.mp4"
    assert output_for(Path("a/clip.mp4"), out, "mkv") == out / "clip.mkv"
    assert output_for(Path("a/clip.mp4"), out, ".MKV") == out / "clip.mkv"
    assert output_for(Path("a/frames"), out, "mkv") == out / "frames"  # a frame folder gives a PNG folder
    assert output_for(Path("a/one.png"), out, "mkv") == out / "one.png"
    with pytest.raises(InputError, match=r"--ext png is not a video container"):
        output_for(Path("a/clip.mp4"), out, "png")
    with pytest.raises(InputError, match=r"would both be written to .*clip.mkv"):
        batch_outputs([Path("a/clip.mp4"), Path("b/clip.mov")], out, "mkv")
    src = clip(tmp_path / "in" / "clip.mp4")
    with pytest.raises(InputError, match=r"an input; choose another output folder"):
        batch_outputs([src], tmp_path / "in")


def test_model_loads_only_when_an_input_needs_work(tmp_path):
    """Weights that do not exist: nothing fails while every output is finished; the first input that needs work
    raises for the whole batch (not a per-input failure)."""
    src = clip(tmp_path / "in" / "a.mp4", frames=2)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.mp4").write_bytes(b"done")
    config = UpscaleConfig(model="basicvsr", weights=str(tmp_path / "nope.safetensors"), device="cpu")
    lines: list[str] = []
    result = upscale_many([src], out, config, log=lines.append)
    assert (result.skipped, result.done, result.failed, result.exit_code) == ([src], [], {}, 0)
    assert lines == [f"skipped {src}: {out / 'a.mp4'} exists (--overwrite replaces it)"]
    with pytest.raises(WeightsNotFoundError, match="nope.safetensors"):
        upscale_many([src], tmp_path / "out2", config, log=lines.append)


def test_out_dir_needs_its_parent(tmp_path, tiny_weights):
    config = UpscaleConfig(model="basicvsr", weights=str(tiny_weights), device="cpu")
    with pytest.raises(InputError, match=r"output folder .*nope does not exist"):
        upscale_many([clip(tmp_path / "a.mp4")], tmp_path / "nope" / "out", config)


def test_failures_are_counted_and_the_exit_code_capped(tmp_path, tiny_weights):
    """101 inputs that do not exist: each fails on its own in one line, the batch goes on, the exit code stops at
    100 (130 and 143 stay the interrupts')."""
    missing = [tmp_path / f"gone{i}.mp4" for i in range(101)]
    lines: list[str] = []
    config = UpscaleConfig(model="basicvsr", weights=str(tiny_weights), device="cpu")
    result = upscale_many(missing, tmp_path / "out", config, log=lines.append)
    assert len(result.failed) == 101 and result.exit_code == 100 and result.summary() == "0 done, 0 skipped, 101 failed"
    assert lines[0] == f"FAILED {missing[0]}: input {missing[0]} does not exist" and len(lines) == 101
    assert list((tmp_path / "out").iterdir()) == []
