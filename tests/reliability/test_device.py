"""Issue 13.3: one device resolver for every job, the same one-line refusal (exit 2) everywhere."""

from __future__ import annotations

import pytest
import torch
from helpers.cli import error_lines, run_wildvsr
from helpers.media import synthetic_frames, write_clip

from wildvsr.errors import ConfigError, DeviceError
from wildvsr.inference.device import resolve_device as inference_resolve_device
from wildvsr.utils.device import check_device_name, resolve_device

NO_CUDA = not torch.cuda.is_available()


def test_names():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert inference_resolve_device is resolve_device  # the old import path still works
    assert check_device_name("CUDA:1") == "cuda:1"
    for bad in ("gpu", "mps", "cuda:x", "cuda:-1", "", "cpu:0"):
        with pytest.raises(ConfigError, match="auto, cpu, cuda or cuda:N"):
            resolve_device(bad)


@pytest.mark.skipif(not NO_CUDA, reason="checks the refusal on a machine without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_cuda_refused_without_cuda(name):
    with pytest.raises(DeviceError, match="CUDA is not available here"):
        resolve_device(name)


@pytest.mark.skipif(not NO_CUDA, reason="checks the refusal on a machine without CUDA")
def test_every_job_refuses_cuda_with_the_same_line(tmp_path):
    src = write_clip(tmp_path / "in.mp4", synthetic_frames(2, 32, 32))
    (tmp_path / "cfg.yaml").write_text("train:\n  device: cuda\n")
    runs = {
        "degrade": run_wildvsr("degrade", src, tmp_path / "d.mp4", "--device", "cuda", "--preset", "bicubic"),
        "upscale": run_wildvsr("upscale", src, tmp_path / "u.mp4", "--device", "cuda"),
        "evaluate": run_wildvsr("evaluate", src, "--metrics", "warping_error", "--device", "cuda", "--out",
                            tmp_path / "ev"),
    }
    expected = "error: device cuda was requested but CUDA is not available here; use cpu (or auto)"
    for job, run in runs.items():
        assert run.returncode == 2, (job, run.stderr)
        assert error_lines(run.stderr) == [expected], (job, run.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cfg.yaml", "in.mp4"]


@pytest.mark.skipif(not NO_CUDA, reason="checks the refusal on a machine without CUDA")
def test_train_and_library_entry_points_use_the_resolver():
    from wildvsr.train.distributed import init_distributed

    with pytest.raises(DeviceError, match="CUDA is not available here"):
        init_distributed("cuda")
    from wildvsr.metrics.warping import warping_error
    import numpy as np

    frames = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(DeviceError, match="CUDA is not available here"):
        warping_error(frames, device="cuda")
