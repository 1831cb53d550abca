"""Ollama's sizes of a model's KV cache and compute graph (fs/ggml/ggml.go ``GraphSize``),
which its layer estimate (:mod:`.ollama`) reserves per GPU."""

from __future__ import annotations

from ..spec import ModelSpec

__all__ = ["ollama_graph", "ollama_kv_per_layer"]


def ollama_kv_per_layer(spec: ModelSpec, context: int, kv_dtype: str) -> list[int]:
    """fs/ggml/ggml.go GraphSize: ``context x (head_k + head_v) x kv_heads x bytes`` per
    layer, f16 unless OLLAMA_KV_CACHE_TYPE is q8_0 (1 B) or q4_0 (0.5 B)."""
    per = {"q8_0": 1.0, "q4_0": 0.5}.get(kv_dtype, 2.0)
    a = spec.attention
    out = []
    for layer in spec.layers:
        if layer.mixer != "attention":
            out.append(0)
            continue
        out.append(int(context * (a.head_dim + a.v_head_dim) * a.num_kv_heads * per))
    return out


def ollama_graph(spec: ModelSpec, context: int, batch: int, kv_total: int) -> tuple[int, int]:
    """(partialOffload, fullOffload) of fs/ggml/ggml.go GraphSize for the model's family;
    other families fall back to ``GQA x kv / 6`` (llm/memory.go)."""
    e = spec.hidden_size
    a = spec.attention
    heads, heads_kv = a.num_heads, a.num_kv_heads or a.num_heads
    head = a.head_dim
    vocab = spec.vocab_size
    c, b = context, batch
    family = spec.model_type
    if family in ("llama", "mistral", "llama4"):
        full = max(4 * b * (1 + 4 * e + c * (1 + heads)), 4 * b * (e + vocab))
        partial = 4 * b * e + max(
            4 * b * (1 + e + max(c, e)) + e * e * 9 // 16 + 4 * c * (b * heads + head * heads_kv),
            4 * b * (e + vocab) + e * vocab * 105 // 128,
        )
        return partial, full
    if family in ("qwen2", "qwen2_moe"):
        full = max(4 * b * (e + vocab), 4 * b * (1 + 2 * e + c + c * heads))
        partial = max(
            4 * b * (e + vocab) + e * vocab * 105 // 128,
            4 * (b * (1 + 2 * e + c * (1 + heads)) + e * (1 + c)),
        )
        return partial, full
    if family in ("gemma", "gemma2", "gemma3", "gemma3_text"):
        full = max(4 * b * (e + vocab), 4 * b * (2 + c + c * heads + 2 * e + 2 * head * heads))
        partial = max(
            4 * e * b + e * vocab * 105 // 128 + 4 * vocab * b,
            4 * b * (2 * e + 1 + 2 * head * heads + c + c * heads)
            + 4 * head * c * 8
            + e * head * heads * 9 // 16,
        )
        return partial, full
    gqa = heads // heads_kv if heads_kv else 1
    partial = gqa * kv_total // 6
    return partial, partial
