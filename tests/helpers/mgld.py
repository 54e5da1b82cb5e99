"""Synthetic official-format MGLD-VSR checkpoints at tiny size (every tensor name and shape from the manifest that the
official configs define; values random), for the key-map tests and the trainer's ``mgld.unet_weights`` tests."""

from __future__ import annotations

from pathlib import Path

import torch


def tiny_text_config():
    """The OpenCLIP text tower the tiny U-Net checkpoint carries (small, so its empty-prompt embedding is cheap)."""
    from wildvsr.models.mgldvsr.model import TINY_CONFIG
    from wildvsr.models.mgldvsr.text import TextConfig

    return TextConfig(context_length=TINY_CONFIG.context_length, width=TINY_CONFIG.unet.context_dim, heads=1,
                      layers=2, embed_dim=8)


def _synthetic(manifest: dict, extra: dict, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(s, generator=g) * 0.05 for k, s in manifest.items()}
    state.update(extra)
    return state


def write_official_checkpoints(directory: Path) -> tuple[Path, Path, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """``(unet_path, vae_path, unet_state, vae_state)``: the authors' two files at tiny size, with the extra tensors
    the official files hold and our loader must ignore (DDPM buffers, the flow net, the VAE's GAN loss)."""
    from wildvsr.models.mgldvsr.manifest import unet_checkpoint_manifest, vae_checkpoint_manifest
    from wildvsr.models.mgldvsr.model import TINY_CONFIG

    unet = _synthetic(unet_checkpoint_manifest(TINY_CONFIG, tiny_text_config()), {
        "betas": torch.rand(1000), "flownet_model.fnet.conv1.weight": torch.rand(64, 3, 7, 7),
        "first_stage_model.decoder.conv_in.weight": torch.rand(32, 4, 3, 3)}, 0)
    vae = _synthetic(vae_checkpoint_manifest(TINY_CONFIG), {"loss.discriminator.main.0.weight": torch.rand(8, 3, 4, 4),
                                                             "loss.logvar": torch.zeros(())}, 1)
    up, vp = directory / "mgldvsr_unet.ckpt", directory / "video_vae_cfw.ckpt"
    torch.save({"state_dict": unet, "global_step": 123}, up)
    torch.save({"state_dict": vae}, vp)
    return up, vp, unet, vae
