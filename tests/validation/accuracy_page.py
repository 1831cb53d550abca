"""Render the validation run as a static Accuracy page (dist/accuracy.html, via build.py).

Every string goes through html.escape: record ids, quotes and URLs come from public
issue threads and must never become markup.
"""

from __future__ import annotations

import html
from collections import defaultdict

from tests.validation.validate import Row, run

_MODELLED = [
    "Parameter counts and KV bytes per token: exact against transformers 5.24 for every golden "
    "fixture (dense, GQA/MQA, MoE, MLA, sliding/local-global, gated DeltaNet, vision towers).",
    "Weights: exact from Hub metadata when present; otherwise config arithmetic with each "
    "format's storage (GGUF per-tensor types as llama.cpp chooses them).",
    "KV cache layouts of vLLM (blocks of 16, MLA latent), SGLang (token pool), llama.cpp "
    "(K/V types, SWA cache), "
    "transformers (dynamic cache, window-1 on sliding layers); transformers' peak during "
    "generate (weights, cache, one prefill block, last-token logits) within 5%.",
    "llama.cpp's --swa-full cache and its fused attn_qkv quantization rule (Phi-3/4 GGUFs).",
    "vLLM's KV pool: the reservation (gpu_memory_utilization x what CUDA reports) minus "
    "weights, profiled activations and context, within 3% of the budget (on a small pool "
    "that is up to ~16%: the kv_cache maximum above).",
    "vLLM's padded MXFP4 MoE expert layout (Marlin: intermediate to 128, hidden to 256; "
    "FlashInfer on B200: both to 256): gpt-oss-120b on an H100 within 0.1%.",
]
_NOT_MODELLED = [
    "Which MXFP4 kernel vLLM picks on Hopper depends on whether Triton's MoE kernels are "
    "installed; the estimate assumes Marlin's padded layout (up to ~8% more for gpt-oss).",
    "The CUDA context and NCCL buffers vary by driver and GPU: a 512 MiB constant is used "
    "(0.03-0.35 GiB seen in logs at TP=1, up to 3.58 GiB at TP=2).",
    "vLLM's CUDA graphs: a 512 MiB constant on top of the KV pool; V1 logs show 2.2-2.4 GiB "
    "for Qwen3-8B with full and piecewise graphs (V0: about 0.5 GiB).",
    "vLLM V0's sort-based sampler profile (about 40 B per logit of max_num_seqs x vocab); "
    "the estimate follows V1, whose profile skips top-k/top-p.",
    "Activation peaks depend on the engine version's profiling run (vLLM V1-style profiles "
    "within 9% in the records; llama.cpp's compute buffer within 5.4%).",
    "vLLM multimodal checkpoints read up to ~1% above the estimate in logs whose sources "
    "could not be cited (not in the table).",
    "Vision-token KV in cross-attention layers, image encoder activations, CPU offload.",
]


def _cell(text: object, numeric: bool = False) -> str:
    cls = ' class="num"' if numeric else ""
    return f"<td{cls}>{html.escape(str(text))}</td>"


def render(rows: list[Row] | None = None, *, css_href: str = "", icon_href: str = "") -> str:
    """The whole page as an HTML string."""
    rows = run() if rows is None else rows
    compared = [r for r in rows if r.status == "compared"]
    by_component: dict[str, list[float]] = defaultdict(list)
    for r in compared:
        if r.error_pct is not None:
            by_component[r.component].append(abs(r.error_pct))
    summary = "".join(
        f"<tr>{_cell(name)}{_cell(len(v), True)}{_cell(f'{sorted(v)[len(v) // 2]:.2f}', True)}"
        f"{_cell(f'{max(v):.2f}', True)}</tr>"
        for name, v in sorted(by_component.items())
    )
    body = []
    for r in rows:
        link = (
            f'<a href="{html.escape(r.source, quote=True)}" rel="noopener noreferrer">source</a>'
            if r.source.startswith("https://")
            else ""
        )
        est = "" if r.estimated is None else f"{r.estimated:.4g}"
        err = "" if r.error_pct is None else f"{r.error_pct:+.2f}"
        body.append(
            f"<tr>{_cell(r.model)}{_cell(r.engine)}{_cell(r.component)}"
            f"{_cell(r.measured, True)}{_cell(est, True)}{_cell(r.unit)}{_cell(err, True)}"
            f"{_cell(r.status + (': ' + r.note if r.note else ''))}"
            f"<td>{link}</td></tr>"
        )
    css = f'<link rel="stylesheet" href="{html.escape(css_href, quote=True)}">' if css_href else ""
    if icon_href:
        css += f'<link rel="icon" href="{html.escape(icon_href, quote=True)}" type="image/svg+xml">'

    items = lambda xs: "".join(f"<li>{html.escape(x)}</li>" for x in xs)  # noqa: E731
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Accuracy - LLM inference memory estimator</title>{css}</head>
<body class="accuracy"><main>
<h1>How far to trust the numbers</h1>
<p><a href="./">Back to the estimator</a>. The estimator is run with each published
measurement's stated settings; {len(compared)} of {len(rows)} measurements could be compared
(the others lack a verbatim config fixture, or the source leaves a setting unstated).</p>
<h2>Error by component (absolute %)</h2>
<div class="table-wrap"><table><thead>
<tr><th>component</th><th>n</th><th>median</th><th>max</th></tr></thead>
<tbody>{summary}</tbody></table></div>
<h2>Modelled</h2><ul>{items(_MODELLED)}</ul>
<h2>Not (yet) modelled</h2><ul>{items(_NOT_MODELLED)}</ul>
<h2>Every measurement</h2>
<div class="table-wrap"><table><thead><tr><th>model</th><th>engine</th><th>component</th>
<th>measured</th><th>estimated</th><th>unit</th><th>error %</th><th>status</th><th>source</th></tr>
</thead>
<tbody>{"".join(body)}</tbody></table></div>
</main></body></html>
"""
