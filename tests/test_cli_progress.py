"""Progress of every long CLI job, through the real console script with stderr captured (not a terminal, as in
``wildvsr ... > log 2>&1``): periodic lines and one closing line on stderr, nothing of it on stdout, none of it with
``--quiet``. The line formats themselves are checked against a fixed clock."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from helpers.cli import run_wildvsr
from helpers.media import synthetic_frames, write_clip
from helpers.models import save_tiny_model

from wildvsr.cli.progress import LogProgress

#: Progress lines at every step, so even these tiny jobs show their periodic lines before the closing one.
EVERY_STEP = {"WILDVSR_PROGRESS_SECONDS": "0", "COLUMNS": "120"}


def closing_line(label: str, count: int, unit: str, output: Path) -> re.Pattern:
    """``LABEL: N UNIT in H:MM:SS (X.XX fps) -> OUTPUT`` (``UNIT/s`` for units other than frames)."""
    speed = "fps" if unit == "frames" else f"{unit}/s"
    counted = unit[:-1] if count == 1 else unit
    return re.compile(rf"{re.escape(label)}: {count} {counted} in \d+:\d\d:\d\d \(\d+\.\d\d {re.escape(speed)}\) -> "
                      rf"{re.escape(str(output))}")


def flat_noisy_clip(path: Path, frames: int) -> Path:
    """Flat grey with mild noise: windows a noise bank keeps."""
    rng = np.random.default_rng(0)
    clip = np.clip(128 + rng.normal(0, 2, (frames, 64, 64, 3)), 0, 255).astype(np.uint8)
    return write_clip(path, clip, codec="ffv1", pix_fmt="bgr0")


def sequences(folder: Path, n: int, seed: int) -> Path:
    """A dataset folder of ``n`` tiny clips (seq0.mp4, ...)."""
    folder.mkdir()
    for i in range(n):
        write_clip(folder / f"seq{i}.mp4", synthetic_frames(4, 32, 32, seed=seed + i))
    return folder


def job(name: str, tmp_path: Path) -> tuple[list, str, int, str, Path]:
    """A tiny run of job ``name``: (arguments, label, count, unit, what it writes)."""
    clip = write_clip(tmp_path / "in.mp4", synthetic_frames(6, 32, 32))
    if name == "upscale":
        weights = save_tiny_model(tmp_path / "tiny.safetensors")
        out = tmp_path / "up.mp4"
        return (["upscale", clip, out, "--model", "basicvsr", "--weights", weights, "--device", "cpu",
                 "--chunk-size", "2", "--overlap", "1"], "upscaling", 6, "frames", out)
    if name == "degrade":
        out = tmp_path / "lq.mp4"
        return ["degrade", clip, out, "--preset", "bicubic", "--scale", "2", "--chunk-size", "2"], "degrading", 6, \
            "frames", out
    if name == "convert":
        out = tmp_path / "c.mkv"
        return ["convert", clip, out, "--codec", "ffv1"], "converting", 6, "frames", out
    if name == "extract-noise":
        out = tmp_path / "bank"
        return ["extract-noise", flat_noisy_clip(tmp_path / "noisy.mkv", 6), "--out", out, "--length", "3"], \
            "extracting noise", 6, "frames", out
    if name == "evaluate":
        out = tmp_path / "ev"
        return ["evaluate", sequences(tmp_path / "results", 2, 0), "--reference", sequences(tmp_path / "gt", 2, 5),
                "--metrics", "psnr", "--out", out], "evaluating", 2, "sequences", out
    out = tmp_path / "bench"  # benchmark: one run is one method on one sequence
    return ["benchmark", "--dataset", sequences(tmp_path / "data", 2, 0), "--methods", "bicubic", "--metrics",
            "psnr", "--protocol", "synthetic", "--device", "cpu", "--out", out], "benchmarking", 2, "runs", out


@pytest.mark.parametrize("name", ["upscale", "degrade", "convert", "extract-noise", "evaluate", "benchmark"])
def test_a_long_job_logs_progress_and_a_closing_line_on_stderr_only(tmp_path, name):
    args, label, count, unit, out = job(name, tmp_path)
    run = run_wildvsr(*args, env=EVERY_STEP)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    assert closing_line(label, count, unit, out).fullmatch(lines[-1]), lines
    assert lines[:-1] and all(line.startswith(f"{label}: ") for line in lines[:-1]), lines  # periodic lines
    if unit != "frames":  # evaluate and benchmark report their totals
        assert lines[0].startswith(f"{label}: 1/{count} {unit} (50%), "), lines
    assert label not in run.stdout and out.exists()

    quiet = run_wildvsr(*args, "--quiet", "--overwrite", env=EVERY_STEP)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    # stdout keeps a command's result and nothing else (benchmark's timings differ between runs: compare the rest)
    assert [line.split(",")[0] for line in quiet.stdout.splitlines()] == \
        [line.split(",")[0] for line in run.stdout.splitlines()]


def test_many_inputs_end_each_with_its_closing_line(tmp_path):
    weights = save_tiny_model(tmp_path / "tiny.safetensors")
    clips = sequences(tmp_path / "in", 2, 0)
    out = tmp_path / "out"
    run = run_wildvsr("upscale", clips, out, "--model", "basicvsr", "--weights", weights, "--device", "cpu",
                      env=EVERY_STEP)
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    closing = [line for line in lines if " -> " in line]
    assert [bool(closing_line(f"upscaling seq{i}.mp4", 4, "frames", out / f"seq{i}.mp4").fullmatch(line))
            for i, line in enumerate(closing)] == [True, True], lines
    assert lines[-1] == "2 done, 0 skipped, 0 failed" and run.stdout == ""


def test_a_failed_job_prints_its_error_and_no_closing_line(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    run = run_wildvsr("convert", broken, tmp_path / "o.mkv", env=EVERY_STEP)
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1 and run.stderr.startswith("error: ")


def test_line_formats_with_a_fixed_clock(capsys):
    now = [0.0]
    log = LogProgress("evaluating", 4, 10.0, clock=lambda: now[0], unit="sequences")
    now[0] = 10.0
    log(1)
    now[0] = 112.0
    log(3)
    assert capsys.readouterr().err.splitlines() == [
        "evaluating: 1/4 sequences (25%), 0.10 sequences/s, ETA 0:00:30",
        "evaluating: 4/4 sequences (100%), 0.04 sequences/s, ETA 0:00:00"]
    assert log.closing_line(Path("ev")) == "evaluating: 4 sequences in 0:01:52 (0.04 sequences/s) -> ev"
    frames = LogProgress("upscaling", None, 10.0, clock=lambda: now[0])
    frames(1)
    now[0] += 0.5
    assert frames.closing_line() == "upscaling: 1 frame in 0:00:00 (2.00 fps)"
