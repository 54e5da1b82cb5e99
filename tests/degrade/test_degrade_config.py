"""Presets load, carry SPEC's numbers, round-trip, and reject unknown keys by name."""

import math

import pytest
import yaml

from wildvsr.degrade import PRESETS, DegradationConfig, load_preset, preset_path
from wildvsr.errors import ConfigError


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_and_roundtrip(name):
    cfg = load_preset(name)
    assert cfg.name == name and cfg.scale == 4
    assert DegradationConfig.from_dict(cfg.to_dict()) == cfg
    assert load_preset(preset_path(name)) == cfg  # by path too


def test_realbasicvsr_numbers_match_spec():
    c = load_preset("realbasicvsr")
    s1, s2 = c.stages
    assert c.temporal == "walk"
    assert s1.blur.kernel_prob == (0.405, 0.225, 0.108, 0.027, 0.108, 0.027, 0.1)
    assert s1.blur.sigma_x == (0.2, 3.0) and s2.blur.sigma_x == (0.2, 1.5) and s2.blur.prob == 0.8
    assert (s1.blur.sigma_x_step, s1.blur.rotation_step, s1.blur.omega_step) == (0.02, 0.31416, 0.0628)
    assert s1.resize.mode_prob == (0.2, 0.7, 0.1) and s1.resize.scale == (0.15, 1.5) and s1.resize.scale_step == 0.015
    assert s2.resize.mode_prob == (0.3, 0.4, 0.3) and s2.resize.scale == (0.3, 1.2) and s2.resize.scale_step == 0.03
    assert s1.noise.gaussian_sigma == (1, 30) and s2.noise.gaussian_sigma == (1, 25)
    assert s1.noise.poisson_scale == (0.05, 3) and s2.noise.poisson_scale == (0.05, 2.5)
    assert s1.noise.gaussian_sigma_step == 0.1 and s1.noise.poisson_scale_step == 0.005 and s1.noise.gray_prob == 0.4
    assert s1.jpeg.quality == (30, 95) and s1.jpeg.quality_step == 3
    assert s1.codec.codecs == ("libx264", "h264", "mpeg4") and s1.codec.bitrate == (1e4, 1e5) and s2.codec is None
    f = c.final
    assert f.resize_first_prob == 0.5 and f.sinc.prob == 0.8 and f.codec is not None and f.jpeg is None
    assert math.isclose(f.sinc.omega[0], math.pi / 3, abs_tol=1e-4) and f.sinc.omega_step == 0.0628


def test_vcisr_and_realesrgan_numbers_match_spec():
    v = load_preset("vcisr")
    k = v.final.codec
    assert k.codecs == ("mpeg2video", "libxvid", "libx264", "libx265") and k.codec_prob == (0.2, 0.2, 0.4, 0.2)
    assert k.crf == (20, 32) and k.crf_offset == (0, 0, 0, 5) and k.bitrate_kbps == (3800, 5800)
    assert k.presets == ("slow", "medium", "fast", "faster", "superfast")
    assert k.preset_prob == (0.1, 0.5, 0.25, 0.12, 0.03) and k.fps == (16, 30) and k.mpeg2_fps == 25
    assert k.ratio == (0.8, 1.35) and k.ratio_prob == (0.2, 0.4, 0.4)
    assert v.final.sinc is None and v.alt_final_prob == 0.05 and v.stages[1].jpeg is None
    r = load_preset("realesrgan")
    assert r.temporal == "frame" and r.stages[1].resize.relative_to == "target" and r.final.jpeg.quality == (30, 95)
    assert r.stages[0].noise.clip and r.final.sinc.prob == 0.8


def test_unknown_keys_and_bad_values_name_the_key(tmp_path):
    data = load_preset("realbasicvsr").to_dict()
    data["stages"][1]["blur"]["sigma_z"] = [1, 2]
    p = tmp_path / "mine.yaml"
    p.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"stages\[1\]|sigma_z"):
        load_preset(p)
    with pytest.raises(ConfigError, match="'bogus'"):
        DegradationConfig.from_dict({"bogus": 1})
    with pytest.raises(ConfigError, match=r"final.resize_first_prob"):
        DegradationConfig.from_dict({"final": {"resize_first_prob": "half"}})
    with pytest.raises(ConfigError, match="temporal"):
        DegradationConfig.from_dict({"temporal": "sometimes"})
    with pytest.raises(ConfigError, match="unknown degradation preset"):
        load_preset("realbasicvsr2")


def test_edited_copy_of_a_preset_is_used(tmp_path):
    data = load_preset("bicubic").to_dict()
    data["scale"] = 2
    p = tmp_path / "bi2.yaml"
    p.write_text(yaml.safe_dump(data))
    assert load_preset(p).scale == 2
