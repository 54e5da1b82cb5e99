"""Recipes load; bad keys and values raise ConfigError naming the key; --set overrides are type-checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wildvsr.errors import ConfigError
from wildvsr.train.config import TrainConfig, apply_overrides, config_from_dict, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["realbasicvsr_stage1", "realbasicvsr_stage2", "negvsr"])
def test_recipes_load_and_roundtrip(name):
    cfg = load_config(CONFIGS / f"{name}.yaml")
    assert config_from_dict(cfg.to_dict()) == cfg
    assert yaml.safe_load(yaml.safe_dump(cfg.to_dict())) == cfg.to_dict()


def test_recipe_numbers_follow_spec():
    s1 = load_config(CONFIGS / "realbasicvsr_stage1.yaml")
    assert (s1.optim.lr, s1.optim.betas, s1.train.max_steps, s1.data.num_frames, s1.data.gt_size) == \
        (1e-4, (0.9, 0.99), 300_000, 30, 256)
    assert s1.loss.pixel.kind == "l1" and s1.loss.gan_weight == 0 and s1.model.fix_spynet
    s2 = load_config(CONFIGS / "realbasicvsr_stage2.yaml")
    assert (s2.optim.lr, s2.optim.lr_d, s2.loss.gan_weight, s2.loss.perceptual.weight, s2.train.ema_decay) == \
        (5e-5, 1e-4, 0.05, 1.0, 0.999)
    assert s2.loss.sharpened_gt_pixel and s2.loss.sharpened_gt_perceptual and not s2.loss.sharpened_gt_gan
    assert s2.loss.perceptual.layer_weights == {"2": 0.1, "7": 0.1, "16": 1.0, "25": 1.0, "34": 1.0}
    neg = load_config(CONFIGS / "negvsr.yaml")
    assert neg.negvsr.enabled and neg.loss.aug_negative_weight == 0.5 and neg.negvsr.mix_weight == 0.5


@pytest.mark.parametrize("data, key", [
    ({"optim": {"lrr": 1}}, "optim.lrr"),
    ({"bogus": 1}, "bogus"),
    ({"loss": {"pixel": {"kind": "l2"}}}, "loss.pixel.kind"),
    ({"data": {"batch_size": "two"}}, "data.batch_size"),
    ({"data": {"batch_size": 0}}, "data.batch_size"),
    ({"data": {"num_frames": 7}}, "data.num_frames"),
    ({"optim": {"betas": [0.9]}}, "optim.betas"),
    ({"train": {"ema_decay": 1.5}}, "train.ema_decay"),
    ({"model": {"fix_spynet": "yes"}}, "model.fix_spynet"),
    ({"loss": {"perceptual": {"layer_weights": {"99": 1.0}}}}, "loss.perceptual.layer_weights"),
    ({"negvsr": {"enabled": True}}, "negvsr.noise_bank"),
])
def test_bad_values_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_from_dict(data)


def test_set_overrides_types_and_unknown_keys(tmp_path):
    base = TrainConfig().to_dict()
    cfg = config_from_dict(apply_overrides(base, ["optim.lr=5e-5", "data.roots=[a, b]", "loss.pixel.kind=charbonnier",
                                                  "val.real_frames=null", "model.kwargs.mid_channels=8"]))
    assert cfg.optim.lr == 5e-5 and cfg.data.roots == ("a", "b") and cfg.loss.pixel.kind == "charbonnier"
    assert cfg.val.real_frames is None and cfg.model.kwargs["mid_channels"] == 8
    with pytest.raises(ConfigError, match=r"optim\.lrate"):
        apply_overrides(base, ["optim.lrate=1"])
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides(base, ["optim.lr"])
    with pytest.raises(ConfigError, match=r"train\.max_steps"):
        config_from_dict(apply_overrides(base, ["train.max_steps=many"]))
    path = tmp_path / "c.yaml"
    path.write_text("optim: {lr: 2.0e-4}\n")
    assert load_config(path, ["train.max_steps=7"]).train.max_steps == 7
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    path.write_text("optim: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_data_scale_is_4_and_the_preset_must_agree(tmp_path):
    """data.scale allows only 4 (the generators are x4); a preset ending at another scale is refused at set-up."""
    from wildvsr.degrade import load_preset
    from wildvsr.train.degradation import TrainingDegradation

    for scale in (1, 2):
        with pytest.raises(ConfigError, match=r"data\.scale: must be 4"):
            config_from_dict({"data": {"scale": scale}})
    data = load_preset("bicubic").to_dict()
    data["scale"] = 2
    preset = tmp_path / "bi2.yaml"
    preset.write_text(yaml.safe_dump(data))
    cfg = config_from_dict({"degradation": {"preset": str(preset)}})
    with pytest.raises(ConfigError, match=r"degradation\.preset: .* 1/2 of the GT, data\.scale is 4"):
        TrainingDegradation(cfg.degradation, cfg.data.scale)
