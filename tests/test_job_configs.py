"""DegradeConfig / BenchmarkConfig: loadable with wildvsr.config's loader, checked at construction."""

from __future__ import annotations

import pytest

from wildvsr.config import from_dict
from wildvsr.degrade import DegradeConfig, DegradeResult
from wildvsr.errors import ConfigError, InputError
from wildvsr.evaluate import BenchmarkConfig, BenchmarkResult


def test_degrade_config_loads_from_a_dict_and_rejects_unknown_keys():
    cfg = from_dict(DegradeConfig, {"preset": "bicubic", "seed": 3, "max_frames": 5})
    assert (cfg.preset, cfg.seed, cfg.max_frames, cfg.chunk_size) == ("bicubic", 3, 5, 50)
    with pytest.raises(ConfigError, match="seed"):
        from_dict(DegradeConfig, {"seed": "3"})
    with pytest.raises(ConfigError, match="presets"):
        from_dict(DegradeConfig, {"presets": "bicubic"})
    with pytest.raises(InputError, match="chunk_size"):
        DegradeConfig(chunk_size=0)


def test_benchmark_config_splits_comma_separated_names():
    cfg = from_dict(BenchmarkConfig, {"methods": "bicubic, basicvsr", "metrics": ["niqe,brisque"]})
    assert cfg.methods == ("bicubic", "basicvsr") and cfg.metrics == ("niqe", "brisque")
    assert BenchmarkConfig(["bicubic"]).metrics is None
    with pytest.raises(InputError, match="no methods"):
        BenchmarkConfig(" , ")


def test_results_to_dict_keep_the_json_layout():
    res = DegradeResult("a.mp4", "b.mp4", "bicubic", 1, 4, 3, 50, (64, 32), (16, 8), {}, {"x": [1]})
    assert res.to_dict()["input_size"] == [64, 32] and list(res.to_dict())[:2] == ["source", "output"]
    bench = BenchmarkResult({"name": "frames"}, {}, {}, {})
    assert "degradation_params" not in bench.to_dict()
    assert BenchmarkResult({}, {}, {}, {}, {"s": {}}).to_dict()["degradation_params"] == {"s": {}}
