"""Typed configs: frozen dataclasses filled from plain dicts (YAML), every key and value checked at load.

Each package keeps only its schema (``train/config.py``, ``degrade/config.py``, ``inference/config.py``); this module
is the one loader behind them:

- :func:`from_dict` builds a dataclass from a plain dict: unknown keys, wrong types and values outside a
  ``Literal[...]`` raise :class:`~wildvsr.errors.ConfigError` (CLI exit 2);
- :func:`to_dict` is its inverse (tuples become lists): ``from_dict(cls, to_dict(cfg)) == cfg``;
- :func:`apply_overrides` applies ``key.sub=value`` strings (``--set``) to a plain dict, checking the keys.

Every error has one format, the dotted key path then what is wrong::

    final.jpeg.backend: 'torchh' is not one of 'libjpeg', 'torch'

Supported annotations: ``bool``, ``int`` (integral floats accepted), ``float`` (ints and numeric strings accepted:
YAML 1.1 reads ``1e-4`` as a string), ``str``, ``Literal[...]``, ``X | None`` and other unions (exact type first,
then coercion, in annotation order), ``tuple[X, ...]`` (a scalar becomes a 1-tuple), ``tuple[X, Y]``,
``dict[K, V]``, ``Any`` and nested dataclasses.
"""

from __future__ import annotations

import copy
import dataclasses
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from wildvsr.errors import ConfigError

__all__ = ["ConfigError", "config_error", "from_dict", "to_dict", "apply_overrides", "check_key_path", "read_yaml"]

T = TypeVar("T")


def config_error(path: str, message: str) -> ConfigError:
    """The one error format: ``'<dotted.key.path>: <message>'`` (``config`` when the path is the whole config)."""
    return ConfigError(f"{path or 'config'}: {message}")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


# ---------------------------------------------------------------------------------------------------------- scalars
def _scalar(value: Any, tp: type, path: str, strict: bool) -> Any:
    """``bool``/``int``/``float``/``str``; ``strict`` accepts only the exact type (used for a union's first pass)."""
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise config_error(path, f"must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if not strict and isinstance(value, float) and value.is_integer():
            return int(value)
        raise config_error(path, f"must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and not strict):
            return float(value)
        if not strict and isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise config_error(path, f"must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise config_error(path, f"must be a string, got {value!r}")
    raise config_error(path, f"unsupported type {tp}")  # pragma: no cover - a schema bug, not a user error


# ------------------------------------------------------------------------------------------------------ containers
def _union(value: Any, args: tuple, path: str, strict: bool) -> Any:
    if value is None:
        if type(None) in args:
            return None
        raise config_error(path, f"must be {' or '.join(_type_name(a) for a in args)}, got null")
    options = [a for a in args if a is not type(None)]
    last: ConfigError | None = None
    for pass_strict in ((True,) if strict else (True, False)):  # exact type first: "8" stays a str in int | str
        for arg in options:
            try:
                return _coerce(value, arg, path, pass_strict)
            except ConfigError as exc:
                last = exc
    if len(options) == 1 and last is not None:  # Optional[X]: X's own message is the precise one
        raise last
    raise config_error(path, f"must be {' or '.join(_type_name(a) for a in args)}, got {value!r}")


def _tuple(value: Any, args: tuple, path: str, strict: bool) -> tuple:
    variadic = bool(args) and args[-1] is Ellipsis
    if variadic and isinstance(value, (str, int, float)):
        value = [value]  # a single root / milestone given as a scalar
    if not isinstance(value, (list, tuple)):
        raise config_error(path, f"must be a list, got {value!r}")
    if variadic:
        return tuple(_coerce(v, args[0], f"{path}[{i}]", strict) for i, v in enumerate(value))
    if len(value) != len(args):
        raise config_error(path, f"must be a list of {len(args)} values, got {value!r}")
    return tuple(_coerce(v, a, f"{path}[{i}]", strict) for i, (v, a) in enumerate(zip(value, args)))


def _dict(value: Any, args: tuple, path: str, strict: bool) -> dict:
    if not isinstance(value, dict):
        raise config_error(path, f"must be a mapping, got {value!r}")
    kt, vt = args or (Any, Any)
    return {_coerce(str(k) if kt is str else k, kt, _join(path, k), strict): _coerce(v, vt, _join(path, k), strict)
            for k, v in value.items()}


def _coerce(value: Any, tp: Any, path: str, strict: bool = False) -> Any:
    """``value`` checked against the annotation ``tp`` (resolved), as the typed value."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path)
    if _is_union(tp):
        return _union(value, args, path, strict)
    if origin is Literal:
        if isinstance(value, bool) or value not in args:  # True == 1 must not pass for Literal[1, ...]
            raise config_error(path, f"{value!r} is not one of {', '.join(repr(a) for a in args)}")
        return value
    if origin is tuple:
        return _tuple(value, args, path, strict)
    if origin is dict:
        return _dict(value, args, path, strict)
    return _scalar(value, tp, path, strict)


def _build(cls: type, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise config_error(path, f"must be a mapping of {cls.__name__} keys, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for key, value in data.items():
        if key not in names:
            valid = ", ".join(sorted(names))
            raise config_error(_join(path, key), f"unknown key {str(key)!r}; valid keys here: {valid}")
        kwargs[key] = _coerce(value, hints[key], _join(path, key))
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:  # a schema's own __post_init__ check
        raise config_error(path, str(exc)) from None


# ------------------------------------------------------------------------------------------------------------ API
def from_dict(cls: type[T], data: Any) -> T:
    """Build the dataclass ``cls`` from a plain dict (e.g. parsed YAML).

    Raises:
        ConfigError: an unknown key, a wrong type, a value outside a ``Literal``, or a check of the schema's
            ``__post_init__`` failed; the message starts with the dotted key path.
    """
    return _build(cls, data, "")


def to_dict(obj: Any) -> Any:
    """Plain YAML/JSON-able form of a config dataclass (nested dataclasses -> dicts, tuples -> lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    return obj


def check_key_path(cls: type, key: str) -> None:
    """Raise :class:`ConfigError` unless the dotted ``key`` names a field of ``cls`` (or a key inside a dict field,
    which is free-form)."""
    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise config_error(key, "bad key")
    tp: Any = cls
    for i, part in enumerate(parts):
        if _is_union(tp):  # X | None: the X
            tp = next((a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)), tp)
        if typing.get_origin(tp) is dict:
            return
        where = ".".join(parts[:i])
        if not dataclasses.is_dataclass(tp):
            raise config_error(key, f"unknown key; {where} has no sub-keys")
        hints = typing.get_type_hints(tp)
        if part not in hints:
            raise config_error(key, f"unknown key {part!r}; valid keys at {where or 'the top level'}: "
                                    f"{', '.join(sorted(hints))}")
        tp = hints[part]


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in a YAML file (empty file: ``{}``); ``ConfigError`` for invalid YAML or another top-level type."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a mapping of keys at the top level, got {type(data).__name__}")
    return data


def _parse_value(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_overrides(cls: type, data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """``key.sub=value`` overrides (values parsed as YAML) applied to a copy of the plain dict ``data``.

    Keys must exist in the schema ``cls``; the values are checked when the result goes through :func:`from_dict`.
    """
    out = copy.deepcopy(data)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got '{item}'")
        key, text = item.split("=", 1)
        key = key.strip()
        check_key_path(cls, key)
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = _parse_value(text)
    return out
