"""``wildvsr upscale --model mgldvsr``: missing official files (exit 2, one line), and the clip-by-clip job with a
tiny random model on a small clip."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.media import synthetic_frames, write_clip

from wildvsr.cli import main
from wildvsr.errors import WeightsNotFoundError
from wildvsr.evaluate.methods import check_method_names, create_method
from wildvsr.video.reader import VideoReader

pytest.importorskip("diffusers")

from wildvsr.inference.mgldvsr_job import MGLDVSRJob, mgldvsr_frames_fn, upscale_mgldvsr  # noqa: E402
from wildvsr.models.mgldvsr import MGLDVSR  # noqa: E402
from wildvsr.models.mgldvsr.manifest import unet_checkpoint_manifest, vae_checkpoint_manifest  # noqa: E402
from wildvsr.models.mgldvsr.model import TINY_CONFIG  # noqa: E402
from wildvsr.models.mgldvsr.text import TextConfig  # noqa: E402


def _official_format_files(folder, text_layers: int = 1) -> None:
    g = torch.Generator().manual_seed(0)
    text = TextConfig(context_length=TINY_CONFIG.context_length, width=TINY_CONFIG.unet.context_dim, heads=1,
                      layers=text_layers, embed_dim=8)
    for name, manifest in (("unet.ckpt", unet_checkpoint_manifest(TINY_CONFIG, text)),
                           ("video_vae.ckpt", vae_checkpoint_manifest(TINY_CONFIG))):
        torch.save({"state_dict": {k: torch.randn(s, generator=g) * 0.05 for k, s in manifest.items()}},
                   folder / name)


def _run(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_without_weights_exit_2_one_line_naming_each_file(capsys, tmp_path, tiny_clip, monkeypatch):
    monkeypatch.setenv("WILDVSR_CACHE", str(tmp_path / "cache"))
    code, out, err = _run(capsys, "upscale", tiny_clip, tmp_path / "out.mp4", "--model", "mgldvsr", "-q")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "U-Net (LDM) checkpoint (--weights) was not given" in err
    assert "video VAE checkpoint (--vae-weights) was not given" in err
    assert "https://github.com/IanYeung/MGLD-VSR" in err
    assert not (tmp_path / "out.mp4").exists()


def test_missing_vae_file_is_named(capsys, tmp_path, tiny_clip):
    unet = tmp_path / "mgldvsr_unet.ckpt"
    unet.write_bytes(b"")
    code, _, err = _run(capsys, "upscale", tiny_clip, tmp_path / "out.mp4", "--model", "mgldvsr", "--weights", unet,
                        "--vae-weights", tmp_path / "vae.ckpt", "-q")
    assert code == 2 and err.count("\n") == 1
    assert f"video VAE checkpoint (--vae-weights) {tmp_path / 'vae.ckpt'} does not exist" in err
    assert "--weights) " not in err  # the U-Net file exists: not named as missing


def test_clip_by_clip_job_writes_every_frame_x4(tmp_path):
    src = write_clip(tmp_path / "in.mp4", synthetic_frames(4, 12, 16))  # 4 frames: a clip of 3 and a short one
    torch.manual_seed(0)
    model = MGLDVSR(size="tiny").eval()
    counts = []
    upscale_mgldvsr(src, tmp_path / "out", MGLDVSRJob(seed=1, device="cpu"), progress=counts.append, model=model)
    with VideoReader(tmp_path / "out") as reader:
        frames = [f.image for f in reader]
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3) and counts == [3, 1]


def test_job_from_official_format_files(tmp_path):
    """The whole path of `--weights UNET --vae-weights VAE` (strict load, SPyNet, text tower), at tiny size."""
    _official_format_files(tmp_path)
    src = write_clip(tmp_path / "in.mp4", synthetic_frames(3, 12, 16))
    job = MGLDVSRJob(weights=str(tmp_path), device="cpu", steps=2, size="tiny")  # one folder with both files
    upscale_mgldvsr(src, tmp_path / "out.mp4", job)
    with VideoReader(tmp_path / "out.mp4") as reader:
        assert reader.count_frames() == 3 and (reader.info.width, reader.info.height) == (64, 48)


def test_benchmark_method_from_the_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDVSR_CACHE", str(tmp_path))
    check_method_names(["mgldvsr", "bicubic"])
    with pytest.raises(WeightsNotFoundError, match=f"nor found in {tmp_path / 'mgldvsr'}"):
        create_method("mgldvsr")
    (tmp_path / "mgldvsr").mkdir()
    _official_format_files(tmp_path / "mgldvsr")
    run = mgldvsr_frames_fn(MGLDVSRJob(device="cpu", steps=2, size="tiny"), torch.device("cpu"))
    frames = np.random.default_rng(0).integers(0, 255, (4, 8, 12, 3), np.uint8)
    out = run(frames)
    assert out.shape == (4, 32, 48, 3) and out.dtype == np.uint8


def test_options_of_the_other_kind_are_refused(capsys, tmp_path, tiny_clip):
    code, _, err = _run(capsys, "upscale", tiny_clip, tmp_path / "a.mp4", "--model", "rrdbnet", "--steps", "20", "-q")
    assert code == 2 and "--steps: options of --model mgldvsr only" in err
    code, _, err = _run(capsys, "upscale", tiny_clip, tmp_path / "b.mp4", "--model", "mgldvsr", "--scale", "2",
                        "--tile", "64", "-q")
    assert code == 2 and "--model mgldvsr does not take --scale, --tile (" in err and err.count("\n") == 1
    code, _, err = _run(capsys, "upscale", tiny_clip, tmp_path / "c.mp4", "--model", "mgldvsr", "--resume", "--frames",
                        "0:2", "--overlap", "1", "--pix-fmt", "yuv420p", "-q", "--weights", tmp_path / "none.ckpt")
    assert code == 2 and "does not take" not in err and "--weights) " in err  # taken; only the files are missing
