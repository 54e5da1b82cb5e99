"""Streaming x4 inference: temporal chunks with overlap, spatial tiles, precision guard, resumable runs.

``upscale_video(src, dst, UpscaleConfig(...))`` is the ``wildvsr upscale`` job; :class:`Upscaler` runs a model over
frames held in memory or streamed, each video by one :class:`UpscalePlan`.
"""

from wildvsr.inference.chunking import ChunkSpec, iter_windows, plan_chunks
from wildvsr.inference.config import UpscaleConfig
from wildvsr.inference.plan import UpscalePlan, plan_video
from wildvsr.inference.runner import build_upscaler, load_model, upscale_video
from wildvsr.inference.tiling import TileSpec, iter_tiles
from wildvsr.inference.upscaler import Upscaler

__all__ = ["ChunkSpec", "TileSpec", "UpscaleConfig", "UpscalePlan", "Upscaler", "build_upscaler",
           "iter_tiles", "iter_windows", "load_model", "plan_chunks", "plan_video", "upscale_video"]
