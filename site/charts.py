"""The page's charts as SVG geometry: attribute strings and labels for the memory-vs-context
and memory-vs-batch lines and for the stacked breakdown bar. Pure, like site/view.py (which
puts them in its view model); the SVG elements themselves are in site/index.html.
"""

from __future__ import annotations

import math
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


def line_chart(prefix: str, points: list[Any], capacity: int | None, axis: str,
               current: int, largest: int | None = None, limited: bool = False,
               ) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Texts and attributes for one memory-vs-x chart (log x, linear y in GiB).

    ``largest`` is the exact largest x that fits (max_batch / max_context, the figure the
    text shows); with ``limited`` the stop line is drawn there, so chart and text agree.
    Values above the y range are drawn along the top edge in their own dotted path and
    labelled with the largest value they reach (never a silent flat line).
    """
    texts: dict[str, str] = {}
    attrs: dict[str, dict[str, str]] = {}
    pts = [p for p in points if p.x > 0]
    if not pts:
        attrs[f"{prefix}-line"] = {"d": ""}
        return texts, attrs
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
    ymax = _nice_ceiling(top)
    plot_w = CHART_W - PAD_L - PAD_R
    plot_h = CHART_H - PAD_T - PAD_B

    def sx(x: float) -> float:
        return PAD_L + (math.log2(x) - x0) / (x1 - x0) * plot_w

    def sy(b: float) -> float:
        return max(PAD_T, PAD_T + plot_h - (b / GIB) / ymax * plot_h)

    fit_d: list[str] = []
    over_d: list[str] = []
    clip_d: list[str] = []
    prev_fits: bool | None = None
    last_xy = ""
    top_bytes = ymax * GIB
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
        xy = f"{sx(p.x):.1f},{sy(p.per_gpu_bytes):.1f}"
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
    over_top = [p for p in pts if p.per_gpu_bytes > top_bytes]
    if over_top:
        peak = max(over_top, key=lambda p: p.per_gpu_bytes)
        where = fmt_tokens(peak.x) if axis == "context" else f"batch {peak.x:,}"
        texts[f"{prefix}-clip-label"] = (f"▲ off the scale above {ymax:g} GiB: "
                                         f"{peak.per_gpu_bytes / GIB:,.0f} GiB at {where}")
        attrs[f"{prefix}-clip-label"] = {"visibility": "visible"}
    else:
        texts[f"{prefix}-clip-label"] = ""
        attrs[f"{prefix}-clip-label"] = {"visibility": "hidden"}
    if capacity:
        cy = f"{sy(capacity):.1f}"
        attrs[f"{prefix}-cap"] = {"y1": cy, "y2": cy, "visibility": "visible"}
        attrs[f"{prefix}-cap-label"] = {"y": f"{sy(capacity) - 5:.1f}", "visibility": "visible"}
        texts[f"{prefix}-cap-label"] = f"usable per GPU {capacity / GIB:.1f} GiB"
    else:
        # hidden, with coordinates all the same (an empty length is an SVG parse error)
        attrs[f"{prefix}-cap"] = {"y1": "0", "y2": "0", "visibility": "hidden"}
        attrs[f"{prefix}-cap-label"] = {"y": "0", "visibility": "hidden"}
        texts[f"{prefix}-cap-label"] = ""
    stop: int | None = None
    if limited:
        # the exact answer of max_batch / max_context, as the text says it
        if largest is not None and min(xs) <= largest < max(xs):
            stop = largest
    else:
        first_over = next((p for p in pts if p.fits is False), None)
        if first_over is not None and first_over is not pts[0]:
            stop = first_over.x
    if stop is not None:
        lx = f"{sx(stop):.1f}"
        attrs[f"{prefix}-stop"] = {"x1": lx, "x2": lx, "visibility": "visible"}
        label = ("fits up to " + f"{stop:,} tokens" if axis == "context" else
                 f"fits up to batch {stop:,}")
        texts[f"{prefix}-stop-label"] = label
        anchor = "end" if sx(stop) > PAD_L + plot_w * 0.5 else "start"
        attrs[f"{prefix}-stop-label"] = {"x": f"{sx(stop) + (-4 if anchor == 'end' else 4):.1f}",
                                         "text-anchor": anchor, "visibility": "visible"}
    else:
        attrs[f"{prefix}-stop"] = {"x1": "0", "x2": "0", "visibility": "hidden"}
        attrs[f"{prefix}-stop-label"] = {"x": "0", "text-anchor": "start",
                                         "visibility": "hidden"}
        texts[f"{prefix}-stop-label"] = ""
    cur = min(max(current, min(xs)), max(xs))
    cx = f"{sx(cur):.1f}"
    attrs[f"{prefix}-now"] = {"x1": cx, "x2": cx}
    for i in range(Y_TICKS + 1):
        value = ymax * i / Y_TICKS
        y = f"{sy(value * GIB):.1f}"
        texts[f"{prefix}-y{i}"] = f"{value:g}" if value < 100 else f"{value:.0f}"
        attrs[f"{prefix}-y{i}"] = {"y": f"{sy(value * GIB) + 4:.1f}"}
        attrs[f"{prefix}-g{i}"] = {"y1": y, "y2": y}
    # x ticks at powers of two, every `step` octaves so that at most X_TICKS show
    lo, hi = math.ceil(x0 - 1e-9), math.floor(x1 + 1e-9)
    step = max(1, math.ceil((hi - lo + 1) / X_TICKS))
    ticks = list(range(lo, hi + 1, step))[:X_TICKS]
    for i in range(X_TICKS):
        if i < len(ticks):
            value = 2 ** ticks[i]
            texts[f"{prefix}-x{i}"] = fmt_tokens(value) if axis == "context" else f"{value:,}"
            attrs[f"{prefix}-x{i}"] = {"x": f"{sx(value):.1f}", "visibility": "visible"}
        else:
            texts[f"{prefix}-x{i}"] = ""
            attrs[f"{prefix}-x{i}"] = {"x": "0", "visibility": "hidden"}
    return texts, attrs


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


