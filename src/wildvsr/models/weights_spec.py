"""The weights-string syntax, parsed in one place.

A weights string is one of:

* ``"default"``: the default weights of the model in context;
* ``"name.tag"``: weights ``tag`` of registered model ``name`` (``"basicvsr.reds4"``);
* ``"tag"`` with a model in context (``create_model("basicvsr", weights="reds4")``), or ``"name"`` without one (its
  default weights);
* a path to a file or a folder (an existing file, or a string with a separator, a weights suffix or a leading ``~``);
* a bare registered file name (``"BasicVSR_REDS4.pth"``): looked up in the registered places and the cache.

:func:`parse_weights_spec` only reads the string (and asks the file system whether a path exists); finding the file
is :func:`wildvsr.models.resolve_weights`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wildvsr.errors import UnknownModelError
from wildvsr.models.weight_files import WEIGHTS_SUFFIXES

__all__ = ["WeightsSpec", "parse_weights_spec", "split_name", "looks_like_path"]


@dataclass(frozen=True)
class WeightsSpec:
    """A parsed weights string.

    Attributes:
        kind: ``"name"`` (registered weights ``model``/``tag``), ``"path"`` (a file or folder) or ``"file"`` (a bare
            file name to look up among registered files and in the cache).
        text: The string as given (for messages).
        model: Model name (kind ``"name"``).
        tag: Weights tag (kind ``"name"``); None for the model's default weights.
        path: The path (kinds ``"path"`` and ``"file"``), ``~`` expanded.
    """

    kind: Literal["name", "path", "file"]
    text: str
    model: str | None = None
    tag: str | None = None
    path: Path | None = None


def split_name(name: str) -> tuple[str, str | None]:
    """``"model.tag"`` -> ``("model", "tag")``; ``"model"`` -> ``("model", None)``."""
    model, _, tag = name.partition(".")
    return model, tag or None


def looks_like_path(text: str) -> bool:
    """True when a string is meant as a file path (has a separator, a weights suffix or starts with ``~``)."""
    return os.sep in text or "/" in text or text.lower().endswith(WEIGHTS_SUFFIXES) or text.startswith("~")


def parse_weights_spec(spec: str | os.PathLike, model: str | None = None) -> WeightsSpec:
    """Read a weights string (see the module docstring); ``model`` is the model in context, if any.

    Raises:
        UnknownModelError: ``"default"`` without a model in context.
    """
    text = os.fspath(spec)
    if isinstance(spec, os.PathLike):
        return WeightsSpec("path", text, path=Path(text).expanduser())
    if text == "default":
        if model is None:
            raise UnknownModelError("weights 'default' need a model name (use NAME or NAME.TAG)")
        return WeightsSpec("name", text, model=model)
    path = Path(text).expanduser()
    if path.is_file():
        return WeightsSpec("path", text, path=path)
    if looks_like_path(text):
        return WeightsSpec("file" if path.name == text else "path", text, path=path)
    if "." in text or model is None:
        name, tag = split_name(text)
        return WeightsSpec("name", text, model=name, tag=tag)
    return WeightsSpec("name", text, model=model, tag=text)
