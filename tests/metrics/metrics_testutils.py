"""Shared helpers for the metrics tests (re-exported from ``wildvsr_testing``)."""

from wildvsr_testing import shared_path, synthetic_frames

__all__ = ["shared_path", "synthetic_frames"]
