"""Mutated configs for the fuzzer: every fixture, every kind of damage a config can carry.

``mutate`` takes a real config (``tests/fixtures/configs`` or a transformers default from
``tests/golden/defaults``) and applies a few mutations of the kinds in :data:`KINDS` at
random places, nested configs included. ``run_case`` estimates the result and sorts the
outcome: ``ok`` (an estimate that satisfies every invariant of :func:`violations`),
``estimator_error:<Class>`` (the project's own error, a clear refusal), ``absurd``
(an estimate that breaks an invariant) or ``crash:<Class>`` (any other exception). The
short run in ``tests/unit/test_fuzz.py`` and the long run in ``fuzz_configs.py`` share it.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from estimator import ENGINES, EstimateOptions, EstimatorError, WeightMetadata, estimate
from estimator.planning import compare_precisions, max_batch, max_context, sweep
from estimator.precision import PRECISIONS
from tests.conftest import CONFIGS, GOLDEN

#: Every kind of damage applied; the report counts cases by kind.
KINDS = (
    "delete_key",
    "wrong_type",
    "zero",
    "negative",
    "huge",
    "nan_inf",
    "fraction",
    "garbage_nested",
    "insert_key",
    "shuffle_list",
    "metadata",
)

# Keys the estimator reads whether or not the fixture has them, so that inserting them
# reaches code paths (quantization, vision, MoE, MLA, SSM, RoPE) a fixture may lack.
INTERESTING_KEYS = (
    "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
    "intermediate_size", "vocab_size", "head_dim", "max_position_embeddings",
    "sliding_window", "sliding_window_pattern", "layer_types", "num_local_experts",
    "num_experts", "num_experts_per_tok", "moe_intermediate_size", "n_shared_experts",
    "first_k_dense_replace", "moe_layer_freq", "decoder_sparse_step", "mlp_only_layers",
    "kv_lora_rank", "q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim",
    "partial_rotary_factor", "rope_scaling", "rope_parameters", "tie_word_embeddings",
    "torch_dtype", "model_type", "architectures", "text_config", "vision_config",
    "quantization_config", "cross_attention_layers", "linear_num_value_heads",
    "linear_num_key_heads", "linear_key_head_dim", "linear_value_head_dim",
    "mamba_n_heads", "mamba_d_head", "mamba_d_state", "state_size", "expand",
    "time_step_rank", "layers_block_type", "hybrid_override_pattern", "attn_layer_indices",
    "moe_layers", "attention_head_dim", "word_embed_proj_dim", "num_mem_blocks",
    "adapter_rank", "max_window_layers", "use_sliding_window", "attention_chunk_size",
)

HUGE = (10**300, 10**30, 2**63, 2**31, 10**10, 1e300, 1e30, 10**4400)
NAN_INF = (math.nan, math.inf, -math.inf)
WRONG = (None, True, False, "12", "", "auto", [], [1, 2], {}, {"a": 1}, 3.5, -0.5)


def _garbage(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON-like value: nested dicts and lists of odd scalars."""
    roll = rng.random()
    if depth < 3 and roll < 0.3:
        keys = rng.sample(INTERESTING_KEYS, rng.randint(0, 5))
        return {k: _garbage(rng, depth + 1) for k in keys}
    if depth < 3 and roll < 0.45:
        return [_garbage(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return rng.choice(
        (*WRONG, *HUGE[:5], *NAN_INF, 0, -1, -(10**9), 1, 2, 64, 4096, rng.randint(-50, 10**6))
    )


def _quant_configs(rng: random.Random) -> dict[str, Any]:
    """A quantization_config of a real method with damaged numbers."""
    method = rng.choice(("gptq", "awq", "bitsandbytes", "fp8", "mxfp4", "compressed-tensors"))
    bad = rng.choice((-4, 0, 1, 3, 4, 8, 10**30, 1e300, math.nan, "4", None, 2.5, -1, 64))
    if method in ("gptq", "awq"):
        return {"quant_method": method, "bits": bad, "group_size": rng.choice((bad, 128, -1, 0))}
    if method == "compressed-tensors":
        return {
            "quant_method": method,
            "config_groups": {"g": {"weights": {"num_bits": bad, "type": "int",
                                                 "group_size": rng.choice((bad, 128))}}},
        }
    if method == "bitsandbytes":
        return {"quant_method": method, "load_in_4bit": rng.choice((True, False, bad))}
    return {"quant_method": method, "bits": bad}


def _vision_configs(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(
        ("clip_vision_model", "siglip_vision_model", "qwen2_vl", "qwen2_5_vl",
         "qwen3_vl", "pixtral", "mllama_vision_model", "something_else")
    )
    keys = ("hidden_size", "intermediate_size", "num_hidden_layers", "depth", "embed_dim",
            "patch_size", "image_size", "num_channels", "spatial_merge_size", "mlp_ratio",
            "temporal_patch_size", "out_hidden_size", "num_global_layers", "max_num_tiles",
            "vision_output_dim", "num_position_embeddings", "deepstack_visual_indexes",
            "supported_aspect_ratios", "in_chans", "width", "layers")
    chosen = rng.sample(keys, rng.randint(1, 5))
    bad = (-24, 0, 10**300, 1e300, math.nan, -1, 3, 10**9, 2**40, "x", [1] * 3, 1.5)
    return {"model_type": kind, **{k: rng.choice(bad) for k in chosen}}


@dataclass
class Paths:
    """Every place in a config where a value lives: (container, key) pairs."""

    items: list[tuple[Any, Any]]


def _paths(node: Any, depth: int = 0) -> Iterator[tuple[Any, Any]]:
    if depth > 6:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            yield node, key
            yield from _paths(value, depth + 1)
    elif isinstance(node, list):
        for i, value in enumerate(node[:8]):
            yield node, i
            yield from _paths(value, depth + 1)


def _replace(rng: random.Random, kind: str, old: Any) -> Any:
    if kind == "wrong_type":
        return rng.choice(WRONG)
    if kind == "zero":
        return rng.choice((0, 0.0))
    if kind == "negative":
        if isinstance(old, (int, float)) and not isinstance(old, bool) and old:
            return -abs(old)
        return rng.choice((-1, -8, -(10**9), -1.5))
    if kind == "huge":
        return rng.choice(HUGE)
    if kind == "nan_inf":
        return rng.choice(NAN_INF)
    if kind == "fraction":
        if isinstance(old, (int, float)) and not isinstance(old, bool) and abs(old) < 1e300:
            return float(old) + rng.choice((0.5, 0.25, -0.5))
        return 0.5
    return _garbage(rng)


def mutate(config: dict[str, Any], rng: random.Random) -> tuple[dict[str, Any], list[str]]:
    """A deep copy of ``config`` with 1-4 random mutations; returns it and their kinds."""
    cfg = copy.deepcopy(config)
    kinds: list[str] = []
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(KINDS[:-1])  # metadata damage is drawn in random_metadata
        kinds.append(kind)
        paths = list(_paths(cfg))
        if kind == "insert_key" or not paths:
            target = cfg
            if rng.random() < 0.3:
                nested = [v for v in cfg.values() if isinstance(v, dict)]
                target = rng.choice(nested) if nested else cfg
            key = rng.choice(INTERESTING_KEYS)
            if key == "quantization_config":
                target[key] = _quant_configs(rng)
            elif key == "vision_config":
                target[key] = _vision_configs(rng)
            else:
                target[key] = _replace(rng, rng.choice(KINDS[1:7]), target.get(key))
            continue
        container, key = rng.choice(paths)
        if kind == "delete_key":
            if isinstance(container, dict):
                del container[key]
            else:
                container.pop(key)
        elif kind == "shuffle_list":
            value = container[key]
            if isinstance(value, list):
                rng.shuffle(value)
                del value[rng.randint(0, len(value)) :]
            else:
                container[key] = [value] * rng.randint(0, 3)
        elif kind == "garbage_nested":
            nested_key = rng.choice(
                ("text_config", "vision_config", "quantization_config", "rope_scaling",
                 "rope_parameters", "llm_config")
            )
            if nested_key == "quantization_config":
                cfg[nested_key] = _quant_configs(rng)
            elif nested_key == "vision_config":
                cfg[nested_key] = _vision_configs(rng)
            else:
                cfg[nested_key] = _garbage(rng)
        else:
            container[key] = _replace(rng, kind, container[key])
    return cfg, kinds


def random_metadata(rng: random.Random) -> WeightMetadata:
    """Weight metadata as the Hub client could build it, sometimes damaged."""
    roll = rng.random()
    bad = rng.choice((-1, 0, 1, 10**30, 2**63, 7, 16 * 10**9))
    if roll < 0.4:
        return WeightMetadata(safetensors_parameters={rng.choice(("BF16", "I32", "F8_E4M3",
                                                                  "U8", "XX")): bad})
    if roll < 0.75:
        return WeightMetadata(safetensors_total_bytes=bad, source="index")
    return WeightMetadata(gguf_file_bytes=bad, gguf_quant=rng.choice(("Q4_K_M", None, "Q8_0")))


def random_options(rng: random.Random) -> EstimateOptions:
    gpus = rng.choice((1, 1, 2, 8))
    return EstimateOptions(
        precision=rng.choice(("auto", "auto", *PRECISIONS)),
        engine=rng.choice(ENGINES),
        batch=rng.choice((1, 1, 4, 256, 100_000)),
        context=rng.choice((None, 1, 4096, 131072, 10_000_000)),
        kv_dtype=rng.choice(("auto", "fp8", "q4_0")),
        flash_attention=rng.random() < 0.8,
        gpu=rng.choice((None, None, "h100-80gb", "rtx4090")),
        gpus=gpus,
        tensor_parallel=rng.choice((None, gpus)),
    )


def _byte_figures(doc: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every numeric figure of an ``Estimate.to_dict()`` whose key says it is bytes."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, (dict, list)):
                yield from _byte_figures(value, where)
            elif (key.endswith("bytes") or key == "bytes") and value is not None:
                yield where, value
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _byte_figures(value, f"{path}[{i}]")


#: Weights beyond this (a quadrillion parameters at 8 bytes) come from no real config.
ABSURD_WEIGHT_BYTES = 8 * 10**15
#: KV cache and eager attention scores grow with batch x context (x context): at the
#: largest options allowed (batch 100,000, context 10M) they reach ~2^75 bytes for a
#: plausible model; beyond 2^96 a figure can only come from a runaway value.
ABSURD_BYTES = 2**96


def violations(est: Any) -> list[str]:
    """The invariants every estimate must satisfy, for any input; [] when all hold."""
    problems = []
    doc = est.to_dict()
    try:
        json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError) as err:
        problems.append(f"not strict JSON: {err}")
    for where, value in _byte_figures(doc):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{where} is {value!r}")
        elif value < 0 or value > ABSURD_BYTES or (isinstance(value, float) and value != value):
            problems.append(f"{where} = {_short(value)}")
    if est.weights_bytes > ABSURD_WEIGHT_BYTES:
        problems.append(f"weights {_short(est.weights_bytes)}")
    if est.total_bytes < est.weights_bytes:
        problems.append(f"total {_short(est.total_bytes)} < weights {_short(est.weights_bytes)}")
    if est.per_gpu_bytes > est.total_bytes:
        problems.append(f"per-GPU {_short(est.per_gpu_bytes)} > total {_short(est.total_bytes)}")
    if not 0 <= est.params <= 10**15 or not 0 <= est.model.active_params <= est.params:
        problems.append(f"params {_short(est.params)}, active {_short(est.model.active_params)}")
    if est.kv_cache_bytes and not est.kv_bytes_per_token and not est.model.ssm_layers:
        problems.append("KV bytes without bytes per token")
    return problems


def _short(value: Any) -> str:
    """A figure for a message, however large (str() refuses ints past 4300 digits)."""
    if isinstance(value, int) and abs(value) > 10**30:
        return f"~2^{value.bit_length()}{' (negative)' if value < 0 else ''}"
    return repr(value)


CONFIG_FILES = sorted(CONFIGS.glob("*.json"))
DEFAULT_FILES = sorted((GOLDEN / "defaults").glob("*.json"))


def fixtures() -> list[tuple[str, dict[str, Any]]]:
    """Every fixture config with its name: Hub configs and transformers' defaults."""
    out = [(p.stem, json.loads(p.read_text())) for p in CONFIG_FILES]
    out += [(f"default:{p.stem}", json.loads(p.read_text())["config"]) for p in DEFAULT_FILES]
    return out


def run_case(
    config: dict[str, Any], rng: random.Random
) -> tuple[str, list[str], str]:
    """Mutate, estimate (and sometimes plan), classify: (outcome, kinds, detail)."""
    mutated, kinds = mutate(config, rng)
    if rng.random() < 0.4:
        kinds.append("metadata")
    try:
        meta = random_metadata(rng) if "metadata" in kinds else None
        options = random_options(rng)
        mode = rng.random()
        if mode < 0.85:
            results = [estimate(mutated, options, meta)]
        elif mode < 0.9:
            results = compare_precisions(mutated, options, meta)
        elif mode < 0.95:
            points = sweep(mutated, options, meta, axis=rng.choice(("context", "batch")), points=4)
            for pt in points:
                if pt.total_bytes < 0 or pt.per_gpu_bytes < 0 or pt.per_gpu_bytes > pt.total_bytes:
                    return "absurd", kinds, f"sweep point {pt}"
            results = []
        else:
            opts = options.with_(gpu=options.gpu or "h100-80gb")
            found = (max_batch if rng.random() < 0.5 else max_context)(mutated, opts, meta)
            if found is not None and found < 1:
                return "absurd", kinds, f"max = {found}"
            results = []
    except EstimatorError as err:
        return f"estimator_error:{type(err).__name__}", kinds, str(err)
    except Exception as err:  # the fuzzer exists to catch anything
        return f"crash:{type(err).__name__}", kinds, f"{err!r}"[:300]
    for est in results:
        try:
            problems = violations(est)
        except Exception as err:  # a result the checks cannot even read is absurd
            problems = [f"unreadable result: {err!r}"[:200]]
        if problems:
            return "absurd", kinds, "; ".join(problems)[:300]
    return "ok", kinds, ""
