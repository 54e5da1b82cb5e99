"""Each loss against a value computed by hand."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from wildvsr.errors import WeightsMismatchError, WeightsNotFoundError
from wildvsr.train.losses import (CleaningLoss, GANLoss, PerceptualLoss, PixelLoss, area_downsample,
                                  build_perceptual_loss)
from wildvsr.train.vgg import vgg19_features


def test_l1_and_charbonnier_hand_values():
    pred = torch.tensor([0.0, 0.5, 1.0, 0.25])
    target = torch.tensor([0.5, 0.5, 0.0, 0.0])
    # |d| = 0.5, 0, 1, 0.25 -> mean 0.4375
    assert PixelLoss("l1", weight=2.0)(pred, target).item() == pytest.approx(2 * 0.4375)
    eps = 1e-2
    expected = (math.sqrt(0.25 + eps) + math.sqrt(eps) + math.sqrt(1 + eps) + math.sqrt(0.0625 + eps)) / 4
    assert PixelLoss("charbonnier", eps=eps)(pred, target).item() == pytest.approx(expected, rel=1e-6)


def test_cleaning_loss_compares_with_area_downsampled_gt():
    gt = torch.zeros(1, 1, 3, 4, 4)
    gt[..., :2, :2] = 1.0  # top-left 2x2 block white: area x1/2 gives [[1, 0], [0, 0]]
    gt_small = area_downsample(gt, 2)
    assert gt_small[0, 0, 0].tolist() == [[1.0, 0.0], [0.0, 0.0]]
    cleaned = torch.full((1, 1, 3, 2, 2), 0.5)
    # |0.5-1| once, |0.5-0| three times per channel -> mean 0.5
    assert CleaningLoss("l1", scale=2)(cleaned, gt).item() == pytest.approx(0.5)
    gt4 = torch.rand(2, 3, 3, 8, 8)
    exact = torch.nn.functional.avg_pool2d(gt4.flatten(0, 1), 4).view(2, 3, 3, 2, 2)  # area x1/4 == 4x4 mean
    assert CleaningLoss("l1", scale=4)(exact, gt4).item() == pytest.approx(0.0, abs=1e-7)


def test_gan_loss_hand_values():
    logits = torch.tensor([0.0, 2.0])
    # BCE(x, 1) = log(1 + e^-x); BCE(x, 0) = log(1 + e^x)
    real = (math.log(2) + math.log(1 + math.exp(-2))) / 2
    fake = (math.log(2) + math.log(1 + math.exp(2))) / 2
    loss = GANLoss(weight=0.05)
    assert loss(logits, True, is_disc=False).item() == pytest.approx(0.05 * real, rel=1e-6)
    assert loss(logits, True, is_disc=True).item() == pytest.approx(real, rel=1e-6)
    assert loss(logits, False, is_disc=True).item() == pytest.approx(fake, rel=1e-6)


def test_perceptual_loss_from_saved_weights_matches_hand_computation(tmp_path):
    torch.manual_seed(0)
    feats = vgg19_features()
    path = tmp_path / "vgg19-random.pth"
    torch.save({f"features.{k}": v for k, v in feats.state_dict().items()}, path)  # torchvision key layout
    layer_weights = {"2": 0.1, "7": 1.0}
    loss = PerceptualLoss(path, layer_weights, weight=0.5)
    x, y = torch.rand(1, 2, 3, 16, 16, requires_grad=True), torch.rand(1, 2, 3, 16, 16)
    got = loss(x, y)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = 0.0
    with torch.no_grad():
        fx, fy = (x.flatten(0, 1) - mean) / std, (y.flatten(0, 1) - mean) / std
        for i in range(8):
            fx, fy = feats[i](fx), feats[i](fy)
            if i == 2:
                expected += 0.1 * (fx - fy).abs().mean()
            if i == 7:
                expected += 1.0 * (fx - fy).abs().mean()
    assert got.item() == pytest.approx(0.5 * float(expected), rel=1e-5)
    assert isinstance(feats[2], nn.Conv2d) and isinstance(feats[7], nn.Conv2d)  # before ReLU, as torchvision
    got.backward()  # differentiable w.r.t. the prediction only; VGG frozen
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.vgg.parameters())


def test_perceptual_disabled_without_weights_warns(caplog):
    with caplog.at_level("WARNING"):
        assert build_perceptual_loss(None, {"2": 0.1}, 1.0) is None
    assert build_perceptual_loss(None, {"2": 0.1}, 0.0) is None


def test_perceptual_bad_files(tmp_path):
    with pytest.raises(WeightsNotFoundError):
        PerceptualLoss(tmp_path / "missing.pth", {"2": 1.0})
    bad = tmp_path / "bad.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(WeightsMismatchError):
        PerceptualLoss(bad, {"2": 1.0})
