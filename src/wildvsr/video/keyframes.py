"""Where a video's key frames are, from its packets alone (no decoding): a segment starting just after a key frame
decodes almost nothing it does not use."""

from __future__ import annotations

import os

import av

from wildvsr.errors import VideoIOError

__all__ = ["keyframe_indices"]


def keyframe_indices(path: str | os.PathLike) -> tuple[list[int], int]:
    """Frame indices (presentation order, from 0) of the key frames of ``path``'s first video stream, and its frame
    count, by demuxing every packet once.

    Raises:
        VideoIOError: the file cannot be read or has no video stream.
    """
    try:
        with av.open(os.fspath(path), "r", metadata_errors="ignore") as container:
            if not container.streams.video:
                raise VideoIOError(f"{path} has no video stream")
            stream = container.streams.video[0]
            packets = [(p.pts if p.pts is not None else p.dts, p.is_keyframe)
                       for p in container.demux(stream) if p.size]
    except av.FFmpegError as exc:
        raise VideoIOError(f"cannot read {path}: {exc}") from exc
    if any(pts is None for pts, _ in packets):  # no timestamps: decode order is presentation order (intra codecs)
        order = list(range(len(packets)))
    else:
        order = sorted(range(len(packets)), key=lambda i: packets[i][0])
    return [index for index, i in enumerate(order) if packets[i][1]], len(packets)
