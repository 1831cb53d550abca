"""The page's charts as SVG geometry: attribute strings and labels for the memory-vs-context
and memory-vs-batch lines and for the stacked breakdown bar. Pure, like site/view.py (which
puts them in its view model); the SVG elements themselves are in site/index.html.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from estimator import GIB
from estimator.report import COMPONENT_ORDER, fmt_gib, fmt_tokens

CHART_W, CHART_H = 600, 260
PAD_L, PAD_R, PAD_T, PAD_B = 64, 16, 14, 36  # keep in step with site/index.html
BAR_W = 600
Y_TICKS = 4
X_TICKS = 6


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10.0 ** math.floor(math.log10(value))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * exp >= value:
            return m * exp
    return 10 * exp


Texts = dict[str, str]
Attrs = dict[str, dict[str, str]]


@dataclass(frozen=True)
class _Scale:
    """The chart's axes: log2 x from ``x0`` to ``x1``, linear y from 0 to ``ymax`` GiB."""

    x0: float
    x1: float
    ymax: float
    plot_w: float = CHART_W - PAD_L - PAD_R
    plot_h: float = CHART_H - PAD_T - PAD_B

    def sx(self, x: float) -> float:
        return PAD_L + (math.log2(x) - self.x0) / (self.x1 - self.x0) * self.plot_w

    def sy(self, b: float) -> float:
        return max(PAD_T, PAD_T + self.plot_h - (b / GIB) / self.ymax * self.plot_h)


def line_chart(prefix: str, points: list[Any], capacity: int | None, axis: str,
               current: int, largest: int | None = None, limited: bool = False,
               ) -> tuple[Texts, Attrs]:
    """Texts and attributes for one memory-vs-x chart (log x, linear y in GiB).

    ``largest`` is the exact largest x that fits (max_batch / max_context, the figure the
    text shows); with ``limited`` the stop line is drawn there, so chart and text agree.
    Values above the y range are drawn along the top edge in their own dotted path and
    labelled with the largest value they reach (never a silent flat line).
    """
    texts: Texts = {}
    attrs: Attrs = {}
    pts = [p for p in points if p.x > 0]
    if not pts:
        attrs[f"{prefix}-line"] = {"d": ""}
        return texts, attrs
    scale = _scale(pts, capacity, current)
    _lines(prefix, pts, scale, attrs)
    _clip_label(prefix, pts, scale, axis, texts, attrs)
    _capacity_line(prefix, capacity, scale, texts, attrs)
    _stop_line(prefix, pts, scale, axis, largest, limited, texts, attrs)
    xs = [p.x for p in pts]
    cur = min(max(current, min(xs)), max(xs))
    cx = f"{scale.sx(cur):.1f}"
    attrs[f"{prefix}-now"] = {"x1": cx, "x2": cx}
    _y_ticks(prefix, scale, texts, attrs)
    _x_ticks(prefix, scale, axis, texts, attrs)
    return texts, attrs


def _scale(pts: list[Any], capacity: int | None, current: int) -> _Scale:
    xs = [p.x for p in pts]
    ys = [p.per_gpu_bytes for p in pts]
    x0, x1 = math.log2(min(xs)), math.log2(max(xs))
    if x1 <= x0:
        x1 = x0 + 1
    # Keep the interesting region readable: past ~2.5x the capacity (or the current
    # value) the line is clipped at the top instead of squashing everything else.
    focus = [capacity * 2.5] if capacity else []
    now_y = [p.per_gpu_bytes for p in pts if p.x >= current]
    focus.append((now_y[0] if now_y else ys[-1]) * 1.3)
    top = min(max(ys), max(focus)) * 1.05 / GIB
    top = max(top, (capacity or 0) * 1.05 / GIB)
    return _Scale(x0, x1, _nice_ceiling(top))


