"""Image and video quality metrics that agree with the published implementations, offline.

Core (numpy/scipy, parameters shipped in ``data/``): ``niqe``, ``brisque`` (LIVE's originals), ``psnr``/``ssim``
(RGB) and ``psnr_y``/``ssim_y`` (BT.601 Y, BasicSR semantics), ``warping_error`` (MGLD-VSR, SPyNet flow).
Optional through pyiqa when installed and its weights are cached: ``nrqm``, ``pi``, ``clipiqa``, ``musiq``
(``dover`` is listed but not provided by pyiqa). Images are RGB ``(H, W, 3)`` uint8 [0, 255] or float [0, 1].
"""

from wildvsr.metrics.brisque import calculate_brisque
from wildvsr.metrics.full_reference import calculate_psnr, calculate_ssim
from wildvsr.metrics.niqe import calculate_niqe
from wildvsr.metrics.registry import Metric, MetricInfo, create_metric, describe_metrics, list_metrics, metric_info
from wildvsr.metrics.warping import spynet_flow_fn, warping_error

__all__ = ["Metric", "MetricInfo", "calculate_brisque", "calculate_niqe", "calculate_psnr", "calculate_ssim",
           "create_metric", "describe_metrics", "list_metrics", "metric_info", "spynet_flow_fn", "warping_error"]
