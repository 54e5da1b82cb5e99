"""What a model declares in its spec (``ModelSpec``) and the trainer and the runner read: ``parts`` (freezable
submodules), ``options`` (``--refine-threshold``), ``keep``, ``temporal``; attached by the builder, bound to the
instance's config; ``register_model`` for models from outside the table."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

from wildvsr.errors import UnknownModelError
from wildvsr.models import BasicVSR, ModelSpec, create_model, list_models, model_spec, register_model, upscale_models
from wildvsr.models import registry
from wildvsr.models.registry import get_model_entry, refine_threshold_kwarg, refining_models
from wildvsr.train.setup import model_part


@pytest.mark.parametrize("name", list_models())
def test_declared_parts_exist_and_are_top_most(name):
    model = create_model(name, **dict(get_model_entry(name).tiny_kwargs))
    for role, path in model_spec(model).parts.items():
        part = model_part(model, role)
        assert part is model.get_submodule(path) and sum(p.numel() for p in part.parameters()) > 0


def test_which_models_have_which_parts():
    assert model_part(create_model("basicvsr", mid_channels=8, num_blocks=1), "spynet") is not None
    assert model_part(create_model("basicvsr", mid_channels=8, num_blocks=1), "cleaning") is None
    tiny = dict(get_model_entry("realbasicvsr").tiny_kwargs)
    assert model_part(create_model("realbasicvsr", **tiny), "cleaning") is not None


def test_refine_threshold_is_declared_by_the_model():
    assert refining_models() == ["realbasicvsr"]
    assert refine_threshold_kwarg("realbasicvsr.official") == "dynamic_refine_thres"
    assert refine_threshold_kwarg("basicvsr") is None
    with pytest.raises(UnknownModelError):
        refine_threshold_kwarg("nope")


@pytest.mark.parametrize("name", upscale_models())
def test_declared_contract_matches_the_module(name):
    """``keep`` is declared exactly when forward takes it; ``temporal`` says which input shape the model takes."""
    model = create_model(name, **dict(get_model_entry(name).tiny_kwargs)).eval()
    spec = model_spec(model)
    assert spec is model.spec and spec.name == name and spec.config == model.config
    assert spec.keep == ("keep" in inspect.signature(model.forward).parameters)
    x = torch.rand(1, 2, 3, 8, 8) if spec.temporal else torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        assert model(x).shape[-2:] == (32, 32)
    assert spec.estimate_memory(2, 8, 8) > spec.estimate_memory(1, 8, 8) > 0


def test_spec_of_a_directly_built_model_is_its_registered_one():
    direct, built = BasicVSR(mid_channels=8, num_blocks=1), create_model("basicvsr", mid_channels=8, num_blocks=1)
    assert model_spec(direct) == model_spec(built)
    assert model_spec(direct).estimate_memory(3, 20, 30) < model_spec(create_model("basicvsr")).estimate_memory(3, 20, 30)


def test_an_unregistered_module_is_a_plain_video_model():
    spec = model_spec(nn.Conv2d(3, 3, 1))
    assert spec == ModelSpec() and spec.temporal and not spec.keep and spec.name is None and not spec.parts


class _Tiny(nn.Module):
    def __init__(self, width: int = 2) -> None:
        super().__init__()
        self.config = {"width": width}
        self.conv = nn.Conv2d(3, 48, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.pixel_shuffle(self.conv(x), 4)


def test_register_model(monkeypatch):
    monkeypatch.setattr(registry, "_MODELS", dict(registry._MODELS))  # leave the shipped table as it was
    register_model("tiny_frame", _Tiny, ModelSpec(temporal=False), description="test")
    register_model("tiny_frame", _Tiny, ModelSpec(temporal=False))  # the same builder again: fine
    assert "tiny_frame" in list_models() and "tiny_frame" in upscale_models()
    model = create_model("tiny_frame", width=3)
    assert model.spec.name == "tiny_frame" and model.spec.config == {"width": 3} and not model.spec.temporal
    with pytest.raises(ValueError, match="already registered"):
        register_model("tiny_frame", nn.Identity, ModelSpec())
    with pytest.raises(ValueError):
        register_model("tiny.frame", _Tiny, ModelSpec())
