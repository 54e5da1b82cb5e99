"""Constants of the app tests (``tests/app``): the server's limits and the tiny weights' file name."""

from __future__ import annotations


MAX_UPLOAD_MB = 1
MAX_FRAMES = 12
TINY = "basicvsr_tiny.safetensors"
