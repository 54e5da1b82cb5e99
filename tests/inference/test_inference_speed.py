"""Speed paths of the Upscaler: precision ``auto``, channels-last, batched chunks, chunk length from a memory budget.

Speed itself is measured in ``benchmarks/upscale_speed.py``; these tests check that the fast paths give the same
frames (within stated tolerances) as the plain fp32 path.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from helpers.frames import psnr
from helpers.media import synthetic_frames
from helpers.models import TinyBiRecurrent
from helpers.shared_data import shared_path
from wildvsr.defaults import DEFAULT_CHUNK_SIZE, DEFAULT_MEMORY_BUDGET_GIB, DEFAULT_OVERLAP, MAX_CHUNK_SIZE
from wildvsr.inference import Upscaler
from wildvsr.inference.acceleration import cpu_has_bf16, frames_to_channels_last, resolve_precision
from wildvsr.inference.chunking import plan_chunk_size, plan_chunks
from wildvsr.inference.upscaler import estimate_memory
from wildvsr.video import VideoReader

CPU = torch.device("cpu")


def test_auto_precision_follows_the_cpu():
    assert resolve_precision("auto", CPU) == ("bf16" if cpu_has_bf16() else "fp32")
    assert resolve_precision("fp32", CPU) == "fp32"
    assert Upscaler(TinyBiRecurrent(), "cpu", precision="fp32").precision == "fp32"


def test_auto_memory_format_follows_the_model_in_fp32_on_cpu():
    """fp32 on CPU: BasicVSR-family models run channels-last (measured faster there), per-frame models stay NCHW
    (measured no faster); reduced precision is always channels-last; an explicit choice wins."""
    from wildvsr.models import create_model

    def video():
        return create_model("basicvsr", mid_channels=8, num_blocks=1)

    def per_frame():
        return create_model("srvgg", num_feat=4, num_conv=1)

    up = Upscaler(video(), "cpu", precision="fp32")
    assert up.channels_last and up.model.conv_hr.weight.is_contiguous(memory_format=torch.channels_last)
    assert not Upscaler(video(), "cpu", precision="fp32", channels_last=False).channels_last
    assert not Upscaler(per_frame(), "cpu", precision="fp32").channels_last
    assert Upscaler(per_frame(), "cpu", precision="bf16").channels_last


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 4, 3, 5, 7), (2, 4, 3, 5, 7)])
def test_channels_last_keeps_values_and_gives_nhwc_frames(shape):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    y = frames_to_channels_last(x)
    assert torch.equal(x, y)
    frame = y if y.dim() == 4 else y[:, 1]
    assert frame.stride()[1] == 1 and frame.stride()[3] == 3  # channels innermost, then width
    if frame.shape[0] == 1 or y.dim() == 4:  # (a batch of clips strides frames apart: B x T, not B)
        assert frame.is_contiguous(memory_format=torch.channels_last) and not frame.is_contiguous()


def test_channels_last_and_batching_equal_the_plain_path():
    """fp32: channels-last vs contiguous, and 3 chunks in one call (B = 3) vs one call each.

    Tolerance: at most 1 uint8 level per pixel (float rounding of a different kernel or batch size can move a value
    across a rounding boundary), and 99 % of the values identical."""
    frames = synthetic_frames(22, 24, 32, seed=4)
    kwargs = {"precision": "fp32", "chunk_size": 6, "overlap": 2}
    plain = Upscaler(TinyBiRecurrent(), "cpu", channels_last=False, **kwargs).upscale_frames(frames)
    variants = {
        "channels_last": Upscaler(TinyBiRecurrent(), "cpu", channels_last=True, **kwargs),
        "batched": Upscaler(TinyBiRecurrent(), "cpu", channels_last=False, batch=3, **kwargs),
    }
    calls = []
    batched = variants["batched"]
    real_call = batched._call
    batched._call = lambda x, *args: calls.append(tuple(x.shape[:2])) or real_call(x, *args)
    for name, up in variants.items():
        out = up.upscale_frames(frames)
        diff = np.abs(out.astype(int) - plain.astype(int))
        assert diff.max() <= 1 and (diff == 0).mean() > 0.99, name
    # chunks 0..3 keep 6 frames each (windows of 8, 10, 10, 6 frames): (8), (10, 10) batched, (6)
    assert calls == [(1, 8), (2, 10), (1, 6)]


def test_chunk_length_follows_frame_size_and_budget():
    from wildvsr.models import create_model

    model = create_model("basicvsr", weights=None)  # full size (the estimate reads its channels), random weights
    up = Upscaler(model, "cpu", precision="fp32")  # the estimate, and so the plan, follows the precision
    small, large = up.plan(120, 160).chunk_size, up.plan(360, 640).chunk_size
    medium = up.plan(180, 320).chunk_size
    # 640x360 untiled: even the old 24-frame floor would break the budget; the budget wins (a tile is the fix)
    assert MAX_CHUNK_SIZE >= small > medium > DEFAULT_CHUNK_SIZE > large >= 1
    budget = DEFAULT_MEMORY_BUDGET_GIB * 2**30
    for (h, w), t in (((120, 160), small), ((180, 320), medium)):
        assert estimate_memory(model, t + 2 * DEFAULT_OVERLAP, h, w) <= budget  # memory flat in the video length
    # bf16 halves the stored activations: longer chunks for the same budget
    assert Upscaler(model, "cpu", precision="bf16").plan(180, 320).chunk_size > medium
    # Recomputed overlap on a long 160x120 video is under 15 % of the work.
    plan = plan_chunks(3000, small, DEFAULT_OVERLAP)
    work = sum(s.context_stop - s.context_start for s in plan)
    assert (work - 3000) / work < 0.15
    assert Upscaler(model, "cpu", chunk_size=5).plan(360, 640).chunk_size == 5  # an explicit size wins
    assert plan_chunk_size(100, 0, 4, 1000, 50) == 2 and plan_chunk_size(100, 0, 4, 10, 50) == 1
    assert plan_chunk_size(1, 0, 4, 10**6, 50) == 50


def _dove_crop() -> np.ndarray:
    with VideoReader(shared_path("real_lq", "dove_demo", "001.mp4")) as reader:
        clip = np.stack([f.image for _, f in zip(range(4), reader)])
    h, w = clip.shape[1:3]
    return np.ascontiguousarray(clip[:, (h - 32) // 2:(h + 32) // 2, (w - 48) // 2:(w + 48) // 2])


@pytest.mark.slow
@pytest.mark.parametrize("source", ["dove_demo", "synthetic"])
def test_default_precision_is_within_45db_of_fp32_with_real_basicvsr(source):
    """Official BasicVSR weights, 4 frames of a 48x32 crop: the default (auto precision and memory format) output,
    and bf16 + channels-last (what ``auto`` picks on CPUs with bf16 units and on CUDA), are within 45 dB PSNR of plain
    fp32 PyTorch (the issue's acceptance bound for a faster default)."""
    from wildvsr.models import create_model

    clip = _dove_crop() if source == "dove_demo" else synthetic_frames(4, 32, 48, seed=1)
    model = create_model("basicvsr", weights="reds4")
    ref = Upscaler(model, "cpu", precision="fp32", channels_last=False, chunk_size=4, overlap=0).upscale_frames(clip)
    default = Upscaler(model, "cpu", chunk_size=4, overlap=0).upscale_frames(clip)
    assert psnr(default, ref) >= 45
    bf16 = Upscaler(model, "cpu", precision="bf16", chunk_size=4, overlap=0).upscale_frames(clip)
    assert 45 <= psnr(bf16, ref) < float("inf")


def test_per_frame_models_keep_the_fixed_chunk_and_no_batching_of_windows():
    """A per-frame model has no overlap to amortize: 24-frame chunks whatever the frame size, windows one at a time
    (it batches the frames of a chunk instead)."""
    from wildvsr.models import create_model

    model = create_model("srvgg", num_feat=4, num_conv=1)
    up = Upscaler(model, "cpu", batch=4)
    assert up.batch == 1 and up.overlap == 0
    assert up.plan(120, 160).chunk_size == up.plan(1080, 1920).chunk_size == DEFAULT_CHUNK_SIZE


@pytest.mark.parametrize("backend", ["compile", "openvino"])
def test_graph_backends_equal_eager_for_a_per_frame_model(backend):
    """``--backend compile`` (inductor) and ``--backend openvino`` on a tiny SRVGG: within 1 uint8 level of eager
    PyTorch (other kernels sum in another order), on two frame sizes (a second compile/conversion each)."""
    if backend == "compile" and os.environ.get("ATEN_CPU_CAPABILITY"):
        # inductor builds its C++ kernels for the machine it runs on; with ATen capped below that CPU they returned
        # NaN once and values 24 levels off once here (torch 2.13.0, AMD EPYC with AVX-512; each time in a long test
        # process, never alone): the capped pass emulates another CPU for ATen/oneDNN, not for inductor's compiler
        pytest.skip("torch.compile's kernels are not checked under a capped ATEN_CPU_CAPABILITY (see comment)")
    if backend == "openvino":
        pytest.importorskip("openvino", reason="optional dependency: pip install 'wildvsr[openvino]'")
        if os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper() in ("SSE41", "AVX"):
            pytest.skip("OpenVINO's CPU plugin refuses to compile with oneDNN capped below AVX2 ('bad combination')")
    from wildvsr.models import create_model

    model = create_model("srvgg", num_feat=8, num_conv=2)
    eager = Upscaler(model, "cpu", precision="fp32")
    fast = Upscaler(model, "cpu", precision="fp32", backend=backend)
    for h, w in ((16, 24), (20, 12)):
        frames = synthetic_frames(3, h, w, seed=h)
        a, b = eager.upscale_frames(frames), fast.upscale_frames(frames)
        assert a.shape == b.shape == (3, 4 * h, 4 * w, 3)
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_compile_cache_is_kept_apart_per_aten_capability(monkeypatch, tmp_path):
    """Inductor reuses on-disk kernels across ATEN_CPU_CAPABILITY values (heap corruption or NaN measured here): with a
    capability set, --backend compile uses its own cache folder; a folder the user chose is kept."""
    from wildvsr.inference.acceleration import isolate_inductor_cache

    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    assert isolate_inductor_cache() is None and "TORCHINDUCTOR_CACHE_DIR" not in os.environ
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "AVX2")
    folder = isolate_inductor_cache()
    assert folder.endswith("_avx2") and os.environ["TORCHINDUCTOR_CACHE_DIR"] == folder
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    assert isolate_inductor_cache() is None and os.environ["TORCHINDUCTOR_CACHE_DIR"] == str(tmp_path)


