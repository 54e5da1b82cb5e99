"""MGLD-VSR model: the VAE against diffusers' SD VAE, the temporal decoder's identity start, seeds, clips, shapes."""

from __future__ import annotations

import re

import pytest
import torch

pytest.importorskip("diffusers")

from diffusers.models.autoencoders.vae import Decoder as DiffusersDecoder  # noqa: E402
from diffusers.models.autoencoders.vae import Encoder as DiffusersEncoder  # noqa: E402

from wildvsr.models.mgldvsr.guidance import frame_generators  # noqa: E402
from wildvsr.models.mgldvsr.model import MGLDVSR, adain_color_fix, gaussian_tile_weights  # noqa: E402
from wildvsr.models.mgldvsr.vae import VAEConfig, VideoVAE  # noqa: E402

CFG = VAEConfig(ch=32, ch_mult=(1, 2, 2, 2), num_res_blocks=1, num_fuse_block=1, fuse_grow_ch=8)
CHANNELS = tuple(CFG.ch * m for m in CFG.ch_mult)


def _to_diffusers(state: dict[str, torch.Tensor], levels: int) -> dict[str, torch.Tensor]:
    """Our (= LDM) VAE names -> diffusers' (the renames of diffusers' LDM conversion script, written out here)."""
    out = {}
    for key, value in state.items():
        if "temporal" in key or key.startswith("fusion_layer"):
            continue
        k = key.replace("nin_shortcut", "conv_shortcut").replace("norm_out", "conv_norm_out")
        k = re.sub(r"^mid\.block_(\d)", lambda m: f"mid_block.resnets.{int(m.group(1)) - 1}", k)
        k = k.replace("mid.attn_1.norm", "mid_block.attentions.0.group_norm")
        k = re.sub(r"^mid\.attn_1\.(q|k|v)\.", lambda m: f"mid_block.attentions.0.to_{m.group(1)}.", k)
        k = k.replace("mid.attn_1.proj_out", "mid_block.attentions.0.to_out.0")
        k = re.sub(r"^down\.(\d+)\.block\.", r"down_blocks.\1.resnets.", k)
        k = re.sub(r"^down\.(\d+)\.downsample\.", r"down_blocks.\1.downsamplers.0.", k)
        k = re.sub(r"^up\.(\d+)\.block\.", lambda m: f"up_blocks.{levels - 1 - int(m.group(1))}.resnets.", k)
        k = re.sub(r"^up\.(\d+)\.upsample\.", lambda m: f"up_blocks.{levels - 1 - int(m.group(1))}.upsamplers.0.", k)
        if "attentions.0.to_" in k and value.dim() == 4:
            value = value[:, :, 0, 0]
        out[k] = value
    return out


def _vae() -> VideoVAE:
    torch.manual_seed(0)
    vae = VideoVAE(CFG).eval()
    with torch.no_grad():  # random temporal convs, so only alpha = 0 can make them vanish
        for m in vae.decoder.modules():
            if hasattr(m, "temporal_conv"):
                m.temporal_conv.weight.normal_()
    return vae


def test_encoder_equals_diffusers_sd_encoder():
    vae = _vae()
    ref = DiffusersEncoder(in_channels=3, out_channels=4, down_block_types=("DownEncoderBlock2D",) * 4,
                           block_out_channels=CHANNELS, layers_per_block=1, double_z=True).eval()
    ref.load_state_dict(_to_diffusers(vae.encoder.state_dict(), 4), strict=True)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        ours, feats = vae.encoder(x)
        assert torch.allclose(ours, ref(x), atol=1e-5)
    assert [f.shape[1:] for f in feats] == [(64, 16, 16), (64, 8, 8)]


def test_temporal_decoder_with_zero_alpha_and_w0_equals_plain_vae_decoder():
    vae = _vae()
    ref = DiffusersDecoder(in_channels=4, out_channels=3, up_block_types=("UpDecoderBlock2D",) * 4,
                           block_out_channels=CHANNELS, layers_per_block=1).eval()
    ref.load_state_dict(_to_diffusers(vae.decoder.state_dict(), 4), strict=True)
    z = torch.randn(6, 4, 4, 4)
    with torch.no_grad():
        _, feats = vae.encode(torch.rand(6, 3, 32, 32) * 2 - 1)
        plain = ref(z)
        ours = vae.decoder(z, feats, num_frames=3, fusion_w=0.0)
        assert torch.allclose(ours, plain, atol=1e-5)
        for m in vae.decoder.modules():  # a trained alpha and w make it differ
            if hasattr(m, "temporal_alpha"):
                m.temporal_alpha.fill_(0.3)
        assert not torch.allclose(vae.decoder(z, feats, num_frames=3, fusion_w=0.0), plain, atol=1e-3)
        for m in vae.decoder.modules():
            if hasattr(m, "temporal_alpha"):
                m.temporal_alpha.zero_()
        assert not torch.allclose(vae.decoder(z, feats, num_frames=3, fusion_w=1.0), plain, atol=1e-3)
    names = {n for n, p in vae.decoder.named_parameters() if any(p is q for q in vae.decoder.trainable_parameters())}
    assert names and all("temporal" in n or n.startswith("fusion_layer") for n in names)


