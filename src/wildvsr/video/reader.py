"""Streaming frame reader over a video file (PyAV), a folder of images, or one image.

Memory use does not depend on the length of the source: frames are decoded one at a time and nothing is kept.

Damaged input, decided once:
- A file FFmpeg cannot open (not a video, or an mp4 cut before its index, the ``moov`` atom, which holds every frame's
  position) raises :class:`~wildvsr.errors.VideoIOError`: nothing is decodable without that index.
- A file that opens but ends early (an mp4 with its index first, cut mid-data) or has corrupt packets is decoded as
  far as possible; a warning gives the number of frames decoded against the number declared, and undecodable packets
  are skipped with a count. Partly recorded files are common and their frames are valid, so failing would lose data;
  the warning keeps the damage visible. A file with no decodable frame at all raises :class:`VideoIOError`.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from wildvsr.errors import InputError, VideoIOError
from wildvsr.video.colour import (MATRIX_NAMES, PRIMARIES_NAMES, RANGE_NAMES, SWS_MATRIX, SWS_RANGE, TRANSFER_NAMES,
                                  decode_params, tag_name)
from wildvsr.video.depth import format_depth
from wildvsr.video.info import (IMAGE_EXTENSIONS, AudioStreamInfo, Frame, SubtitleStreamInfo, VideoInfo,
                                check_frame_size, is_image_path, natural_key)
from PIL import Image, UnidentifiedImageError

logger = logging.getLogger(__name__)

_DTYPES = {"uint8": "rgb24", "uint16": "rgb48le"}
#: ``dtype`` choices: a fixed frame dtype, or ``source``: the one that keeps the source's bits.
DTYPE_CHOICES = ("uint8", "uint16", "source")
# Decoding this many frames forward is cheaper than seeking (a seek restarts at a keyframe anyway).
_SKIP_AHEAD = 48


def _bit_depth(pix_fmt: str) -> tuple[int, bool]:
    return format_depth(pix_fmt), any(c.is_alpha for c in av.VideoFormat(pix_fmt).components)


def _frame_dtype(dtype: str, bit_depth: int) -> str:
    """``source`` -> uint16 for a source above 8 bits (a 10-bit one keeps its precision), else uint8."""
    if dtype != "source":
        return dtype
    return "uint16" if bit_depth > 8 else "uint8"


def _rotation_k(rotation: int) -> int:
    """Quarter turns (counter-clockwise, for ``np.rot90``) that display a frame upright."""
    k = round(rotation / 90)
    if abs(rotation - 90 * k) > 1:
        logger.warning("rotation of %d degrees is not a multiple of 90; using %d", rotation, 90 * k)
    return k % 4


class _Converter:
    """One decoded ``av.VideoFrame`` -> ``(H, W, 3)`` RGB array with fixed colour parameters and rotation."""

    def __init__(self, dtype: str, matrix: str | None, rng: str | None, rotation_k: int) -> None:
        self.format = _DTYPES[dtype]
        self.kwargs: dict = {}
        if matrix is not None:
            # swscale's packed-RGB fast paths are off by up to 3-4 levels on limited-range input; planar RGB with
            # accurate rounding is within 1 level of the exact conversion (measured in tests/video).
            self.format = "gbrp" if dtype == "uint8" else "gbrp16le"
            self.kwargs = {"src_colorspace": SWS_MATRIX[matrix], "src_color_range": SWS_RANGE[rng or "limited"],
                           "interpolation": Interpolation.BILINEAR | Interpolation.ACCURATE_RND}
        self.k = rotation_k
        self.reformatter = VideoReformatter()

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = self.reformatter.reformat(frame, format=self.format, **self.kwargs).to_ndarray()
        if rgb.ndim == 2:  # defensive: swscale always gives 3 channels for rgb24/rgb48le
            rgb = np.repeat(rgb[..., None], 3, axis=-1)
        if self.k:
            rgb = np.rot90(rgb, self.k)
        return np.ascontiguousarray(rgb)


class _VideoFile:
    """A video container decoded with PyAV."""

    def __init__(self, path: Path, dtype: str, apply_rotation: bool) -> None:
        self.path = path
        self.dtype = dtype
        self.apply_rotation = apply_rotation
        self.container = self._open()
        self.stream = self.container.streams.video[0]
        self.cursor: _Cursor | None = None
        self.warned_truncated = False
        self.decoded = 0  # frames decoded so far, seeking included (shows that a seek did not start from 0)
        self.info, self.convert = self._probe()

    # -- opening and probing -------------------------------------------------------------------------------------
    def _open(self) -> av.container.InputContainer:
        if self.path.suffix.lower() == ".y4m":
            _check_y4m_header(self.path)
        try:
            container = av.open(str(self.path), "r", metadata_errors="ignore")
        except av.error.EOFError as exc:
            raise VideoIOError(f"{self.path} ends before any video data (zero frames, or the file is cut "
                               f"short)") from exc
        except av.FFmpegError as exc:
            raise VideoIOError(f"cannot read {self.path} as a video ({_short(exc)}): it is not a video file or it is "
                               f"damaged (an mp4 cut before its 'moov' index cannot be read)") from exc
        except OSError as exc:
            raise VideoIOError(f"cannot open {self.path}: {exc.strerror or exc}") from exc
        try:
            if not container.streams.video:
                kinds = sorted({s.type for s in container.streams})
                what = f"only {', '.join(kinds)} streams" if kinds else "no streams at all: zero frames"
                raise VideoIOError(f"{self.path} has no video stream ({what}); give a file with video")
            stream = container.streams.video[0]
            cc = stream.codec_context
            if cc is None:  # FFmpeg found a video stream but no decoder for it (an unknown or damaged codec id)
                raise VideoIOError(f"{self.path}: no decoder for its video stream (unknown codec, or the file is "
                                   f"damaged)")
            check_frame_size(cc.width, cc.height, self.path)
            stream.thread_type = "AUTO"
        except BaseException:
            container.close()
            raise
        return container

    def _probe(self) -> tuple[VideoInfo, _Converter]:
        stream, cc, container = self.stream, self.stream.codec_context, self.container
        cursor = self._cursor_from_start()
        first = cursor.peek()
        if first is None:
            self.close()
            raise VideoIOError(f"{self.path} contains no decodable video frame (zero frames, or all damaged)")
        pix_fmt = first.format.name
        width, height = first.width, first.height
        check_frame_size(width, height, self.path)
        self.stored_size = (width, height)  # before rotation: every decoded frame must have it
        bit_depth, has_alpha = _bit_depth(pix_fmt)
        matrix_tag = first.colorspace if first.colorspace not in (None, 2) else cc.colorspace
        range_tag = first.color_range or cc.color_range
        matrix, rng = decode_params(pix_fmt, matrix_tag, range_tag, width, height, cc.name)
        rotation = round(first.rotation or 0) % 360
        k = _rotation_k(rotation) if (self.apply_rotation and rotation) else 0
        if k % 2:
            width, height = height, width
        tb = Fraction(stream.time_base) if stream.time_base else None
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = Fraction(fps) if fps else None
        duration = None
        if stream.duration and tb:
            duration = float(stream.duration * tb)
        elif _tag_seconds(stream.metadata.get("DURATION")):  # Matroska's per-stream duration tag
            duration = _tag_seconds(stream.metadata.get("DURATION"))
        elif container.duration:
            duration = container.duration / av.time_base
        num_frames, exact = (stream.frames, True) if stream.frames > 0 else (None, False)
        if num_frames is None and duration and fps:
            num_frames = max(1, round(duration * fps))
        audio = tuple(_audio_info(s) for s in container.streams.audio)
        subs = tuple(SubtitleStreamInfo(s.index, s.codec_context.name if s.codec_context else "unknown",
                                        _language(s)) for s in container.streams.subtitles)
        info = VideoInfo(
            path=str(self.path), width=width, height=height, fps=fps, time_base=tb, num_frames=num_frames,
            pix_fmt=pix_fmt, bit_depth=bit_depth, color_matrix=tag_name(MATRIX_NAMES, matrix_tag),
            color_range=tag_name(RANGE_NAMES, range_tag),
            color_primaries=tag_name(PRIMARIES_NAMES, first.color_primaries or cc.color_primaries),
            color_transfer=tag_name(TRANSFER_NAMES, first.color_trc or cc.color_trc), rotation=rotation,
            audio_streams=audio, subtitle_streams=subs, is_image_sequence=False, num_frames_exact=exact,
            duration=duration, codec=cc.name, container=container.format.name, rotation_applied=bool(k),
            decode_matrix=matrix, decode_range=rng, has_alpha=has_alpha, start_pts=first.pts,
            stream_index=stream.index, bit_rate=container.bit_rate or None)
        self.cursor = cursor
        return info, _Converter(_frame_dtype(self.dtype, bit_depth), matrix, rng, k)

    # -- decoding ------------------------------------------------------------------------------------------------
    def _decode(self) -> Iterator[av.VideoFrame]:
        """Frames from the container's current position; skips undecodable packets (counted in a warning)."""
        bad = 0
        demux = self.container.demux(self.stream)
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                break
            except av.FFmpegError as exc:  # a damaged container: stop at what was readable
                logger.warning("%s: stopped reading at a damaged part (%s)", self.path, _short(exc))
                break
            try:
                frames = packet.decode()
            except av.FFmpegError:
                bad += 1
                continue
            self.decoded += len(frames)
            yield from frames
        if bad:
            logger.warning("%s: skipped %d undecodable packet(s)", self.path, bad)

    def _cursor_from_start(self) -> _Cursor:
        return _Cursor(self._decode(), 0, from_start=True)

    def _restart(self) -> _Cursor:
        self.container.close()
        self.container = self._open()
        self.stream = self.container.streams.video[0]
        return self._cursor_from_start()

    def _seek(self, start: int) -> _Cursor:
        """A cursor whose next frame is ``start``: seek to the keyframe before it, then decode forward."""
        info = self.info
        if start == 0 or info.fps is None or info.time_base is None or info.start_pts is None:
            return self._restart()
        seconds_per_tick = info.time_base
        target = info.start_pts + round(Fraction(start) / info.fps / seconds_per_tick)
        try:
            self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
        except av.FFmpegError:
            logger.debug("%s: seek failed; decoding from the start", self.path)
            return self._restart()
        gen = self._decode()
        for frame in gen:
            if frame.pts is None:
                break
            index = round((frame.pts - info.start_pts) * seconds_per_tick * info.fps)
            if index < start:
                continue
            if index == start:
                return _Cursor(gen, start, pushed=frame)
            break  # overshot (an inexact index): fall back to counting from the start
        logger.debug("%s: seek to frame %d was not exact; decoding from the start", self.path, start)
        return self._restart()

    def position(self, start: int) -> _Cursor:
        cur = self.cursor
        if cur is None or not (cur.next_index <= start <= cur.next_index + _SKIP_AHEAD):
            cur = self._seek(start)
        while cur.next_index < start and cur.pop() is not None:
            pass
        self.cursor = cur
        return cur

    def finished(self, cursor: _Cursor) -> None:
        info = self.info
        if (cursor.from_start and info.num_frames_exact and info.num_frames
                and cursor.next_index < info.num_frames and not self.warned_truncated):
            self.warned_truncated = True
            logger.warning("%s: decoded %d of the %d frames the container declares; the file looks truncated or "
                           "damaged", self.path, cursor.next_index, info.num_frames)

    def make_frame(self, frame: av.VideoFrame, index: int) -> Frame:
        if (frame.width, frame.height) != self.stored_size:  # a damaged stream that changes size mid-way
            raise VideoIOError(f"{self.path}: frame {index} is {frame.width}x{frame.height} but the first frame is "
                               f"{self.stored_size[0]}x{self.stored_size[1]}; the file is damaged or mixes sizes")
        tb = self.info.time_base
        time = float(frame.pts * tb) if (frame.pts is not None and tb) else None
        return Frame(self.convert(frame), frame.pts, time, index)

    def count_frames(self) -> int:
        """Exact count by demuxing every packet (no decoding)."""
        with av.open(str(self.path), "r", metadata_errors="ignore") as container:
            stream = container.streams.video[0]
            return sum(1 for p in container.demux(stream) if p.size)

    def close(self) -> None:
        self.cursor = None
        self.container.close()


