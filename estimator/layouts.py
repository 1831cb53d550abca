"""Weight layouts an engine pads beyond the checkpoint's own shapes.

vLLM loads MXFP4 MoE experts (gpt-oss) into tensors whose dimensions the chosen
kernel needs rounded up, so the experts take more memory on the GPU than in the
file. The padding is a pure function of the expert shapes, the tensor-parallel
split and the GPU's architecture, which picks the kernel.
"""

from __future__ import annotations

from .spec import ModelSpec

__all__ = ["mxfp4_moe_alignment", "round_up", "vllm_mxfp4_moe_padding_bytes"]

# MXFP4 (OCP MX spec): E2M1 values packed two per byte, one E8M0 scale byte per 32 values;
# vLLM keeps expert biases in bf16 (Mxfp4MoEMethod.create_weights: w13_bias, w2_bias).
_VALUE_BYTES = 0.5
_SCALE_BYTES = 1 / 32
_BIAS_BYTES = 2


def round_up(value: int, multiple: int) -> int:
    """``value`` rounded up to a whole number of ``multiple`` (blocks, cells, tiles)."""
    return -(-value // multiple) * multiple


def mxfp4_moe_alignment(arch: str | None) -> tuple[int, int]:
    """(intermediate, hidden) multiples vLLM pads MXFP4 experts to, by GPU architecture.

    vllm/model_executor/layers/quantization/mxfp4.py (get_mxfp4_backend and
    Mxfp4MoEMethod.create_weights): the Marlin kernel needs n % 256 and k % 128, so it
    pads the per-rank intermediate size to 128 and the hidden size to 256; it serves
    Ampere, Ada and consumer Blackwell, and Hopper wherever the Triton MoE kernels are
    not installed (an H100 log of gpt-oss-120b shows "leveraging the Marlin kernel").
    FlashInfer on data-centre Blackwell (SM100) pads both to 256; ROCm pads both to
    get_padding_alignment(), 128 off gfx950 (MI300X/MI325X). Without a GPU the Marlin
    layout is assumed: the most common and, with Triton's 64, the larger one.
    """
    if arch == "blackwell":
        return 256, 256
    if arch == "cdna3":
        return 128, 128
    return 128, 256


def vllm_mxfp4_moe_padding_bytes(spec: ModelSpec, tensor_parallel: int, arch: str | None) -> int:
    """Bytes vLLM's padded MXFP4 expert tensors add over the checkpoint's, all ranks together."""
    moe = spec.moe
    if moe is None:
        return 0
    layers = sum(1 for layer in spec.layers if layer.moe)
    if not layers:
        return 0
    align_inter, align_hidden = mxfp4_moe_alignment(arch)
    mats = 2 if moe.gated else 1
    hidden = spec.hidden_size
    inter_rank = round_up(moe.expert_intermediate, tensor_parallel) // tensor_parallel

    def experts_bytes(inter: int, hidden_size: int, ranks: int) -> float:
        matrix = (mats + 1) * inter * hidden_size * (_VALUE_BYTES + _SCALE_BYTES)
        bias = (mats * inter + hidden_size) * _BIAS_BYTES if moe.expert_bias else 0
        return ranks * moe.num_experts * (matrix + bias)

    padded = experts_bytes(
        round_up(inter_rank, align_inter), round_up(hidden, align_hidden), tensor_parallel
    )
    stored = experts_bytes(moe.expert_intermediate, hidden, 1)
    return max(0, int(layers * (padded - stored)))