def test_openvino_backend_refuses_a_video_model():
    pytest.importorskip("openvino", reason="optional dependency: pip install 'wildvsr[openvino]'")
    from wildvsr.errors import ConfigError

    with pytest.raises(ConfigError, match="per-frame models"):
        Upscaler(TinyBiRecurrent(), "cpu", precision="fp32", backend="openvino")


def test_auto_tiles_only_large_frames_of_video_models():
    """``tile=None``: 320-pixel tiles for a video model's frames with a side over 480 (measured faster there and 70 dB
    from untiled, see ``wildvsr.defaults.AUTO_TILE``), whole frames otherwise and for per-frame models; the planned
    chunk of a tiled 640x360 video is longer than the untiled one (a smaller model call); an explicit tile wins."""
    from wildvsr.defaults import AUTO_TILE
    from wildvsr.models import create_model

    video = create_model("basicvsr", weights=None)
    auto = Upscaler(video, "cpu", tile=None)
    assert auto.plan(360, 640).tile == AUTO_TILE and auto.plan(180, 320).tile == 0
    assert auto.plan(360, 640).chunk_size > Upscaler(video, "cpu").plan(360, 640).chunk_size
    assert Upscaler(create_model("srvgg", num_feat=4, num_conv=1), "cpu", tile=None).plan(1080, 1920).tile == 0
    assert Upscaler(video, "cpu", tile=128).plan(360, 640).tile == 128
    # the auto path gives exactly what the same explicit tiling gives
    frames = synthetic_frames(3, 20, 500, seed=2)
    tiny = TinyBiRecurrent()
    a = Upscaler(tiny, "cpu", tile=None, chunk_size=3, overlap=0).upscale_frames(frames)
    b = Upscaler(tiny, "cpu", tile=AUTO_TILE, chunk_size=3, overlap=0).upscale_frames(frames)
    np.testing.assert_array_equal(a, b)


