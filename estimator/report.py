"""How estimates are written for people: labels, number formats, the CLI's table and
Markdown, the page's Markdown and JSON copies, and the device catalog listing.

One place for the wording ``llm-mem`` (estimator/cli.py) and the page (site/view.py)
share. Pure: an ``Estimate`` or the ``llm-mem --json`` document in, text out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .precision import PRECISIONS
from .result import Estimate
from .units import format_count, format_gb, format_gib

__all__ = [
    "COMPONENT_LABELS",
    "COMPONENT_ORDER",
    "ENGINE_MENU_LABELS",
    "PARAM_SOURCES",
    "catalog_lines",
    "estimate_json",
    "estimate_markdown",
    "fmt_both",
    "fmt_count",
    "fmt_gb",
    "fmt_gib",
    "fmt_tokens",
    "precision_label",
    "render",
    "render_estimate",
    "table",
]

# -- labels ------------------------------------------------------------------------------

#: The breakdown's rows, the engine's KV pool and the total, as every output names them.
COMPONENT_LABELS = {
    "weights": "Weights",
    "kv_cache": "KV cache",
    "activations": "Activations",
    "overhead": "Overhead",
    "engine_kv_pool": "Engine KV pool",
    "total": "Total",
}
#: The breakdown's parts in the order the bar and tables draw them.
COMPONENT_ORDER = ("weights", "kv_cache", "activations", "overhead")

#: Where a parameter count comes from (Estimate.model.param_source), as the page says it.
PARAM_SOURCES = {
    "safetensors-metadata": "exact, from the Hub's safetensors metadata",
    "index-total-size": "exact size, from model.safetensors.index.json",
    "gguf-file": "from the GGUF file size",
    "config-arithmetic": "computed from config.json's architecture",
}

#: The page's engine menu: which engines' allocation the estimate models (vLLM's is
#: validated against published V1 start-up logs, tests/validation/launch_records.json);
#: the others go by their profile's label.
ENGINE_MENU_LABELS = {
    "vllm": "vLLM (validated)",
    "generic": "generic (no engine: whole prompt in one pass)",
}


def precision_label(key: str) -> str:
    """A precision key's label (``Q4_K_M`` -> its PRECISIONS label); unknown keys as given."""
    p = PRECISIONS.get(key)
    return p.label if p is not None else key


# -- numbers -----------------------------------------------------------------------------

_gib = format_gib
_gb = format_gb
_params = format_count
fmt_count = format_count


def fmt_gib(n: int | float) -> str:
    """``n`` bytes as ``12.34 GiB``."""
    return f"{format_gib(n)} GiB"


def fmt_gb(n: int | float) -> str:
    """``n`` bytes as ``13.25 GB`` (10^9)."""
    return f"{format_gb(n)} GB"


def fmt_both(n: int | float) -> str:
    """``n`` bytes as ``12.34 GiB (13.25 GB)``."""
    return f"{fmt_gib(n)} ({fmt_gb(n)})"


def fmt_tokens(n: int) -> str:
    """A token count as an axis label: 4K, 1M, 12k, 1,500."""
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)}M"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024}K"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


# -- the CLI's table and Markdown (from the llm-mem --json document) ---------------------


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool, right: Sequence[bool]
) -> list[str]:
    """Aligned plain-text or Markdown table lines."""
    if markdown:
        sep = ["---:" if r else "---" for r in right]
        lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(sep) + " |"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return lines
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]

    def fmt(row: Sequence[str]) -> str:
        cells = [
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)
        ]
        return "  ".join(cells).rstrip()

    return [fmt(headers), fmt(["-" * w for w in widths]), *[fmt(r) for r in rows]]


def _header(doc: dict[str, Any], est: dict[str, Any], md: bool) -> list[str]:
    model = est["model"]
    name = doc["model_id"] or doc["config_path"] or "config"
    rev = f" @ {doc['revision']}" if doc.get("revision") not in (None, "main") else ""
    bold = "**" if md else ""
    inputs = est["inputs"]
    active = (
        f", {_params(est['active_params'])} active" if est["active_params"] != est["params"] else ""
    )
    lines = [
        f"{bold}{name}{rev}{bold}: {model['architecture']} ({model['model_type']}), "
        f"{model['layers']} layers, {model['attention']}",
        f"Parameters: {_params(est['params'])}{active} (source: {est['param_source']})",
        f"Precision {est['precision']}, KV cache {est['kv_dtype']}, context {est['context']:,}, "
        f"batch {inputs['batch']}, engine {inputs['engine']}"
        + (" (the default; --engine to change)" if doc.get("engine_default") else ""),
    ]
    return [line + ("  " if md else "") for line in lines]


