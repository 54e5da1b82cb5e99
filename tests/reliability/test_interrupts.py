"""kill -9, SIGTERM and SIGINT during ``wildvsr upscale`` (real subprocesses, real signals), then ``--resume``: the
run resumes bit-identically and nothing is left behind but the output (issue 13.2)."""

from __future__ import annotations

import signal

import numpy as np
import pytest
from helpers.cli import run_wildvsr, snapshot
from helpers.interrupts import signal_after_first_chunk
from helpers.media import read_frames, synthetic_frames
from helpers.models import save_tiny_weights

from wildvsr.inference.resume import work_dir_for
from wildvsr.video import VideoWriter

FRAMES = 16
OPTS = ["--model", "tiny", "--device", "cpu", "--chunk-size", "2", "--overlap", "1", "--quiet"]
TINY_ENV = {"TINY_DELAY": "0.2", "OMP_NUM_THREADS": "1"}  # 8 chunks of >= 0.2 s: time to send a signal after one


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("interrupts")
    weights = save_tiny_weights(root / "tiny.safetensors")
    src = root / "frames"
    with VideoWriter(src) as w:
        for img in synthetic_frames(FRAMES, 32, 32, seed=3):
            w.write(img)
    opts = ["--weights", str(weights), *OPTS]
    ref = root / "ref.mkv"
    run = run_wildvsr("upscale", src, ref, *opts, "--codec", "ffv1", tiny=True, env={"OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr
    return {"src": src, "opts": opts, "ref": read_frames(ref)}


@pytest.mark.parametrize("sig,code,output", [
    (signal.SIGKILL, -signal.SIGKILL, "out"),  # a PNG folder: the partial is a folder of frames
    (signal.SIGKILL, -signal.SIGKILL, "out.mkv"),
    (signal.SIGTERM, 143, "out.mkv"),
    (signal.SIGINT, 130, "out"),
])
def test_interrupt_then_resume_leaves_only_the_output(tmp_path, setup, sig, code, output):
    src_before = snapshot(setup["src"])
    dst = tmp_path / output
    opts = setup["opts"] + (["--codec", "ffv1"] if dst.suffix else [])
    run, _ = signal_after_first_chunk(["upscale", setup["src"], dst, *opts], dst, sig=sig, tiny=True, env=TINY_ENV,
                                      timeout=120)
    assert run.returncode == code, run.stderr
    if sig != signal.SIGKILL:  # handled: one line says so, the temporary output is gone, the work folder kept
        assert run.stderr.strip().splitlines()[-1] == ("terminated" if sig == signal.SIGTERM else "interrupted")
        assert "Traceback" not in run.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == [work_dir_for(dst).name], run.stderr
    assert not dst.exists() and work_dir_for(dst).is_dir()

    resumed = run_wildvsr("upscale", setup["src"], dst, *opts, "--resume", tiny=True, env={"OMP_NUM_THREADS": "1"})
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [dst.name]  # no stale partial, no work folder
    np.testing.assert_array_equal(read_frames(dst), setup["ref"])
    assert snapshot(setup["src"]) == src_before