class _Cursor:
    """A decode generator plus the index of the next frame it yields (with one frame of push-back)."""

    def __init__(self, gen: Iterator[av.VideoFrame], next_index: int, *, pushed: av.VideoFrame | None = None,
                 from_start: bool = False) -> None:
        self.gen, self.next_index, self.pushed, self.from_start = gen, next_index, pushed, from_start
        self.exhausted = False

    def peek(self) -> av.VideoFrame | None:
        if self.pushed is None and not self.exhausted:
            self.pushed = next(self.gen, None)
            self.exhausted = self.pushed is None
        return self.pushed

    def pop(self) -> av.VideoFrame | None:
        frame = self.peek()
        if frame is not None:
            self.pushed = None
            self.next_index += 1
        return frame


class _ImageSequence:
    """A sorted list of image files, decoded one by one (PyAV; the size is checked from the header first)."""

    def __init__(self, path: Path, files: list[Path], dtype: str, apply_rotation: bool) -> None:
        self.path, self.files, self.dtype = path, files, dtype
        first = _decode_image(files[0])
        pix_fmt = first.format.name
        bit_depth, has_alpha = _bit_depth(pix_fmt)
        self.size = (first.width, first.height)
        matrix, rng = decode_params(pix_fmt, first.colorspace if first.colorspace != 2 else None,
                                    first.color_range or None, first.width, first.height, "mjpeg"
                                    if files[0].suffix.lower() in (".jpg", ".jpeg") else "")
        rotation = round(first.rotation or 0) % 360
        k = _rotation_k(rotation) if (apply_rotation and rotation) else 0
        width, height = (first.height, first.width) if k % 2 else (first.width, first.height)
        self.convert = _Converter(_frame_dtype(dtype, bit_depth), matrix, rng, k)
        self.info = VideoInfo(
            path=str(path), width=width, height=height, fps=None, time_base=None, num_frames=len(files),
            pix_fmt=pix_fmt, bit_depth=bit_depth, color_matrix=tag_name(MATRIX_NAMES, first.colorspace),
            color_range=tag_name(RANGE_NAMES, first.color_range), rotation=rotation, is_image_sequence=True,
            num_frames_exact=True, codec=None, container="images", rotation_applied=bool(k),
            decode_matrix=matrix, decode_range=rng, has_alpha=has_alpha, start_pts=0)

    def frames(self, start: int, count: int | None) -> Iterator[Frame]:
        stop = len(self.files) if count is None else min(len(self.files), start + count)
        for index in range(start, stop):
            frame = _decode_image(self.files[index])
            if (frame.width, frame.height) != self.size:
                raise VideoIOError(f"{self.files[index]} is {frame.width}x{frame.height} but the first image is "
                                   f"{self.size[0]}x{self.size[1]}; all frames of a folder must have one size")
            yield Frame(self.convert(frame), index, None, index)

    def count_frames(self) -> int:
        return len(self.files)

    def close(self) -> None:
        pass