def _footer(doc: dict[str, Any], est: dict[str, Any]) -> list[str]:
    lines = []
    fit = est.get("fit")
    if fit and not _layer_placement(est):
        verdict = est.get("fit_verdict") or ("fits" if fit["fits"] else "does NOT fit")
        lines.append(
            f"Per GPU {_gib(fit['per_gpu_bytes'])} GiB on {fit['gpu_name']}: {verdict} "
            f"({fit['utilization'] * 100:.0f}% of {_gib(fit['capacity_bytes'])} GiB; "
            f"usable {_gib(fit['usable_bytes'])} GiB)"
        )
    if est.get("engine_reserved_bytes"):
        lines.append(
            f"The engine reserves {_gib(est['engine_reserved_bytes'])} GiB per GPU up front"
        )
    if est.get("engine_kv_capacity_tokens") is not None:
        pool = (est.get("confidence") or {}).get("engine_kv_pool") or {}
        trust = f" (measured error {pool['short']})" if pool.get("short") else ""
        lines.append(
            f"Its KV pool holds {est['engine_kv_capacity_tokens']:,} tokens: up to "
            f"{est['engine_max_concurrency']:.2f} requests of {est['context']:,} tokens at once"
            + trust
        )
    lines += _placement_lines(est.get("placement"), est.get("speed"))
    rec = est.get("recommendation")
    if rec and rec.get("text"):
        lines.append(f"Recommendation: {rec['text']}")
    launch = doc.get("launch")
    if launch:
        lines.append(f"Launch: {launch['summary']}")
        for fix in launch["fixes"][:3]:
            lines.append(f"  Fix: {fix['change']} ({' '.join(fix['flags'])}) -> {fix['result']}")
        if launch["command"] and "\n" not in launch["command"]:
            lines.append(f"Command: {launch['command']}")
    for warning in est.get("warnings") or ():
        lines.append(f"Warning: {warning}")
    for note in doc.get("notes") or ():
        lines.append(f"Note: {note}")
    return lines


def _placement_lines(placement: dict[str, Any] | None, speed: dict[str, Any] | None) -> list[str]:
    """Where the parts go, the flags to use, and the speed estimate."""
    if not placement:
        return []
    lines: list[str] = []
    if placement["strategy"] == "equal-shards" and not placement.get("notes"):
        return _speed_line(speed)  # one GPU (or several alike): the fit line says it all
    lines.append(
        f"Placement ({placement['engine']}, {placement['strategy']}): {placement['verdict']}"
    )
    rows = list(placement["devices"])
    if placement.get("cpu") and (placement["cpu"]["layers"] or placement["cpu"]["expert_layers"]
                                 or placement["cpu"]["output_layer"]):
        rows.append(placement["cpu"])
    for row in rows:
        what = f"{row['layers']} layers" + (" + output" if row["output_layer"] else "")
        if row["key"] == "cpu" and row["expert_layers"]:
            what += f", experts of {row['expert_layers']} more"
        room = f" of {_gib(row['memory_bytes'])} GiB" if row["memory_bytes"] else " GiB"
        lines.append(
            f"  {row['name']}: {what}; weights {_gib(row['weights_bytes'])}, "
            f"KV {_gib(row['kv_bytes'])}, buffers {_gib(row['buffers_bytes'])} GiB "
            f"= {_gib(row['used_bytes'])}{room}"
        )
    if placement["flags"]:
        lines.append(f"Flags: {' '.join(placement['flags'])}")
    if placement.get("max_context"):
        lines.append(f"Longest context that fits: {placement['max_context']:,} tokens")
    for note in placement.get("notes") or ():
        lines.append(f"Note: {note}")
    return lines + _speed_line(speed)


