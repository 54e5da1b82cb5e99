"""The Gradio page: Upscale, Degrade and Evaluate tabs over :mod:`wildvsr.app.jobs`.

Stable API names for ``gradio_client``: ``/upscale`` and ``/degrade`` (and ``/evaluate``). All jobs share one queue
slot (``concurrency_id="jobs"``, limit 1), so one job runs at a time and the page shows the queue position.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import tempfile
from pathlib import Path
from types import SimpleNamespace

# Before gradio is imported: no telemetry, no update check (the server must not reach the internet).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

from wildvsr.app.choices import PRECISIONS, TILE_CHOICES, ModelChoice, default_choice, model_choices  # noqa: E402
from wildvsr.app.jobs import (Sessions, accept_upload, public_message, run_degrade, run_evaluate,  # noqa: E402
                              run_upscale)
from wildvsr.app.settings import AppSettings  # noqa: E402
from wildvsr.app.uploads import ACCEPTED_EXTENSIONS, VIDEO_LIKE_EXTENSIONS, upload_folder  # noqa: E402
from wildvsr.errors import UnknownModelError, VSRError  # noqa: E402
from wildvsr.evaluate import list_protocols  # noqa: E402

# System fonts only: the default theme would fetch web fonts from a CDN, which fails offline.
_FONT = ["ui-sans-serif", "system-ui", "sans-serif"]
_MONO = ["ui-monospace", "monospace"]
THEME = gr.themes.Default(font=_FONT, font_mono=_MONO)
DEGRADE_PRESETS = ("realbasicvsr", "realesrgan", "vcisr", "bicubic")


def _progress_report(progress: gr.Progress):
    def report(done: int, total: int | None, text: str) -> None:
        progress((done, total), desc=text, unit="frames")
    return report


def build_app(settings: AppSettings, sessions: Sessions) -> gr.Blocks:
    """The page (not launched). ``sessions`` holds the files of each browser session."""
    choices = model_choices(settings)
    h = _handlers(settings, sessions, {c.value: c for c in choices})
    video_types = list(ACCEPTED_EXTENSIONS)
    with gr.Blocks(title="wildvsr", delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# wildvsr\nReal-world video super-resolution (x4): upscale, degrade and evaluate. "
                    f"{settings.limits_text()} Accepted files: {', '.join(ACCEPTED_EXTENSIONS)} "
                    "(a zip holds the frames of one clip as images).")
        with gr.Tabs():
            _upscale_tab(h, choices, video_types)
            _degrade_tab(h, video_types)
            _evaluate_tab(h, video_types)
        demo.unload(h.end_session)
    return demo


def _handlers(settings: AppSettings, sessions: Sessions, by_value: dict[str, ModelChoice]) -> SimpleNamespace:
    """The page's event handlers (closures over the settings and sessions; Gradio reads their signatures)."""

    def upscale(file, model, temporal, precision, tile, compare_frame, request: gr.Request,
                progress=gr.Progress()):
        session = request.session_hash or "anonymous"
        try:
            choice = by_value.get(model)
            if choice is None:
                raise UnknownModelError(f"unknown model {model!r}; choose one of: {', '.join(by_value)}")
            upload = accept_upload(file, settings, sessions, session)
            result = run_upscale(upload, choice, bool(temporal), precision, int(tile or 0) or None,
                                 int(compare_frame or 0), settings, sessions.folder(session),
                                 _progress_report(progress), sessions.cancel_flag(session))
        except VSRError as exc:
            raise gr.Error(public_message(str(exc)), print_exception=False) from None
        video = str(result.video) if result.video else None
        file_out = str(result.file) if result.file else None
        compare = tuple(str(p) for p in result.compare) if result.compare else None
        return video, file_out, compare, result.message

    def degrade(file, preset, seed, request: gr.Request, progress=gr.Progress()):
        session = request.session_hash or "anonymous"
        try:
            upload = accept_upload(file, settings, sessions, session)
            result = run_degrade(upload, preset, int(seed), settings, sessions.folder(session),
                                 _progress_report(progress), sessions.cancel_flag(session))
        except VSRError as exc:
            raise gr.Error(public_message(str(exc)), print_exception=False) from None
        preview = str(result.preview) if result.preview else None
        return str(result.clip), preview, [str(result.gallery)], str(result.params), result.message

    def evaluate(files, reference, protocol, request: gr.Request):
        session = request.session_hash or "anonymous"
        try:
            uploads = [accept_upload(f, settings, sessions, session, VIDEO_LIKE_EXTENSIONS) for f in files or []]
            ref = accept_upload(reference, settings, sessions, session, VIDEO_LIKE_EXTENSIONS) if reference else None
            result = run_evaluate(uploads, ref, protocol, settings, sessions.folder(session))
        except VSRError as exc:
            raise gr.Error(public_message(str(exc)), print_exception=False) from None
        table = {"headers": result.headers, "data": result.rows}
        return table, [(str(p), caption) for p, caption in result.plots], [str(p) for p in result.files]

    def cancel(request: gr.Request) -> str:
        sessions.cancel_flag(request.session_hash or "anonymous").set()
        return "Cancelling: the job stops after the current chunk."

    def end_session(request: gr.Request) -> None:
        sessions.end(request.session_hash or "anonymous")

    return SimpleNamespace(upscale=upscale, degrade=degrade, evaluate=evaluate, cancel=cancel,
                           end_session=end_session)


