"""Each breakdown row's formula with this model's numbers, so a reader can check it by hand.

``explain(est)`` reads only the Estimate (its components' ``inputs``) and returns one
:class:`Formula` per component. Every line is a chain ``expression = value = value``
whose numbers multiply out to the bytes shown. Words are labels: a parenthesis holding
words and no "×" is a note, not a factor ("(1.00 GiB)", "(window 4,096 − 1)"); text up
to a colon names the line; text after a semicolon comments on it.

    32 layers × 8 KV heads × (128 + 128) × 2 B = 131,072 B per token
      × 8,192 tokens = 1,073,741,824 B (1.00 GiB)

Family forms: MLA caches ``latent (kv_lora_rank + rope_dim)``, sliding layers keep their
window, recurrent layers a fixed state per sequence, GGUF weights each tensor type's bits,
quantized checkpoints their quantized and 16-bit parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .engines import ENGINE_PROFILES
from .report import COMPONENT_LABELS
from .result import GIB, Estimate

__all__ = ["Formula", "explain"]

MIB = 1024**2

_SOURCES = {
    "index-total-size": "the checkpoint's metadata.total_size (model.safetensors.index.json)",
    "safetensors-metadata": "the Hub's per-dtype tensor counts x their widths",
    "gguf-file": "the GGUF file's size",
}


@dataclass(frozen=True)
class Formula:
    """One breakdown row: its filled-in terms (one per line) and the bytes they give."""

    component: str
    label: str
    lines: tuple[str, ...]
    bytes: int

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "label": self.label,
            "lines": list(self.lines),
            "bytes": self.bytes,
        }


def explain(est: Estimate) -> tuple[Formula, ...]:
    """The formula of every component of ``est``, filled in with its numbers."""
    builders = {
        "weights": _weights,
        "kv_cache": _kv_cache,
        "activations": _activations,
        "overhead": _overhead,
    }
    formulas = []
    for c in est.components:
        build = builders.get(c.name)
        lines = build(est, c.inputs, c.bytes) if build else [f"{_n(c.bytes)} B"]
        label = COMPONENT_LABELS.get(c.name, c.name)
        formulas.append(Formula(c.name, label, tuple(lines), c.bytes))
    return tuple(formulas)


# -- numbers --------------------------------------------------------------------------


def _n(x: float) -> str:
    """A count or byte figure: thousands separated, decimals only when it has them."""
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.4f}".rstrip("0")


def _el(x: float) -> str:
    """Bytes or bits per element, exactly: 2, 1.0625, 4.15625."""
    return f"{int(x)}" if float(x).is_integer() else repr(float(x))


def _size(n: float) -> str:
    """``n`` bytes as people read them, after the exact figure."""
    if n >= GIB:
        return f"{n / GIB:,.2f} GiB"
    if n >= MIB:
        return f"{n / MIB:,.2f} MiB"
    return f"{n / 1024:,.2f} KiB"


def _result(n: float) -> str:
    return f"{_n(n)} B ({_size(n)})"


def _plural(n: int, word: str) -> str:
    return f"{_n(n)} {word}" + ("" if n == 1 else "s")


def _sum_line(parts: list[float], total: int) -> str:
    return " + ".join(_n(p) for p in parts) + f" = {_result(total)}"


# -- weights ---------------------------------------------------------------------------


def _weights(est: Estimate, inputs: dict[str, Any], total: int) -> list[str]:
    stored = int(inputs.get("stored_bytes", total))
    terms = inputs.get("terms") or []
    lines: list[str] = []
    if not terms:
        source = _SOURCES.get(str(inputs.get("source")), str(inputs.get("source")))
        lines.append(f"exact, from {source} = {_result(stored)}")
    elif len(terms) == 1:
        t = terms[0]
        lines.append(
            f"{_n(t['params'])} parameters × {_el(t['bits'])} bits / 8 = {_result(stored)}"
        )
    elif len(terms) == 2 and terms[1]["label"] == "kept in 16 bits":
        q, kept = terms
        lines.append(
            f"{_n(q['params'])} {q['label']} × {_el(q['bits'])} bits / 8 "
            f"+ {_n(kept['params'])} other weights (embeddings, norms, biases) × 2 B "
            f"= {_result(stored)}"
        )
    else:  # GGUF: each tensor type's parameters at its bits per weight
        bits = sum(t["params"] * t["bits"] for t in terms)
        types = " + ".join(f"{t['label']} {_n(t['params'])} × {_el(t['bits'])}" for t in terms)
        lines.append(f"{types} = {_n(bits)} bits / 8 = {_result(stored)}")
    experts = int(inputs.get("expert_params") or 0)
    if terms and experts and est.model.experts:
        lines[-1] += (
            f"; {_n(experts)} parameters are in the {est.model.experts} experts of each MoE "
            f"layer, {est.model.experts_per_token} active per token"
        )
    extras: list[float] = []
    rope = int(inputs.get("rope_cache_bytes") or 0)
    if rope:
        rows, dim, el = (
            inputs["rope_cache_rows"],
            inputs["rotary_dim"],
            inputs["rope_element_bytes"],
        )
        lines.append(
            f"RoPE cos/sin cache: {_n(rows)} positions × {dim} rotary dims × {_el(el)} B "
            f"= {_result(rope)}"
        )
        extras.append(rope)
    padding = int(inputs.get("layout_padding_bytes") or 0)
    if padding:
        lines.append(f"MXFP4 experts padded to the kernel's tiles: {_result(padding)}")
        extras.append(padding)
    cpu = int(inputs.get("cpu_bytes") or 0)
    if cpu and inputs.get("cpu_subtracted"):
        lines.append(f"token embeddings kept on the CPU: −{_result(cpu)}")
        extras.append(-cpu)
    if extras:
        sums = " + ".join(_n(p) for p in [float(stored), *extras])
        lines.append(sums.replace("+ -", "− ") + f" = {_result(total)}")
    return lines


# -- KV cache --------------------------------------------------------------------------


def _tokens_note(est: Estimate, term: dict[str, Any], inputs: dict[str, Any]) -> str:
    """Why a layer keeps that many tokens (a label: words in parentheses)."""
    profile = ENGINE_PROFILES.get(est.options.engine)
    context, kept, window = est.context, term["tokens"], term["window"]
    keep = profile.window_keep if profile else "window"
    if keep == "cells":
        pad = profile.kv_pad if (profile and est.options.flash_attention) else 32
        if window and kept != _round_up(context, pad):
            chunk = inputs.get("chunk_tokens") or 0
            return f"cells: window {_n(window)} + ubatch {_n(chunk)}, padded to {pad}"
        if window and est.options.swa_full:
            return f"cells: every cell with --swa-full, {_n(context)} padded to {pad}"
        if kept != context:
            return f"cells: {_n(context)} padded to {pad}"
        return "cells"
    if window:
        chunk = int(inputs.get("chunk_tokens") or 0)
        limit, rule = window, f"window {_n(window)}"
        if keep == "window-1":
            limit, rule = window - 1, f"window {_n(window)} − 1"
        elif keep == "window+chunk":
            limit, rule = window - 1 + chunk, f"window {_n(window)} − 1 + {_n(chunk)} batched"
        if limit >= context:
            rule = f"the whole context, within {rule}"
        if kept != min(limit, context):
            rule += f", rounded up to blocks of {inputs['block_size']}"
        return rule
    if kept != context:
        return f"{_n(context)} rounded up to blocks of {inputs['block_size']}"
    return "the whole context"


def _round_up(x: int, m: int) -> int:
    return -(-x // m) * m


def _kv_term(est: Estimate, term: dict[str, Any], inputs: dict[str, Any]) -> str:
    layers = _plural(term["layers"], "sliding layer" if term["window"] else "layer")
    el = _el(term["element_bytes"])
    per_token = term["layers"] * term["heads"] * (term["k_dim"] + term["v_dim"])
    per_token_bytes = per_token * term["element_bytes"]
    if term["form"] == "latent":
        shape = f"latent ({term['k_dim']} + {term['v_dim']})"
    else:
        heads = "head" if est.model.attention == "MLA" else "KV head"
        shape = f"{_plural(term['heads'], heads)} × ({term['k_dim']} + {term['v_dim']})"
    line = f"{layers} × {shape} × {el} B = {_n(per_token_bytes)} B per token"
    line += f" × {_plural(term['tokens'], 'token')} ({_tokens_note(est, term, inputs)})"
    if term["sequences"] != 1:
        line += f" × {_plural(term['sequences'], 'sequence')}"
    return line + f" = {_result(per_token_bytes * term['tokens'] * term['sequences'])}"


def _state_term(state: dict[str, Any]) -> str:
    conv = (
        f"{_n(state['conv_channels'])} conv channels × {state['conv_width']} "
        f"× {state['conv_element_bytes']} B + "
        if state["conv_channels"] and state["conv_width"]
        else ""
    )
    per_sequence = state["layers"] * (
        state["conv_channels"] * state["conv_width"] * state["conv_element_bytes"]
        + state["state_values"] * state["state_element_bytes"]
    )
    line = (
        f"{_n(state['layers'])} {state['kind']} layers × ({conv}{_n(state['state_values'])} "
        f"state values × {state['state_element_bytes']} B) = {_n(per_sequence)} B per sequence"
    )
    line += f" × {_plural(state['sequences'], 'sequence')}"
    return line + f" = {_result(per_sequence * state['sequences'])}"


def _kv_cache(est: Estimate, inputs: dict[str, Any], total: int) -> list[str]:
    terms = inputs.get("terms") or []
    state = inputs.get("state")
    if not terms and not state:
        return [f"no layer caches keys and values = {_result(total)}"]
    lines = [_kv_term(est, t, inputs) for t in terms]
    parts = [
        t["layers"]
        * t["heads"]
        * (t["k_dim"] + t["v_dim"])
        * t["element_bytes"]
        * t["tokens"]
        * t["sequences"]
        for t in terms
    ]
    if state:
        lines.append(_state_term(state))
        parts.append(float(inputs.get("state_bytes") or 0))
    if len(parts) > 1:
        lines.append(_sum_line(parts, total))
    return lines


# -- activations -----------------------------------------------------------------------


def _vllm_profile(profile: dict[str, Any], total: int) -> list[str]:
    """vLLM's profiled peak: the forward, then the sampler (the larger), plus MoE workspaces."""
    split = f" / {profile['tp']} GPUs" if profile["tp"] > 1 else ""
    lines = [
        f"forward: one block's intermediates: {_plural(profile['tokens'], 'token')} × "
        f"{_n(profile['values_per_token'])} values × {profile['act_bytes']} B{split} = "
        f"{_result(profile['block'])}"
    ]
    hidden = (
        f"{_n(profile['tokens'])} tokens × {_n(profile['hidden_size'])} hidden × "
        f"{profile['act_bytes']} B"
    )
    if profile["sampler"]:
        lines.append(
            f"sampler: {_plural(profile['rows'], 'row')} × {_n(profile['vocab'])} vocabulary × "
            f"{profile['bytes_per_logit']} B per logit (with its fp32 intermediates) "
            f"+ hidden states {hidden} = {_result(profile['logits'] + profile['hidden'])}"
        )
        peak = f"max({_n(profile['block'])}, {_n(profile['logits'] + profile['hidden'])})"
    else:
        lines.append(
            f"hidden states and residual sent on: 2 × {hidden} = {_result(2 * profile['hidden'])}"
        )
        peak = f"{_n(profile['block'])} + {_n(2 * profile['hidden'])}"
    if profile["workspace"]:
        lines.append(
            f"fused-MoE workspaces kept between forwards = {_result(profile['workspace'])}"
        )
        peak += f" + {_n(profile['workspace'])}"
    lines.append(f"profiled peak: {peak} = {_result(total)}")
    return lines


