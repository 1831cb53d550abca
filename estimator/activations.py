"""Transient memory of a forward pass during inference.

Inference keeps no activations across layers: the peak is one block's
intermediates for the tokens processed at once (the whole prompt, or a prefill
chunk), plus the residual stream, plus the logits rows, plus attention scores
when attention is eager (``batch x heads x q_len x kv_len``; FlashAttention,
arXiv:2205.14135, never materializes them). The seed's ``x34`` per layer is the
training figure (Korthikanti et al., arXiv:2205.05198) and does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from .engines import EngineProfile
from .spec import ModelSpec

__all__ = ["ActivationEstimate", "block_values_per_token", "estimate_activations"]


@dataclass(frozen=True)
class ActivationEstimate:
    """Peak activation bytes of one forward pass, by part."""

    bytes: int
    tokens: int  # tokens in the peak forward
    block_bytes: int
    attention_scores_bytes: int
    logits_bytes: int


def block_values_per_token(spec: ModelSpec) -> int:
    """Values alive per token at the peak of one block (residual + widest branch)."""
    h = spec.hidden_size
    a = spec.attention
    # hidden states, residual and the normed input stay alive across the MLP; matches
    # vLLM's profiled peak of (3 h + 3 i) x 2 B per token for Llama-3.1-8B (validation set).
    residual = 3 * h
    if a.mla is not None:
        attn = a.num_heads * (a.head_dim * 2 + a.v_head_dim) + a.mla.latent_width
    else:
        attn = (a.num_heads + 2 * a.num_kv_heads) * a.head_dim + a.num_heads * a.v_head_dim
    mlp = 0
    if spec.moe is not None:
        # Each token's k expert rows (gate+up, then act*up), shared expert, fp32 router logits.
        m = spec.moe
        per_expert = 3 * m.expert_intermediate if m.gated else 2 * m.expert_intermediate
        mlp = m.experts_per_token * per_expert + 3 * m.shared_intermediate + 2 * m.num_experts
    if spec.mlp is not None:
        inter = spec.mlp.intermediate_size
        mlp = max(mlp, 3 * inter if spec.mlp.gated else 2 * inter)
    if spec.ssm is not None and spec.ssm_layers:
        s = spec.ssm
        mlp = max(mlp, 2 * s.d_inner + s.conv_dim + 2 * s.d_state + s.d_inner)
    return residual + max(attn, mlp)


def estimate_activations(
    spec: ModelSpec,
    profile: EngineProfile,
    *,
    batch: int,
    prompt: int,
    context: int,
    act_bytes: int,
    flash_attention: bool,
    chunk_tokens: int | None,
    max_num_seqs: int,
) -> ActivationEstimate:
    """Peak transient bytes of the largest forward pass the engine runs."""
    prompt_tokens = batch * prompt
    tokens = prompt_tokens if chunk_tokens is None else min(prompt_tokens, chunk_tokens)
    if profile.profiles_full_budget:
        tokens = chunk_tokens or prompt_tokens
    tokens = max(tokens, batch)  # a decode step still processes one token per sequence
    block = tokens * block_values_per_token(spec) * act_bytes

    scores = 0
    eager = not flash_attention and profile.honours_flash_toggle and spec.attention_layers
    if eager:
        heads = spec.attention.num_heads
        if profile.f32_graph:
            # KQ of n_ubatch x n_kv x n_head in F32 (llama-graph.cpp build_attn_mha without FA).
            scores = tokens * context * heads * 4
        else:
            # Eager attention: scores in the model dtype plus the fp32 softmax
            # (modeling_llama.py eager_attention_forward: softmax(dtype=torch.float32)).
            q_len = min(prompt, tokens)
            seqs = max(1, tokens // max(q_len, 1))
            scores = seqs * heads * q_len * prompt * (act_bytes + 4)

    vocab = spec.vocab_size
    if profile.logits_rows == "ubatch":
        rows = tokens
    elif profile.logits_rows == "max_num_seqs":
        # vLLM's profile run samples max_num_seqs rows of logits (gpu_model_runner
        # _dummy_sampler_run); more concurrent sequences than that are not scheduled at once.
        rows = max(batch, max_num_seqs)
    else:
        rows = batch
    logits = rows * vocab * (act_bytes + 4 * profile.logits_fp32_copies)
    if profile.f32_graph:
        logits = rows * vocab * 4  # the output tensor of the graph is F32
        peak = max(block + scores, logits + tokens * spec.hidden_size * 4)
    else:
        peak = block + scores + logits
    return ActivationEstimate(
        bytes=int(peak),
        tokens=tokens,
        block_bytes=int(block),
        attention_scores_bytes=int(scores),
        logits_bytes=int(logits),
    )
