"""CLI commands for video I/O: ``wildvsr info`` and ``wildvsr convert``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from wildvsr.cli.app import app
from wildvsr.cli.progress import QuietOption, progress


@app.command("info")
def info_command(
    input: Path = typer.Argument(..., help="Video file, folder of images, or image."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Show streams, frames, fps, size, pixel format, colour tags, audio and subtitles of a video."""
    from wildvsr.video import VideoReader

    with VideoReader(input, apply_rotation=True) as reader:
        info = reader.info
    if as_json:
        typer.echo(json.dumps(info.to_dict(), indent=2, default=str))
        return
    typer.echo(format_info(info))


def format_info(info) -> str:
    """Human-readable summary of a :class:`~wildvsr.video.VideoInfo`."""
    frames = "unknown" if info.num_frames is None else (
        str(info.num_frames) if info.num_frames_exact else f"~{info.num_frames} (estimated from duration)")
    fps = "n/a (image sequence)" if info.fps is None else f"{float(info.fps):.3f} ({info.fps})"
    lines = [
        f"input:      {info.path}",
        f"container:  {info.container}" + ("" if info.codec is None else f", video codec {info.codec}"),
        f"size:       {info.width}x{info.height}" + (
            f" (rotation {info.rotation} deg, applied)" if info.rotation_applied else
            f" (rotation {info.rotation} deg, not applied)" if info.rotation else ""),
        f"frames:     {frames}",
        f"fps:        {fps}",
    ]
    if info.time_base is not None:
        lines.append(f"time base:  {info.time_base}")
    if info.duration is not None:
        lines.append(f"duration:   {info.duration:.3f} s")
    lines.append(f"pixels:     {info.pix_fmt}, {info.bit_depth}-bit" + (", alpha (dropped)" if info.has_alpha else ""))
    tags = ", ".join(f"{k} {v or 'untagged'}" for k, v in (("matrix", info.color_matrix), ("range", info.color_range),
                                                           ("primaries", info.color_primaries),
                                                           ("transfer", info.color_transfer)))
    lines.append(f"colour:     {tags}")
    if info.decode_matrix:
        lines.append(f"decoded as: {info.decode_matrix}, {info.decode_range} range")
    for a in info.audio_streams:
        lines.append(f"audio #{a.index}:   {a.codec}, {a.channels} ch ({a.layout or '?'}), {a.sample_rate} Hz"
                     + (f", {a.language}" if a.language else "")
                     + (f", {a.duration:.3f} s" if a.duration else ""))
    for s in info.subtitle_streams:
        lines.append(f"subtitle #{s.index}: {s.codec}" + (f", {s.language}" if s.language else ""))
    if not info.audio_streams:
        lines.append("audio:      none")
    return "\n".join(lines)


@app.command("convert")
def convert_command(
    input: Path = typer.Argument(..., help="Video file, folder of images, or image."),
    output: Path = typer.Argument(..., help="Output video (container from the extension) or folder for PNG frames."),
    codec: str = typer.Option("libx264", "--codec", help="libx264, libx265, ffv1, libvpx-vp9, libsvtav1, mpeg4."),
    crf: float | None = typer.Option(None, "--crf", help="Quality (codec default when omitted; lower is better)."),
    preset: str | None = typer.Option(None, "--preset", help="Encoder preset (x264/x265: medium by default)."),
    pix_fmt: str | None = typer.Option(None, "--pix-fmt", help="Encoder pixel format (yuv420p by default)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUTPUT if it exists."),
    no_audio: bool = typer.Option(False, "--no-audio", help="Do not copy audio and subtitle streams."),
    quiet: QuietOption = False,
) -> None:
    """Re-encode a video (timestamps, colour tags, audio and subtitles kept): the reader+writer round trip."""
    from wildvsr.video.convert import convert_video

    with progress("converting", input, output=output, quiet=quiet) as advance:
        convert_video(input, output, codec=codec, crf=crf, preset=preset, pix_fmt=pix_fmt, overwrite=overwrite,
                      copy_audio=not no_audio, progress=advance)