def _activations(est: Estimate, inputs: dict[str, Any], total: int) -> list[str]:
    if inputs.get("vllm_profile"):
        return _vllm_profile(inputs["vllm_profile"], total)
    tokens = int(inputs.get("tokens") or 0)
    el = int(inputs.get("element_bytes") or 0)
    block = int(inputs.get("block_bytes") or 0)
    scores = int(inputs.get("attention_scores_bytes") or 0)
    logits = int(inputs.get("logits_bytes") or 0)
    lines: list[str] = []
    if tokens and el and block % (tokens * el) == 0:
        values = block // (tokens * el)
        lines.append(
            f"one block's intermediates: {_plural(tokens, 'token')} × {_n(values)} values "
            f"× {el} B = {_result(block)}"
        )
    else:
        lines.append(f"one block's intermediates = {_result(block)}")
    if scores:
        lines.append(f"attention scores without FlashAttention = {_result(scores)}")
    profile = ENGINE_PROFILES.get(est.options.engine)
    vocab = est.model.vocab_size
    f32 = bool(profile and profile.f32_graph)
    per_value = 4 if f32 else el + 4 * (profile.logits_fp32_copies if profile else 0)
    if logits and vocab and per_value and logits % (vocab * per_value) == 0:
        rows = logits // (vocab * per_value)
        width = (
            "4 B (F32)"
            if f32
            else (f"({el} + {profile.logits_fp32_copies if profile else 0} × 4) B")
        )
        lines.append(
            f"logits: {_plural(rows, 'row')} × {_n(vocab)} vocabulary × {width} = {_result(logits)}"
        )
    elif logits:
        lines.append(f"logits = {_result(logits)}")
    if f32:
        # ggml's allocator reuses the block's buffers for the output (llama.cpp).
        out = tokens * est.model.hidden_size * 4
        if total == max(block + scores, logits + out):
            lines.append(
                f"the graph reuses buffers: max({_n(block)} + {_n(scores)}, {_n(logits)} + "
                f"{_n(tokens)} × {_n(est.model.hidden_size)} × 4) = {_result(total)}"
            )
            return lines
    if total == block + scores + logits:
        if len(lines) > 1:
            lines.append(_sum_line([p for p in (block, scores, logits) if p], total))
    else:
        lines.append(f"peak of the largest forward = {_result(total)}")
    return lines


# -- overhead --------------------------------------------------------------------------


def _overhead(est: Estimate, inputs: dict[str, Any], total: int) -> list[str]:
    context = int(inputs.get("cuda_context_bytes") or 0)
    graphs = int(inputs.get("cuda_graph_bytes") or 0)
    non_torch = int(inputs.get("non_torch_bytes") or 0)
    lines = [f"CUDA context, a constant (logs show 0.03–0.35 GiB) = {_result(context)}"]
    if graphs:
        lines.append(f"CUDA graphs, a constant = {_result(graphs)}")
    if non_torch:
        lines.append(
            "memory outside PyTorch the profile run adds (cuBLAS and attention workspaces; "
            f"NCCL buffers with tensor parallelism) = {_result(non_torch)}"
        )
    parts = [p for p in (context, graphs, non_torch) if p]
    if len(parts) > 1:
        lines.append(_sum_line([float(p) for p in parts], total))
    return lines