def _lines(prefix: str, pts: list[Any], scale: _Scale, attrs: Attrs) -> None:
    """Three paths: where it fits, where it does not, and along the top edge (clipped)."""
    fit_d: list[str] = []
    over_d: list[str] = []
    clip_d: list[str] = []
    prev_fits: bool | None = None
    last_xy = ""
    top_bytes = scale.ymax * GIB
    prev_clipped = False
    for p in pts:
        fits = p.fits is not False
        clipped = p.per_gpu_bytes > top_bytes
        seg = fit_d if fits else over_d
        cmd = "M" if (prev_fits is None or prev_fits != fits or not seg) else "L"
        if prev_fits is not None and prev_fits != fits:
            # join the two colours at the previous point
            seg.append(f"M{last_xy}")
            cmd = "L"
        xy = f"{scale.sx(p.x):.1f},{scale.sy(p.per_gpu_bytes):.1f}"
        if clipped:
            clip_d.append(f"{'L' if prev_clipped else 'M'}{xy}")
        else:
            seg.append(f"{cmd}{xy}")
        if clipped and not prev_clipped and seg:
            seg.append(f"L{xy}")  # the line runs into the top edge here
        last_xy = xy
        prev_fits = fits
        prev_clipped = clipped
    attrs[f"{prefix}-line"] = {"d": " ".join(fit_d)}
    attrs[f"{prefix}-over"] = {"d": " ".join(over_d)}
    attrs[f"{prefix}-clipped"] = {"d": " ".join(clip_d)}


def _clip_label(prefix: str, pts: list[Any], scale: _Scale, axis: str, texts: Texts,
                attrs: Attrs) -> None:
    over_top = [p for p in pts if p.per_gpu_bytes > scale.ymax * GIB]
    if over_top:
        peak = max(over_top, key=lambda p: p.per_gpu_bytes)
        where = fmt_tokens(peak.x) if axis == "context" else f"batch {peak.x:,}"
        texts[f"{prefix}-clip-label"] = (f"▲ off the scale above {scale.ymax:g} GiB: "
                                         f"{peak.per_gpu_bytes / GIB:,.0f} GiB at {where}")
        attrs[f"{prefix}-clip-label"] = {"visibility": "visible"}
    else:
        texts[f"{prefix}-clip-label"] = ""
        attrs[f"{prefix}-clip-label"] = {"visibility": "hidden"}


def _capacity_line(prefix: str, capacity: int | None, scale: _Scale, texts: Texts,
                   attrs: Attrs) -> None:
    if capacity:
        cy = f"{scale.sy(capacity):.1f}"
        attrs[f"{prefix}-cap"] = {"y1": cy, "y2": cy, "visibility": "visible"}
        attrs[f"{prefix}-cap-label"] = {"y": f"{scale.sy(capacity) - 5:.1f}",
                                        "visibility": "visible"}
        texts[f"{prefix}-cap-label"] = f"usable per GPU {capacity / GIB:.1f} GiB"
    else:
        # hidden, with coordinates all the same (an empty length is an SVG parse error)
        attrs[f"{prefix}-cap"] = {"y1": "0", "y2": "0", "visibility": "hidden"}
        attrs[f"{prefix}-cap-label"] = {"y": "0", "visibility": "hidden"}
        texts[f"{prefix}-cap-label"] = ""


def _stop_at(pts: list[Any], largest: int | None, limited: bool) -> int | None:
    """Where the line stops fitting: the exact answer when ``limited``, else the first
    point that does not fit (none when the first one already does not)."""
    if limited:
        # the exact answer of max_batch / max_context, as the text says it
        xs = [p.x for p in pts]
        if largest is not None and min(xs) <= largest < max(xs):
            return largest
        return None
    first_over = next((p for p in pts if p.fits is False), None)
    if first_over is not None and first_over is not pts[0]:
        stop: int = first_over.x
        return stop
    return None


