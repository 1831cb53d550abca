"""The feed-forward part of a block: the dense MLP, the experts, and which layers are MoE."""

from __future__ import annotations

from .family import Family
from .model import MLPSpec, MoESpec
from .reader import Reader

__all__ = ["moe_layers", "parse_mlp", "parse_moe", "qwen_moe_layers"]


def parse_mlp(r: Reader, family: Family, hidden: int) -> MLPSpec:
    inter = r.opt_int(
        "intermediate_size_mlp",
        "intermediate_size",
        "n_inner",
        "ffn_dim",
        "ffn_hidden_size",
        "d_ff",
    )
    if not inter:
        # GPT-2/BLOOM/Falcon: the MLP is 4 x hidden when no width is given (their configs' docs).
        inter = 4 * hidden
    bias = r.flag(family.mlp_bias_key, default=family.mlp_bias)
    return MLPSpec(intermediate_size=inter, gated=family.mlp_gated, bias=bias)


def parse_moe(r: Reader, family: Family) -> MoESpec | None:
    experts = r.opt_int("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
    if not experts or experts <= 1:
        return None
    top_k = r.integer(
        "num_experts_per_tok", "num_experts_per_token", "experts_per_token", "top_k", "moe_top_k"
    )
    expert_inter = r.integer(
        "moe_intermediate_size", "expert_intermediate_size", "intermediate_size"
    )
    shared = 0
    n_shared = r.opt_int("n_shared_experts", "num_shared_experts")
    if n_shared:
        shared = n_shared * expert_inter  # DeepseekV2MoE: one MLP of width moe_inter * n_shared
    shared_inter = r.opt_int(
        "shared_expert_intermediate_size",
        "shared_intermediate_size",
        "moe_shared_expert_intermediate_size",
    )
    if shared_inter:
        shared = shared_inter
    if family.shared_expert_is_expert:
        shared = expert_inter  # Llama4TextMoe.shared_expert: Llama4TextMLP(intermediate_size)
    return MoESpec(
        num_experts=experts,
        experts_per_token=top_k,
        expert_intermediate=expert_inter,
        gated=family.moe_gated,
        expert_bias=family.expert_bias,
        shared_intermediate=shared,
        shared_gate=bool(r.opt_int("shared_expert_intermediate_size"))
        and family.shared_expert_gate,
        router_bias=family.router_bias,
        router_score_bias=r.raw("topk_method") == "noaux_tc",
    )


def moe_layers(r: Reader, family: Family, n: int, moe: MoESpec | None) -> list[bool]:
    """Which of the ``n`` layers have experts (the rest have the dense MLP)."""
    if moe is None:
        return [False] * n
    if family.moe_layers is not None:
        return family.moe_layers(r, n)
    listed = _listed(r, n)
    if listed is not None:
        return listed
    # DeepSeek: the first first_k_dense_replace layers are dense, then every moe_layer_freq-th.
    first_dense = r.integer("first_k_dense_replace", default=0)
    freq = r.integer("moe_layer_freq", default=1) or 1
    return [i >= first_dense and i % freq == 0 for i in range(n)]


def qwen_moe_layers(r: Reader, n: int) -> list[bool]:
    """Qwen2/3-MoE: every decoder_sparse_step-th layer, except mlp_only_layers
    (Qwen2MoeDecoderLayer)."""
    listed = _listed(r, n)
    if listed is not None:
        return listed
    sparse_step = r.integer("decoder_sparse_step", default=1) or 1
    mlp_only = set(r.int_list("mlp_only_layers"))
    return [i not in mlp_only and (i + 1) % sparse_step == 0 for i in range(n)]


def _listed(r: Reader, n: int) -> list[bool] | None:
    """An explicit moe_layers list (Llama 4, ...), or None."""
    listed = r.int_list("moe_layers")
    if not listed:
        return None
    chosen = set(listed)
    return [i in chosen for i in range(n)]
