"""VCISR's data preparation for image datasets: "spatial patches become temporal frames" (SPEC 4).

Each HR image is cut into non-overlapping ``patch x patch`` crops in raster order (left to right, top to bottom)
after a random top/left shift in ``[0, H - patch * floor(H / patch)]``; the crops of all images, in order, form one
long sequence. That sequence is degraded in batches of ``batch_size`` consecutive patches, each batch encoded as one
video (so neighbouring patches of one image become neighbouring frames and the codec's inter prediction acts across
them); the first batch has a random length in ``[batch_size // 4, batch_size - 1]`` so keyframes move each epoch.
Usage with a ``Degrader`` built from the ``vcisr`` preset::

    seq = np.concatenate([patches_as_frames(img, rng) for img in images])          # (N, 360, 360, 3) uint8
    for start, stop in patch_batches(len(seq), rng):
        gt = to_tensor(seq[start:stop])[None]   # (1, n, 3, 360, 360), wildvsr.utils.frames
        lq = degrader.apply(gt, degrader.sample_params(1, stop - start, rng), generator)
"""

from __future__ import annotations

import numpy as np


def patches_as_frames(image: np.ndarray, rng: np.random.Generator, patch: int = 360) -> np.ndarray:
    """Non-overlapping ``patch``-sized crops of ``image`` ``(H, W, C)`` in raster order: ``(N, patch, patch, C)``.

    Raises:
        ValueError: the image is smaller than one patch.
    """
    h, w = image.shape[:2]
    ny, nx = h // patch, w // patch
    if ny == 0 or nx == 0:
        raise ValueError(f"image {w}x{h} is smaller than one {patch}x{patch} patch")
    top = int(rng.integers(0, h - patch * ny + 1))
    left = int(rng.integers(0, w - patch * nx + 1))
    crops = [image[top + y * patch: top + (y + 1) * patch, left + x * patch: left + (x + 1) * patch]
             for y in range(ny) for x in range(nx)]
    return np.stack(crops)


def patch_batches(num_patches: int, rng: np.random.Generator, batch_size: int = 128) -> list[tuple[int, int]]:
    """``(start, stop)`` ranges of the degradation batches: first length randint(bs // 4, bs - 1), then ``bs``."""
    if num_patches < 1:
        return []
    first = int(rng.integers(batch_size // 4, batch_size))  # [bs // 4, bs - 1] as VCISR's randint(bs//4, bs-1)
    bounds, start = [], 0
    stop = min(first, num_patches)
    while start < num_patches:
        bounds.append((start, stop))
        start, stop = stop, min(stop + batch_size, num_patches)
    return bounds