def _speed_line(speed: dict[str, Any] | None) -> list[str]:
    """Tokens per second, stated as the estimate it is."""
    if not speed or not speed.get("decode_tokens_per_s"):
        return []
    text = "Speed estimate"
    if speed.get("decode_context_tokens", 0) > 1:
        text += f" with {speed['decode_context_tokens']:,} tokens in context"
    text += f": decode {speed['decode_tokens_per_s']:,.1f} tok/s"
    if speed["batch"] > 1 and speed.get("decode_tokens_per_s_batch"):
        batch = speed["decode_tokens_per_s_batch"]
        text += f" per sequence, {batch:,.1f} for the batch of {speed['batch']}"
    if speed.get("prefill_tokens_per_s"):
        text += f"; prefill {speed['prefill_tokens_per_s']:,.0f} tok/s"
    bound = {
        "memory": "GPU memory bandwidth",
        "cpu-memory": "system RAM bandwidth",
        "compute": "compute",
    }
    text += f"; decode bound by {bound.get(speed['bound'], speed['bound'])}"
    return [text, f"  ({speed['error']})"]


def _layer_placement(est: dict[str, Any]) -> bool:
    """llama.cpp/Ollama split layers (and RAM); their placement replaces the per-GPU view."""
    placement = est.get("placement")
    return placement is not None and placement["strategy"] != "equal-shards"


def _trust(est: dict[str, Any], name: str) -> str:
    """The measured-error cell of one row ("" for output written before confidence existed)."""
    conf = (est.get("confidence") or {}).get(name)
    if conf is None:
        return ""
    if name == "total" and not conf["records"] and est.get("estimate_error_pct") is not None:
        return f"±{est['estimate_error_pct']:.1f} % from the parts"
    return str(conf["short"])


def render_estimate(
    doc: dict[str, Any], est: dict[str, Any], md: bool, explain: bool = False
) -> list[str]:
    """The breakdown table with GiB and GB columns and each figure's measured error, fit,
    recommendation, warnings; with ``explain``, each figure's formula filled in."""
    rows = [
        [
            COMPONENT_LABELS.get(c["name"], c["name"]),
            _gib(c["bytes"]),
            _gb(c["bytes"]),
            _trust(est, c["name"]),
        ]
        for c in est["components"]
    ]
    rows.append(["Total", _gib(est["total_bytes"]), _gb(est["total_bytes"]), _trust(est, "total")])
    par = est["parallel"]
    split = par["gpus"] > 1 or par["per_gpu_bytes"] != est["total_bytes"]
    if split and not _layer_placement(est):
        label = (
            f"Per GPU (x{par['gpus']}, TP {par['tensor_parallel']}, PP {par['pipeline_parallel']})"
        )
        rows.append([label, _gib(par["per_gpu_bytes"]), _gb(par["per_gpu_bytes"]), ""])
    if md:
        rows[-1 if len(rows) == len(est["components"]) + 1 else -2][0] = "**Total**"
    lines = [*_header(doc, est, md), ""]
    lines += table(
        ["Component", "GiB", "GB", "Measured error"], rows, md, [False, True, True, False]
    )
    footer = _footer(doc, est)
    if footer:
        lines.append("")
        lines += [f"- {x}" for x in footer] if md else footer
    if explain and est.get("formulas"):
        lines += ["", ("**How each figure is computed**" if md else "How each figure is computed:")]
        for f in est["formulas"]:
            if md:
                lines.append(f"- {f['label']}:")
                lines += [f"  - {line}" for line in f["lines"]]
            else:
                lines.append(f"{f['label']}:")
                lines += [f"  {line}" for line in f["lines"]]
    return lines


