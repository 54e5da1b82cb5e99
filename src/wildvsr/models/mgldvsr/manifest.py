"""Manifests of the official MGLD-VSR checkpoints: every tensor name and shape, derived from the official configs.

Written from ``configs/mgldvsr/mgldvsr_512_realbasicvsr_deg.yaml`` (LDM checkpoint: ``model.diffusion_model`` =
``InflatedUNetModelDualcondV2``, ``structcond_stage_model`` = ``InflatedEncoderUNetModelWT``, ``first_stage_model`` =
SD 2.1's ``AutoencoderKL``, ``cond_stage_model`` = ``FrozenOpenCLIPEmbedder`` ViT-H-14) and
``configs/video_vae/video_autoencoder_kl_64x64x4_resi.yaml`` (video VAE checkpoint: ``VideoAutoencoderKLResi`` with
``VideoDecoder_Mix``), by walking the constructors of ``ldm/modules`` in the same order as the official code. This
is an independent derivation from our modules' code: the tests compare the two (on the ``meta`` device at full
size), and build synthetic official-format checkpoints from these manifests.

Only what inference reads is enumerated; the rest of each file is a declared group (:data:`UNET_IGNORED`,
:data:`VAE_IGNORED`) that the loader recognises by prefix and skips, saying why.
"""

from __future__ import annotations

from wildvsr.models.mgldvsr.model import MGLDVSRConfig
from wildvsr.models.mgldvsr.text import TextConfig

__all__ = ["unet_checkpoint_manifest", "vae_checkpoint_manifest", "UNET_IGNORED", "VAE_IGNORED", "SCHEDULE_BUFFERS"]

Shape = tuple[int, ...]
Manifest = dict[str, Shape]

SCHEDULE_BUFFERS = ("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
                    "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod",
                    "sqrt_recipm1_alphas_cumprod", "posterior_variance", "posterior_log_variance_clipped",
                    "posterior_mean_coef1", "posterior_mean_coef2")

UNET_IGNORED: dict[str, str] = {
    "first_stage_model.decoder.": "the LDM's plain SD decoder (MGLD-VSR decodes with the video VAE)",
    "first_stage_model.post_quant_conv.": "the LDM's plain SD decoder (MGLD-VSR decodes with the video VAE)",
    "flownet_model.": "RAFT, the official flow network (wildvsr's guidance uses SPyNet, P-MG Table 4)",
    "cond_stage_model.model.attn_mask": "OpenCLIP's causal mask (rebuilt)",
    **{name: "the diffusion schedule (recomputed by the scheduler)" for name in SCHEDULE_BUFFERS},
}
"""Official LDM-checkpoint tensors that inference does not read: exact names, or prefixes ending in ``.``."""

VAE_IGNORED: dict[str, str] = {
    "loss.": "training-only losses of the decoder fine-tuning (discriminator, LPIPS, flow network)",
}


def _conv(cout: int, cin: int, k: int = 3) -> dict[str, Shape]:
    return {"weight": (cout, cin, k, k), "bias": (cout,)}


def _vec(c: int) -> dict[str, Shape]:
    return {"weight": (c,), "bias": (c,)}


def _lin(cout: int, cin: int, bias: bool = True) -> dict[str, Shape]:
    return {"weight": (cout, cin), "bias": (cout,)} if bias else {"weight": (cout, cin)}


def _add(out: Manifest, prefix: str, params: dict[str, Shape]) -> None:
    out.update({f"{prefix}.{k}": v for k, v in params.items()})


def _timestep_resblock(out: Manifest, p: str, cin: int, cout: int, emb: int, semb: int | None, hidden: int) -> None:
    """``ResBlock`` / ``ResBlockDual`` (openaimodel.py): in_layers, emb_layers, out_layers, skip, [spade]."""
    _add(out, f"{p}.in_layers.0", _vec(cin))
    _add(out, f"{p}.in_layers.2", _conv(cout, cin))
    _add(out, f"{p}.emb_layers.1", _lin(cout, emb))
    _add(out, f"{p}.out_layers.0", _vec(cout))
    _add(out, f"{p}.out_layers.3", _conv(cout, cout))
    if cin != cout:
        _add(out, f"{p}.skip_connection", _conv(cout, cin, 1))
    if semb is not None:
        _add(out, f"{p}.spade.param_free_norm", _vec(cout))
        _add(out, f"{p}.spade.mlp_shared.0", _conv(hidden, semb))
        _add(out, f"{p}.spade.mlp_gamma", _conv(cout, hidden))
        _add(out, f"{p}.spade.mlp_beta", _conv(cout, hidden))


