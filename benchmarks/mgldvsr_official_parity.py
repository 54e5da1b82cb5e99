"""Parity of our MGLD-VSR modules with the official ``ldm`` code (random weights, loaded through our key map).

    python benchmarks/mgldvsr_official_parity.py --official /path/to/MGLD-VSR   # a checkout of IanYeung/MGLD-VSR

Needs ``einops`` besides our environment. The official modules import parts of BasicSR and xformers that these
modules do not use at these settings; small stand-ins are written to a temporary folder: xformers'
``memory_efficient_attention`` becomes ``torch.nn.functional.scaled_dot_product_attention`` (the same attention),
BasicSR's ``ResidualDenseBlock`` is ours (the same block), and ``rearrange`` drops ``t=None`` (the einops of the
official environment inferred it; newer einops refuse it). Builds a tiny official U-Net, time-aware encoder, VAE
encoder and ``VideoDecoder_Mix`` (every weight random, temporal alphas non-zero), saves them in the official key
layout, loads that into :class:`wildvsr.models.mgldvsr.MGLDVSR` by :func:`~wildvsr.models.mgldvsr.checkpoint.map_keys`
and prints the largest difference of each output (run on 2026-12-05: all below 2e-7).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

STUBS = {
    "basicsr/__init__.py": "",
    "basicsr/archs/__init__.py": "",
    "basicsr/archs/stylegan2_arch.py": "ConvLayer = EqualConv2d = object\n",
    "basicsr/archs/tempo_model_arch.py": ("class CouplePropModule:\n    pass\n\n\n"
                                          "class CouplePropModuleWithFlowNet:\n    pass\n"),
    "basicsr/archs/arch_util.py": (
        "import torch.nn as nn\n"
        "def default_init_weights(*a, **k):\n    pass\n"
        "def make_layer(block, n, **kw):\n    return nn.Sequential(*[block(**kw) for _ in range(n)])\n"
        "def pixel_unshuffle(*a):\n    raise NotImplementedError\n"),
    "basicsr/archs/rrdbnet_arch.py": "from wildvsr.models.rrdbnet import ResidualDenseBlock\nRRDB = object\n",
    "xformers/__init__.py": "from . import ops\n",
    "xformers/ops.py": (
        "import torch.nn.functional as F\n"
        "def memory_efficient_attention(q, k, v, attn_bias=None, op=None, scale=None):\n"
        "    return F.scaled_dot_product_attention(q, k, v, scale=scale)\n"),
}
T = 3


def _prepare(official: Path) -> None:
    stubs = Path(tempfile.mkdtemp(prefix="mgld_stubs_"))
    for name, text in STUBS.items():
        (stubs / name).parent.mkdir(parents=True, exist_ok=True)
        (stubs / name).write_text(text)
    sys.path[:0] = [str(official), str(stubs)]
    import einops

    original = einops.rearrange

    def lenient(tensor, pattern, **axes):
        return original(tensor, pattern, **{k: v for k, v in axes.items() if v is not None})

    import ldm.modules.attention as attention
    import ldm.modules.diffusionmodules.util as util

    einops.rearrange = util.rearrange = attention.rearrange = lenient


def _official_modules():
    from ldm.modules.diffusionmodules.model import Encoder, VideoDecoder_Mix
    from ldm.modules.diffusionmodules.openaimodel import InflatedEncoderUNetModelWT, InflatedUNetModelDualcondV2

    unet = InflatedUNetModelDualcondV2(
        image_size=32, in_channels=4, model_channels=32, out_channels=4, num_res_blocks=1, attention_resolutions=[1],
        channel_mult=[1, 2], num_head_channels=32, use_spatial_transformer=True, use_linear_in_transformer=True,
        transformer_depth=1, context_dim=16, legacy=False, semb_channels=32, num_frames=T)
    enc = InflatedEncoderUNetModelWT(image_size=96, in_channels=4, model_channels=32, out_channels=32,
                                     num_res_blocks=1, attention_resolutions=[1], channel_mult=[1, 1], num_heads=2,
                                     num_frames=T)
    dd = dict(double_z=True, z_channels=4, resolution=64, in_channels=3, out_ch=3, ch=32, ch_mult=[1, 2, 2, 2],
              num_res_blocks=1, attn_resolutions=[], dropout=0.0, num_frames=T)
    mods = (unet, enc, Encoder(**dd), VideoDecoder_Mix(**dd), torch.nn.Conv2d(8, 8, 1), torch.nn.Conv2d(4, 4, 1))
    with torch.no_grad():  # everything random, the zero-initialised outputs and uninitialised alphas included
        for m in mods:
            for n, p in m.named_parameters():
                p.copy_(torch.randn_like(p) * (0.3 if "alpha" in n else 0.05))
            m.eval()
    return mods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--official", type=Path, required=True, help="checkout of IanYeung/MGLD-VSR")
    args = parser.parse_args()
    _prepare(args.official)
    from wildvsr.models.mgldvsr.checkpoint import UNET_KEY_MAP, VAE_KEY_MAP, map_keys
    from wildvsr.models.mgldvsr.manifest import UNET_IGNORED, VAE_IGNORED
    from wildvsr.models.mgldvsr.model import TINY_CONFIG, MGLDVSR
    from wildvsr.models.mgldvsr.vae import VAEConfig

    torch.manual_seed(0)
    unet_o, enc_o, vae_enc_o, vae_dec_o, quant, post = _official_modules()
    cfg = replace(TINY_CONFIG, unet=replace(TINY_CONFIG.unet, sft_hidden=128),
                  vae=VAEConfig(ch=32, ch_mult=(1, 2, 2, 2), num_res_blocks=1, num_fuse_block=2, fuse_grow_ch=32))
    ours = MGLDVSR(cfg).eval()

    def prefixed(prefix: str, module: torch.nn.Module) -> dict[str, torch.Tensor]:
        return {prefix + k: v for k, v in module.state_dict().items()}

    unet_ckpt = {**prefixed("model.diffusion_model.", unet_o), **prefixed("structcond_stage_model.", enc_o),
                 **prefixed("first_stage_model.encoder.", vae_enc_o), **prefixed("first_stage_model.quant_conv.", quant)}
    vae_ckpt = {**prefixed("encoder.", vae_enc_o), **prefixed("decoder.", vae_dec_o),
                **prefixed("quant_conv.", quant), **prefixed("post_quant_conv.", post)}
    mapped = {**map_keys(unet_ckpt, UNET_KEY_MAP, UNET_IGNORED, "unet")[0],
              **map_keys(vae_ckpt, VAE_KEY_MAP, VAE_IGNORED, "vae")[0]}
    res = ours.load_state_dict(mapped, strict=False)
    left = [k for k in res.missing_keys if not k.startswith(("spynet.", "prompt_embedding"))]
    print(f"unfilled: {left}, unexpected: {res.unexpected_keys}")
    x, t, ctx = torch.randn(2 * T, 4, 16, 16), torch.full((2 * T,), 421), torch.randn(2 * T, 5, 16)
    img, z = torch.rand(2 * T, 3, 64, 64) * 2 - 1, torch.randn(2 * T, 4, 8, 8)
    with torch.no_grad():
        c_o, c_n = enc_o(x, t), ours.struct_encoder(x, t)
        print("time-aware encoder  max|diff|", max((c_o[str(k)] - v).abs().max().item() for k, v in c_n.items()))
        e_o, e_n = unet_o(x, t, context=ctx, struct_cond=c_o), ours.unet(x, t, ctx, c_n, T)
        print("U-Net               max|diff|", (e_o - e_n).abs().max().item(), " mean|out|", e_o.abs().mean().item())
        h_o, f_o = vae_enc_o(img, return_fea=True)
        m_n, f_n = ours.vae.encode(img)
        print("VAE encoder         max|diff|", (quant(h_o) - m_n).abs().max().item(),
              "features", [(a - b).abs().max().item() for a, b in zip(f_o, f_n)])
        vae_dec_o.fusion_w = 0.7
        d_o, d_n = vae_dec_o(post(z), f_o), ours.vae.decode(z, f_n, T, 0.7)
        print("temporal decoder    max|diff|", (d_o - d_n).abs().max().item(), " mean|out|", d_o.abs().mean().item())


if __name__ == "__main__":
    main()
