"""L_Aug-N: zero for identical outputs, hand-computed values, where the gradient goes."""

from __future__ import annotations

import math

import pytest
import torch

from wildvsr.errors import InputError
from wildvsr.negvsr import AugNegativeLoss


def test_zero_for_identical_outputs_with_finite_gradient():
    y = torch.rand(2, 3, 3, 8, 8, requires_grad=True)
    for reduction in ("rms", "norm", "mse"):
        loss = AugNegativeLoss(reduction=reduction)(y, y.detach().clone())
        assert loss.item() == 0.0
        loss.backward()
        assert torch.isfinite(y.grad).all()
        y.grad = None


def test_hand_computed_values():
    neg = torch.tensor([[3.0, 4.0], [1.0, 1.0]])  # B = 2, two elements per sample
    pos = torch.tensor([[0.0, 0.0], [0.0, 1.0]])
    # per-sample L2 distances: 5 and 1; n = 2 elements per sample
    assert AugNegativeLoss(weight=1.0, reduction="norm")(neg, pos).item() == pytest.approx(3.0)
    assert AugNegativeLoss(weight=1.0, reduction="rms")(neg, pos).item() == pytest.approx((5 + 1) / 2 / math.sqrt(2))
    assert AugNegativeLoss(weight=1.0, reduction="mse")(neg, pos).item() == pytest.approx((9 + 16 + 1 + 0) / 4)
    assert AugNegativeLoss(weight=0.5, reduction="norm")(neg, pos).item() == pytest.approx(1.5)  # lambda = 0.5


@pytest.mark.parametrize("detach, neg_grad, pos_grad", [("none", True, True), ("positive", True, False),
                                                         ("negative", False, True)])
def test_gradient_goes_where_documented(detach, neg_grad, pos_grad):
    neg = torch.rand(2, 2, 3, 4, 4, requires_grad=True)
    pos = torch.rand(2, 2, 3, 4, 4, requires_grad=True)
    AugNegativeLoss(detach=detach)(neg, pos).backward()
    assert (neg.grad is not None and neg.grad.abs().sum() > 0) == neg_grad
    assert (pos.grad is not None and pos.grad.abs().sum() > 0) == pos_grad
    if neg_grad and pos_grad:
        torch.testing.assert_close(neg.grad, -pos.grad)  # symmetric pull


def test_shared_network_gets_gradient_from_both_branches():
    """The trainer's layout: one forward over [V; NegMix(V)], split, loss(out_neg, out)."""
    net = torch.nn.Conv2d(3, 3, 3, padding=1)
    x = torch.rand(4, 3, 8, 8)
    out = net(x)
    loss = AugNegativeLoss()(out[2:], out[:2])
    loss.backward()
    assert net.weight.grad.abs().sum() > 0


def test_bad_arguments():
    with pytest.raises(InputError):
        AugNegativeLoss(reduction="l1")
    with pytest.raises(InputError):
        AugNegativeLoss(detach="both")
    with pytest.raises(InputError):
        AugNegativeLoss()(torch.zeros(1, 2), torch.zeros(1, 3))