def _spatial_transformer(out: Manifest, p: str, ch: int, ctx: int) -> None:
    """``SpatialTransformerV2`` with ``use_linear`` (inner dim = ch), one ``BasicTransformerBlockV2``."""
    _add(out, f"{p}.norm", _vec(ch))
    _add(out, f"{p}.proj_in", _lin(ch, ch))
    b = f"{p}.transformer_blocks.0"
    for attn, kv in (("attn1", ch), ("attn2", ctx)):
        out[f"{b}.{attn}.to_q.weight"] = (ch, ch)
        out[f"{b}.{attn}.to_k.weight"] = (ch, kv)
        out[f"{b}.{attn}.to_v.weight"] = (ch, kv)
        _add(out, f"{b}.{attn}.to_out.0", _lin(ch, ch))
    _add(out, f"{b}.ff.net.0.proj", _lin(ch * 8, ch))  # GEGLU: 2 x (4 ch)
    _add(out, f"{b}.ff.net.2", _lin(ch, ch * 4))
    for n in ("norm1", "norm2", "norm3"):
        _add(out, f"{b}.{n}", _vec(ch))
    _add(out, f"{p}.proj_out", _lin(ch, ch))


def _temporal_conv(out: Manifest, p: str, ch: int) -> None:
    out[f"{p}.temporal_conv.weight"] = (ch, ch, 3, 1, 1)
    out[f"{p}.temporal_conv.bias"] = (ch,)
    out[f"{p}.temporal_alpha"] = (1,)


def _time_embed_and_stem(out: Manifest, model_channels: int, in_channels: int) -> tuple[int, int]:
    """The timestep MLP and the first conv, shared by the U-Net and the time-aware encoder; returns
    ``(model_channels, time embedding width)``."""
    emb = model_channels * 4
    _add(out, "time_embed.0", _lin(emb, model_channels))
    _add(out, "time_embed.2", _lin(emb, emb))
    _add(out, "input_blocks.0.0", _conv(model_channels, in_channels))
    return model_channels, emb