def render(doc: dict[str, Any], fmt: str, explain: bool = False) -> str:
    """Text for ``table`` or ``markdown`` output of any mode."""
    md = fmt == "markdown"
    mode = doc["mode"]
    if mode == "estimate":
        return "\n".join(render_estimate(doc, doc, md, explain))
    if mode == "compare-precisions":
        ests = doc["estimates"]
        lines = [*_header(doc, ests[0], md)[:1], ""] if ests else []
        rows = []
        for e in ests:
            fits = "" if e["fits"] is None else ("yes" if e["fits"] else "no")
            rows.append(
                [
                    e["precision"],
                    _gib(e["weights_bytes"]),
                    _gib(e["kv_cache_bytes"]),
                    _gib(e["total_bytes"]),
                    _gib(e["per_gpu_bytes"]),
                    fits,
                ]
            )
        lines += table(
            ["Precision", "Weights GiB", "KV GiB", "Total GiB", "Per GPU GiB", "Fits"],
            rows,
            md,
            [False, True, True, True, True, False],
        )
        return "\n".join(lines)
    est = doc["estimate"]
    if mode.startswith("sweep-"):
        axis = mode.removeprefix("sweep-")
        rows = []
        for pt in doc["points"]:
            fits = "" if pt["fits"] is None else ("yes" if pt["fits"] else "no")
            rows.append(
                [
                    f"{pt['x']:,}",
                    _gib(pt["total_bytes"]),
                    _gb(pt["total_bytes"]),
                    _gib(pt["per_gpu_bytes"]),
                    fits,
                ]
            )
        lines = [*_header(doc, est, md), ""]
        lines += table(
            [axis.capitalize(), "Total GiB", "Total GB", "Per GPU GiB", "Fits"],
            rows,
            md,
            [True, True, True, True, False],
        )
        return "\n".join(lines)
    key = mode.replace("-", "_")
    value = doc[key]
    what = "batch" if key == "max_batch" else "context"
    fit = est.get("fit") or {}
    gpus = est["parallel"]["gpus"]
    where = f"{gpus} x {fit.get('gpu_name', est['inputs']['gpu'])}"
    if value is None:
        answer = f"Nothing fits on {where}, even at {what} 1."
    elif key == "max_batch":
        answer = f"Max batch on {where} at context {est['context']:,}: {value:,}"
    else:
        answer = f"Max context on {where} at batch {est['inputs']['batch']}: {value:,} tokens"
    return "\n".join(
        [*_header(doc, est, md), "", ("**" if md else "") + answer + ("**" if md else "")]
    )


def catalog_lines() -> list[str]:
    """The device catalog as ``llm-mem --list-gpus`` prints it: what ``--gpu`` accepts."""
    from .devices import DEVICES

    lines = [f"{'key':<22} {'usable GiB':>10} {'GB/s':>6} {'FP16 TFLOPS':>11}  name"]
    for device in DEVICES.values():
        bw = f"{device.bandwidth_gbs:g}" if device.bandwidth_gbs else "-"
        fp16 = f"{device.fp16_tflops:g}" if device.fp16_tflops else "-"
        usable = device.usable_bytes / 2**30
        lines.append(f"{device.key:<22} {usable:>10.2f} {bw:>6} {fp16:>11}  {device.name}")
    return lines


# -- the page's copies (Copy as Markdown / JSON) -----------------------------------------


def estimate_json(est: Estimate, model: str) -> str:
    """The estimate as JSON, led by the model id the page shows."""
    data = {"model": model, **est.to_dict()}
    return json.dumps(data, indent=2, sort_keys=False, default=str)


def estimate_markdown(est: Estimate, model: str, link: str = "") -> str:
    """A short Markdown summary to paste in an issue or chat: the breakdown table in GiB
    and GB, the inputs, the fit and the warnings; ``link`` opens the same estimate."""
    m = est.model
    lines = [f"### Memory estimate: {model}", ""]
    if link:
        lines += [f"[open in the estimator]({link})", ""]
    lines += [
        "| | GiB | GB |",
        "|---|---:|---:|",
    ]
    for c in est.components:
        lines.append(f"| {COMPONENT_LABELS.get(c.name, c.name)} | {_gib(c.bytes)} | "
                     f"{_gb(c.bytes)} |")
    total = est.total_bytes
    lines.append(f"| **Total** | **{_gib(total)}** | **{_gb(total)}** |")
    lines.append(f"| Per GPU | {_gib(est.per_gpu_bytes)} | {_gb(est.per_gpu_bytes)} |")
    lines.append("")
    o = est.options
    lines.append(f"Precision {precision_label(est.precision)}, KV cache {est.kv_dtype}, "
                 f"context {est.context:,}, batch {o.batch}, engine {o.engine}, "
                 f"{m.params:,} parameters ({m.param_source}).")
    if est.fit is not None:
        lines.append(f"{'Fits' if est.fit.fits else 'Does not fit'} on {o.gpus}× "
                     f"{est.fit.gpu_name} ({est.fit.utilization * 100:.0f}% per GPU).")
    for w in est.warnings:
        lines.append(f"- Warning: {w}")
    return "\n".join(lines) + "\n"
