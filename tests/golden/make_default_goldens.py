#!/usr/bin/env python3
"""Goldens from transformers' own default configs, for families without a Hub fixture yet.

    .venv-golden/bin/python tests/golden/make_default_goldens.py [model_type ...]

For each model_type, ``AutoConfig.for_model(model_type)`` gives the config class's defaults
(the architecture transformers ships, e.g. MambaConfig() is mamba-2.8b-shaped). The model is
built on the meta device; its unique parameter count and the KV bytes per token of a short
bf16 forward are written with the config dict to tests/golden/defaults/<model_type>.json.
These complement the Hub-fixture goldens; they are not Hub configs.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("defaults")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_golden  # noqa: E402

TYPES = [
    "mistral",
    "mixtral",
    "qwen2_moe",
    "gpt2",
    "gpt_neox",
    "opt",
    "bloom",
    "phi3",
    "gemma",
    "gemma2",
    "gemma3_text",
    "jamba",
    "mamba",
    "falcon_mamba",
    "mamba2",
    "llava",
    "qwen2_vl",
    "starcoder2",
    "granite",
    "cohere",
    "stablelm",
    "gpt_bigcode",
    "gptj",
    "olmo",
    "olmoe",
    "phimoe",
    "seed_oss",
    "llama4_text",
    "qwen3_next",
    "exaone4",
    "smollm3",
    "ernie4_5",
    "granitemoehybrid",
    "bamba",
    "gemma3",
    "mistral3",
    "nemotron_h",
    "zamba2",
    "falcon_h1",
    "minimax",
]


def measure(model_type: str) -> dict[str, object]:
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

    config = AutoConfig.for_model(model_type)
    with torch.device("meta"):
        try:
            model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
        except ValueError:
            model = AutoModelForImageTextToText.from_config(config, dtype=torch.bfloat16)
    params = sum(p.numel() for p in model.parameters())
    layers = int(getattr(config.get_text_config(), "num_hidden_layers", 0) or 0)
    note = ""
    try:
        # make_golden's two-length forward: tensors that grow are KV, the rest fixed state.
        report = make_golden.kv_report(model, config, 16, 32, layers, layers)
    except ValueError as exc:
        if "get_seq_length" not in str(exc):
            raise
        # transformers 5.24's hybrid cache cannot tell the length of a cache that holds only
        # recurrent layers (Bamba's and Granite 4.0 hybrid's default configs are all Mamba):
        # give the positions and the per-kind masks ourselves, as a caller may.
        report = _with_forward(_recurrent_only_forward, model, config, layers)
        note = ("all-recurrent default config: forward given position_ids and a per-kind "
                "mask mapping (the cache holds no attention layer to measure a length from)")
    per_token, state = report["bytes_per_token_total"], report["state_bytes_total"]
    # MiniMaxCache keeps lightning-attention states in a list of its own.
    extra = getattr(make_golden.run_forward(model, 16), "linear_cache", []) if not note else []
    state += sum(t.numel() * t.element_size() for t in extra if hasattr(t, "numel"))
    return {
        "model_type": model_type,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "model_class": type(model).__name__,
        "params_total": params,
        "kv_bytes_per_token": per_token,
        "state_bytes": state,
        **({"forward_note": note} if note else {}),
        "config": json.loads(config.to_json_string(use_diff=False)),
    }


def _recurrent_only_forward(model: Any, length: int) -> Any:
    import torch

    ids = torch.zeros((1, length), dtype=torch.long, device="meta")
    positions = torch.arange(length, device="meta").unsqueeze(0)
    masks = {"full_attention": None, "linear_attention": None}
    with torch.no_grad():
        out = model(input_ids=ids, position_ids=positions, attention_mask=masks, use_cache=True)
    return make_golden.get_cache(out)


def _with_forward(forward: Any, model: Any, config: Any, layers: int) -> dict[str, Any]:
    """make_golden.kv_report with another forward function."""
    saved = make_golden.run_forward
    make_golden.run_forward = forward
    try:
        report: dict[str, Any] = make_golden.kv_report(model, config, 16, 32, layers, layers)
    finally:
        make_golden.run_forward = saved
    return report


def main(argv: list[str]) -> int:
    warnings.filterwarnings("ignore")
    OUT.mkdir(exist_ok=True)
    for model_type in argv or TYPES:
        try:
            row = measure(model_type)
        except Exception as exc:  # record and go on: one family must not stop the rest
            print(f"{model_type}: skipped ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        path = OUT / f"{model_type}.json"
        path.write_text(json.dumps(row, indent=1, sort_keys=True) + "\n")
        print(f"{model_type}: {row['params_total']} params, {row['kv_bytes_per_token']} B/token")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