def _stop_line(prefix: str, pts: list[Any], scale: _Scale, axis: str, largest: int | None,
               limited: bool, texts: Texts, attrs: Attrs) -> None:
    stop = _stop_at(pts, largest, limited)
    if stop is not None:
        lx = f"{scale.sx(stop):.1f}"
        attrs[f"{prefix}-stop"] = {"x1": lx, "x2": lx, "visibility": "visible"}
        label = ("fits up to " + f"{stop:,} tokens" if axis == "context" else
                 f"fits up to batch {stop:,}")
        texts[f"{prefix}-stop-label"] = label
        anchor = "end" if scale.sx(stop) > PAD_L + scale.plot_w * 0.5 else "start"
        attrs[f"{prefix}-stop-label"] = {
            "x": f"{scale.sx(stop) + (-4 if anchor == 'end' else 4):.1f}",
            "text-anchor": anchor, "visibility": "visible"}
    else:
        attrs[f"{prefix}-stop"] = {"x1": "0", "x2": "0", "visibility": "hidden"}
        attrs[f"{prefix}-stop-label"] = {"x": "0", "text-anchor": "start",
                                         "visibility": "hidden"}
        texts[f"{prefix}-stop-label"] = ""


def _y_ticks(prefix: str, scale: _Scale, texts: Texts, attrs: Attrs) -> None:
    for i in range(Y_TICKS + 1):
        value = scale.ymax * i / Y_TICKS
        y = f"{scale.sy(value * GIB):.1f}"
        texts[f"{prefix}-y{i}"] = f"{value:g}" if value < 100 else f"{value:.0f}"
        attrs[f"{prefix}-y{i}"] = {"y": f"{scale.sy(value * GIB) + 4:.1f}"}
        attrs[f"{prefix}-g{i}"] = {"y1": y, "y2": y}


def _x_ticks(prefix: str, scale: _Scale, axis: str, texts: Texts, attrs: Attrs) -> None:
    # x ticks at powers of two, every `step` octaves so that at most X_TICKS show
    lo, hi = math.ceil(scale.x0 - 1e-9), math.floor(scale.x1 + 1e-9)
    step = max(1, math.ceil((hi - lo + 1) / X_TICKS))
    ticks = list(range(lo, hi + 1, step))[:X_TICKS]
    for i in range(X_TICKS):
        if i < len(ticks):
            value = 2 ** ticks[i]
            texts[f"{prefix}-x{i}"] = fmt_tokens(value) if axis == "context" else f"{value:,}"
            attrs[f"{prefix}-x{i}"] = {"x": f"{scale.sx(value):.1f}", "visibility": "visible"}
        else:
            texts[f"{prefix}-x{i}"] = ""
            attrs[f"{prefix}-x{i}"] = {"x": "0", "visibility": "hidden"}


def stacked_bar(est: Any, capacity: int | None, gpus: int) -> tuple[dict[str, str],
                                                                     dict[str, dict[str, str]]]:
    texts: dict[str, str] = {}
    attrs: dict[str, dict[str, str]] = {}
    parts = {c.name: c.bytes for c in est.components}
    total = sum(parts.get(k, 0) for k in COMPONENT_ORDER) or 1
    cap_total = (capacity or 0) * gpus
    scale_max = max(total, cap_total) * 1.04
    x = 0.0
    for key in COMPONENT_ORDER:
        width = parts.get(key, 0) / scale_max * BAR_W
        attrs[f"bar-{key}"] = {"x": f"{x:.1f}", "width": f"{width:.1f}"}
        x += width
        texts[f"legend-{key}"] = fmt_gib(parts.get(key, 0))
    if capacity:
        cx = f"{cap_total / scale_max * BAR_W:.1f}"
        attrs["bar-cap"] = {"x1": cx, "x2": cx, "visibility": "visible"}
        what = "GPU" if gpus == 1 else f"{gpus} GPUs"
        texts["bar-cap-text"] = f"capacity of {what}: {fmt_gib(cap_total)}"
    else:
        attrs["bar-cap"] = {"x1": "0", "x2": "0", "visibility": "hidden"}
        texts["bar-cap-text"] = "no GPU chosen"
    return texts, attrs


