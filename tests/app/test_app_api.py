"""``wildvsr app`` driven by ``gradio_client`` over HTTP: the stable ``/upscale`` and ``/degrade`` endpoints, bad
uploads, and a client path outside Gradio's upload folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from wildvsr.video import VideoReader
from helpers.app import MAX_FRAMES, MAX_UPLOAD_MB
from helpers.media import synthetic_frames, write_clip


APP_EXTRA = "the app extra is not installed (pip install -e '.[app]')"
httpx = pytest.importorskip("httpx", reason=APP_EXTRA)
pytest.importorskip("gradio_client", reason=APP_EXTRA)


def _path(value) -> Path:
    """A file result of gradio_client: a path, or a dict with the path under ``video``/``path``."""
    if isinstance(value, dict):
        value = value.get("video") or value.get("path")
    return Path(value)


def test_upscale_endpoint_gives_x4_video_with_all_frames_and_audio(server, client, tmp_path):
    from gradio_client import handle_file

    src = write_clip(tmp_path / "clip.mp4", synthetic_frames(6, 24, 32), audio=True)
    video, download, compare, message = client.predict(handle_file(str(src)), server.weights_choice,
                                                       compare_frame=2, api_name="/upscale")
    out = _path(video)
    with VideoReader(out) as reader:
        info = reader.info
        frames = sum(1 for _ in reader)
    assert (frames, info.width, info.height) == (6, 128, 96)
    assert len(info.audio_streams) == 1 and info.audio_streams[0].codec == "aac"
    assert _path(download).read_bytes() == out.read_bytes()
    left, right = (np.asarray(Image.open(_path(p)).convert("RGB")) for p in compare)
    assert left.shape == right.shape == (96, 128, 3) and not np.array_equal(left, right)
    assert "6 frame(s) at 128x96" in message


def test_degrade_endpoint_same_seed_same_bytes(client, tmp_path):
    from gradio_client import handle_file

    src = write_clip(tmp_path / "clean.mp4", synthetic_frames(5, 64, 64, seed=3))
    runs = [client.predict(handle_file(str(src)), "realbasicvsr", seed, api_name="/degrade") for seed in (7, 7, 8)]
    clips = [_path(r[0]).read_bytes() for r in runs]
    assert clips[0] == clips[1], "the same seed must give the same bytes"
    assert clips[0] != clips[2], "another seed must give another degradation"
    with VideoReader(_path(runs[0][0])) as reader:
        assert (reader.info.width, reader.info.height, sum(1 for _ in reader)) == (16, 16, 5)
    params = _path(runs[0][3]).read_text()
    assert '"seed": 7' in params


def test_evaluate_endpoint_scores_each_result_against_the_reference(client, tmp_path):
    from gradio_client import handle_file

    ref = write_clip(tmp_path / "gt.mp4", synthetic_frames(3, 112, 112, seed=1))
    other = write_clip(tmp_path / "other.mp4", synthetic_frames(3, 112, 112, seed=2))
    table, plots, reports = client.predict([handle_file(str(ref)), handle_file(str(other))], handle_file(str(ref)),
                                           "frames", api_name="/evaluate")
    assert table["headers"][:1] == ["result"] and {"psnr_y", "ssim_y"} <= set(table["headers"])
    rows = {row[0]: dict(zip(table["headers"], row)) for row in table["data"]}
    assert rows["gt (1)"]["ssim_y"] == pytest.approx(1.0) and rows["other (2)"]["ssim_y"] < 0.9
    assert plots and all(Path(p["image"]).suffix == ".png" for p in plots)
    assert any(Path(p).name == "results.md" for p in reports)


def _not_a_video(tmp: Path) -> Path:
    path = tmp / "notes.mp4"
    path.write_text("this is a text file, not a video\n" * 10)
    return path


def _too_large(tmp: Path) -> Path:
    path = tmp / "huge.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, MAX_UPLOAD_MB * 2**20 + 1024, np.uint8).tobytes())
    return path


def _too_long(tmp: Path) -> Path:
    return write_clip(tmp / "long.mp4", synthetic_frames(MAX_FRAMES + 3, 16, 16))


@pytest.mark.parametrize("make, expected", [
    (_not_a_video, "not a video"),
    (_too_large, "exceeds the maximum file size"),  # Gradio's own check (max_file_size), before any upload
    (_too_long, "too long"),
])
def test_bad_upload_gives_one_readable_message_and_leaves_no_files(server, client, tmp_path, make, expected):
    from gradio_client import handle_file

    src = make(tmp_path)
    with pytest.raises(Exception) as info:
        client.predict(handle_file(str(src)), server.weights_choice, api_name="/upscale")
    message = str(info.value)
    assert expected in message, message
    assert str(server.upload_dir) not in message and "Traceback" not in message, message
    assert list(server.upload_dir.rglob(src.name)) == [], "the refused upload must be deleted"
    assert list(server.app_root().glob(f"{client.session_hash}/upscale-*")) == [], "no job folder may be left"


def test_client_path_outside_the_upload_folder_is_refused(server, tmp_path):
    secret = tmp_path / "secret.mp4"
    write_clip(secret, synthetic_frames(2, 16, 16, seed=99))
    for path in (str(secret), "../../" + secret.name, f"{server.upload_dir}/../{secret.name}"):
        body = {"data": [{"path": path, "meta": {"_type": "gradio.FileData"}}, server.weights_choice]}
        event = httpx.post(f"{server.url}gradio_api/call/upscale", json=body, timeout=30).json()["event_id"]
        stream = httpx.get(f"{server.url}gradio_api/call/upscale/{event}", timeout=120).text
        assert "event: error" in stream and "event: complete" not in stream, stream
    data = secret.read_bytes()
    staged = [p for p in server.app_root().rglob("*") if p.is_file() and p.stat().st_size == len(data)
              and p.read_bytes() == data]
    assert staged == [], "a client path outside the upload folder was read"