class _WithoutKeep(torch.nn.Module):
    """The same video model behind a ``forward(lqs)`` without ``keep``: the Upscaler slices its whole output."""

    temporal = True

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.inner = model

    def forward(self, lqs: torch.Tensor) -> torch.Tensor:
        return self.inner(lqs)


@pytest.mark.parametrize("options", [{"batch": 2}, {"tile": 16, "tile_overlap": 4}])
def test_kept_frame_reconstruction_equals_slicing_the_whole_output(options):
    """A BasicVSR-family model reconstructs only a window's kept frames (``keep``): the frames equal those of a
    model that reconstructs every frame and is sliced (batched windows and tiles too; 1 grey level for rounding)."""
    from wildvsr.models import create_model

    torch.manual_seed(0)
    model = create_model("basicvsr", mid_channels=8, num_blocks=1).eval()
    frames = synthetic_frames(11, 20, 24, seed=5)
    kwargs = {"precision": "fp32", "chunk_size": 3, "overlap": 2, **options}
    fast = Upscaler(model, "cpu", **kwargs)
    assert fast.spec.keep
    plain = Upscaler(_WithoutKeep(model), "cpu", **kwargs)
    assert not plain.spec.keep
    diff = np.abs(fast.upscale_frames(frames).astype(int) - plain.upscale_frames(frames).astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.999


def test_graph_backend_nan_falls_back_to_eager(caplog):
    """A graph backend whose kernels return NaN (inductor did once, under a capped ATEN_CPU_CAPABILITY in a long
    process) is replaced by eager PyTorch, with a warning, instead of blaming the weights; the frames equal eager's."""
    from wildvsr.models import create_model

    model = create_model("srvgg", num_feat=8, num_conv=2)
    frames = synthetic_frames(2, 16, 24, seed=5)
    eager = Upscaler(model, "cpu", precision="fp32").upscale_frames(frames)
    up = Upscaler(model, "cpu", precision="fp32")
    up._module = lambda x: torch.full_like(model(x), float("nan"))  # fault injection: broken compiled kernels
    with caplog.at_level("WARNING"):
        out = up.upscale_frames(frames)
    assert np.array_equal(out, eager) and up._module is model
    assert "eager PyTorch from here on" in caplog.text
