"""EMA rule and checkpoint/RNG round trips."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from wildvsr.errors import InputError
from wildvsr.train.checkpoint import (capture_rng_state, latest_checkpoint, list_checkpoints, load_checkpoint,
                                      restore_rng_state, save_checkpoint)
from wildvsr.train.ema import ModelEMA


def test_ema_rule_trainable_and_frozen():
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False))
    model[1].requires_grad_(False)
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[1].weight.fill_(1.0)
    ema = ModelEMA(model, decay=0.9)
    with torch.no_grad():
        model[0].weight.fill_(2.0)
        model[1].weight.fill_(3.0)
    ema.update(model)
    # trainable: 2 + (1 - 2) * 0.9 = 1.1 ; frozen: copied
    assert ema.module[0].weight.item() == pytest.approx(1.1)
    assert ema.module[1].weight.item() == pytest.approx(3.0)


def test_checkpoint_atomic_keep_and_rng_roundtrip(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    state = capture_rng_state()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    for step in (1, 2, 3, 4):
        save_checkpoint({"config": {}, "step": step, "rng": [state], "w": torch.ones(2) * step}, tmp_path, step, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [3, 4]
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]
    loaded = load_checkpoint(latest_checkpoint(tmp_path))
    assert loaded["step"] == 4 and torch.equal(loaded["w"], torch.full((2,), 4.0))
    restore_rng_state(loaded["rng"][0])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_load_checkpoint_rejects_other_files(tmp_path):
    with pytest.raises(InputError):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"a": torch.zeros(1)}, tmp_path / "x.pt")
    with pytest.raises(ValueError):
        load_checkpoint(tmp_path / "x.pt")


def test_start_weights_and_export_read_the_same_checkpoint_keys(tmp_path):
    """``model.weights`` = a ``.pt`` loads the raw generator and returns the EMA that ``export --ema`` would write."""
    from wildvsr.train.checkpoint import EMA_KEY, GENERATOR_KEY, generator_weights
    from wildvsr.train.setup import load_generator_weights

    raw, ema = {"weight": torch.full((1, 1), 2.0)}, {"weight": torch.full((1, 1), 3.0)}
    path = save_checkpoint({"config": {}, "step": 7, GENERATOR_KEY: raw, EMA_KEY: ema}, tmp_path, 7)
    model = nn.Linear(1, 1, bias=False)
    returned = load_generator_weights(model, str(path))
    assert model.weight.item() == 2.0
    state = load_checkpoint(path)
    assert torch.equal(returned["weight"], generator_weights(state, ema=True, source=path)["weight"])
    assert torch.equal(generator_weights(state, ema=False, source=path)["weight"], raw["weight"])
    no_ema = save_checkpoint({"config": {}, "step": 8, GENERATOR_KEY: raw}, tmp_path / "b", 8)
    assert load_generator_weights(model, str(no_ema)) is None
    with pytest.raises(InputError, match="no EMA weights"):
        generator_weights(load_checkpoint(no_ema), ema=True, source=no_ema)
