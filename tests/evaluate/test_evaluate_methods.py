"""Benchmark methods: every registered upscaling model (video and per-frame), a per-frame model with a temporal
stabilizer (``name+stabilizer``), weights files of any upscaling architecture, and names refused before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from helpers.media import synthetic_frames
from helpers.models import save_tiny_model

from wildvsr.errors import ConfigError, UnknownModelError
from wildvsr.evaluate import BenchmarkConfig, benchmark
from wildvsr.evaluate.methods import check_method_names, create_method, split_method_name
from wildvsr.inference import UpscaleConfig, build_upscaler
from wildvsr.models import create_model, guess_architecture, is_per_frame_model, upscale_models
from wildvsr.models.registry import get_model_entry


def _clip(frames: int = 5, size: int = 24) -> np.ndarray:
    return synthetic_frames(frames, size, size, seed=4)


def test_upscale_models_are_the_registered_video_and_per_frame_models():
    assert upscale_models() == ["basicvsr", "rcvsr", "realbasicvsr", "rrdbnet", "srvgg"]
    assert is_per_frame_model("rrdbnet.x4plus") and is_per_frame_model("srvgg")
    assert not is_per_frame_model("basicvsr") and not is_per_frame_model("realbasicvsr.official")


def test_split_method_name():
    assert split_method_name("rrdbnet.x4plus+fusion") == ("rrdbnet.x4plus", "fusion")
    assert split_method_name("basicvsr") == ("basicvsr", None)


@pytest.mark.parametrize("stabilizer", [None, "fusion"])
def test_method_output_is_what_upscale_gives_with_the_same_temporal_setting(tmp_path: Path, stabilizer):
    weights = save_tiny_model(tmp_path / "tiny_srvgg.safetensors", "srvgg", num_feat=8, num_conv=2)
    name = str(weights) + (f"+{stabilizer}" if stabilizer else "")
    method = create_method(name)
    clip = _clip()
    reference = build_upscaler(UpscaleConfig(model="srvgg", weights=str(weights), device="cpu",
                                             temporal=stabilizer or "off")).upscale_frames(clip)
    out = method(clip)
    assert out.shape == (5, 96, 96, 3) and np.array_equal(out, reference)
    # Plain per-frame methods may run the scored frames alone; a stabilized one needs the whole clip.
    assert method.temporal is (stabilizer is not None)
    assert method.name == "tiny_srvgg" + (f"+{stabilizer}" if stabilizer else "")


def test_stabilizer_changes_the_output_of_a_flickering_clip(tmp_path: Path):
    weights = save_tiny_model(tmp_path / "tiny_srvgg.safetensors", "srvgg", num_feat=8, num_conv=2)
    base = _clip(4, 32).astype(np.int16)
    flicker = np.clip(base + np.array([0, 12, 0, 12])[:, None, None, None], 0, 255).astype(np.uint8)
    plain, fused = create_method(str(weights))(flicker), create_method(f"{weights}+fusion-strong")(flicker)
    assert np.array_equal(plain[0], fused[0])  # nothing to fuse with on the first frame
    assert not np.array_equal(plain[1:], fused[1:])


def test_benchmark_runs_per_frame_models_with_and_without_a_stabilizer(tmp_path: Path):
    weights = save_tiny_model(tmp_path / "tiny_srvgg.safetensors", "srvgg", num_feat=8, num_conv=2)
    data = tmp_path / "seq"
    data.mkdir()
    for i, frame in enumerate(_clip()):
        Image.fromarray(frame).save(data / f"{i:04d}.png")
    names = ["bicubic", str(weights), f"{weights}+fusion"]
    res = benchmark(data, BenchmarkConfig(",".join(names), "frames", metrics="warping_error"),
                    tmp_path / "out").to_dict()
    assert list(res["methods"]) == ["bicubic", "tiny_srvgg", "tiny_srvgg+fusion"]
    for method in res["methods"].values():
        assert method["frames_run"] == 5
        assert np.isfinite(method["mean"]["warping_error"])
    assert "+ fusion stabilizer" in res["methods"]["tiny_srvgg+fusion"]["description"]


def test_names_refused_before_any_work():
    with pytest.raises(UnknownModelError, match="unknown temporal stabilizer 'wobble'.*fusion"):
        check_method_names(["rrdbnet.x4plus+wobble"])
    with pytest.raises(UnknownModelError, match="unknown method 'spynet'.*rrdbnet, srvgg"):
        check_method_names(["spynet"])
    with pytest.raises(UnknownModelError, match="unknown method 'bicubic\\+fusion'"):
        check_method_names(["bicubic+fusion"])
    with pytest.raises(ConfigError, match="per-frame models only"):
        create_method("basicvsr+fusion")


@pytest.mark.parametrize("name", ["rrdbnet", "srvgg", "basicvsr", "realbasicvsr"])
def test_architecture_guessed_from_foreign_keys(name: str):
    with torch.random.fork_rng(devices=[]):  # random init: only the key names matter
        model = create_model(name, **dict(get_model_entry(name).tiny_kwargs))
    assert guess_architecture(model.state_dict().keys()) == name
