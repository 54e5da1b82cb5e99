"""Loading the official MGLD-VSR checkpoints into :class:`~.model.MGLDVSR` by an explicit, strict key map.

Two files, both published by the authors (links in the README of https://github.com/IanYeung/MGLD-VSR):

- the LDM checkpoint (``--ckpt`` of the official scripts): the denoising U-Net, the time-aware LR encoder, the SD VAE
  (its encoder makes the initial latent) and, in a full Lightning checkpoint, the OpenCLIP text tower and RAFT;
- the video VAE checkpoint (``--vqgan_ckpt``): SD encoder, temporal-aware decoder with CFW.

Every tensor of a file must either map onto our model (same shape) or belong to a declared unused group
(:data:`~.manifest.UNET_IGNORED`, :data:`~.manifest.VAE_IGNORED`), and every tensor of our model must be filled:
otherwise :class:`~wildvsr.errors.WeightsMismatchError` with one line naming the first offending tensor. Files are read
with ``torch.load(weights_only=True)`` (a pickle that needs code is refused), or as safetensors.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from wildvsr.errors import WeightsMismatchError, WeightsNotFoundError
from wildvsr.models.mgldvsr.manifest import UNET_IGNORED, VAE_IGNORED
from wildvsr.models.mgldvsr.model import MGLDVSR
from wildvsr.models.mgldvsr.text import OpenCLIPText, TextConfig, load_prompt_embedding

__all__ = ["UNET_KEY_MAP", "VAE_KEY_MAP", "TEXT_PREFIX", "read_checkpoint", "map_keys", "load_official",
           "checkpoint_filter_fn", "OFFICIAL_SOURCE"]

OFFICIAL_SOURCE = ("the MGLD-VSR authors' BaiduNetDisk/OneDrive links in the README of "
                   "https://github.com/IanYeung/MGLD-VSR (section 'Inference')")

UNET_KEY_MAP: dict[str, str] = {  # official prefix -> our module prefix
    "model.diffusion_model.": "unet.",
    "structcond_stage_model.": "struct_encoder.",
    "first_stage_model.encoder.": "latent_encoder.encoder.",
    "first_stage_model.quant_conv.": "latent_encoder.quant_conv.",
}
VAE_KEY_MAP: dict[str, str] = {
    "encoder.": "vae.encoder.",
    "decoder.": "vae.decoder.",
    "quant_conv.": "vae.quant_conv.",
    "post_quant_conv.": "vae.post_quant_conv.",
}
TEXT_PREFIX = "cond_stage_model.model."
# filled from our own SPyNet weights (official BasicVSR), and computed from the text tower, not mapped
NOT_FROM_OFFICIAL_FILES = ("spynet.", "prompt_embedding")


def read_checkpoint(path: str | os.PathLike, what: str) -> dict[str, torch.Tensor]:
    """Tensors of a ``.ckpt``/``.pth`` (``state_dict`` unwrapped) or ``.safetensors`` file, without running code."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"{what} not found: {path} (published by {OFFICIAL_SOURCE})")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # not a zip-format file (no mmap), or refused: read it whole to tell which
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # pickle.UnpicklingError and friends: a file that needs code to load
            raise WeightsMismatchError(f"{what} {path} cannot be read as plain tensors (weights_only=True refused "
                                       f"it: {str(exc).splitlines()[0]}); refusing to run code from a weights "
                                       "file") from None
    state = obj.get("state_dict", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsMismatchError(f"{what} {path} holds no state dict of tensors")
    return state


def _ignored(key: str, ignored: dict[str, str]) -> bool:
    return any(key == p or (p.endswith(".") and key.startswith(p)) for p in ignored)


def map_keys(state: dict[str, torch.Tensor], key_map: dict[str, str], ignored: dict[str, str], what: str,
             keep_prefix: str | None = None) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Rename official keys to ours; returns (mapped, kept) where ``kept`` holds ``keep_prefix`` tensors (prefix
    stripped). A key that is neither mapped, kept nor declared unused raises a one-line error."""
    mapped: dict[str, torch.Tensor] = {}
    kept: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if keep_prefix and key.startswith(keep_prefix) and not _ignored(key, ignored):
            kept[key[len(keep_prefix):]] = value
            continue
        prefix = next((p for p in key_map if key.startswith(p)), None)
        if prefix is not None:
            mapped[key_map[prefix] + key[len(prefix):]] = value
        elif not _ignored(key, ignored):
            raise WeightsMismatchError(f"{what}: unexpected tensor {key!r} {tuple(value.shape)} "
                                       f"(not an MGLD-VSR {what} of the official layout)")
    return mapped, kept


def _check_into(model: torch.nn.Module, mapped: dict[str, torch.Tensor], prefixes: tuple[str, ...], what: str,
                inverse: dict[str, str]) -> None:
    """Every parameter/buffer of ``model`` under ``prefixes`` is in ``mapped`` with its shape (one-line errors)."""
    own = {k: v for k, v in model.state_dict().items() if k.startswith(prefixes)}
    for key, tensor in own.items():
        official = next((o + key[len(p):] for p, o in inverse.items() if key.startswith(p)), key)
        if key not in mapped:
            raise WeightsMismatchError(f"{what}: missing tensor {official!r} (expected shape {tuple(tensor.shape)})")
        if tuple(mapped[key].shape) != tuple(tensor.shape):
            raise WeightsMismatchError(f"{what}: tensor {official!r} has shape {tuple(mapped[key].shape)}, "
                                       f"expected {tuple(tensor.shape)}")
    for key in mapped:
        if key not in own:
            raise WeightsMismatchError(f"{what}: tensor {key!r} has no place in the model")


def _text_embedding(kept: dict[str, torch.Tensor], model: MGLDVSR, what: str) -> torch.Tensor:
    width = model.cfg.unet.context_dim
    layers = 1 + max(int(k.split(".")[2]) for k in kept if k.startswith("transformer.resblocks."))
    cfg = TextConfig(vocab_size=kept["token_embedding.weight"].shape[0], context_length=model.cfg.context_length,
                     width=width, heads=max(width // 64, 1), layers=layers,
                     embed_dim=kept["text_projection"].shape[-1])
    with torch.device("meta"):
        text = OpenCLIPText(cfg)
    inverse = {"": TEXT_PREFIX}
    _check_into(text, kept, ("",), what, inverse)
    text.load_state_dict(kept, strict=True, assign=True)
    return text.float().empty_prompt_embedding()


def load_official(model: MGLDVSR, unet_weights: str | os.PathLike, vae_weights: str | os.PathLike, *,
                  spynet_state: dict[str, torch.Tensor] | None = None,
                  prompt_embedding: str | os.PathLike | None = None) -> MGLDVSR:
    """Fill ``model`` from the two official files (strict), then SPyNet and the prompt embedding.

    Args:
        model: An :class:`MGLDVSR` of the official size (or the size the files were made for).
        unet_weights: The LDM checkpoint.
        vae_weights: The video VAE checkpoint.
        spynet_state: SPyNet weights (our layout) for the guidance flows; None keeps the model's.
        prompt_embedding: A ``(1, 77, 1024)`` embedding file, needed only when the LDM checkpoint has no
            ``cond_stage_model.model.*`` text tower.
    """
    what_u, what_v = "MGLD-VSR U-Net checkpoint", "MGLD-VSR video VAE checkpoint"
    unet_state = read_checkpoint(unet_weights, what_u)
    mapped_u, text_state = map_keys(unet_state, UNET_KEY_MAP, UNET_IGNORED, what_u, keep_prefix=TEXT_PREFIX)
    del unet_state
    mapped_v, _ = map_keys(read_checkpoint(vae_weights, what_v), VAE_KEY_MAP, VAE_IGNORED, what_v)
    _check_into(model, mapped_u, tuple(UNET_KEY_MAP.values()), what_u, {v: k for k, v in UNET_KEY_MAP.items()})
    _check_into(model, mapped_v, tuple(VAE_KEY_MAP.values()), what_v, {v: k for k, v in VAE_KEY_MAP.items()})
    if text_state:
        embedding = _text_embedding(text_state, model, what_u)
    elif prompt_embedding is not None:
        embedding = load_prompt_embedding(prompt_embedding, model.cfg.context_length, model.cfg.unet.context_dim)
    else:
        raise WeightsMismatchError(f"{what_u} {unet_weights} has no OpenCLIP text tower ({TEXT_PREFIX}*): pass "
                                   f"the empty-prompt embedding (1, {model.cfg.context_length}, "
                                   f"{model.cfg.unet.context_dim}) of OpenCLIP ViT-H-14 laion2b_s32b_b79k, "
                                   "penultimate layer, as --prompt-embedding")
    missing = model.load_state_dict({**mapped_u, **mapped_v}, strict=False)
    left = [k for k in missing.missing_keys if not k.startswith(NOT_FROM_OFFICIAL_FILES)]
    if left or missing.unexpected_keys:  # cannot happen after the checks above; a guard against a model change
        raise WeightsMismatchError(f"MGLD-VSR: tensors left unfilled: {(left + missing.unexpected_keys)[:1]}")
    if spynet_state is not None:
        model.spynet.load_state_dict(spynet_state, strict=True)
    model.prompt_embedding.copy_(embedding.to(model.prompt_embedding))
    return model


def checkpoint_filter_fn(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Our own layout (``save_pretrained`` of a loaded model) passes through; an official file alone is refused:
    MGLD-VSR needs the authors' two files together (:func:`load_official`)."""
    official = tuple(UNET_KEY_MAP) + tuple(VAE_KEY_MAP) + (TEXT_PREFIX,)
    if any(k.startswith(official) for k in state):
        raise WeightsMismatchError("MGLD-VSR loads from two official files: use --weights UNET.ckpt --vae-weights "
                                   "VAE.ckpt (library: wildvsr.models.mgldvsr.load_official), not one file alone")
    return state
