"""kill -9, SIGTERM and SIGINT during ``wildvsr upscale`` (real subprocesses, real signals), then ``--resume``: the
run resumes bit-identically and nothing is left behind but the output (issue 13.2)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from reliability_testutils import ENV, save_tiny_weights, snapshot, tiny_cmd, tiny_wildvsr

from wildvsr.inference.resume import work_dir_for
from wildvsr.video import VideoReader, VideoWriter
from wildvsr_testing import synthetic_frames

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
    run = tiny_wildvsr("upscale", src, ref, *opts, "--codec", "ffv1", env={"OMP_NUM_THREADS": "1"})
    assert run.returncode == 0, run.stderr
    return {"src": src, "opts": opts, "ref": _frames(ref)}


def _frames(path: Path) -> np.ndarray:
    with VideoReader(path) as r:
        return np.stack([f.image for f in r])


def _interrupt(src: Path, dst: Path, opts: list[str], sig: int) -> subprocess.CompletedProcess:
    """Start an upscale, send ``sig`` once at least one chunk is recorded, return the finished process."""
    manifest = work_dir_for(dst) / "manifest.json"
    # SIGINT at its default disposition in the child: wildvsr keeps an inherited "ignore" (nohup, background jobs),
    # and a test suite started in the background by a non-interactive shell passes SIGINT ignored to its children
    proc = subprocess.Popen(tiny_cmd("upscale", src, dst, *opts), env={**ENV, **TINY_ENV}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(manifest.read_text())["chunks"]:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.01)
    assert proc.poll() is None, f"the run ended before the signal: {proc.communicate()}"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


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
    run = _interrupt(setup["src"], dst, opts, sig)
    assert run.returncode == code, run.stderr
    if sig != signal.SIGKILL:  # handled: one line says so, the temporary output is gone, the work folder kept
        assert run.stderr.strip().splitlines()[-1] == ("terminated" if sig == signal.SIGTERM else "interrupted")
        assert "Traceback" not in run.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == [work_dir_for(dst).name], run.stderr
    assert not dst.exists() and work_dir_for(dst).is_dir()

    resumed = tiny_wildvsr("upscale", setup["src"], dst, *opts, "--resume", env={"OMP_NUM_THREADS": "1"})
    assert resumed.returncode == 0, resumed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [dst.name]  # no stale partial, no work folder
    np.testing.assert_array_equal(_frames(dst), setup["ref"])
    assert snapshot(setup["src"]) == src_before
