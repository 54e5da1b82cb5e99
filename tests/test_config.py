"""The typed-config loader (``wildvsr.config``): round trip, coercion, Literal choices, key-path errors, overrides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import yaml

from wildvsr.config import apply_overrides, from_dict, read_yaml, to_dict
from wildvsr.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    backend: Literal["libjpeg", "torch"] = "libjpeg"
    rate: float = 1.0
    pair: tuple[float, float] = (0.0, 1.0)


@dataclass(frozen=True)
class Outer:
    name: str = "x"
    count: int = 3
    lr: float = 1e-4
    limit: float | None = None
    roots: tuple[str, ...] = ()
    kwargs: dict[str, int | float | bool | str] = field(default_factory=dict)
    inner: Inner = field(default_factory=Inner)
    maybe: Inner | None = None
    stages: tuple[Inner, ...] = ()
    extra: Any = None

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError("must be >= 0")


def test_round_trip_through_plain_dict_and_yaml():
    cfg = Outer(name="y", count=2, limit=0.5, roots=("a", "b"), kwargs={"c": 8, "flag": True, "s": "8"},
                inner=Inner("torch", 2.0, (1.0, 3.0)), maybe=Inner(), stages=(Inner(rate=0.5), Inner("torch")),
                extra=[1, {"k": 2}])
    plain = to_dict(cfg)
    assert plain["stages"][1] == {"backend": "torch", "rate": 1.0, "pair": [0.0, 1.0]}
    assert from_dict(Outer, plain) == cfg
    assert from_dict(Outer, yaml.safe_load(yaml.safe_dump(plain))) == cfg
    assert from_dict(Outer, {}) == Outer()


def test_coercion_of_numbers_scalars_and_unions():
    cfg = from_dict(Outer, {"lr": "1e-4", "count": 4.0, "limit": 2, "roots": "clips/",
                            "kwargs": {"a": 8, "b": "8", "c": 2.5, "d": False}, "inner": {"pair": [1, "2e0"]}})
    assert cfg.lr == 1e-4 and isinstance(cfg.lr, float)
    assert cfg.count == 4 and isinstance(cfg.count, int)
    assert cfg.limit == 2.0 and isinstance(cfg.limit, float)
    assert cfg.roots == ("clips/",)  # a scalar for a variadic tuple is a 1-tuple
    # unions take the exact type first: "8" stays a string, 8 an int, False a bool
    assert cfg.kwargs == {"a": 8, "b": "8", "c": 2.5, "d": False}
    assert [type(v) for v in cfg.kwargs.values()] == [int, str, float, bool]
    assert cfg.inner.pair == (1.0, 2.0)


@pytest.mark.parametrize("data, message", [
    ({"inner": {"backend": "torchh"}}, "inner.backend: 'torchh' is not one of 'libjpeg', 'torch'"),
    ({"stages": [{}, {"backend": "cv2"}]}, "stages[1].backend: 'cv2' is not one of 'libjpeg', 'torch'"),
    ({"maybe": {"rat": 1}}, "maybe.rat: unknown key 'rat'; valid keys here: backend, pair, rate"),
    ({"bogus": 1}, "bogus: unknown key 'bogus'; valid keys here: count, extra"),
    ({"count": 2.5}, "count: must be an integer, got 2.5"),
    ({"count": True}, "count: must be an integer, got True"),
    ({"lr": "fast"}, "lr: must be a number, got 'fast'"),
    ({"limit": "none"}, "limit: must be a number, got 'none'"),
    ({"inner": {"pair": [1]}}, "inner.pair: must be a list of 2 values, got [1]"),
    ({"inner": {"pair": [1, "x"]}}, "inner.pair[1]: must be a number, got 'x'"),
    ({"kwargs": {"k": [1]}}, "kwargs.k: must be int or float or bool or str, got [1]"),
    ({"inner": 3}, "inner: must be a mapping of Inner keys, got 3"),
    ({"name": None}, "name: must be a string, got None"),
    ({"count": -1}, "config: must be >= 0"),
])
def test_errors_start_with_the_key_path(data, message):
    with pytest.raises(ConfigError) as exc:
        from_dict(Outer, data)
    assert str(exc.value).startswith(message)


def test_literal_rejects_bool_standing_for_an_int():
    @dataclass(frozen=True)
    class Level:
        level: Literal[0, 1] = 0

    assert from_dict(Level, {"level": 1}).level == 1
    with pytest.raises(ConfigError, match="level: True is not one of 0, 1"):
        from_dict(Level, {"level": True})


def test_overrides_check_key_paths_and_parse_yaml_values():
    base = to_dict(Outer())
    out = apply_overrides(Outer, base, ["inner.rate=2e-1", "roots=[a, b]", "maybe.backend=torch", "kwargs.free=1",
                                        "limit=null"])
    cfg = from_dict(Outer, out)
    assert cfg.inner.rate == 0.2 and cfg.roots == ("a", "b") and cfg.maybe == Inner("torch")
    assert cfg.kwargs == {"free": 1} and cfg.limit is None
    assert base == to_dict(Outer())  # the input dict is not changed
    with pytest.raises(ConfigError, match=r"^inner\.rte: unknown key 'rte'; valid keys at inner: backend, pair"):
        apply_overrides(Outer, base, ["inner.rte=1"])
    with pytest.raises(ConfigError, match=r"^count\.x: unknown key; count has no sub-keys"):
        apply_overrides(Outer, base, ["count.x=1"])
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides(Outer, base, ["count"])
    with pytest.raises(ConfigError, match="bad key"):
        apply_overrides(Outer, base, ["inner..rate=1"])


def test_read_yaml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("")
    assert read_yaml(path) == {}
    path.write_text("a: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_yaml(path)
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping of keys at the top level, got list"):
        read_yaml(path)
