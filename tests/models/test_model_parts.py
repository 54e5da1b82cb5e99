"""Declared model attributes the trainer and the runner read: ``parts`` (freezable submodules) and
``refine_threshold_kwarg``."""

from __future__ import annotations

import pytest

from wildvsr.errors import UnknownModelError
from wildvsr.models import create_model, list_models
from wildvsr.models.registry import get_model_entry, refine_threshold_kwarg, refining_models
from wildvsr.train.setup import model_part


@pytest.mark.parametrize("name", list_models())
def test_declared_parts_exist_and_are_top_most(name):
    model = create_model(name, **dict(get_model_entry(name).tiny_kwargs))
    for role, path in getattr(model, "parts", {}).items():
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
