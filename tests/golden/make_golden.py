#!/usr/bin/env python3
"""Build the golden reference data for the memory estimator.

For every fixture config in ``tests/fixtures/configs/*.json`` this script builds the model
with ``transformers`` on torch's *meta* device (no memory is allocated, no weights are
downloaded), counts its parameters and runs short forward passes on meta ``input_ids`` to
see what the returned cache object actually holds.  It writes
``tests/golden/<same-stem>.json``.  The estimator's tests only read those JSON files, so
torch and transformers are needed only to regenerate them::

    python -m venv .venv-golden
    .venv-golden/bin/pip install torch transformers accelerate   # or: pip install -e .[golden]
    .venv-golden/bin/python tests/golden/make_golden.py            # all fixtures
    .venv-golden/bin/python tests/golden/make_golden.py llama-3.1-8b qwen2.5-7b   # some stems

Every config runs in its own subprocess (isolation + a time limit), so one failure never
stops the run; a config transformers cannot build natively is written as
``{"skipped": "<reason>", ...}``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CONFIGS = REPO / "tests" / "fixtures" / "configs"

T_SHORT = (16, 32)  # two short lengths: growth per token vs. fixed state
LONG_EXTRA = 64  # kv_cache_long runs at window + LONG_EXTRA tokens
MAX_LONG = 8192 + LONG_EXTRA  # a window beyond this is not measured (forward too slow)
# Forwards on meta take about a second even for DeepSeek-V3 (61 layers), so by default they run on
# the full model.  --forward-layer-cap N runs them on a copy with ~N layers instead (per-layer
# pattern kept, totals extrapolated; unreliable for configs that list special layers by index,
# e.g. mllama cross_attention_layers or bamba attn_layer_indices).
FORWARD_LAYER_CAP = 10_000
SCHEMA_VERSION = 1
FORWARD_NOTES: set[str] = set()

# Attribute names of multimodal sub-modules (searched at any depth, first match wins).
VISION_NAMES = ("vision_tower", "visual", "vision_model", "vision_encoder", "image_encoder")
PROJECTOR_NAMES = ("multi_modal_projector", "mm_projector", "connector", "merger_proj")
LANGUAGE_NAMES = ("language_model", "text_model")


# ----------------------------------------------------------------------------- helpers
def _torch():
    import torch

    return torch


def numel(module) -> int:
    return sum(p.numel() for p in module.parameters())


def dtype_name(dt) -> str:
    return str(dt).replace("torch.", "")


def _find_child(model, names):
    """Return (dotted_name, module) of the first sub-module whose attribute name is in names."""
    for qual, mod in model.named_modules():
        leaf = qual.rsplit(".", 1)[-1]
        if leaf in names:
            return qual, mod
    return None, None


def sliding_windows(cfg) -> dict[str, int]:
    """Windows / chunk sizes found in the text config (name -> size)."""
    out: dict[str, int] = {}
    for c in {id(cfg): cfg, id(text_cfg(cfg)): text_cfg(cfg)}.values():
        for key in ("sliding_window", "attention_chunk_size", "sliding_window_size", "window_size"):
            v = getattr(c, key, None)
            if isinstance(v, int) and not isinstance(v, bool) and v > 0:
                out[key] = v
    return out


def text_cfg(cfg):
    try:
        return cfg.get_text_config(decoder=True)
    except Exception:  # pragma: no cover - very old configs
        return getattr(cfg, "text_config", None) or cfg


# ----------------------------------------------------------------------------- cache walking
def _tensors_of(obj, prefix: str, out: list, seen: set) -> None:
    torch = _torch()
    if isinstance(obj, torch.Tensor):
        if obj.dim() >= 1 and id(obj) not in seen:
            seen.add(id(obj))
            out.append((prefix, obj))
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            _tensors_of(v, f"{prefix}[{k}]", out, seen)
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _tensors_of(v, f"{prefix}[{i}]", out, seen)


def layer_tensors(layer) -> list[tuple[str, Any]]:
    """All non-scalar tensors held by one cache layer object (private attrs skipped)."""
    out: list = []
    seen: set = set()
    attrs = vars(layer) if hasattr(layer, "__dict__") else {}
    for name, val in attrs.items():
        if name.startswith("_"):
            continue
        _tensors_of(val, name, out, seen)
    return out


def cache_layers(cache) -> list[tuple[str, list]]:
    """[(kind, [(name, tensor)])] per layer, whatever the cache class."""
    torch = _torch()
    if hasattr(cache, "layers") and isinstance(cache.layers, (list, tuple)):
        res = []
        for layer in cache.layers:
            res.append((type(layer).__name__, layer_tensors(layer)))
        return res
    if isinstance(cache, (list, tuple)):  # legacy tuple-of-tuples
        return [
            ("tuple", [(f"[{j}]", t) for j, t in enumerate(lay) if isinstance(t, torch.Tensor)])
            for lay in cache
        ]
    # Cache classes that keep per-layer lists as attributes (e.g. older MambaCache).
    per_layer: dict[int, list] = {}
    for name, val in vars(cache).items():
        if name.startswith("_"):
            continue
        if (
            isinstance(val, (list, tuple))
            and val
            and all(isinstance(v, torch.Tensor) or v is None for v in val)
        ):
            for i, v in enumerate(val):
                if isinstance(v, torch.Tensor) and v.dim() >= 1:
                    per_layer.setdefault(i, []).append((name, v))
        elif isinstance(val, torch.Tensor) and val.dim() >= 2:
            # stacked [layers, ...] tensor
            for i in range(val.shape[0]):
                per_layer.setdefault(i, []).append((name, val[i]))
    kind = type(cache).__name__
    return [(kind, per_layer[i]) for i in sorted(per_layer)]


def as_int(x: float) -> int | float:
    """x as an int when it is integral (bytes per token are, except in odd layouts)."""
    return round(x) if abs(x - round(x)) < 1e-6 else x


def nbytes(t) -> int:
    return t.numel() * t.element_size()


def get_cache(out):
    for key in ("cache", "past_key_values", "cache_params"):
        try:
            c = out.get(key)
        except Exception:
            c = None
        if c is not None:
            return c
    return None


# ----------------------------------------------------------------------------- model building
# Legacy remote-code model types whose architecture transformers later took in natively,
# with the key renames the Hub itself applied when it migrated those configs.
LEGACY_ALIASES = {
    "RefinedWebModel": (
        "falcon",
        {"n_head": "num_attention_heads", "n_layer": "num_hidden_layers"},
    ),
    "RefinedWeb": (
        "falcon",
        {
            "n_head": "num_attention_heads",
            "n_layer": "num_hidden_layers",
            "n_head_kv": "num_kv_heads",
        },
    ),
}


def load_config(path: Path):
    from transformers import AutoConfig
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    raw = json.loads(path.read_text())
    model_type = raw.get("model_type")
    translated = None
    if model_type in LEGACY_ALIASES and model_type not in CONFIG_MAPPING:
        new_type, renames = LEGACY_ALIASES[model_type]
        raw = dict(raw)
        raw.pop("auto_map", None)
        for old, new in renames.items():
            if old in raw:
                raw[new] = raw.pop(old)
        raw["model_type"] = new_type
        translated = (
            f"legacy model_type {model_type!r} built as native {new_type!r} "
            f"(renamed {sorted(k for k in renames if k in json.loads(path.read_text()))})"
        )
        model_type = new_type
    if model_type is None:
        return None, raw, "config has no model_type"
    if model_type not in CONFIG_MAPPING:
        reason = f"model_type {model_type!r} unknown to transformers"
        if "auto_map" in raw:
            reason += " (needs trust_remote_code)"
        return None, raw, reason
    clean = dict(raw)
    removed = []
    for k in ("quantization_config",):
        if k in clean:
            clean.pop(k)
            removed.append(k)
    with tempfile.TemporaryDirectory() as d:
        Path(d, "config.json").write_text(json.dumps(clean))
        cfg = AutoConfig.from_pretrained(d, trust_remote_code=False)
    if translated:
        removed.append(translated)
    return cfg, raw, removed


def pick_class(cfg):
    """The Auto class and concrete class to build for this config."""
    from transformers import (
        AutoModel,
        AutoModelForCausalLM,
        AutoModelForImageTextToText,
    )
    from transformers.models.auto import modeling_auto as ma

    ctype = type(cfg)
    # Multimodal first: a vision_config means the checkpoint carries a vision tower.
    has_vision = any(
        getattr(cfg, k, None) is not None
        for k in ("vision_config", "visual", "vision_tower_config")
    )
    order = []
    if has_vision:
        order.append(
            (
                "AutoModelForImageTextToText",
                AutoModelForImageTextToText,
                ma.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING,
            )
        )
    order.append(("AutoModelForCausalLM", AutoModelForCausalLM, ma.MODEL_FOR_CAUSAL_LM_MAPPING))
    order.append(
        (
            "AutoModelForImageTextToText",
            AutoModelForImageTextToText,
            ma.MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING,
        )
    )
    order.append(("AutoModel", AutoModel, ma.MODEL_MAPPING))
    for name, auto, mapping in order:
        try:
            if ctype in mapping:
                return name, auto
        except Exception:
            continue
    return None, None


def build(auto, cfg):
    torch = _torch()
    with torch.device("meta"):
        try:
            model = auto.from_config(cfg, dtype=torch.bfloat16, attn_implementation="eager")
        except (ValueError, TypeError):
            model = auto.from_config(cfg, dtype=torch.bfloat16)
    model.eval()
    return model


# ----------------------------------------------------------------------------- params
def param_report(model) -> dict[str, Any]:
    torch = _torch()
    total = numel(model)
    emb = model.get_input_embeddings()
    emb_n = emb.weight.numel() if emb is not None and hasattr(emb, "weight") else 0
    out_emb = None
    with contextlib.suppress(Exception):
        out_emb = model.get_output_embeddings()
    tied = bool(
        out_emb is not None and emb is not None and getattr(out_emb, "weight", None) is emb.weight
    )
    by_top = {name: numel(m) for name, m in model.named_children()}
    # one level deeper (model.embed_tokens, model.layers, ...) is what debugging needs most
    by_l2: dict[str, int] = {}
    for name, m in model.named_children():
        kids = list(m.named_children())
        if not kids:
            by_l2[name] = numel(m)
        for k, km in kids:
            by_l2[f"{name}.{k}"] = numel(km)
    vis_name, vis = _find_child(model, VISION_NAMES)
    proj_name, proj = _find_child(model, PROJECTOR_NAMES)
    lm_name, _ = _find_child(model, LANGUAGE_NAMES)
    params_vision = numel(vis) if vis is not None else 0
    params_projector = numel(proj) if proj is not None else 0
    dtypes: dict[str, int] = {}
    for p in model.parameters():
        dtypes[dtype_name(p.dtype)] = dtypes.get(dtype_name(p.dtype), 0) + p.numel()
    buffers = {}
    for n, b in model.named_buffers():
        if isinstance(b, torch.Tensor):
            buffers[n.rsplit(".", 1)[-1]] = buffers.get(n.rsplit(".", 1)[-1], 0) + b.numel()
    # MoE: routed experts (modules named "experts"; shared experts are counted apart).
    routed = shared = 0
    for qual, mod in model.named_modules():
        leaf = qual.rsplit(".", 1)[-1]
        if leaf == "experts":
            routed += numel(mod)
        elif leaf in ("shared_experts", "shared_expert"):
            shared += numel(mod)
    # Language model = everything that is neither vision tower nor projector.
    params_language = total - params_vision - params_projector
    rep = {
        "params_total": total,
        "params_embedding": emb_n,
        "params_lm_head": (
            getattr(out_emb, "weight", None).numel()
            if out_emb is not None and getattr(out_emb, "weight", None) is not None
            else 0
        ),
        "params_lm_head_tied": tied,
        "params_vision": params_vision,
        "params_projector": params_projector,
        "params_language_model": params_language,
        "vision_module": vis_name,
        "projector_module": proj_name,
        "language_module": lm_name,
        "params_routed_experts": routed,
        "params_shared_experts": shared,
        "params_by_top_module": by_top,
        "params_by_module_l2": by_l2,
        "param_dtypes": dtypes,
        "buffers_numel_by_name": buffers,
    }
    return rep


# ----------------------------------------------------------------------------- forwards
def _layer_keys(tc) -> list[str]:
    """Per-layer list attributes that must be truncated together with num_hidden_layers."""
    keys = []
    n = getattr(tc, "num_hidden_layers", None)
    for k, v in vars(tc).items():
        if isinstance(v, (list, tuple)) and n and len(v) == n and k not in ("architectures",):
            keys.append(k)
    return keys


def reduced_config(cfg, cap: int):
    """A copy whose text decoder has at most ~cap layers, keeping the per-layer pattern.

    Returns (cfg_copy, kept_layer_indices) or (cfg, None) when no reduction is needed/possible.
    """
    tc = text_cfg(cfg)
    n = getattr(tc, "num_hidden_layers", None)
    if not isinstance(n, int) or n <= cap:
        return cfg, None
    # keep the first `cap` layers but extend to cover one full period of layer_types patterns
    keys = _layer_keys(tc)
    keep = cap
    for k in keys:
        seq = list(getattr(tc, k))
        # smallest period p such that seq is periodic with p (bounded by n)
        for p in range(1, n + 1):
            if all(seq[i] == seq[i % p] for i in range(n)):
                break
        keep = max(keep, min(n, 2 * p))
        # also make sure every distinct value appears
        for v in set(map(repr, seq)):
            idx = next(i for i, s in enumerate(seq) if repr(s) == v)
            keep = max(keep, idx + 1)
    # models whose first k layers are dense and the rest MoE (DeepSeek first_k_dense_replace)
    for k in ("first_k_dense_replace", "num_dense_layers", "first_k_dense"):
        v = getattr(tc, k, None)
        if isinstance(v, int):
            keep = max(keep, min(n, v + 2))
    if keep >= n:
        return cfg, None
    new = copy.deepcopy(cfg)
    ntc = text_cfg(new)
    for k in keys:
        setattr(ntc, k, list(getattr(ntc, k))[:keep])
    ntc.num_hidden_layers = keep
    for k in ("num_layers", "n_layer", "n_layers"):
        if isinstance(getattr(ntc, k, None), int) and getattr(ntc, k) == n:
            setattr(ntc, k, keep)
    return new, list(range(keep))


def language_submodel(model):
    """The text decoder of a multimodal model (to run text-only forwards on), else None."""
    _, lm = _find_child(model, LANGUAGE_NAMES)
    return lm


def run_forward(model, T: int):
    """Text-only forward on meta input_ids; returns the cache object.

    Multimodal wrappers whose text-only forward fails are retried on their language model.
    """
    torch = _torch()
    ids = torch.zeros((1, T), dtype=torch.long, device="meta")
    kwargs = {"input_ids": ids, "use_cache": True}
    with torch.no_grad():
        try:
            out = model(**kwargs)
        except Exception:
            lm = language_submodel(model)
            if lm is None:
                raise
            out = lm(**kwargs)
            FORWARD_NOTES.add(
                f"text-only forward of {type(model).__name__} failed; ran its language model "
                f"{type(lm).__name__} instead"
            )
    cache = get_cache(out)
    if cache is None:
        raise RuntimeError("forward returned no cache")
    return cache


def describe(cache):
    return [
        (kind, [(name, list(t.shape), dtype_name(t.dtype), nbytes(t)) for name, t in tensors])
        for kind, tensors in cache_layers(cache)
    ]


def kv_report(model, cfg, T1: int, T2: int, total_layers: int, measured_layers: int):
    cache1 = run_forward(model, T1)
    cache_class = type(cache1).__name__
    c1 = describe(cache1)
    c2 = describe(run_forward(model, T2))
    if len(c1) != len(c2):
        raise RuntimeError(f"cache layer count differs between lengths: {len(c1)} vs {len(c2)}")
    per_layer = []
    tot_tok = 0.0
    tot_state = 0
    for i, ((kind, t1), (_, t2)) in enumerate(zip(c1, c2, strict=True)):
        names2 = {n: (s, d, b) for n, s, d, b in t2}
        tensors = []
        bpt = 0.0
        state = 0
        for name, shape, dt, b1 in t1:
            s2, _, b2 = names2.get(name, (shape, dt, b1))
            grow_dims = [d for d in range(len(shape)) if d < len(s2) and shape[d] != s2[d]]
            growth = (b2 - b1) / (T2 - T1)
            if grow_dims:
                bpt += growth
                fixed = b1 - growth * T1
                if abs(fixed) > 1e-6:
                    state += round(fixed)
                role = "grows"
            else:
                state += b1
                role = "state"
            tensors.append([name, shape, dt, role, grow_dims[0] if grow_dims else None])
        entry = {
            "layer": i,
            "kind": kind,
            "tensors": tensors,
            "bytes_per_token": as_int(bpt),
            "state_bytes": state,
        }
        per_layer.append(entry)
        tot_tok += bpt
        tot_state += state
    rep = {
        "batch": 1,
        "T": T1,
        "T_check": T2,
        "cache_class": cache_class,
        "num_cache_layers": len(per_layer),
        "bytes_per_token_total": as_int(tot_tok),
        "state_bytes_total": tot_state,
        "per_layer": per_layer,
        "tensor_columns": ["name", "shape_at_T", "dtype", "grows|state", "seq_dim"],
    }
    return rep


def kv_long_report(model, L: int, layer_map):
    cache = run_forward(model, L)
    per_layer = []
    for i, (kind, tensors) in enumerate(cache_layers(cache)):
        kept = None
        shapes = []
        for name, t in tensors:
            shapes.append([name, list(t.shape)])
            if name in ("keys", "values") and t.dim() >= 3:
                kept = t.shape[-2]
        per_layer.append({"layer": i, "kind": kind, "tokens_kept": kept, "tensors": shapes})
    by_kind: dict[str, list] = {}
    for e in per_layer:
        by_kind.setdefault(e["kind"], [])
        if e["tokens_kept"] not in by_kind[e["kind"]]:
            by_kind[e["kind"]].append(e["tokens_kept"])
    return {"L": L, "per_layer": per_layer, "tokens_kept_by_kind": by_kind}


# ----------------------------------------------------------------------------- one config
def golden_for(path: Path) -> dict[str, Any]:
    import torch
    import transformers

    res: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "config_file": f"tests/fixtures/configs/{path.name}",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "dtype": "bfloat16",
    }
    cfg, _, info = load_config(path)
    res["model_type"] = json.loads(path.read_text()).get("model_type")
    if cfg is None:
        res["skipped"] = info
        return res
    if info:
        res["config_changes_for_build"] = info
    auto_name, auto = pick_class(cfg)
    if auto is None:
        res["skipped"] = f"no Auto class maps {type(cfg).__name__}"
        return res
    t0 = time.time()
    model = build(auto, cfg)
    res["auto_class"] = auto_name
    res["model_class"] = type(model).__name__
    res["build_seconds"] = round(time.time() - t0, 2)
    res.update(param_report(model))

    tc = text_cfg(cfg)
    n_layers = getattr(tc, "num_hidden_layers", None)
    res["num_hidden_layers"] = n_layers
    lt = getattr(tc, "layer_types", None)
    if isinstance(lt, (list, tuple)):
        res["layer_types"] = list(lt)
    windows = sliding_windows(cfg)
    res["windows"] = windows
    wmin = min(windows.values()) if windows else None
    T1, T2 = T_SHORT
    if wmin is not None and wmin <= T2:
        T1, T2 = max(1, wmin // 4), max(2, wmin // 2)

    # Forwards run on a copy with fewer layers when the model is deep (Python cost per layer).
    fcfg, kept = reduced_config(
        cfg, int(os.environ.get("GOLDEN_FORWARD_LAYER_CAP", FORWARD_LAYER_CAP))
    )
    fmodel = model if kept is None else build(auto, fcfg)
    measured = n_layers if kept is None else len(kept)
    try:
        t0 = time.time()
        kv = kv_report(fmodel, fcfg, T1, T2, n_layers, measured)
        kv["forward_seconds"] = round(time.time() - t0, 2)
        kv["cache_layers_measured"] = measured
        kv["num_hidden_layers"] = n_layers
        if kept is not None:
            kv["note"] = (
                f"forward ran on a copy with the first {measured} of {n_layers} layers "
                "(per-layer pattern kept); per_layer lists only those; "
                "bytes_per_token_total/state_bytes_total are extrapolated to all layers"
            )
            kv["measured_bytes_per_token_total"] = kv["bytes_per_token_total"]
            kv["measured_state_bytes_total"] = kv["state_bytes_total"]
            bpt, st = extrapolate(kv["per_layer"], tc, n_layers)
            kv["bytes_per_token_total"] = bpt
            kv["state_bytes_total"] = st
        res["kv_cache"] = kv
    except Exception as e:
        res["kv_cache"] = {
            "error": f"{type(e).__name__}: {e}"[:2000],
            "traceback": traceback.format_exc()[-3000:],
        }

    if wmin is not None and "error" not in res["kv_cache"]:
        L = wmin + LONG_EXTRA
        if L > MAX_LONG:
            res["kv_cache_long"] = {"skipped": f"window {wmin} too long to run on CPU/meta"}
        else:
            try:
                t0 = time.time()
                lr = kv_long_report(fmodel, L, kept)
                lr["forward_seconds"] = round(time.time() - t0, 2)
                lr["windows"] = windows
                res["kv_cache_long"] = lr
            except Exception as e:
                res["kv_cache_long"] = {"error": f"{type(e).__name__}: {e}"[:2000]}
    if FORWARD_NOTES:
        res["forward_notes"] = sorted(FORWARD_NOTES)
    return res


def extrapolate(per_layer, tc, n_layers):
    """Scale measured per-layer cache to all layers, using layer_types when available."""
    m = len(per_layer)
    keys = _layer_keys(tc)
    # map each full-model layer to a measured layer with the same per-layer attributes
    sig_full = [tuple(repr(getattr(tc, k)[i]) for k in keys) for i in range(n_layers)]
    sig_meas = sig_full[:m]
    firstk = 0
    for k in ("first_k_dense_replace", "num_dense_layers", "first_k_dense"):
        v = getattr(tc, k, None)
        if isinstance(v, int):
            firstk = v
    tot_b = 0.0
    tot_s = 0
    for i in range(n_layers):
        if i < m:
            j = i
        else:
            cands = (
                [j for j in range(m) if sig_meas[j] == sig_full[i] and j >= firstk]
                or [j for j in range(m) if sig_meas[j] == sig_full[i]]
                or [m - 1]
            )
            j = cands[-1]
        tot_b += per_layer[j]["bytes_per_token"]
        tot_s += per_layer[j]["state_bytes"]
    tot_b = as_int(tot_b)
    return tot_b, tot_s


# ----------------------------------------------------------------------------- driver
def _one(path: Path, out_dir: Path) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        res = golden_for(path)
    except Exception as e:
        import torch
        import transformers

        res = {
            "schema_version": SCHEMA_VERSION,
            "config_file": f"tests/fixtures/configs/{path.name}",
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            "skipped": f"transformers could not build it: {type(e).__name__}: {e}"[:1000],
            "traceback": traceback.format_exc()[-3000:],
        }
    (out_dir / f"{path.stem}.json").write_text(dumps(res) + "\n")


def dumps(obj: Any, indent: int = 0) -> str:
    """JSON with one line per dict key, but short lists/dicts (and per-layer rows) inline."""
    flat = json.dumps(obj)
    if not isinstance(obj, (dict, list)) or len(flat) + indent <= 100:
        return flat
    if isinstance(obj, list) and all(not isinstance(x, (dict, list)) for x in obj):
        return flat
    pad = " " * (indent + 1)
    if isinstance(obj, dict):
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = []
    for x in obj:
        one = json.dumps(x)
        items.append(
            pad + (one if isinstance(x, dict) and len(one) < 400 else dumps(x, indent + 1))
        )
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def _spawn(path: Path, out_dir: Path, timeout: int) -> tuple[str, str, float]:
    t0 = time.time()
    cmd = [sys.executable, __file__, "--one", str(path), "--out", str(out_dir)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        status = "ok" if p.returncode == 0 else f"rc={p.returncode}: {p.stderr[-500:]}"
    except subprocess.TimeoutExpired:
        status = f"timeout after {timeout}s"
        import torch
        import transformers

        res = {
            "schema_version": SCHEMA_VERSION,
            "config_file": f"tests/fixtures/configs/{path.name}",
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            "skipped": f"golden generation timed out after {timeout}s",
        }
        (out_dir / f"{path.stem}.json").write_text(dumps(res) + "\n")
    return path.stem, status, time.time() - t0


README = HERE / "README.md"
TABLE_START = "<!-- golden-table:start -->"
TABLE_END = "<!-- golden-table:end -->"


def _fmt_long(g: dict) -> str:
    long = g.get("kv_cache_long")
    if not long:
        return ""
    if "skipped" in long or "error" in long:
        return long.get("skipped") or "error"
    kinds = ", ".join(
        f"{k.replace('Dynamic', '').replace('Layer', '') or 'Full'} {'/'.join(map(str, v))}"
        for k, v in long["tokens_kept_by_kind"].items()
    )
    return f"L={long['L']}: {kinds}"


def golden_table(out_dir: Path) -> str:
    """Markdown table of what each golden file recorded (or why it was skipped)."""
    rows = [
        "| fixture | model class | params_total | vision | tied | KV B/token (bf16) "
        "| fixed state B | cache layer kinds | long run: tokens kept |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for f in sorted(out_dir.glob("*.json")):
        g = json.loads(f.read_text())
        if "skipped" in g:
            rows.append(f"| {f.stem} | skipped: {g['skipped'][:120]} | | | | | | | |")
            continue
        kv = g.get("kv_cache", {})
        if "error" in kv:
            bpt, st, kinds = "error", "", kv["error"][:60]
        else:
            bpt, st = kv["bytes_per_token_total"], kv["state_bytes_total"]
            counts: dict[str, int] = {}
            for e in kv["per_layer"]:
                k = e["kind"] if e["tensors"] else f"{e['kind']} (empty)"
                counts[k] = counts.get(k, 0) + 1
            kinds = ", ".join(f"{n}x {k}" for k, n in counts.items())
        rows.append(
            f"| {f.stem} | {g['model_class']} | {g['params_total']:,} | {g['params_vision']:,} "
            f"| {'yes' if g['params_lm_head_tied'] else 'no'} | {bpt:,} | {st:,} | {kinds} "
            f"| {_fmt_long(g)} |"
        )
    return "\n".join(rows)


def update_readme(out_dir: Path) -> None:
    if not README.exists():
        return
    text = README.read_text()
    if TABLE_START not in text or TABLE_END not in text:
        return
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    README.write_text(f"{head}{TABLE_START}\n{golden_table(out_dir)}\n{TABLE_END}{tail}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stems", nargs="*", help="only these config stems (default: all)")
    ap.add_argument("--configs", default=str(CONFIGS))
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--missing", action="store_true", help="only configs without a golden yet")
    ap.add_argument(
        "--forward-layer-cap",
        type=int,
        default=None,
        help="run the forwards on a copy with about this many layers (default: all layers)",
    )
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.forward_layer_cap:
        os.environ["GOLDEN_FORWARD_LAYER_CAP"] = str(a.forward_layer_cap)
    out_dir = Path(a.out)
    if a.one:
        _one(Path(a.one), out_dir)
        return 0
    paths = sorted(Path(a.configs).glob("*.json"))
    if a.stems:
        paths = [p for p in paths if p.stem in set(a.stems)]
    if a.missing:
        paths = [p for p in paths if not (out_dir / f"{p.stem}.json").exists()]
    print(f"{len(paths)} configs", flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        futs = [ex.submit(_spawn, p, out_dir, a.timeout) for p in paths]
        for f in concurrent.futures.as_completed(futs):
            stem, status, dt = f.result()
            print(f"{stem:45s} {dt:7.1f}s {status}", flush=True)
    if out_dir.resolve() == HERE:
        update_readme(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
