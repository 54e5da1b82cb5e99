"""The text conditioning MGLD-VSR needs: the OpenCLIP ViT-H/14 text tower's penultimate-layer embedding of ``""``.

MGLD-VSR (like StableSR) always samples with the empty prompt, so the whole text path reduces to one fixed
``(1, 77, 1024)`` tensor. We compute it from the text-tower weights that an LDM checkpoint carries under
``cond_stage_model.model.*`` (the official ``FrozenOpenCLIPEmbedder``: token and positional embeddings, 24 pre-LN
residual attention blocks with a causal mask, ``ln_final``; ``layer="penultimate"`` skips the last block). The empty
prompt tokenises to ``[<start>, <end>, 0 x 75]`` (OpenCLIP pads with 0), so no BPE tokenizer is needed. When a
checkpoint lacks those weights, the embedding can be given as a file instead (:func:`load_prompt_embedding`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from wildvsr.errors import WeightsMismatchError, WeightsNotFoundError

__all__ = ["TextConfig", "OpenCLIPText", "empty_prompt_tokens", "load_prompt_embedding"]

SOT_TOKEN, EOT_TOKEN = 49406, 49407


@dataclass(frozen=True)
class TextConfig:
    """OpenCLIP ViT-H/14 text tower sizes (defaults), for the official ``cond_stage_model``."""

    vocab_size: int = 49408
    context_length: int = 77
    width: int = 1024
    heads: int = 16
    layers: int = 24
    embed_dim: int = 1024  # text_projection output (unused by the penultimate-layer embedding, but in the file)


def empty_prompt_tokens(context_length: int = 77) -> torch.Tensor:
    """Token ids of ``""``: start, end, then zero padding, ``(1, context_length)``."""
    tokens = torch.zeros(1, context_length, dtype=torch.long)
    tokens[0, 0], tokens[0, 1] = SOT_TOKEN, EOT_TOKEN
    return tokens


class _Block(nn.Module):
    """Pre-LN residual block: ``x + attn(ln_1(x))``, ``x + mlp(ln_2(x))`` (OpenCLIP ``ResidualAttentionBlock``)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, width * 4))
        self.mlp.add_module("gelu", nn.GELU())
        self.mlp.add_module("c_proj", nn.Linear(width * 4, width))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class OpenCLIPText(nn.Module):
    """The text half of OpenCLIP (names as in its state dict: ``token_embedding``, ``positional_embedding``,
    ``transformer.resblocks.N``, ``ln_final``, ``text_projection``, ``logit_scale``)."""

    def __init__(self, config: TextConfig | None = None, **kwargs) -> None:
        super().__init__()
        cfg = config or TextConfig(**kwargs)
        self.cfg = cfg
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.width)
        self.positional_embedding = nn.Parameter(torch.zeros(cfg.context_length, cfg.width))
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.ModuleList([_Block(cfg.width, cfg.heads) for _ in range(cfg.layers)])
        self.ln_final = nn.LayerNorm(cfg.width)
        self.text_projection = nn.Parameter(torch.zeros(cfg.width, cfg.embed_dim))
        self.logit_scale = nn.Parameter(torch.zeros(()))

    @torch.no_grad()
    def encode(self, tokens: torch.Tensor, skip_last: int = 1) -> torch.Tensor:
        """``(N, L)`` token ids -> ``(N, L, width)`` after all but the last ``skip_last`` blocks and ``ln_final``."""
        x = self.token_embedding(tokens) + self.positional_embedding
        n = tokens.shape[1]
        mask = torch.full((n, n), float("-inf"), device=x.device).triu(1)  # causal
        for block in self.transformer.resblocks[:len(self.transformer.resblocks) - skip_last]:
            x = block(x, mask)
        return self.ln_final(x)

    def empty_prompt_embedding(self) -> torch.Tensor:
        """The conditioning MGLD-VSR samples with: ``(1, 77, width)``."""
        return self.encode(empty_prompt_tokens(self.cfg.context_length).to(self.positional_embedding.device))


def load_prompt_embedding(path: str | Path, context_length: int, width: int) -> torch.Tensor:
    """A precomputed prompt embedding ``(1, L, D)`` (or ``(L, D)``) from a ``.pt``/``.safetensors`` file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsNotFoundError(f"prompt embedding file {path} not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        tensors = load_file(str(path))
        if len(tensors) != 1:
            raise WeightsMismatchError(f"{path}: expected one tensor, found {sorted(tensors)}")
        emb = next(iter(tensors.values()))
    else:
        emb = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(emb, torch.Tensor):
        raise WeightsMismatchError(f"{path}: expected a tensor, found {type(emb).__name__}")
    emb = emb.float().reshape(1, *emb.shape[-2:]) if emb.dim() in (2, 3) else emb
    if tuple(emb.shape) != (1, context_length, width):
        raise WeightsMismatchError(f"{path}: prompt embedding has shape {tuple(emb.shape)}, "
                                   f"expected (1, {context_length}, {width})")
    return emb

