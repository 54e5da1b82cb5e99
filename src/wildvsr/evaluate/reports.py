"""Write results: ``results.json`` (everything), ``results.csv`` (one row per value), ``results.md`` (tables), and
PNG plots (per-frame metric curves; speed/quality scatter when timings are known).

``results`` is the plain dict built by :mod:`wildvsr.evaluate.runner`::

    {"protocol": {...}, "metrics": {name: info}, "settings": {...},
     "methods": {method: {"seconds_per_frame": float|None, "mean": {metric: v},
                          "sequences": {seq: {"frames": [...], "values": {...}, "pairs": {...}, "mean": {...}}}}}}
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from pathlib import Path

__all__ = ["write_csv", "write_json", "write_markdown", "write_plots"]


def _fmt(v: float | None, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{digits}f}"


def write_json(results: dict, path: Path) -> None:
    path.write_text(json.dumps(results, indent=1, allow_nan=True) + "\n", encoding="utf-8")


def csv_rows(results: dict) -> list[dict]:
    """Rows ``method, sequence, frame, metric, value``: per-frame values, then per-pair values of video metrics
    (``frame`` = the later frame of the pair), then the sequence means (``frame`` = ``mean``)."""
    rows = []
    for method, res in results["methods"].items():
        for seq, s in res["sequences"].items():
            for metric, vals in s["values"].items():
                rows += [dict(method=method, sequence=seq, frame=i, metric=metric, value=v)
                         for i, v in zip(s["frames"], vals)]
            for metric, vals in s["pairs"].items():
                rows += [dict(method=method, sequence=seq, frame=i + 1, metric=metric, value=v)
                         for i, v in enumerate(vals)]
            rows += [dict(method=method, sequence=seq, frame="mean", metric=m, value=v) for m, v in s["mean"].items()]
    return rows


def write_csv(results: dict, path: Path) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["method", "sequence", "frame", "metric", "value"], lineterminator="\n")
    writer.writeheader()
    writer.writerows({**r, "value": repr(float(r["value"]))} for r in csv_rows(results))
    path.write_text(buf.getvalue(), encoding="utf-8")


def _arrow(results: dict, metric: str) -> str:
    info = results["metrics"].get(metric, {})
    return " ↓" if info.get("lower_better") else " ↑"


def write_markdown(results: dict, path: Path) -> None:
    """A table of means per method (plus s/frame when known), then one table per method over sequences."""
    proto = results["protocol"]
    metrics = list(results["metrics"])
    lines = [f"# Evaluation: protocol `{proto['name']}`", "", f"{proto['description']} ({proto['citation']}).", ""]
    for key, val in results.get("settings", {}).items():
        lines.append(f"- {key}: `{val}`")
    lines += ["", "## Means", ""]
    timed = any(m.get("seconds_per_frame") is not None for m in results["methods"].values())
    head = ["method"] + [m + _arrow(results, m) for m in metrics] + (["s/frame"] if timed else [])
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, res in results["methods"].items():
        row = [method] + [_fmt(res["mean"].get(m)) for m in metrics]
        if timed:
            row.append(_fmt(res.get("seconds_per_frame")))
        lines.append("| " + " | ".join(row) + " |")
    for method, res in results["methods"].items():
        lines += ["", f"## {method}: per sequence", ""]
        head = ["sequence", "frames"] + metrics
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for seq, s in res["sequences"].items():
            frames = ", ".join(str(i) for i in s["frames"]) if len(s["frames"]) <= 5 else \
                f"{s['frames'][0]}-{s['frames'][-1]} ({len(s['frames'])})"
            lines.append("| " + " | ".join([seq, frames] + [_fmt(s["mean"].get(m)) for m in metrics]) + " |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_plots(results: dict, out_dir: Path) -> list[Path]:
    """``curves_<metric>.png`` per metric (x: frame index, one line per method and sequence) and
    ``speed_quality.png`` (s/frame vs mean of the first metric) when timings are known. Returns the files.

    Names in scripts the installed fonts lack (CJK without a CJK font) are drawn as boxes without a warning per
    glyph; the Markdown/HTML reports carry the names as text."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        return _write_plots(results, out_dir)


def _write_plots(results: dict, out_dir: Path) -> list[Path]:
    import matplotlib  # lazy: heavy, and only the plots need it (backend set before pyplot loads)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    methods = results["methods"]
    for metric in results["metrics"]:
        fig, ax = plt.subplots(figsize=(7, 4))
        drawn = False
        for method, res in methods.items():
            for seq, s in res["sequences"].items():
                if metric in s["values"]:
                    xs, ys = s["frames"], s["values"][metric]
                elif metric in s["pairs"]:
                    ys = s["pairs"][metric]
                    xs = list(range(1, len(ys) + 1))
                else:
                    continue
                label = method if len(res["sequences"]) == 1 else f"{method} / {seq}"
                ax.plot(xs, ys, marker="o", label=label)
                drawn = True
        if not drawn:
            plt.close(fig)
            continue
        ax.set_xlabel("frame index")
        ax.set_ylabel(metric + _arrow(results, metric))
        ax.set_title(f"{metric} per frame ({results['protocol']['name']})")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        fig.tight_layout()
        target = out_dir / f"curves_{metric}.png"
        fig.savefig(target, dpi=100)
        plt.close(fig)
        written.append(target)
    timed = {m: r for m, r in methods.items() if r.get("seconds_per_frame") is not None}
    if timed and results["metrics"]:
        metric = next(iter(results["metrics"]))
        fig, ax = plt.subplots(figsize=(6, 4))
        for method, res in timed.items():
            ax.scatter(res["seconds_per_frame"], res["mean"].get(metric, float("nan")), s=40)
            ax.annotate(method, (res["seconds_per_frame"], res["mean"].get(metric, float("nan"))),
                        textcoords="offset points", xytext=(5, 5))
        ax.set_xlabel(f"seconds per frame ({results.get('settings', {}).get('device', '?')})")
        ax.set_ylabel(metric + _arrow(results, metric))
        ax.set_title("speed vs quality")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        target = out_dir / "speed_quality.png"
        fig.savefig(target, dpi=100)
        plt.close(fig)
        written.append(target)
    return written
