"""CLI commands for video I/O: ``info`` and ``convert`` (being built)."""

from __future__ import annotations

from wildvsr.cli.app import app  # noqa: F401
