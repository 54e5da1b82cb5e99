"""Fuzz the video reader: seeded byte mutations of small valid clips, each decoded in a memory-capped worker process.

Seeds are 4-frame 32x32 clips written here with PyAV (H.264 in mp4 and mkv, FFV1 and MPEG-4 part 2 in mkv). Input i
is a seed mutated by 1-4 operations drawn from ``numpy.random.default_rng([seed, i])`` (bit flips, random bytes,
boundary values written over 1/2/4 bytes, deleted, duplicated or inserted runs, truncation), so a run is reproducible
and any input can be rebuilt from its index. Workers (``--workers`` long-lived subprocesses, address space capped with
RLIMIT_AS) open each input with :class:`wildvsr.video.VideoReader`, read its info, decode up to 64 frames and count
the frames. Outcomes:

- ``ok`` / ``refused``: decoded, or refused with a :class:`wildvsr.errors.VSRError` (the one-line errors the CLI
  prints): both fine.
- ``bug``: any other exception (the CLI would print an internal error), MemoryError included.
- ``crash``: the worker died (a signal, e.g. SIGSEGV, or the allocator hitting the cap in C code).
- ``hang``: no answer within ``--timeout`` seconds (the worker is killed and replaced).

Failing inputs are saved to ``--save`` for reproduction. Exit code 1 when any bug, crash or hang was seen.

    python benchmarks/fuzz_video_reader.py --count 10000 --seed 0
"""

from __future__ import annotations

import argparse
import json
import queue
import resource
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np

INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


# -- seeds ------------------------------------------------------------------------------------------------------------
def write_seeds(folder: Path) -> list[Path]:
    """Small valid clips (4 frames, 32x32, moving gradient) in the containers and codecs users bring."""
    import av

    yy, xx = np.mgrid[0:32, 0:32]
    frames = [np.stack([(xx * 8 + 9 * t) % 256, (yy * 8) % 256, ((xx + yy) * 4 + 5 * t) % 256], -1).astype(np.uint8)
              for t in range(4)]
    specs = [("h264.mp4", "libx264", "yuv420p"), ("h264.mkv", "libx264", "yuv420p"), ("ffv1.mkv", "ffv1", "bgr0"),
             ("mpeg4.mkv", "mpeg4", "yuv420p")]
    paths = []
    for name, codec, pix_fmt in specs:
        path = folder / name
        with av.open(str(path), "w") as container:
            stream = container.add_stream(codec, rate=Fraction(25))
            stream.width, stream.height, stream.pix_fmt = 32, 32, pix_fmt
            if codec == "libx264":
                stream.options = {"preset": "ultrafast", "threads": "1"}
            for img in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        paths.append(path)
    return paths


# -- mutations --------------------------------------------------------------------------------------------------------
def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """1-4 random edits of ``data`` (never longer than twice the seed)."""
    buf = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        if not buf:
            buf = bytearray(rng.integers(0, 256, 16, dtype=np.uint8).tobytes())
        n = len(buf)
        pos = int(rng.integers(0, n))
        op = int(rng.integers(0, 7))
        if op == 0:  # flip 1-8 bits
            for _ in range(int(rng.integers(1, 9))):
                i = int(rng.integers(0, n))
                buf[i] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:  # random bytes over a short run
            k = min(int(rng.integers(1, 17)), n - pos)
            buf[pos:pos + k] = rng.integers(0, 256, k, dtype=np.uint8).tobytes()
        elif op == 2:  # a boundary value (sizes, counts, dimensions in headers)
            width = int(rng.choice([1, 2, 4]))
            value = int(rng.choice(INTERESTING)) & ((1 << (8 * width)) - 1)
            order = "big" if rng.random() < 0.7 else "little"  # ISO BMFF is big-endian
            buf[pos:pos + width] = value.to_bytes(width, order)
        elif op == 3:  # delete a run
            del buf[pos:pos + int(rng.integers(1, 65))]
        elif op == 4:  # duplicate a run
            k = int(rng.integers(1, 129))
            buf[pos:pos] = buf[pos:pos + k]
        elif op == 5:  # insert random bytes
            buf[pos:pos] = rng.integers(0, 256, int(rng.integers(1, 33)), dtype=np.uint8).tobytes()
        else:  # truncate
            del buf[max(1, pos):]
    return bytes(buf[:2 * len(data) + 64])


def make_input(seeds: list[tuple[str, bytes]], seed: int, index: int) -> tuple[str, bytes]:
    """Input ``index`` of a run: (file name with the seed's extension, bytes)."""
    rng = np.random.default_rng([seed, index])
    name, data = seeds[int(rng.integers(0, len(seeds)))]
    return f"in{index:06d}{Path(name).suffix}", mutate(data, rng)


