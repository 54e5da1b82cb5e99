"""The app under test: ``wildvsr app`` in a subprocess on a free port, with small limits and a tiny BasicVSR."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.app import MAX_FRAMES, MAX_UPLOAD_MB, TINY
from helpers.cli import cli_env, wildvsr_cmd
from helpers.models import save_tiny_model

APP_EXTRA = "the app extra is not installed (pip install -e '.[app]')"


@dataclass
class Server:
    url: str
    upload_dir: Path  # GRADIO_TEMP_DIR of the server (its upload and cache folder)
    log: Path
    weights_choice: str  # the model-list value of the tiny weights

    def app_root(self) -> Path:
        roots = list(self.upload_dir.glob("wildvsr-app-*"))
        assert len(roots) == 1, roots
        return roots[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("weights") / TINY)


@pytest.fixture(scope="session")
def server(tmp_path_factory, tiny_weights) -> Server:
    pytest.importorskip("gradio", reason=APP_EXTRA)
    httpx = pytest.importorskip("httpx", reason=APP_EXTRA)
    base = tmp_path_factory.mktemp("app")
    upload_dir = base / "gradio"
    upload_dir.mkdir()
    port = _free_port()
    env = cli_env({"GRADIO_TEMP_DIR": str(upload_dir), "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(base)})
    log = base / "server.log"
    cmd = wildvsr_cmd("app", "--port", port, "--device", "cpu", "--max-upload-mb", MAX_UPLOAD_MB,
                      "--max-frames", MAX_FRAMES, "--weights", tiny_weights)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=base)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180  # importing gradio and torch takes a while on a busy 2-core machine
    while True:
        if proc.poll() is not None:
            pytest.fail(f"wildvsr app exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"wildvsr app did not answer on {url}:\n{log.read_text()}")
        time.sleep(0.5)
    yield Server(url, upload_dir, log, f"file:{TINY}")
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    assert list(upload_dir.glob("wildvsr-app-*")) == [], "the app must remove its files when it stops"


@pytest.fixture
def client(server, tmp_path):
    Client = pytest.importorskip("gradio_client", reason=APP_EXTRA).Client

    c = Client(server.url, verbose=False, download_files=str(tmp_path / "downloads"))
    yield c
    c.close() if hasattr(c, "close") else None
