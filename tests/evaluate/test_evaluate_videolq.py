"""The videolq protocol on the real VideoLQ clip with bicubic; the reports (JSON/CSV/markdown/plots/HTML) agree."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from helpers.shared_data import shared_path

from wildvsr.evaluate import BenchmarkConfig, benchmark
from wildvsr.metrics import calculate_brisque, calculate_niqe


@pytest.fixture(scope="module")
def videolq_run(tmp_path_factory) -> tuple[Path, dict]:
    src = shared_path("real_lq", "videolq_000")
    out = tmp_path_factory.mktemp("videolq") / "report"
    # a central 64x64 input crop keeps the test fast (256x256 outputs; NIQE needs >= 96x96)
    return out, benchmark(src, BenchmarkConfig("bicubic", "videolq", crop=64), out).to_dict()


def test_videolq_picks_frames_0_15_30_and_reports_niqe_brisque(videolq_run):
    out, res = videolq_run
    saved = json.loads((out / "results.json").read_text())
    seq = saved["methods"]["bicubic"]["sequences"]["videolq_000"]
    assert seq["frames"] == [0, 15, 30]
    assert set(seq["values"]) == {"niqe", "brisque"} and not seq["pairs"]
    assert "warping_error" not in saved["metrics"]
    assert all(np.isfinite(v) and 2 < v < 20 for v in seq["values"]["niqe"])
    assert all(np.isfinite(v) and 0 < v < 120 for v in seq["values"]["brisque"])
    assert saved["methods"]["bicubic"]["seconds_per_frame"] > 0
    assert saved["protocol"]["frames"] == "first_middle_last"


def test_values_match_the_metric_functions_on_the_same_frames(videolq_run):
    import torch
    import torch.nn.functional as F

    from wildvsr.evaluate.datasets import load_frames

    _, res = videolq_run
    lq = load_frames(shared_path("real_lq", "videolq_000"), indices=[15], crop=64)[0]
    x = torch.from_numpy(lq).permute(2, 0, 1)[None].float()
    up = F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False).round().clamp(0, 255)
    up = up.to(torch.uint8)[0].permute(1, 2, 0).numpy()
    seq = res["methods"]["bicubic"]["sequences"]["videolq_000"]
    assert seq["values"]["niqe"][1] == pytest.approx(calculate_niqe(up), abs=1e-9)
    assert seq["values"]["brisque"][1] == pytest.approx(calculate_brisque(up), abs=1e-9)


def test_json_csv_markdown_agree_and_plots_are_pngs(videolq_run):
    out, _ = videolq_run
    saved = json.loads((out / "results.json").read_text())
    rows = list(csv.DictReader((out / "results.csv").open()))
    seq = saved["methods"]["bicubic"]["sequences"]["videolq_000"]
    for metric in ("niqe", "brisque"):
        per_frame = {int(r["frame"]): float(r["value"]) for r in rows
                     if r["metric"] == metric and r["frame"] != "mean"}
        assert per_frame == dict(zip(seq["frames"], seq["values"][metric]))
        mean_row = [float(r["value"]) for r in rows if r["metric"] == metric and r["frame"] == "mean"]
        assert mean_row == [pytest.approx(np.mean(seq["values"][metric]), abs=1e-12)]
        assert saved["methods"]["bicubic"]["mean"][metric] == pytest.approx(mean_row[0], abs=1e-12)
    md = (out / "results.md").read_text()
    means = saved["methods"]["bicubic"]["mean"]
    assert f"| bicubic | {means['niqe']:.4f} | {means['brisque']:.4f} |" in md
    assert "| videolq_000 | 0, 15, 30 |" in md
    for name in ("curves_niqe.png", "curves_brisque.png", "speed_quality.png"):
        with Image.open(out / name) as img:
            assert img.format == "PNG" and img.size[0] > 100 and img.size[1] > 100


def test_compare_html_slider_initialises_in_headless_chromium(videolq_run, tmp_path: Path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian package 'chromium')")
    out, _ = videolq_run
    page = (out / "compare.html").read_text()
    assert "http://" not in page and "https://" not in page  # self-contained: no network
    assert page.count('data-ready="0"') == 1
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--dump-dom", (out / "compare.html").resolve().as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=90).stdout
    assert 'class="slider" data-ready="1"' in dom, dom[:500]
    assert "data:image/png;base64," in dom