@pytest.fixture(scope="module")
def tiny_model() -> MGLDVSR:
    torch.manual_seed(0)
    return MGLDVSR(size="tiny").eval()


def test_same_seed_same_frames_different_seed_differs(tiny_model):
    lqs = torch.rand(1, 3, 3, 12, 18, generator=torch.Generator().manual_seed(0))
    a = tiny_model(lqs, seed=1)
    assert a.shape == (1, 3, 3, 48, 72) and torch.isfinite(a).all() and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, tiny_model(lqs, seed=1))
    assert not torch.equal(a, tiny_model(lqs, seed=2))


def test_chunked_equals_whole_when_pieces_align_with_clips(tiny_model):
    """Noise is drawn per (seed, frame index): feeding a video in clip-aligned pieces gives the same frames (bound:
    exact equality); with overlap, frames change only by the context their clip sees."""
    lqs = torch.rand(1, 6, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    whole = tiny_model.restore_sequence(lqs, seed=3)
    pieces = torch.cat([tiny_model.restore_sequence(lqs[:, :3], seed=3),
                        tiny_model.restore_sequence(lqs[:, 3:], seed=3, first_index=3)], dim=1)
    assert torch.equal(whole, pieces)
    overlapped = tiny_model.restore_sequence(lqs, seed=3, overlap=1)
    assert overlapped.shape == whole.shape and torch.equal(overlapped[:, :2], whole[:, :2])


def test_sequence_not_a_multiple_of_the_clip_repeats_the_last_frame(tiny_model):
    lqs = torch.rand(1, 4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    assert tiny_model.restore_sequence(lqs, seed=0).shape == (1, 4, 3, 32, 32)
    with pytest.raises(ValueError, match="overlap"):
        tiny_model.restore_sequence(lqs, overlap=3)


def test_latent_tiles_cover_larger_frames_and_helpers(tiny_model):
    weights = gaussian_tile_weights(64, 64)
    assert weights.shape == (64, 64) and weights[32, 31] > weights[0, 0] > 0
    x, ref = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8) * 0.5 + 0.2
    fixed = adain_color_fix(x, ref)
    assert torch.allclose(fixed.mean((2, 3)), ref.mean((2, 3)), atol=1e-5)
    lqs = torch.rand(1, 3, 3, 20, 12, generator=torch.Generator().manual_seed(3))  # latent 10x6 > tile 8: 2 tiles
    assert tiny_model(lqs).shape == (1, 3, 3, 80, 48)


def test_bf16_autocast_keeps_the_latent_chain_in_fp32(tiny_model):
    lqs = torch.rand(1, 3, 3, 8, 8, generator=torch.Generator().manual_seed(4))
    gens = [torch.Generator().manual_seed(i) for i in range(3)]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z0, x = tiny_model.sample_latents(lqs, gens)
        out = tiny_model.decode_latents(z0, x)
    assert z0.dtype == torch.float32 and out.dtype == torch.float32 and torch.isfinite(out).all()


def test_large_frames_are_restored_in_averaged_patches():
    """Frames above pixel_tile (after upsampling) run patch by patch: 32x64 px upsampled with 32 px patches, stride
    16 px -> 1 x 3 patches, each a full sampling run."""
    torch.manual_seed(0)
    model = MGLDVSR(size="tiny", pixel_tile=32, pixel_tile_stride=16).eval()
    lqs = torch.rand(1, 3, 3, 8, 16, generator=torch.Generator().manual_seed(5))
    steps = []
    out = model.restore_clip(lqs, frame_generators(0, range(3)), callback=lambda k, _n: steps.append(k))
    assert out.shape == (1, 3, 3, 32, 64) and torch.isfinite(out).all()
    assert len(steps) == 3 * model.cfg.sampling.steps
    whole = MGLDVSR(size="tiny").eval()
    whole.load_state_dict(model.state_dict())
    assert not torch.equal(whole.restore_clip(lqs, frame_generators(0, range(3))), out)