def _unet(cfg: MGLDVSRConfig) -> Manifest:
    """``InflatedUNetModelDualcondV2`` with ``use_spatial_transformer``, ``legacy: False``, ``num_head_channels``."""
    u = cfg.unet
    out: Manifest = {}
    mc, emb = _time_embed_and_stem(out, u.model_channels, u.in_channels)
    chans, ch, ds, idx = [mc], mc, 1, 1
    for level, mult in enumerate(u.channel_mult):
        for _ in range(u.num_res_blocks):
            _timestep_resblock(out, f"input_blocks.{idx}.0", ch, mult * mc, emb, u.cond_channels, u.sft_hidden)
            ch = mult * mc
            if ds in u.attention_resolutions:
                _spatial_transformer(out, f"input_blocks.{idx}.1", ch, u.context_dim)
            chans.append(ch)
            idx += 1
        if level != len(u.channel_mult) - 1:
            _add(out, f"input_blocks.{idx}.0.op", _conv(ch, ch))
            chans.append(ch)
            idx, ds = idx + 1, ds * 2
    _timestep_resblock(out, "middle_block.0", ch, ch, emb, u.cond_channels, u.sft_hidden)
    _temporal_conv(out, "middle_block.1", ch)
    _spatial_transformer(out, "middle_block.2", ch, u.context_dim)
    inner = (ch // u.num_head_channels) * u.num_head_channels
    for n in ("to_q", "to_k", "to_v"):
        out[f"middle_block.3.temporal_attn.{n}.weight"] = (inner, ch)
    _add(out, "middle_block.3.temporal_attn.to_out.0", _lin(ch, inner))
    _add(out, "middle_block.3.norm", _vec(ch))
    out["middle_block.3.temporal_alpha"] = (1,)
    _timestep_resblock(out, "middle_block.4", ch, ch, emb, u.cond_channels, u.sft_hidden)
    _temporal_conv(out, "middle_block.5", ch)
    idx = 0
    for level, mult in reversed(list(enumerate(u.channel_mult))):
        for i in range(u.num_res_blocks + 1):
            _timestep_resblock(out, f"output_blocks.{idx}.0", ch + chans.pop(), mc * mult, emb, u.cond_channels,
                               u.sft_hidden)
            ch, layer = mc * mult, 1
            if ds in u.attention_resolutions:
                _spatial_transformer(out, f"output_blocks.{idx}.1", ch, u.context_dim)
                layer = 2
            if level and i == u.num_res_blocks:
                _add(out, f"output_blocks.{idx}.{layer}.conv", _conv(ch, ch))
                ds //= 2
            idx += 1
    _add(out, "out.0", _vec(ch))
    _add(out, "out.2", _conv(u.out_channels, mc))
    return out


def _struct_encoder(cfg: MGLDVSRConfig) -> Manifest:
    """``InflatedEncoderUNetModelWT``: ResBlocks + legacy ``AttentionBlock``s, a middle block and ``fea_tran``."""
    e = cfg.encoder
    out: Manifest = {}
    mc, emb = _time_embed_and_stem(out, e.model_channels, e.in_channels)

    def attention(p: str, c: int) -> None:
        _add(out, f"{p}.norm", _vec(c))
        out[f"{p}.qkv.weight"], out[f"{p}.qkv.bias"] = (3 * c, c, 1), (3 * c,)
        out[f"{p}.proj_out.weight"], out[f"{p}.proj_out.bias"] = (c, c, 1), (c,)

    feats, ch, ds, idx = [], mc, 1, 1
    for level, mult in enumerate(e.channel_mult):
        for _ in range(e.num_res_blocks):
            _timestep_resblock(out, f"input_blocks.{idx}.0", ch, mult * mc, emb, None, 0)
            ch = mult * mc
            if ds in e.attention_resolutions:
                attention(f"input_blocks.{idx}.1", ch)
            idx += 1
        if level != len(e.channel_mult) - 1:
            _add(out, f"input_blocks.{idx}.0.op", _conv(ch, ch))
            feats.append(ch)
            idx, ds = idx + 1, ds * 2
    _timestep_resblock(out, "middle_block.0", ch, ch, emb, None, 0)
    attention("middle_block.1", ch)
    _timestep_resblock(out, "middle_block.2", ch, ch, emb, None, 0)
    feats.append(ch)
    for i, c in enumerate(feats):
        _timestep_resblock(out, f"fea_tran.{i}", c, e.out_channels, emb, None, 0)
    return out


def _vae_resnet(out: Manifest, p: str, cin: int, cout: int, shortcut: str = "nin_shortcut") -> None:
    _add(out, f"{p}.norm1", _vec(cin))
    _add(out, f"{p}.conv1", _conv(cout, cin))
    _add(out, f"{p}.norm2", _vec(cout))
    _add(out, f"{p}.conv2", _conv(cout, cout))
    if cin != cout:
        _add(out, f"{p}.{shortcut}", _conv(cout, cin, 1))


def _vae_mid(out: Manifest, p: str, c: int) -> None:
    _vae_resnet(out, f"{p}.block_1", c, c)
    _add(out, f"{p}.attn_1.norm", _vec(c))
    for n in ("q", "k", "v", "proj_out"):
        _add(out, f"{p}.attn_1.{n}", _conv(c, c, 1))
    _vae_resnet(out, f"{p}.block_2", c, c)


def _vae_encoder(cfg: MGLDVSRConfig) -> Manifest:
    """ldm ``Encoder`` (double_z, no attention at any resolution: ``attn_resolutions: []``)."""
    v = cfg.vae
    out: Manifest = {}
    _add(out, "conv_in", _conv(v.ch, v.in_channels))
    in_mult = (1,) + tuple(v.ch_mult)
    for i, mult in enumerate(v.ch_mult):
        cin = v.ch * in_mult[i]
        for j in range(v.num_res_blocks):
            _vae_resnet(out, f"down.{i}.block.{j}", cin, v.ch * mult)
            cin = v.ch * mult
        if i != len(v.ch_mult) - 1:
            _add(out, f"down.{i}.downsample.conv", _conv(cin, cin))
    top = v.ch * v.ch_mult[-1]
    _vae_mid(out, "mid", top)
    _add(out, "norm_out", _vec(top))
    _add(out, "conv_out", _conv(2 * v.z_channels, top))
    return out


def _video_decoder(cfg: MGLDVSRConfig) -> Manifest:
    """``VideoDecoder_Mix``: temporal convs after mid block 1 and every up ResnetBlock; CFW at the middle levels."""
    v = cfg.vae
    out: Manifest = {}
    levels = len(v.ch_mult)
    ch = v.ch * v.ch_mult[-1]
    _add(out, "conv_in", _conv(ch, v.z_channels))
    _vae_mid(out, "mid", ch)
    _temporal_conv(out, "temporal_mixing", ch)
    for i in reversed(range(levels)):
        cout = v.ch * v.ch_mult[i]
        if 0 < i < levels - 1:
            p, g = f"fusion_layer_{i}", v.fuse_grow_ch
            _vae_resnet(out, f"{p}.encode_enc_1", 2 * cout, cout, shortcut="conv_out")
            for k in range(v.num_fuse_block):
                for n in range(1, 5):
                    _add(out, f"{p}.encode_enc_2.{k}.conv{n}", _conv(g, cout + (n - 1) * g))
                _add(out, f"{p}.encode_enc_2.{k}.conv5", _conv(cout, cout + 4 * g))
            _vae_resnet(out, f"{p}.encode_enc_3", cout, cout, shortcut="conv_out")
        for j in range(v.num_res_blocks + 1):
            _vae_resnet(out, f"up.{i}.block.{j}", ch, cout)
            ch = cout
            _temporal_conv(out, f"up.{i}.temporal_mixing.{j}", cout)
        if i != 0:
            _add(out, f"up.{i}.upsample.conv", _conv(cout, cout))
    _add(out, "norm_out", _vec(ch))
    _add(out, "conv_out", _conv(v.out_ch, ch))
    return out


def _open_clip_text(t: TextConfig) -> Manifest:
    """OpenCLIP ``CLIP`` without ``visual`` (what ``FrozenOpenCLIPEmbedder`` keeps)."""
    out: Manifest = {"positional_embedding": (t.context_length, t.width), "text_projection": (t.width, t.embed_dim),
                     "logit_scale": (), "token_embedding.weight": (t.vocab_size, t.width)}
    _add(out, "ln_final", _vec(t.width))
    for i in range(t.layers):
        p = f"transformer.resblocks.{i}"
        _add(out, f"{p}.ln_1", _vec(t.width))
        out[f"{p}.attn.in_proj_weight"], out[f"{p}.attn.in_proj_bias"] = (3 * t.width, t.width), (3 * t.width,)
        _add(out, f"{p}.attn.out_proj", _lin(t.width, t.width))
        _add(out, f"{p}.ln_2", _vec(t.width))
        _add(out, f"{p}.mlp.c_fc", _lin(4 * t.width, t.width))
        _add(out, f"{p}.mlp.c_proj", _lin(t.width, 4 * t.width))
    return out


def _prefixed(prefix: str, manifest: Manifest) -> Manifest:
    return {prefix + k: v for k, v in manifest.items()}


def unet_checkpoint_manifest(cfg: MGLDVSRConfig | None = None, text: TextConfig | None = TextConfig()) -> Manifest:
    """Names and shapes of the official LDM checkpoint's tensors that inference reads (``text=None``: a checkpoint
    without the OpenCLIP text tower)."""
    cfg = cfg or MGLDVSRConfig()
    out = _prefixed("model.diffusion_model.", _unet(cfg))
    out.update(_prefixed("structcond_stage_model.", _struct_encoder(cfg)))
    out.update(_prefixed("first_stage_model.encoder.", _vae_encoder(cfg)))
    z2 = 2 * cfg.vae.z_channels
    out.update({"first_stage_model.quant_conv.weight": (z2, z2, 1, 1), "first_stage_model.quant_conv.bias": (z2,)})
    if text is not None:
        out.update(_prefixed("cond_stage_model.model.", _open_clip_text(text)))
    return out


def vae_checkpoint_manifest(cfg: MGLDVSRConfig | None = None) -> Manifest:
    """Names and shapes of the official video-VAE checkpoint's tensors that inference reads."""
    cfg = cfg or MGLDVSRConfig()
    out = _prefixed("encoder.", _vae_encoder(cfg))
    out.update(_prefixed("decoder.", _video_decoder(cfg)))
    z, z2 = cfg.vae.z_channels, 2 * cfg.vae.z_channels
    out.update({"quant_conv.weight": (z2, z2, 1, 1), "quant_conv.bias": (z2,),
                "post_quant_conv.weight": (z, z, 1, 1), "post_quant_conv.bias": (z,)})
    return out
