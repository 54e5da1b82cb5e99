"""A self-contained HTML page of side-by-side crops with a draggable comparison slider.

No network: images are base64 PNG data URIs, the script is inline vanilla JS (pointer events). Each slider shows the
left image (e.g. the input, nearest-neighbour enlarged) and the right image (a method's output) in one frame; dragging
moves the split. The script sets ``data-ready="1"`` on each slider once it is initialised (tests check this in a real
headless browser).
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

__all__ = ["Panel", "png_data_uri", "render_html"]


@dataclass(frozen=True)
class Panel:
    """One comparison: ``left`` vs ``right`` (``(H, W, 3)`` uint8, same size; ``left`` None: the image alone)."""

    title: str
    right: np.ndarray
    right_label: str
    left: np.ndarray | None = None
    left_label: str = ""


def png_data_uri(image: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;background:#f6f6f6;color:#222}
.grid{display:flex;flex-wrap:wrap;gap:1.5em}
figure{margin:0;background:#fff;padding:.6em;border-radius:6px;box-shadow:0 1px 3px #0003}
figcaption{font-size:.9em;margin-bottom:.4em}
.slider{position:relative;overflow:hidden;cursor:ew-resize;touch-action:none;user-select:none;line-height:0}
.slider img{display:block;image-rendering:pixelated;pointer-events:none}
.slider .top{position:absolute;left:0;top:0;height:100%;overflow:hidden;width:50%}
.slider .top img{max-width:none}
.slider .bar{position:absolute;top:0;bottom:0;width:2px;background:#fff;box-shadow:0 0 3px #000;left:50%}
.slider .lab{position:absolute;top:4px;font:12px sans-serif;line-height:1.3;background:#000a;color:#fff;padding:1px 4px}
"""

_JS = """
document.querySelectorAll('.slider').forEach(function (s) {
  var top = s.querySelector('.top'), bar = s.querySelector('.bar'), dragging = false;
  function setPos(clientX) {
    var r = s.getBoundingClientRect();
    var f = Math.min(1, Math.max(0, (clientX - r.left) / (r.width || 1)));
    top.style.width = (100 * f) + '%'; bar.style.left = (100 * f) + '%';
    s.setAttribute('data-pos', f.toFixed(3));
  }
  s.addEventListener('pointerdown', function (e) { dragging = true; s.setPointerCapture(e.pointerId); setPos(e.clientX); });
  s.addEventListener('pointermove', function (e) { if (dragging) setPos(e.clientX); });
  s.addEventListener('pointerup', function () { dragging = false; });
  s.addEventListener('pointercancel', function () { dragging = false; });
  s.setAttribute('data-ready', '1');
});
"""


def _panel_html(panel: Panel) -> str:
    h, w = panel.right.shape[:2]
    title = html.escape(panel.title)
    right = f'<img src="{png_data_uri(panel.right)}" width="{w}" height="{h}" alt="{html.escape(panel.right_label)}">'
    if panel.left is None:
        return f"<figure><figcaption>{title}</figcaption>{right}</figure>"
    left = f'<img src="{png_data_uri(panel.left)}" width="{w}" height="{h}" alt="{html.escape(panel.left_label)}">'
    return (f'<figure><figcaption>{title}</figcaption>'
            f'<div class="slider" data-ready="0" style="width:{w}px;height:{h}px">{right}'
            f'<div class="top">{left}</div><div class="bar"></div>'
            f'<span class="lab" style="left:4px">{html.escape(panel.left_label)}</span>'
            f'<span class="lab" style="right:4px">{html.escape(panel.right_label)}</span></div></figure>')


def render_html(title: str, panels: list[Panel], summary_html: str = "") -> str:
    """The whole page as a string (write it with :func:`wildvsr.utils.files.atomic_write_text`)."""
    body = "\n".join(_panel_html(p) for p in panels)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>{summary_html}"
            f"<p>Drag on an image to move the split (left label: left side).</p>"
            f"<div class=\"grid\">{body}</div><script>{_JS}</script></body></html>\n")