class VideoReader:
    """Streaming reader: ``with VideoReader(path) as reader: for frame in reader: ...``.

    Args:
        source: a video file (any FFmpeg-readable container: mp4, mkv, webm, mov, avi, y4m, gif, ...), a folder of
            images (png/jpg/bmp/tif/webp, sorted naturally: ``2.png`` before ``10.png``), or one image.
        dtype: ``"uint8"`` (default) or ``"uint16"``; with ``"uint16"`` frames use the full 16-bit scale whatever
            the source depth (a 10-bit source keeps its precision; an 8-bit one is scaled by 257); ``"source"``
            gives uint16 for sources above 8 bits and uint8 otherwise (``reader.dtype`` says which).
        apply_rotation: turn frames upright by the display-matrix rotation (multiples of 90 degrees; mirroring in
            the matrix is ignored). With False, frames are as stored and ``info.rotation`` carries the angle.

    Frames are RGB ``(H, W, 3)``. YUV sources are converted with their own matrix and range (see
    :mod:`wildvsr.video.colour` for untagged ones); grayscale becomes three equal channels; alpha is dropped (not
    composited); palette images (GIF) are expanded.

    Raises:
        VideoIOError: missing or unreadable source, no video stream, no decodable frame, an empty folder, a frame
            size above :data:`~wildvsr.video.info.MAX_PIXELS`.
        InputError: a bad ``dtype``.
    """

    def __init__(self, source: str | os.PathLike, *, dtype: str = "uint8", apply_rotation: bool = True) -> None:
        if dtype not in DTYPE_CHOICES:
            raise InputError(f"dtype must be 'uint8', 'uint16' or 'source', not {dtype!r}")
        path = Path(source)
        if not path.exists():
            raise VideoIOError(f"input {path} does not exist")
        if not os.access(path, os.R_OK):
            raise VideoIOError(f"input {path} is not readable (permission denied)")
        if path.is_dir():
            files = sorted((p for p in path.iterdir() if p.is_file() and is_image_path(p) and not
                            p.name.startswith(".")), key=lambda p: natural_key(p.name))
            if not files:
                exts = ", ".join(sorted(IMAGE_EXTENSIONS))
                raise VideoIOError(f"folder {path} has no images ({exts}); give a video file or a folder of frames")
            self._source: _VideoFile | _ImageSequence = _ImageSequence(path, files, dtype, apply_rotation)
        elif is_image_path(path):
            self._source = _ImageSequence(path, [path], dtype, apply_rotation)
        else:
            self._source = _VideoFile(path, dtype, apply_rotation)
        self.path = path
        self.dtype = _frame_dtype(dtype, self.info.bit_depth)  # what frames are, ``source`` resolved

    @property
    def info(self) -> VideoInfo:
        """Metadata of the source (see :class:`VideoInfo`)."""
        return self._source.info

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def frames(self, start: int = 0, count: int | None = None) -> Iterator[Frame]:
        """Yield ``count`` frames (all remaining when None) from index ``start``.

        Video files seek to the keyframe at or before ``start`` and decode forward from there (never from frame 0,
        unless the container cannot seek exactly). Frame indices after a seek are derived from timestamps and the
        average frame rate, so they are exact for constant-frame-rate video; for variable frame rate, ``start`` is
        the frame shown at ``start / fps`` seconds.
        """
        if start < 0 or (count is not None and count < 0):
            raise InputError(f"frames(start={start}, count={count}): both must be >= 0")
        if count == 0:
            return
        src = self._source
        if isinstance(src, _ImageSequence):
            yield from src.frames(start, count)
            return
        cursor = src.position(start)
        done = 0
        while count is None or done < count:
            index = cursor.next_index
            frame = cursor.pop()
            if frame is None:
                src.finished(cursor)
                return
            yield src.make_frame(frame, index)
            done += 1

    @property
    def decoded_count(self) -> int:
        """Frames decoded so far by this reader (including those skipped after a seek and the first-frame probe)."""
        src = self._source
        return src.decoded if isinstance(src, _VideoFile) else 0

    def count_frames(self) -> int:
        """Exact number of frames (demuxes the whole file when the container does not say; no decoding)."""
        if self.info.num_frames_exact and self.info.num_frames is not None:
            return self.info.num_frames
        return self._source.count_frames()

    def close(self) -> None:
        """Release the file (also done by the context manager)."""
        self._source.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        i = self.info
        return f"VideoReader({str(self.path)!r}, {i.width}x{i.height}, {i.num_frames} frames, {i.pix_fmt})"


