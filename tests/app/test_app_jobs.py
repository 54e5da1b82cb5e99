"""The app's jobs and checks without a server: model list, control mapping, upload paths, zips, progress text, and
Cancel at a chunk boundary followed by a resume that finishes the same output."""

from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from wildvsr.app.choices import default_choice, model_choices, upscale_config_kwargs
from wildvsr.app.jobs import ProgressReporter, Sessions, JobCancelled, accept_upload, run_upscale
from wildvsr.app.settings import AppSettings
from wildvsr.app.uploads import unpack_frames, uploaded_path
from wildvsr.defaults import DEFAULT_UPSCALE_MODEL, MAX_CHUNK_SIZE
from wildvsr.errors import ConfigError, InputError
from wildvsr.inference import UpscaleConfig
from wildvsr.video import VideoReader
from helpers.media import synthetic_frames, write_clip
from helpers.models import save_tiny_model



@pytest.fixture
def uploads(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "gradio"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


def test_model_list_is_the_registry_upscale_models_with_default_first():
    choices = model_choices(AppSettings())
    values = [c.value for c in choices]
    assert default_choice(choices) == values[0]
    assert DEFAULT_UPSCALE_MODEL in (values[0], f"{choices[0].model}.{choices[0].tag}")  # "name" is the default tag
    assert "basicvsr" in values and "realbasicvsr" in values and "rrdbnet" in values and "srvgg" in values
    assert not any(v.startswith(("spynet", "unet_discriminator")) for v in values)  # not upscalers
    basicvsr = choices[values.index("basicvsr")]
    assert "BasicVSR x4" in basicvsr.label and "Apache-2.0" in basicvsr.label


def test_default_given_as_name_dot_default_tag_is_preselected(monkeypatch):
    import wildvsr.app.choices as choices_module

    choices = model_choices(AppSettings())
    monkeypatch.setattr(choices_module, "DEFAULT_UPSCALE_MODEL", "basicvsr.reds4")  # reds4: basicvsr's default tag
    assert choices_module.default_choice(choices) == "basicvsr"
    monkeypatch.setattr(choices_module, "DEFAULT_UPSCALE_MODEL", "realbasicvsr.official_wogan")
    assert choices_module.default_choice(choices) == "realbasicvsr.official_wogan"


def test_controls_map_to_a_valid_upscale_config():
    choice = next(c for c in model_choices(AppSettings()) if c.value == "basicvsr.vimeo90k_bd")
    config = UpscaleConfig(**upscale_config_kwargs(choice, True, "bf16", 256, "cpu"))
    assert (config.model, config.weights, config.precision, config.tile, config.resume) == (
        "basicvsr", "vimeo90k_bd", "bf16", 256, True)
    assert UpscaleConfig(**upscale_config_kwargs(choice, False, "fp32", 0, "cpu")).tile is None
    assert config.temporal == "auto"  # a video model: "auto" gives it no stabilizer


def test_stabilizer_checkbox_maps_to_a_stabilizer_for_per_frame_models():
    from wildvsr.defaults import RECOMMENDED_STABILIZER

    choice = next(c for c in model_choices(AppSettings()) if c.model == "rrdbnet")
    on = UpscaleConfig(**upscale_config_kwargs(choice, True, "fp32", 0, "cpu"))
    off = UpscaleConfig(**upscale_config_kwargs(choice, False, "fp32", 0, "cpu"))
    assert on.temporal in ("auto", RECOMMENDED_STABILIZER) and on.pixel_settings()["temporal"] != "off"
    assert off.temporal == "off" and off.pixel_settings()["temporal"] == "off"


def test_settings_refuse_bad_values(tmp_path):
    with pytest.raises(ConfigError, match="host"):
        AppSettings(host="example.com")
    with pytest.raises(ConfigError, match="max_frames"):
        AppSettings(max_frames=0)
    with pytest.raises(ConfigError, match="does not exist"):
        AppSettings(weights=(tmp_path / "missing.safetensors",))


@pytest.mark.parametrize("name", ["../secret.mp4", "../../etc/passwd", "/etc/passwd", "a/../../secret.mp4", ""])
def test_paths_outside_the_upload_folder_are_refused(uploads, name):
    (uploads.parent / "secret.mp4").write_bytes(b"x")
    with pytest.raises(InputError, match="only files uploaded|no upload"):
        uploaded_path(name)


def test_upload_inside_the_folder_is_accepted_and_a_refused_one_deleted(uploads):
    sessions = Sessions(uploads / "wildvsr-app-test")
    good = uploads / "abc" / "clip.mp4"
    good.parent.mkdir()
    good.write_bytes(b"0" * 10)
    assert accept_upload(str(good), AppSettings(), sessions, "s1") == good.resolve()
    bad = uploads / "def" / "notes.txt"
    bad.parent.mkdir()
    bad.write_text("hello")
    with pytest.raises(InputError, match="not an accepted file type"):
        accept_upload(str(bad), AppSettings(), sessions, "s1")
    assert not bad.exists() and not bad.parent.exists()
    sessions.end("s1")
    assert not good.exists(), "uploads are deleted when the session ends"


def test_zip_members_cannot_escape_and_non_images_are_ignored(tmp_path):
    from PIL import Image

    archive = tmp_path / "frames.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, img in enumerate(synthetic_frames(3, 16, 16)):
            png = tmp_path / f"{i}.png"
            Image.fromarray(img).save(png)
            zf.write(png, f"../../evil/{i:03d}.png" if i == 0 else f"clip/{i:03d}.png")
        zf.writestr("readme.txt", "not a frame")
    folder = unpack_frames(archive, tmp_path / "job" / "frames", AppSettings())
    assert sorted(p.name for p in folder.iterdir()) == ["000.png", "001.png", "002.png"]
    assert not (tmp_path / "evil").exists()
    with pytest.raises(InputError, match="too long"):
        unpack_frames(archive, tmp_path / "job2" / "frames", AppSettings(max_frames=2))
    assert not (tmp_path / "job2" / "frames").exists()


def test_progress_text_has_frames_fps_eta_and_cancel_raises():
    seen, cancel = [], threading.Event()
    reporter = ProgressReporter(10, lambda d, t, text: seen.append((d, t, text)), cancel, "upscaling")
    reporter(4)
    assert seen[-1][:2] == (4, 10) and "4/10 frames" in seen[-1][2] and "fps" in seen[-1][2] and "ETA" in seen[-1][2]
    cancel.set()
    with pytest.raises(JobCancelled):
        reporter(2)
    assert seen[-1][0] == 6  # the finished chunk is still reported


def test_cancel_keeps_the_finished_chunks_and_the_same_request_resumes(uploads, tmp_path):
    weights = save_tiny_model(tmp_path / "tiny.safetensors")
    settings = AppSettings(device="cpu", weights=(weights,))
    choice = next(c for c in model_choices(settings) if c.value.startswith("file:"))
    upload = uploads / "h1" / "clip.mp4"
    upload.parent.mkdir()
    n = MAX_CHUNK_SIZE + 6  # 16x16 frames: the planned chunk is the longest, so two chunks
    write_clip(upload, synthetic_frames(n, 16, 16), audio=True)
    folder, cancel = tmp_path / "session", threading.Event()
    folder.mkdir()
    reports = []

    def report(done, _total, _text):
        reports.append(done)
        if done:  # press Cancel while the first chunk runs
            cancel.set()

    args = (upload, choice, True, "fp32", None, 3, settings, folder)
    first = run_upscale(*args, report, cancel)
    assert first.video is None and f"Cancelled after {MAX_CHUNK_SIZE} frames" in first.message
    work = list(folder.glob("upscale-*/.*.wildvsr-work"))
    assert len(work) == 1 and len(list(work[0].glob("chunk_*.mkv"))) == 1
    second = run_upscale(*args, lambda *_: None, threading.Event())
    assert not work[0].exists()  # finished: the work directory is gone
    with VideoReader(second.video) as reader:
        assert (reader.info.width, reader.info.height, sum(1 for _ in reader)) == (64, 64, n)
    from wildvsr.inference import upscale_video

    reference = upscale_video(upload, tmp_path / "ref.mp4", UpscaleConfig(**upscale_config_kwargs(
        choice, True, "fp32", None, "cpu")))
    with VideoReader(second.video) as a, VideoReader(reference) as b:
        assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))
    left, right = second.compare
    assert left.is_file() and right.is_file()


def test_10_bit_upload_downloads_10_bit_and_plays_an_8_bit_preview(uploads, tmp_path):
    from helpers.media import deep_ramp, write_deep_clip

    weights = save_tiny_model(tmp_path / "tiny.safetensors", "srvgg", num_feat=8, num_conv=1)
    settings = AppSettings(device="cpu", weights=(weights,))
    choice = next(c for c in model_choices(settings) if c.value.startswith("file:"))
    upload = uploads / "h2" / "hlg.mkv"
    upload.parent.mkdir()
    write_deep_clip(upload, deep_ramp(2, 16, 64))  # libx265's smallest safe width is 64
    folder = tmp_path / "session"
    folder.mkdir()
    result = run_upscale(upload, choice, False, "fp32", None, 0, settings, folder, lambda *_: None, threading.Event())
    with VideoReader(result.file) as out, VideoReader(result.video) as shown:
        assert (out.info.pix_fmt, out.info.color_transfer) == ("yuv420p10le", "arib-std-b67")
        assert shown.info.pix_fmt == "yuv420p" and "10-bit" in result.message
