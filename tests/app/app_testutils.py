"""Constants and helpers of the app tests (a unique module name: importable from every test file)."""

from __future__ import annotations


MAX_UPLOAD_MB = 1
MAX_FRAMES = 12
TINY = "basicvsr_tiny.safetensors"