# -- worker (a subprocess: one path per stdin line, one JSON line per answer) -----------------------------------------
def worker(memory_mb: int, max_frames: int) -> None:
    cap = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import logging

    logging.disable(logging.WARNING)  # the reader warns about damaged files; the outcome is what counts here
    from wildvsr.errors import VSRError
    from wildvsr.video import VideoReader

    for line in sys.stdin:
        path = line.strip()
        result: dict = {"outcome": "ok"}
        try:
            with VideoReader(path) as reader:
                info = reader.info
                frames = 0
                for frame in reader.frames(0, max_frames):
                    assert frame.image.shape == (info.height, info.width, 3), "frame size differs from info"
                    frames += 1
                reader.count_frames()
                result["frames"] = frames
        except VSRError as exc:
            result = {"outcome": "refused", "error": str(exc)[:300]}
        except BaseException as exc:  # noqa: BLE001 (anything else is a finding, MemoryError included)
            result = {"outcome": "bug", "error": f"{type(exc).__name__}: {exc}"[:500],
                      "traceback": traceback.format_exc()[-2000:]}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


class Worker:
    """A worker subprocess; :meth:`run` sends one path and waits at most ``timeout`` seconds for its answer."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", "--memory-mb", str(self.args.memory_mb),
                                      "--max-frames", str(self.args.max_frames)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def run(self, path: Path) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        proc = self.proc
        try:
            proc.stdin.write(f"{path}\n")
            proc.stdin.flush()
        except BrokenPipeError:
            return self._died()
        ready, _, _ = select.select([proc.stdout], [], [], self.args.timeout)
        if not ready:
            proc.kill()
            proc.wait()
            self.proc = None
            return {"outcome": "hang", "error": f"no answer within {self.args.timeout} s"}
        line = proc.stdout.readline()
        if not line:
            return self._died()
        return json.loads(line)

    def _died(self) -> dict:
        code = self.proc.wait()
        self.proc = None
        return {"outcome": "crash", "error": f"worker exited with {code}"}

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def fuzz(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="wildvsr-fuzz-"))
    save = Path(args.save)
    try:
        seeds = [(p.name, p.read_bytes()) for p in write_seeds(work)]
        counts: Counter = Counter()
        findings: list[tuple[int, dict]] = []
        todo: queue.Queue = queue.Queue()
        for i in range(args.count):
            todo.put(i)
        lock = threading.Lock()

        def loop(slot: int) -> None:
            w = Worker(args)
            folder = work / f"w{slot}"
            folder.mkdir()
            try:
                while True:
                    try:
                        i = todo.get_nowait()
                    except queue.Empty:
                        return
                    name, data = make_input(seeds, args.seed, i)
                    path = folder / name
                    path.write_bytes(data)
                    result = w.run(path)
                    with lock:
                        counts[result["outcome"]] += 1
                        if result["outcome"] in ("bug", "crash", "hang"):
                            findings.append((i, result))
                            save.mkdir(parents=True, exist_ok=True)
                            shutil.copy(path, save / name)
                    path.unlink()
            finally:
                w.close()

        start = time.perf_counter()
        threads = [threading.Thread(target=loop, args=(k,)) for k in range(args.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ran = sum(counts.values())
    print("| inputs run | ok | refused (VSRError) | bug | crash | hang | seconds | inputs/s |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {ran} | {counts['ok']} | {counts['refused']} | {counts['bug']} | {counts['crash']} | {counts['hang']} "
          f"| {seconds:.1f} | {ran / seconds:.1f} |")
    print(f"seed {args.seed}, {args.workers} workers, timeout {args.timeout} s, RLIMIT_AS {args.memory_mb} MiB")
    for i, result in sorted(findings)[:20]:
        print(f"input {i}: {result['outcome']}: {result['error']}")
        if result.get("traceback"):
            print(result["traceback"])
    if findings:
        print(f"{len(findings)} failing inputs saved in {save} (rebuild any with make_input(seeds, seed, index))")
    return 1 if findings else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000, help="mutated inputs to run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per input before it counts as a hang")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space cap of a worker (RLIMIT_AS)")
    parser.add_argument("--max-frames", type=int, default=64, help="frames decoded per input, at most")
    parser.add_argument("--save", default="fuzz_findings", help="folder for failing inputs")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.memory_mb, args.max_frames)
        return
    sys.exit(fuzz(args))


if __name__ == "__main__":
    main()
