"""The bad-input corpus of issue 13 as tests: every case runs the real CLI in a subprocess on inputs generated here
(PyAV/NumPy, a few frames of 32x32) and must give exit code 2, exactly one ``error:`` line on stderr, no output and no
hidden partial (the case's folder holds what it held before, byte for byte: the input is untouched).

The cases run concurrently (4 subprocesses at a time) in one module fixture; each test checks one case's result."""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.bad_inputs import BAD_INPUTS
from helpers.cli import cli_env, error_lines, snapshot, wildvsr_cmd
from helpers.media import synthetic_frames, write_clip
from helpers.models import save_tiny_weights

from wildvsr.video import VideoWriter

NO_CUDA = not torch.cuda.is_available()


def _clip(folder: Path, frames: int = 3, name: str = "in.mp4", h: int = 32, w: int = 32) -> Path:
    return write_clip(folder / name, synthetic_frames(frames, h, w))


def _mixed_sizes(folder: Path) -> Path:
    frames = folder / "frames"
    with VideoWriter(frames) as w:
        w.write(np.zeros((32, 32, 3), np.uint8))
    with VideoWriter(frames / "00000001.png", overwrite=True) as w:  # a second frame of another size
        w.write(np.zeros((24, 40, 3), np.uint8))
    return frames


def _not_images(folder: Path) -> Path:
    (folder / "docs").mkdir()
    (folder / "docs" / "a.txt").write_text("hello")
    return folder / "docs"


def _random_bytes(folder: Path) -> Path:
    path = folder / "random.mkv"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def _empty_file(folder: Path) -> Path:
    path = folder / "empty.mp4"
    path.write_bytes(b"")
    return path