def read_info(source: str | os.PathLike, *, apply_rotation: bool = True) -> VideoInfo:
    """Metadata of a video, frame folder or image (decodes only the first frame)."""
    with VideoReader(source, apply_rotation=apply_rotation) as reader:
        return reader.info


# -- helpers ---------------------------------------------------------------------------------------------------------
def _decode_image(path: Path) -> av.VideoFrame:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:  # reads the header only
                width, height = im.size
    except Image.DecompressionBombError as exc:
        raise VideoIOError(f"{path} declares a frame too large to decode safely ({exc}); refusing to allocate "
                           f"it (the header is likely corrupt)") from exc
    except UnidentifiedImageError as exc:
        raise VideoIOError(f"{path} is not a readable image") from exc
    except OSError as exc:
        raise VideoIOError(f"cannot read image {path}: {exc}") from exc
    check_frame_size(width, height, path)
    try:
        with av.open(str(path), "r") as container:
            for frame in container.decode(video=0):
                return frame
    except av.FFmpegError as exc:
        raise VideoIOError(f"cannot decode image {path} ({_short(exc)})") from exc
    raise VideoIOError(f"cannot decode image {path} (no picture in it)")


def _check_y4m_header(path: Path) -> None:
    """Read the size from a YUV4MPEG2 header ourselves: FFmpeg fails obscurely on absurd sizes."""
    with open(path, "rb") as fh:
        line = fh.readline(4096)
    if not line.startswith(b"YUV4MPEG2"):
        return  # let FFmpeg say what is wrong
    fields = {tok[:1]: tok[1:] for tok in line.split()[1:]}
    try:
        width, height = int(fields.get(b"W", b"0")), int(fields.get(b"H", b"0"))
    except ValueError as exc:
        raise VideoIOError(f"{path} has a damaged YUV4MPEG2 header") from exc
    check_frame_size(width, height, path)


def _tag_seconds(text: str | None) -> float | None:
    """``HH:MM:SS.fffffffff`` (Matroska DURATION tag) -> seconds, or None."""
    if not text:
        return None
    try:
        h, m, sec = text.strip().split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None


def _language(stream) -> str | None:
    lang = getattr(stream, "language", None) or stream.metadata.get("language")
    return None if lang in (None, "", "und") else lang


def _audio_info(stream) -> AudioStreamInfo:
    cc = stream.codec_context
    layout = getattr(cc, "layout", None)
    channels = getattr(cc, "channels", None) or (layout.nb_channels if layout is not None else 0)
    duration = float(stream.duration * stream.time_base) if (stream.duration and stream.time_base) else None
    return AudioStreamInfo(index=stream.index, codec=cc.name, channels=int(channels or 0),
                           sample_rate=int(cc.sample_rate or 0), layout=getattr(layout, "name", None),
                           language=_language(stream), duration=duration, bit_rate=cc.bit_rate or None)


def _short(exc: BaseException) -> str:
    """FFmpeg errors as one short clause (strerror without the file name)."""
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())
