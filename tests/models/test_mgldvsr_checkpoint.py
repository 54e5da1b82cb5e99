"""Official MGLD-VSR checkpoints -> our modules: the manifest (from the official configs) against our full-size modules
on the meta device, and strict loading of synthetic official-format files made from the manifest at tiny size."""

from __future__ import annotations

import pickle

import pytest
import torch
from helpers.mgld import tiny_text_config, write_official_checkpoints

from wildvsr.errors import WeightsMismatchError, WeightsNotFoundError
from wildvsr.models.mgldvsr.checkpoint import (
    TEXT_PREFIX,
    UNET_KEY_MAP,
    VAE_KEY_MAP,
    load_official,
    map_keys,
    read_checkpoint,
)
from wildvsr.models.mgldvsr.manifest import UNET_IGNORED, VAE_IGNORED, unet_checkpoint_manifest, vae_checkpoint_manifest
from wildvsr.models.mgldvsr.model import TINY_CONFIG, MGLDVSR
from wildvsr.models.mgldvsr.text import OpenCLIPText

TINY_TEXT = tiny_text_config()


def _meta_shapes(module: torch.nn.Module, prefixes: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items() if k.startswith(prefixes)}


@pytest.mark.parametrize("which", ["unet", "vae"])
def test_full_size_manifest_matches_our_modules(which):
    """Every official tensor name/shape (derived from the official configs) lands on a tensor of ours, and back."""
    with torch.device("meta"):
        model = MGLDVSR()
    manifest, key_map, ignored = ((unet_checkpoint_manifest(text=None), UNET_KEY_MAP, UNET_IGNORED) if which == "unet"
                                  else (vae_checkpoint_manifest(), VAE_KEY_MAP, VAE_IGNORED))
    mapped, _ = map_keys({k: torch.empty(s, device="meta") for k, s in manifest.items()}, key_map, ignored, which)
    assert {k: tuple(v.shape) for k, v in mapped.items()} == _meta_shapes(model, tuple(key_map.values()))
    if which == "unet":  # SD 2.1 U-Net layout: 1184 tensors incl. SFT and temporal layers; 935.3 M parameters
        assert len(manifest) == 1184
        assert manifest["model.diffusion_model.middle_block.1.temporal_conv.weight"] == (1280, 1280, 3, 1, 1)
        assert manifest["model.diffusion_model.input_blocks.1.0.spade.mlp_shared.0.weight"] == (128, 256, 3, 3)
        assert sum(p.numel() for p in model.unet.parameters()) == 935_321_287


def test_full_size_text_manifest_matches_open_clip_text_tower():
    with torch.device("meta"):
        text = OpenCLIPText()
    man = {k[len(TEXT_PREFIX):]: s for k, s in unet_checkpoint_manifest().items() if k.startswith(TEXT_PREFIX)}
    assert man == _meta_shapes(text, ("",))
    assert man["transformer.resblocks.23.attn.in_proj_weight"] == (3072, 1024)


@pytest.fixture()
def official_files(tmp_path):
    return write_official_checkpoints(tmp_path)


def test_synthetic_official_checkpoints_load_strictly(official_files):
    up, vp, unet, vae = official_files
    model = load_official(MGLDVSR(size="tiny"), up, vp)
    key = "model.diffusion_model.middle_block.3.temporal_attn.to_q.weight"
    assert torch.equal(model.unet.middle_block[3].temporal_attn.to_q.weight, unet[key])
    assert torch.equal(model.vae.decoder.fusion_layer_1.encode_enc_1.conv1.weight,
                       vae["decoder.fusion_layer_1.encode_enc_1.conv1.weight"])
    assert torch.equal(model.latent_encoder.quant_conv.bias, unet["first_stage_model.quant_conv.bias"])
    emb = model.prompt_embedding
    assert emb.shape == (1, TINY_CONFIG.context_length, TINY_CONFIG.unet.context_dim) and emb.abs().sum() > 0
    text = OpenCLIPText(TINY_TEXT)
    text.load_state_dict({k[len(TEXT_PREFIX):]: v for k, v in unet.items() if k.startswith(TEXT_PREFIX)})
    assert torch.allclose(emb, text.empty_prompt_embedding())


@pytest.mark.parametrize("change, pattern", [
    ("drop", r"missing tensor 'model\.diffusion_model\.out\.2\.weight' \(expected shape \(4, 32, 3, 3\)\)"),
    ("reshape", r"tensor 'model\.diffusion_model\.out\.2\.weight' has shape \(4, 32, 1, 1\), expected \(4, 32, 3, 3\)"),
    ("extra", r"unexpected tensor 'model_ema\.decay'"),
])
def test_refuses_missing_misshapen_or_unknown_tensor_in_one_line(official_files, tmp_path, change, pattern):
    up, vp, unet, _ = official_files
    key = "model.diffusion_model.out.2.weight"
    if change == "drop":
        del unet[key]
    elif change == "reshape":
        unet[key] = torch.zeros(4, 32, 1, 1)
    else:
        unet["model_ema.decay"] = torch.tensor(0.999)
    bad = tmp_path / "bad.ckpt"
    torch.save({"state_dict": unet}, bad)
    with pytest.raises(WeightsMismatchError, match=pattern) as info:
        load_official(MGLDVSR(size="tiny"), bad, vp)
    assert "\n" not in str(info.value)


def test_refuses_code_pickles_and_names_missing_files(tmp_path, official_files):
    _, vp, _, _ = official_files
    evil = tmp_path / "evil.ckpt"
    with open(evil, "wb") as f:
        pickle.dump({"state_dict": {"x": torch.zeros(1)}, "hook": pickle.Pickler}, f)
    with pytest.raises(WeightsMismatchError, match="refusing to run code"):
        read_checkpoint(evil, "MGLD-VSR U-Net checkpoint")
    with pytest.raises(WeightsNotFoundError, match="IanYeung/MGLD-VSR"):
        load_official(MGLDVSR(size="tiny"), tmp_path / "nope.ckpt", vp)


def test_checkpoint_without_text_tower_needs_a_prompt_embedding(official_files, tmp_path):
    _, vp, unet, _ = official_files
    no_text = {k: v for k, v in unet.items() if not k.startswith(TEXT_PREFIX)}
    path = tmp_path / "unet_no_text.ckpt"
    torch.save(no_text, path)
    with pytest.raises(WeightsMismatchError, match="--prompt-embedding"):
        load_official(MGLDVSR(size="tiny"), path, vp)
    emb = torch.randn(1, TINY_CONFIG.context_length, TINY_CONFIG.unet.context_dim)
    torch.save(emb, tmp_path / "empty_prompt.pt")
    model = load_official(MGLDVSR(size="tiny"), path, vp, prompt_embedding=tmp_path / "empty_prompt.pt")
    assert torch.equal(model.prompt_embedding, emb)


def test_loaded_model_round_trips_through_save_pretrained(official_files, tmp_path):
    """Convert once: our safetensors keep every tensor, the prompt embedding included."""
    from wildvsr.models import from_pretrained, save_pretrained

    up, vp, _, _ = official_files
    model = load_official(MGLDVSR(size="tiny"), up, vp)
    save_pretrained(model, tmp_path / "mgldvsr_tiny.safetensors")
    again = from_pretrained(tmp_path / "mgldvsr_tiny.safetensors")
    assert isinstance(again, MGLDVSR)
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), k
