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
    per_token: int | None
    state: int | None
    try:
        # make_golden's two-length forward: tensors that grow are KV, the rest fixed state.
        report = make_golden.kv_report(model, config, 16, 32, layers, layers)
        per_token, state = report["bytes_per_token_total"], report["state_bytes_total"]
        # MiniMaxCache keeps lightning-attention states in a list of its own.
        extra = getattr(make_golden.run_forward(model, 16), "linear_cache", [])
        state += sum(t.numel() * t.element_size() for t in extra if hasattr(t, "numel"))
    except (ValueError, RuntimeError):
        # transformers 5.24 cannot run some all-Mamba default configs (a get_seq_length
        # error in the hybrid cache); the parameter count is still worth keeping.
        per_token, state = None, None
    return {
        "model_type": model_type,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "model_class": type(model).__name__,
        "params_total": params,
        "kv_bytes_per_token": per_token,
        "state_bytes": state,
        "config": json.loads(config.to_json_string(use_diff=False)),
    }


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
