"""Hostile configs never crash or lie: the safe JSON loader and the range checks.

Each case here was a crash or a wrong figure before (the fuzzer in tests/fuzz found
most of them); each now ends in the project's own error naming the key, or a truthful
figure.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest

from estimator import (
    ConfigError,
    ConfigJSONError,
    EstimateOptions,
    WeightMetadata,
    estimate,
    load_config_text,
)
from estimator.jsonsafe import MAX_JSON_DEPTH, loads, nesting_depth
from tests.conftest import load_config


def llava() -> dict[str, Any]:
    return copy.deepcopy(load_config("llava-hf__llava-1.5-7b-hf"))


def qwen() -> dict[str, Any]:
    return copy.deepcopy(load_config("Qwen__Qwen2.5-7B-Instruct"))


# -- the JSON loader --------------------------------------------------------------------


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
def test_deep_nesting_is_refused_without_recursion(depth: int) -> None:
    text = '{"a":' * depth + "1" + "}" * depth
    with pytest.raises(ConfigJSONError, match="nests more than 64 levels") as info:
        load_config_text(text)
    assert info.value.reason == "depth" and info.value.kind == "config_json"
    arrays = "[" * depth + "]" * depth
    with pytest.raises(ConfigJSONError, match="nests"):
        loads(arrays)


def test_nesting_at_the_limit_parses_and_strings_do_not_count() -> None:
    text = '{"a":' * (MAX_JSON_DEPTH - 1) + '"[[[[{{{{"' + "}" * (MAX_JSON_DEPTH - 1)
    assert nesting_depth(text) == MAX_JSON_DEPTH - 1
    data = load_config_text(text)
    for _ in range(MAX_JSON_DEPTH - 2):
        data = data["a"]
    assert data == {"a": "[[[[{{{{"}
    escaped = r'{"k": "a \" [[[ \\", "n": [1]}'
    assert nesting_depth(escaped) == 2 and loads(escaped) == {"k": 'a " [[[ \\', "n": [1]}


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ('{"hidden_size": ' + "9" * 4301 + "}", "number", "4301 digits"),
        ('{"hidden_size": -' + "9" * 5000 + "}", "number", "5000 digits"),
        ('{"rope_theta": 1e400}', "number", "too large for a float"),
        ('{"x": NaN}', "number", "NaN"),
        ('{"x": -Infinity}', "number", "-Infinity"),
        ('{"x": 1,}', "syntax", "not valid JSON"),
        ("", "syntax", "not valid JSON"),
    ],
)
def test_numbers_json_does_not_allow(text: str, reason: str, words: str) -> None:
    with pytest.raises(ConfigJSONError) as info:
        load_config_text(text)
    assert info.value.reason == reason and words in str(info.value)
    assert str(info.value).startswith("config.json ")


def test_bytes_encoding_and_shape() -> None:
    assert load_config_text(b'\xef\xbb\xbf{"a": 4300}') == {"a": 4300}  # a BOM is fine
    big = "9" * 4300
    assert loads(f"[{big}]") == [int(big)]  # at the limit: still a number
    with pytest.raises(ConfigJSONError, match="not UTF-8") as info:
        load_config_text(b'{"a": "\xff"}')
    assert info.value.reason == "encoding"
    with pytest.raises(ConfigError, match="must be a JSON object, got list"):
        load_config_text("[1, 2]")


def test_loaded_hostile_config_then_estimated_is_a_config_error() -> None:
    cfg = qwen()
    text = json.dumps(cfg).replace('"hidden_size": 3584', '"hidden_size": 1e308')
    with pytest.raises(ConfigError, match="'hidden_size' is implausibly large"):
        estimate(load_config_text(text))


# -- range checks on every number read ---------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("vision_config", "hidden_size"), 10**300, "'vision_config.hidden_size' is implausibly"),
        (("vision_config", "num_hidden_layers"), -24, "'vision_config.num_hidden_layers' is neg"),
        (("vision_config", "num_hidden_layers"), 0, "'vision_config.num_hidden_layers' must be"),
        (("vision_config", "patch_size"), 0, "'vision_config.patch_size' must be between 1"),
        (("vision_config", "image_size"), "336", "'vision_config.image_size' should be a whole"),
        (("vision_config", "intermediate_size"), 4096.5, "should be a whole number, got 4096.5"),
        (("text_config", "hidden_size"), math.nan, "'text_config.hidden_size' should be a whole"),
        (("text_config", "num_hidden_layers"), 10**30, "'text_config.num_hidden_layers' must be"),
    ],
)
def test_nested_numbers_are_range_checked(path: tuple[str, str], value: Any, message: str) -> None:
    cfg = llava()
    cfg[path[0]][path[1]] = value
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        estimate(cfg)


@pytest.mark.parametrize(
    ("quant", "message"),
    [
        ({"quant_method": "gptq", "bits": -4}, "'quantization_config.bits' is negative"),
        ({"quant_method": "gptq", "bits": 0}, "'quantization_config.bits' must be between 1"),
        ({"quant_method": "awq", "w_bit": 10**30}, "'quantization_config.w_bit' must be between"),
        ({"quant_method": "gptq", "bits": 4, "group_size": 0}, "group_size' must be between 1"),
        ({"quant_method": "gptq", "bits": 4, "group_size": -2}, "group_size' is negative"),
        # a group spans at most one input row; 2**20 is the largest accepted (spec._MAX_GROUP)
        ({"quant_method": "gptq", "bits": 4, "group_size": 2**20 + 1},
         "group_size' must be between 1 and 1048576"),
        ({"quant_method": "gptq", "bits": math.nan}, "'quantization_config.bits' should be"),
        ({"quant_method": 7}, "'quantization_config.quant_method' should be a name"),
        (
            {"quant_method": "compressed-tensors",
             "config_groups": {"g": {"weights": {"num_bits": -8, "type": "int"}}}},
            "num_bits' is negative",
        ),
    ],
)
def test_quantization_numbers_are_range_checked(quant: dict[str, Any], message: str) -> None:
    cfg = qwen()
    cfg["quantization_config"] = quant
    with pytest.raises(ConfigError, match=message):
        estimate(cfg)


def test_gptq_group_minus_one_still_means_one_group_per_row() -> None:
    cfg = qwen()
    cfg["quantization_config"] = {"quant_method": "gptq", "bits": 4, "group_size": -1}
    per_row = estimate(cfg).weights_bytes
    cfg["quantization_config"]["group_size"] = 128
    grouped = estimate(cfg).weights_bytes
    assert 0 < per_row < grouped  # fewer scales with one group per 3584-wide row


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("rope_scaling", {"rope_type": "linear", "factor": 1e300}, "'rope_scaling.factor' must"),
        ("rope_scaling", {"rope_type": "yarn", "factor": math.inf}, "'rope_scaling.factor' must"),
        ("rope_scaling", {"rope_type": 10**5000}, "'rope_scaling.rope_type' should be a name"),
        ("partial_rotary_factor", 2.0, "'partial_rotary_factor' must be a number in (0, 1]"),
        ("num_experts_per_tok", 9, "routes each token to 9 experts but has only 8"),
        ("layer_types", [7] * 28, "'layer_types[]' should be a name"),
    ],
)
def test_other_values_are_checked(key: str, value: Any, message: str) -> None:
    cfg = load_config("mistralai__Mixtral-8x7B-v0.1") if key == "num_experts_per_tok" else qwen()
    cfg = copy.deepcopy(cfg)
    cfg[key] = value
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        estimate(cfg, EstimateOptions(engine="vllm"))


def test_a_config_implying_more_than_a_quadrillion_parameters_is_refused() -> None:
    cfg = qwen()
    cfg["vocab_size"] = 10**9  # each key in range, their product not
    cfg["hidden_size"] = 10**9
    cfg["num_attention_heads"] = 10**9 // 128
    with pytest.raises(ConfigError, match=r"about 10\^19 parameters, mostly in the layers"):
        estimate(cfg)


@pytest.mark.parametrize(
    "meta",
    [
        {"safetensors_total_bytes": -1},
        {"gguf_file_bytes": 10**30},
        {"safetensors_parameters": {"BF16": -5}},
        {"safetensors_parameters": {"BF16": 1.5}},
    ],
)
def test_weight_metadata_is_range_checked(meta: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="weight metadata"):
        WeightMetadata(**meta)


def test_llama_cpp_cpu_embedding_never_makes_gpu_weights_negative() -> None:
    # A GGUF file smaller than the model's token table (a broken or partial upload) used
    # to give negative GPU weights: the CPU share is capped at the file itself.
    meta = WeightMetadata(gguf_file_bytes=1000, gguf_quant="Q4_K_M")
    est = estimate(qwen(), EstimateOptions(engine="llama.cpp"), meta)
    assert est.weights_bytes == 0 and est.components[0].inputs["cpu_bytes"] == 1000
    assert est.total_bytes >= est.weights_bytes and est.total_bytes > 0


def test_active_params_never_negative_with_a_small_checkpoint_count() -> None:
    mixtral = load_config("mistralai__Mixtral-8x7B-v0.1")
    full = estimate(mixtral)
    meta = WeightMetadata(safetensors_parameters={"BF16": 16 * 10**9})  # fewer than the experts
    est = estimate(mixtral, None, meta)
    assert est.params == 16 * 10**9
    assert est.model.active_params == 16 * 10**9 * full.model.active_params // full.params
    assert 0 < est.model.active_params < est.params
