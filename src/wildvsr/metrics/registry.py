"""The metric registry: one name -> one metric with its conventions stated (direction, colour space, crop, range).

``create_metric(name, **kw)`` returns a :class:`Metric`, a callable ``metric(x, reference=None) -> float``:

* image metrics take one RGB image ``(H, W, 3)`` (uint8 [0, 255] or float [0, 1]); full-reference ones also take
  ``reference`` (same shape);
* the video metric (``warping_error``) takes a clip ``(T, H, W, 3)`` and an optional ground-truth clip.

``**kw`` are passed to the underlying function (e.g. ``crop_border=4``, ``test_y_channel=True``), and the metric's
:class:`MetricInfo` reflects them. Optional pyiqa metrics are listed too; creating one that is not available raises
:class:`~wildvsr.errors.MissingDependencyError` with the one-line reason (nothing is downloaded).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np

from wildvsr.errors import InputError, UnknownModelError
from wildvsr.metrics import optional
from wildvsr.metrics.brisque import calculate_brisque
from wildvsr.metrics.full_reference import calculate_psnr, calculate_ssim
from wildvsr.metrics.niqe import calculate_niqe
from wildvsr.metrics.warping import warping_error

__all__ = ["MetricInfo", "Metric", "create_metric", "list_metrics", "metric_info", "describe_metrics"]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric measures and how.

    Attributes:
        name: Registry name.
        kind: ``"no-reference"``, ``"full-reference"`` or ``"video"`` (a clip, reference optional).
        lower_better: Direction.
        color_space: What the metric sees (e.g. "Y of YIQ (MATLAB rgb2gray, uint8)").
        crop_border: Pixels removed from each side by default.
        value_range: Typical range and unit.
        description: One line with the reference implementation.
        optional: Provided through pyiqa (non-commercial, offline cache only).
        available: Usable now.
        availability: "available" or why not (one line).
    """

    name: str
    kind: str
    lower_better: bool
    color_space: str
    crop_border: int
    value_range: str
    description: str
    optional: bool = False
    available: bool = True
    availability: str = "available"

    @property
    def needs_reference(self) -> bool:
        return self.kind == "full-reference"


@dataclass(frozen=True)
class _Entry:
    info: MetricInfo
    fn: Callable[..., Any] | None


_Y_DESC = "Y of MATLAB rgb2ycbcr (BT.601, [16, 235])"
_GRAY_DESC = "Y of YIQ (MATLAB rgb2gray on uint8, rounded)"

_ENTRIES: dict[str, _Entry] = {e.info.name: e for e in (
    _Entry(MetricInfo("niqe", "no-reference", True, _GRAY_DESC, 0, "~0 and up (about 2-20)",
                      "NIQE, LIVE's original MATLAB code and pristine model"), calculate_niqe),
    _Entry(MetricInfo("brisque", "no-reference", True, _GRAY_DESC, 0, "~0 to ~100 (can leave it)",
                      "BRISQUE, LIVE's original MATLAB code and SVR model (allmodel/allrange)"), calculate_brisque),
    _Entry(MetricInfo("psnr", "full-reference", False, "RGB", 0, "dB, 0 to inf",
                      "PSNR on the 0-255 scale (BasicSR calculate_psnr)"), calculate_psnr),
    _Entry(MetricInfo("psnr_y", "full-reference", False, _Y_DESC, 0, "dB, 0 to inf",
                      "PSNR on the Y channel (BasicSR calculate_psnr, test_y_channel=True)"),
           functools.partial(calculate_psnr, test_y_channel=True)),
    _Entry(MetricInfo("ssim", "full-reference", False, "RGB (mean of per-channel SSIM)", 0, "-1 to 1",
                      "SSIM, 11x11 Gaussian sigma 1.5 (BasicSR calculate_ssim)"), calculate_ssim),
    _Entry(MetricInfo("ssim_y", "full-reference", False, _Y_DESC, 0, "-1 to 1",
                      "SSIM on the Y channel (BasicSR calculate_ssim, test_y_channel=True)"),
           functools.partial(calculate_ssim, test_y_channel=True)),
    _Entry(MetricInfo("warping_error", "video", True, "RGB", 0, "grey levels (0-255 L1), 0 = static, ~2-15",
                      "Warping error (MGLD-VSR): masked L1 of frame i+1 vs SPyNet-warped frame i"), warping_error),
)}


def _optional_info(name: str) -> MetricInfo:
    meta = optional.PYIQA_METRICS[name]
    ok, reason = optional.availability(name)
    return MetricInfo(name, "no-reference" if name != "dover" else "video", meta.lower_better, "RGB", 0,
                      meta.score_range, meta.description + (" (pyiqa)" if meta.pyiqa_name else ""), optional=True, available=ok,
                      availability=reason)


def list_metrics(include_optional: bool = True) -> list[str]:
    """Registered metric names (core first, then the optional pyiqa ones)."""
    names = list(_ENTRIES)
    return names + list(optional.PYIQA_METRICS) if include_optional else names


def metric_info(name: str) -> MetricInfo:
    """The :class:`MetricInfo` of ``name`` (optional metrics include their availability, checked now)."""
    key = name.lower()
    if key in _ENTRIES:
        return _ENTRIES[key].info
    if key in optional.PYIQA_METRICS:
        return _optional_info(key)
    raise UnknownModelError(f"unknown metric {name!r}; known: {', '.join(list_metrics())}")


def describe_metrics(include_optional: bool = True) -> list[MetricInfo]:
    """:class:`MetricInfo` for every registered metric (what ``wildvsr metrics`` prints)."""
    return [metric_info(n) for n in list_metrics(include_optional)]


class Metric:
    """A configured metric: ``metric(x, reference=None) -> float``; ``metric.info`` describes it."""

    def __init__(self, info: MetricInfo, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        self.info = info
        self._fn = fn
        self.kwargs = dict(kwargs)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def lower_better(self) -> bool:
        return self.info.lower_better

    def __call__(self, x: np.ndarray, reference: np.ndarray | None = None) -> float:
        kind = self.info.kind
        if kind == "full-reference":
            if reference is None:
                raise InputError(f"metric {self.name!r} needs a reference image")
            return float(self._fn(x, reference, **self.kwargs))
        if kind == "video":
            return float(self._fn(x, reference, **self.kwargs))
        if reference is not None:
            raise InputError(f"metric {self.name!r} is no-reference; do not pass a reference")
        return float(self._fn(x, **self.kwargs))

    def __repr__(self) -> str:
        return f"Metric({self.name!r}, {self.kwargs})"


def create_metric(name: str, **kwargs: Any) -> Metric:
    """Build a metric by name; ``kwargs`` go to its function (e.g. ``crop_border``, ``test_y_channel``, ``device``).

    Raises:
        UnknownModelError: unknown name.
        MissingDependencyError: an optional pyiqa metric that is not available (the message says why).
    """
    key = name.lower()
    if key in optional.PYIQA_METRICS:
        scorer = optional.PyiqaScorer(key, **kwargs)
        return Metric(_optional_info(key), lambda img: scorer(img), {})
    info = metric_info(key)
    fn = _ENTRIES[key].fn
    if "crop_border" in kwargs:
        info = replace(info, crop_border=int(kwargs["crop_border"]))
    if info.kind == "full-reference" and (kwargs.get("test_y_channel") or key.endswith("_y")):
        info = replace(info, color_space=_GRAY_DESC if kwargs.get("color_space") == "yiq" else _Y_DESC)
    if key == "niqe" and kwargs.get("convert") == "ycbcr":
        info = replace(info, color_space=_Y_DESC + ", rounded")
    return Metric(info, fn, kwargs)
