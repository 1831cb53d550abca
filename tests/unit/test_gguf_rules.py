"""llama.cpp's per-tensor type choice (estimator/gguf.py) against llama-quant.cpp's rules,
written out by hand."""

from __future__ import annotations

from estimator import EstimateOptions, estimate
from estimator.gguf import _BITS, _attn_v_type, _use_more_bits
from tests.conftest import load_config


def test_use_more_bits_layers() -> None:
    """llama-quant.cpp: i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2; for 32 layers:
    0-3, 28-31 and 6, 9, ..., 27."""
    chosen = {i for i in range(32) if _use_more_bits(i, 32)}
    assert chosen == {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}


def test_attn_v_types() -> None:
    """Q4_K_S: the first 4 layers' attn_v at Q5_K; 8-expert models: attn_v at Q8_0."""
    assert [_attn_v_type("Q4_K_S", "Q4_K", i, 32, 4, 0, False) for i in range(3, 6)] == [
        "Q5_K", "Q4_K", "Q4_K"]
    assert _attn_v_type("Q4_K_M", "Q4_K", 10, 32, 4, 8, False) == "Q8_0"
    assert _attn_v_type("Q4_K_M", "Q4_K", 10, 32, 4, 16, False) == "Q4_K"


def test_attn_v_types_of_q2_k_and_q3_k_m() -> None:
    """llama-quant.cpp llama_tensor_get_type, attn_v.weight: Q2_K keeps attn_v at Q4_K when
    at least 4 query heads share a KV head (else Q3_K); Q3_K_M gives the first two layers
    Q5_K and the rest Q4_K."""
    assert _attn_v_type("Q2_K", "Q2_K", 5, 32, 4, 0, False) == "Q4_K"  # Llama-3.1-8B: 32/8
    assert _attn_v_type("Q2_K", "Q2_K", 5, 32, 3, 0, False) == "Q3_K"
    assert _attn_v_type("Q2_K", "Q2_K", 5, 32, 1, 0, False) == "Q3_K"  # Llama-2-7B: MHA
    assert [_attn_v_type("Q3_K_M", "Q3_K", i, 32, 4, 0, False) for i in range(4)] == [
        "Q5_K", "Q5_K", "Q4_K", "Q4_K"]


def test_block_sizes_of_the_fallback_types() -> None:
    """ggml-common.h: block_iq4_nl is an fp16 scale + 16 bytes per 32 weights (4.5 bits),
    block_q5_1 two fp16 + 4 + 16 bytes per 32 (6 bits)."""
    assert _BITS["IQ4_NL"] == 18 * 8 / 32 == 4.5
    assert _BITS["Q5_1"] == 24 * 8 / 32 == 6.0


def test_q8_0_file_of_llama_31_8b() -> None:
    """Q8_0: every matrix in blocks of 32 at 34 bytes (8.5 bits), the 266,240 norm values in
    F32: (8,030,261,248 - 266,240) x 8.5 + 266,240 x 32 bits."""
    est = estimate(load_config("meta-llama__Llama-3.1-8B"), EstimateOptions(precision="Q8_0"))
    norms = 32 * 2 * 4096 + 4096
    assert est.weights_bytes == int(((8_030_261_248 - norms) * 8.5 + norms * 32) / 8)


def test_tied_embeddings_keep_the_output_type_on_the_cpu_side() -> None:
    """Llama-3.2-1B (tied): llama.cpp's CPU copy of token_embd takes the output tensor's type,
    Q6_K (210 bytes per 256) in a Q4_K_M file, Q8_0 in a Q8_0 file: 128256 x 2048 values."""
    cfg = load_config("meta-llama__Llama-3.2-1B-Instruct")
    values = 128256 * 2048
    for precision, per_value in (("Q4_K_M", 210 / 256), ("Q8_0", 34 / 32)):
        est = estimate(cfg, EstimateOptions(engine="llama.cpp", precision=precision))
        inputs = next(c for c in est.components if c.name == "weights").inputs
        assert inputs["cpu_bytes"] == int(values * per_value), precision
