"""Linear layers a quantized checkpoint keeps in 16 bits are weighed in 16 bits (issue 12).

The configs are fixtures given a quantization_config that lists modules not to convert
(constructed: tests/refactor/compare_estimates.CONSTRUCTED); the expected bytes are worked
out from Llama-3.1-8B's shapes (hidden 4096, intermediate 14336, 32 layers).
"""

from __future__ import annotations

from estimator import EstimateOptions, estimate, parse_config
from estimator.params import count_params
from estimator.skipped import skipped_linear_params
from tests.refactor.compare_estimates import configs

H, INTER, LAYERS = 4096, 14336, 32
AWQ_BITS = 4 + 20 / 128  # GPTQ/AWQ at group 128: an fp16 scale and a 4-bit zero per group


def _config(name: str) -> dict:  # type: ignore[type-arg]
    return configs()[f"constructed:{name}"]


def test_awq_modules_not_to_convert_are_weighed_in_16_bits() -> None:
    config = _config("llama-awq-skip")
    spec = parse_config(config)
    assert spec.quantization is not None
    assert spec.quantization.skipped_modules == ("model.layers.0.mlp", "self_attn.o_proj")
    # layer 0's gate, up and down projections, and every layer's o_proj
    skipped = 3 * H * INTER + LAYERS * H * H
    counts = count_params(spec)
    assert skipped_linear_params(spec.quantization.skipped_modules, counts.layers, False) == (
        skipped
    )
    with_skip = estimate(config).weights_bytes
    without = estimate(
        {
            **config,
            "quantization_config": {**config["quantization_config"], "modules_to_not_convert": []},
        }
    ).weights_bytes
    assert with_skip - without == int(skipped * (2 - AWQ_BITS / 8))
    # Another precision re-quantizes the model: the checkpoint's list does not apply.
    other = EstimateOptions(precision="int4")
    assert (
        estimate(config, other).weights_bytes
        == estimate({**config, "quantization_config": {}}, other).weights_bytes
    )


def test_each_format_names_its_list_in_its_own_key() -> None:
    mixtral = parse_config(_config("mixtral-bnb-skip"))
    assert mixtral.quantization is not None
    assert mixtral.quantization.skipped_modules == ("lm_head", "model.layers.31")
    counts = count_params(mixtral)
    # Every linear layer of block 31 (attention and all eight experts), nothing else.
    assert skipped_linear_params(("lm_head", "model.layers.31"), counts.layers, False) == (
        counts.layers[31].linear
    )
    qwen = parse_config(_config("qwen3-moe-ct-ignore"))
    assert qwen.quantization is not None
    layers = count_params(qwen).layers
    # re: patterns match as compressed-tensors does; the router ("mlp.gate") is 16-bit anyway.
    assert skipped_linear_params(qwen.quantization.skipped_modules, layers, False) == (
        layers[0].linear
    )


def test_mxfp4_counts_only_listed_experts() -> None:
    spec = parse_config(configs()["openai__gpt-oss-20b"])
    assert spec.quantization is not None and spec.quantization.skipped_modules
    layers = count_params(spec).layers
    # gpt-oss lists attention, router, embeddings and lm_head: none of them is an expert.
    assert skipped_linear_params(spec.quantization.skipped_modules, layers, True) == 0
    assert skipped_linear_params(("model.layers.*.mlp.experts",), layers, True) == sum(
        layer.experts for layer in layers
    )