def _upscale_tab(h: SimpleNamespace, choices: list[ModelChoice], video_types: list[str]) -> None:
    with gr.Tab("Upscale", id="upscale"):
        with gr.Row():
            with gr.Column():
                up_file = gr.File(label="Video, image or zip of frames", file_types=video_types,
                                  type="filepath", elem_id="upscale-input")
                up_model = gr.Dropdown([(c.label, c.value) for c in choices], value=default_choice(choices),
                                       label="Model", elem_id="upscale-model")
                up_temporal = gr.Checkbox(True, label="Temporal stabilizer (per-frame models)")
                with gr.Row():
                    up_precision = gr.Dropdown(list(PRECISIONS), value="auto", label="Precision",
                                               info="auto: bf16 where the hardware has it, else fp32")
                    up_tile = gr.Dropdown([("auto", 0)] + [(str(t), t) for t in TILE_CHOICES[1:]],
                                          value=0, label="Tile (input pixels; less memory)")
                up_frame = gr.Number(0, precision=0, minimum=0, label="Frame to compare")
                with gr.Row():
                    up_run = gr.Button("Upscale", variant="primary", elem_id="upscale-run")
                    up_cancel = gr.Button("Cancel", elem_id="upscale-cancel")
            with gr.Column():
                up_status = gr.Markdown(label="Job status", elem_id="upscale-status")
                up_video = gr.Video(label="Result", interactive=False, elem_id="upscale-video")
                up_download = gr.File(label="Download", interactive=False)
                up_compare = gr.ImageSlider(label="Bicubic input (left) vs wildvsr (right)", type="filepath",
                                            interactive=False, elem_id="upscale-compare")
        up_run.click(h.upscale, [up_file, up_model, up_temporal, up_precision, up_tile, up_frame],
                     [up_video, up_download, up_compare, up_status], api_name="upscale",
                     concurrency_limit=1, concurrency_id="jobs")
        up_cancel.click(h.cancel, None, up_status, queue=False, api_name="cancel")


def _degrade_tab(h: SimpleNamespace, video_types: list[str]) -> None:
    with gr.Tab("Degrade", id="degrade"):
        with gr.Row():
            with gr.Column():
                dg_file = gr.File(label="Clean video, image or zip of frames", file_types=video_types,
                                  type="filepath")
                dg_preset = gr.Dropdown(list(DEGRADE_PRESETS), value="realbasicvsr", label="Preset")
                dg_seed = gr.Number(0, precision=0, label="Seed (same seed, same bytes)")
                dg_run = gr.Button("Degrade", variant="primary")
            with gr.Column():
                dg_status = gr.Markdown(label="Job status")
                dg_clip = gr.File(label="Degraded clip (lossless)", interactive=False)
                dg_preview = gr.Video(label="Preview", interactive=False)
                dg_gallery = gr.Gallery(label="Stages (one crop after every step)", columns=1)
                dg_params = gr.File(label="Sampled parameters (JSON)", interactive=False)
        dg_run.click(h.degrade, [dg_file, dg_preset, dg_seed],
                     [dg_clip, dg_preview, dg_gallery, dg_params, dg_status], api_name="degrade",
                     concurrency_limit=1, concurrency_id="jobs")


def _evaluate_tab(h: SimpleNamespace, video_types: list[str]) -> None:
    with gr.Tab("Evaluate", id="evaluate"):
        with gr.Row():
            with gr.Column():
                ev_files = gr.File(label="Results (videos, images or zips of frames)", file_count="multiple",
                                   file_types=video_types, type="filepath")
                ev_ref = gr.File(label="Reference (optional: enables full-reference metrics)",
                                 file_types=video_types, type="filepath")
                ev_protocol = gr.Dropdown(list_protocols(), value="frames", label="Protocol")
                ev_run = gr.Button("Evaluate", variant="primary")
            with gr.Column():
                ev_table = gr.Dataframe(label="Mean metrics", interactive=False)
                ev_plots = gr.Gallery(label="Plots", columns=1)
                ev_files_out = gr.File(label="Reports", file_count="multiple", interactive=False)
        ev_run.click(h.evaluate, [ev_files, ev_ref, ev_protocol], [ev_table, ev_plots, ev_files_out],
                     api_name="evaluate", concurrency_limit=1, concurrency_id="jobs")


def serve(settings: AppSettings, *, block: bool = True) -> gr.Blocks:
    """Build and launch the app on ``settings.host:port`` (never a share link); files are removed on exit."""
    # Inside Gradio's cache folder: results are served from there as they are (Gradio copies files from elsewhere
    # into its cache, where they would outlive the session).
    cache = upload_folder()
    cache.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="wildvsr-app-", dir=cache))
    sessions = Sessions(root)
    atexit.register(sessions.close)
    if block and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a plain kill also runs the cleanup above
    demo = build_app(settings, sessions)
    demo.queue(default_concurrency_limit=1, max_size=32)
    demo.launch(server_name=settings.host, server_port=settings.port, share=False, inbrowser=False,
                max_file_size=settings.max_upload_bytes, allowed_paths=[str(root)], ssr_mode=False,
                prevent_thread_lock=not block, quiet=False, theme=THEME, footer_links=["api"],
                enable_monitoring=False, mcp_server=False, pwa=False)
    return demo
