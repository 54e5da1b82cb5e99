"""Bad inputs of issue 2, each built in a folder by a function: a missing file, a folder without images, text named
.mp4, a truncated mp4, audio only, zero frames, and y4m/PNG headers that declare a 100000x100000 picture.
:data:`BAD_INPUTS` maps a case's name to its builder and a piece of the one error line the CLI must print."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import av
import numpy as np

from helpers.media import synthetic_frames, write_clip


def _missing(tmp: Path) -> Path:
    return tmp / "missing.mp4"


def _empty_dir(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    (tmp / "empty" / "notes.txt").write_text("no images here")
    return tmp / "empty"


def _text_as_mp4(tmp: Path) -> Path:
    path = tmp / "text.mp4"
    path.write_text("this is not a video\n" * 50)
    return path


def _truncated_moov_at_end(tmp: Path) -> Path:
    full = write_clip(tmp / "full.mp4", synthetic_frames(30, 32, 48))
    data = full.read_bytes()
    full.unlink()
    path = tmp / "truncated.mp4"
    path.write_bytes(data[: len(data) // 2])  # the moov index sits at the end: it is gone
    return path


def _audio_only(tmp: Path) -> Path:
    path = tmp / "audio.m4a"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4096), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, 0
        for packet in list(stream.encode(frame)) + list(stream.encode()):
            container.mux(packet)
    return path


def _zero_frames(tmp: Path) -> Path:
    path = tmp / "zero.mkv"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()  # header with a video stream, then no packet at all
    return path


def _huge_y4m(tmp: Path) -> Path:
    path = tmp / "huge.y4m"
    path.write_bytes(b"YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(4096))
    return path


def _huge_png(tmp: Path) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)  # 100000x100000 RGB declared, ~100 bytes of data
    path = tmp / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(100)))
                     + chunk(b"IEND", b""))
    return path


BAD_INPUTS = {
    "missing file": (_missing, "does not exist"),
    "folder without images": (_empty_dir, "has no images"),
    "text renamed .mp4": (_text_as_mp4, "cannot read"),
    "truncated mp4 (no moov)": (_truncated_moov_at_end, "moov"),
    "audio only": (_audio_only, "no video stream"),
    "zero frames": (_zero_frames, "zero frames"),
    "huge y4m header": (_huge_y4m, "100000x100000"),
    "huge png header": (_huge_png, "too large"),
}
