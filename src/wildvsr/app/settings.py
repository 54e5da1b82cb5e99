"""The settings of one ``wildvsr app`` server: where it listens and what it accepts (stated in the page)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from wildvsr.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860


@dataclass(frozen=True)
class AppSettings:
    """Settings of the web app (``wildvsr app`` options).

    Attributes:
        host: address to bind; 127.0.0.1 (this machine only) by default. There is never a public share link.
        port: TCP port.
        max_upload_mb: largest accepted upload in MiB (also Gradio's own upload limit).
        max_frames: longest accepted input, in frames (also caps the degrade job).
        max_seconds: longest accepted video, in seconds.
        device: device of the upscale job (``auto``, ``cpu``, ``cuda[:N]``), chosen by whoever runs the server.
        weights: extra weights files offered in the model list (server-side paths: the operator's choice, never the
            client's), each loaded as the architecture its keys show.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_upload_mb: int = 500
    max_frames: int = 3000
    max_seconds: float = 600.0
    device: str = "auto"
    weights: tuple[Path, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            if self.host != "localhost":
                raise ConfigError(f"--host must be an IP address or localhost, got {self.host!r}") from None
        if not 0 <= int(self.port) <= 65535:
            raise ConfigError(f"--port must be in 0-65535, got {self.port}")
        for name in ("max_upload_mb", "max_frames", "max_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        paths = tuple(Path(os.fspath(p)) for p in self.weights)
        for path in paths:
            if not path.is_file():
                raise ConfigError(f"weights file {path} does not exist")
        object.__setattr__(self, "weights", paths)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb) * 1024 * 1024

    def limits_text(self) -> str:
        """One line stating the limits (shown in the page)."""
        return (f"Limits: uploads up to {self.max_upload_mb} MiB, at most {self.max_frames} frames and "
                f"{self.max_seconds:g} s of video; one job runs at a time (others wait in a queue).")