def _evil_weights(folder: Path) -> Path:
    path = folder / "evil.pth"
    path.write_bytes(b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00true\x85R.")  # pickle of os.system("true")
    return path


# Each case: (job, builder(folder) -> args, words the error line must contain). The builder makes the inputs in the
# case's own folder and returns the command line; outputs go to that folder too.
def _bad_input_cases() -> dict:
    cases = {}
    for name, (make, match) in BAD_INPUTS.items():  # every damaged input through upscale, some through the others
        cases[f"upscale {name}"] = ("upscale", lambda f, m=make: [m(f), f / "out.mp4"], match)
        if name in ("text renamed .mp4", "zero frames", "huge y4m header"):
            cases[f"degrade {name}"] = ("degrade", lambda f, m=make: [m(f), f / "lq.mp4"], match)
        if name in ("truncated mp4 (no moov)", "huge png header"):
            cases[f"evaluate {name}"] = ("evaluate", lambda f, m=make: [m(f), "--metrics", "niqe", "--out",
                                                                        f / "ev"], match)
    return cases


CASES = {
    **_bad_input_cases(),
    "info random bytes": ("info", lambda f: [_random_bytes(f)], "cannot read"),
    "info empty file": ("info", lambda f: [_empty_file(f)], "empty.mp4"),
    "info folder of text files": ("info", lambda f: [_not_images(f)], "has no images"),
    "upscale mixed frame sizes": ("upscale", lambda f: [_mixed_sizes(f), f / "out"], "one size"),
    "upscale output is the input": ("upscale", lambda f: [_clip(f), f / "in.mp4", "--overwrite"], "is the input"),
    "upscale output is a symlink to the input": (
        "upscale", lambda f: [_clip(f), _link(f, "link.mp4", os.symlink), "--overwrite"], "is the input"),
    "upscale output is a hard link to the input": (
        "upscale", lambda f: [_clip(f), _link(f, "hard.mp4", os.link), "--overwrite"], "is the input"),
    "upscale output exists": ("upscale", lambda f: [_clip(f), _clip(f, name="out.mp4")], "already exists"),
    "upscale output folder missing": ("upscale", lambda f: [_clip(f), f / "nope" / "out.mp4"], "does not exist"),
    "upscale output on a read-only file system": ("upscale", lambda f: [_clip(f), "/proc/wildvsr_out.mp4"], "/proc"),
    "upscale unknown extension": ("upscale", lambda f: [_clip(f), f / "out.mp5"], ".mp5"),
    "upscale unknown preset": ("upscale", lambda f: [_clip(f), f / "o.mp4", "--preset", "ultraslowest"], "ultrafast"),
    "upscale crf out of range": ("upscale", lambda f: [_clip(f), f / "o.mp4", "--crf", "99"], "0-51"),
    "upscale unknown codec": ("upscale", lambda f: [_clip(f), f / "o.mp4", "--codec", "h266"], "h266"),
    "upscale bad device name": ("upscale", lambda f: [_clip(f), f / "o.mp4", "--device", "gpu"], "cuda:N"),
    "upscale malicious weights": ("upscale", lambda f: [_clip(f), f / "o.mp4", "--model", "basicvsr", "--weights",
                                                        _evil_weights(f)], "refused for safety"),
    "upscale missing weights": ("upscale", lambda f: [_clip(f), f / "o.mp4", "--weights", f / "nope.pth"],
                                "nope.pth"),
    "upscale 60000x60000 png": ("upscale", lambda f: [BAD_INPUTS["huge png header"][0](f), f / "o.png"],
                                "too large"),
    "degrade unknown preset": ("degrade", lambda f: [_clip(f), f / "lq.mp4", "--preset", "nosuch"], "nosuch"),
    "degrade too small for x1/4": ("degrade", lambda f: [_clip(f, h=4, w=4), f / "lq.mp4"], "too small"),
    "degrade unknown extension": ("degrade", lambda f: [_clip(f), f / "lq.xyz", "--preset", "bicubic"], ".xyz"),
    "degrade bad device name": ("degrade", lambda f: [_clip(f), f / "lq.mp4", "--device", "mps"], "cuda:N"),
    "evaluate unknown metric": ("evaluate", lambda f: [_clip(f), "--metrics", "nosuch", "--out", f / "ev"], "nosuch"),
    "evaluate psnr without reference": ("evaluate", lambda f: [_clip(f), "--metrics", "psnr", "--out", f / "ev"],
                                        "--reference"),
    "evaluate reference longer": ("evaluate", lambda f: [_clip(f), "--reference", _clip(f, 6, "ref.mp4"),
                                                         "--metrics", "psnr", "--out", f / "ev"], "6"),
    "evaluate one frame warping error": ("evaluate", lambda f: [_clip(f, 1), "--metrics", "warping_error", "--out",
                                                                f / "ev"], "two frames"),
}
if NO_CUDA:
    CASES["degrade cuda without CUDA"] = ("degrade", lambda f: [_clip(f), f / "lq.mp4", "--device", "cuda"],
                                          "CUDA is not available")


def _link(folder: Path, name: str, make) -> Path:
    make(folder / "in.mp4", folder / name)
    return folder / name


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("corpus")
    weights = save_tiny_weights(root / "tiny.safetensors")
    jobs = {}
    for i, (name, (job, build, _)) in enumerate(CASES.items()):
        folder = root / f"case{i:02d}"
        folder.mkdir()
        args = [str(a) for a in build(folder)]
        if job == "upscale" and "--model" not in args:
            args += ["--model", "tiny"] + ([] if "--weights" in args else ["--weights", str(weights)])
        cmd = wildvsr_cmd(job, *args, tiny=job == "upscale")
        jobs[name] = (folder, cmd, snapshot(folder))

    def run(item):
        name, (folder, cmd, before) = item
        proc = subprocess.run(cmd, capture_output=True, text=True, env=cli_env({"OMP_NUM_THREADS": "1"}, helpers=True),
                              timeout=300, cwd=folder)
        return name, (proc, before, snapshot(folder))

    with ThreadPoolExecutor(4) as pool:
        out = dict(pool.map(run, jobs.items()))
    shutil.rmtree(root, ignore_errors=True)
    return out


def test_corpus_is_large_enough():
    jobs = {job for job, _, _ in CASES.values()}
    assert len(CASES) >= 25 and jobs == {"upscale", "degrade", "info", "evaluate"}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(results, name):
    proc, before, after = results[name]
    lines = error_lines(proc.stderr)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert CASES[name][2] in lines[0], proc.stderr
    assert after == before  # no output, no hidden partial or work folder, the input byte for byte as it was
