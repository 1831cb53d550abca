"""What the page shows, as plain data: the same code runs at build time (CPython,
to pre-render the first estimate into index.html) and in the browser (Pyodide).

Everything here is pure: state (strings, as in the URL and the form) in, a view model
(site/viewmodel.py) out. site/app.js copies it into the DOM with ``textContent``/
``setAttribute`` only; ``render_static`` fills the HTML template with escaped text at
build time. Neither ever builds markup from data. Wording and number formats shared with
the CLI come from estimator/report.py.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

import charts  # site/charts.py
import evidence  # site/evidence.py
import hardware_view  # site/hardware_view.py
import launch_view
from viewmodel import ViewModel  # site/viewmodel.py

from estimator import (
    ENGINES,
    GB,
    GIB,
    GPUS,
    KV_DTYPES,
    PRECISIONS,
    EstimateOptions,
    EstimatorError,
    OptionError,
    compare_precisions,
    estimate,
    max_batch,
    max_context,
    sweep,
)
from estimator.engines import ENGINE_PROFILES
from estimator.report import (
    ENGINE_MENU_LABELS,
    PARAM_SOURCES,
    fmt_both,
    fmt_count,
    fmt_gb,
    fmt_gib,
    precision_label,
)
from estimator.result import Estimate
from estimator.schema import OPTION, OPTIONS, SAME, Option

# ---------------------------------------------------------------------------
# state <-> options

#: EstimateOptions fields in their order (the URL's), each with its declaration.
OPTION_FIELDS: dict[str, Option] = {
    f.name: OPTION[f.name] for f in dataclasses.fields(EstimateOptions)
}


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _default_gpu() -> str:
    for key, gpu in GPUS.items():
        if "h100" in key.lower() and round(gpu.memory_bytes / GB) == 80:
            return key
    for key in GPUS:
        if "h100" in key.lower():
            return key
    return next(iter(GPUS), "")


#: The page picks a GPU by default so that fit answers show at first sight, and an engine
#: whose allocation is modelled and validated (tests/validation/launch_records.json), as
#: the CLI does (estimator.schema DEFAULT_ENGINE); "generic" stays a labelled choice.
UI_DEFAULTS: dict[str, str] = {"gpu": _default_gpu()} | {
    o.name: to_text(o.app_default) for o in OPTIONS if o.app_default is not SAME}

#: Keys besides the options that live in the URL.
MODEL_KEYS = ("model", "revision")

#: The form's fields in URL order: the options, then the own-hardware keys in people's
#: units (site/hardware_view.py: ram=64 is 64 GiB).
PAGE_FIELDS: tuple[str, ...] = (*OPTION_FIELDS, *hardware_view.PAGE_KEYS)

SWEEP_POINTS = 64
CONTEXT_SLIDER_MIN = 64  # tokens at the left end of the slider
SLIDER_STEPS_PER_OCTAVE = 100


def option_default(name: str) -> str:
    """The form/URL string of a field's default ('' for None)."""
    if name in UI_DEFAULTS:
        return UI_DEFAULTS[name]
    if name in hardware_view.PAGE_KEYS:
        return ""
    return to_text(OPTION_FIELDS[name].default)


def default_state(model: str) -> dict[str, str]:
    state = {"model": model, "revision": ""}
    for name in PAGE_FIELDS:
        state[name] = option_default(name)
    return state


def state_from_query(query: str, default_model: str) -> dict[str, str]:
    """URL query string -> state (unknown keys ignored, missing keys default)."""
    from urllib.parse import parse_qsl  # not at import: the worker's start-up skips it

    state = default_state(default_model)
    for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        if key in state:
            state[key] = value.strip()
    if not state["model"]:
        state["model"] = default_model
    return state


def query_from_state(state: dict[str, str], default_model: str) -> str:
    """State -> query string with only what differs from the defaults (short links)."""
    pairs = []
    if state.get("model") and state["model"] != default_model:
        pairs.append(("model", state["model"]))
    if state.get("revision") and state["revision"] != "main":
        pairs.append(("revision", state["revision"]))
    for name in PAGE_FIELDS:
        value = state.get(name, "")
        if value != option_default(name):
            pairs.append((name, value))
    from urllib.parse import urlencode

    return ("?" + urlencode(pairs)) if pairs else ""


def _parse_value(name: str, text: str) -> Any:
    """A form/URL string -> the option's value ('' and, for numbers and switches that may be
    None, 'auto'/'default' mean None)."""
    option = OPTION_FIELDS[name]
    text = text.strip()
    if text == "" or (text.lower() in ("auto", "default") and option.optional
                      and option.kind != "str"):
        return None if option.optional else option.default
    if option.kind == "bool":
        if text.lower() in ("true", "1", "on", "yes"):
            return True
        if text.lower() in ("false", "0", "off", "no"):
            return False
        raise FieldError(f"{name} must be true or false, got {text!r}", [name])
    if option.kind == "int":
        try:
            return int(text.replace("_", "").replace(",", ""))
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise FieldError(f"{name} must be a whole number, got {text!r}", [name]) from None
            if not number.is_integer():
                raise FieldError(f"{name} must be a whole number, got {text!r}", [name]) from None
            return int(number)
    if option.kind == "float":
        try:
            return float(text)
        except ValueError:
            raise FieldError(f"{name} must be a number, got {text!r}", [name]) from None
    return text


def options_from_state(state: dict[str, str]) -> EstimateOptions:
    """Form/URL strings -> EstimateOptions; raises FieldError naming the fields at fault."""
    values = {name: _parse_value(name, state.get(name, "")) for name in OPTION_FIELDS}
    values.update(hardware_view.option_values(state, UI_DEFAULTS["gpu"]))
    try:
        return EstimateOptions(**values)
    except OptionError as exc:
        raise FieldError(str(exc), error_fields(str(exc))) from None


class FieldError(OptionError):
    """An option error with the form fields it is about (shown next to each of them)."""

    def __init__(self, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.fields = fields


#: Words in the core's OptionError messages that name a field other than by its own name.
_FIELD_WORDS = {"KV cache dtype": "kv_dtype", "engine": "engine", "precision": "precision",
                "GPU": "gpu", "TP": "tensor_parallel"}


def error_fields(message: str) -> list[str]:
    """The option fields an OptionError message is about, in form order.

    The core's messages start with the field name ("batch must be between ...") or
    name the fields involved ("tensor_parallel (8) x pipeline_parallel (2) needs ...").
    """
    named = [name for name in OPTION_FIELDS
             if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", message)]
    if named:
        return named
    for word, name in _FIELD_WORDS.items():
        if word in message:
            return [name]
    return []


# ---------------------------------------------------------------------------
# context slider (log scale)


def slider_max(model_limit: int | None) -> int:
    """Slider reaches 4x past the model's limit (at least 1M tokens)."""
    top = max((model_limit or 131072) * 4, 1 << 20)
    return round(math.log2(top / CONTEXT_SLIDER_MIN) * SLIDER_STEPS_PER_OCTAVE)


def context_to_slider(context: int) -> int:
    return max(0, round(math.log2(max(context, 1) / CONTEXT_SLIDER_MIN) * SLIDER_STEPS_PER_OCTAVE))


def slider_to_context(position: int) -> int:
    """Slider position -> a round context (powers of two stay exact)."""
    raw = CONTEXT_SLIDER_MIN * 2 ** (position / SLIDER_STEPS_PER_OCTAVE)
    power = 2 ** round(math.log2(raw))
    if abs(raw - power) / power < 0.03:
        return int(power)
    step = 256 if raw >= 4096 else 64
    return max(1, int(round(raw / step) * step))


# ---------------------------------------------------------------------------
# view model


def model_texts(est: Any) -> dict[str, str]:
    m = est.model
    t: dict[str, str] = {}
    t["m-arch"] = f"{m.architecture} ({m.model_type})" if m.architecture else m.model_type
    # Known families are counted exactly (checked against transformers in tests/golden);
    # an unknown model_type goes through generic rules and says so.
    generic = any(w.startswith("unknown model_type") for w in est.warnings)
    approx = "≈ " if generic and m.param_source == "config-arithmetic" else ""
    params = f"{approx}{fmt_count(m.params)}"
    if m.active_params and m.active_params != m.params:
        params += f" ({fmt_count(m.active_params)} active per token)"
    t["m-params"] = params
    t["m-params-source"] = PARAM_SOURCES.get(m.param_source, m.param_source)
    if generic and m.param_source == "config-arithmetic":
        t["m-params-source"] = "estimated from config.json with generic decoder rules"
    layers = f"{m.layers}"
    if m.ssm_layers:
        layers += f" ({m.ssm_layers} state-space / linear-attention)"
    t["m-layers"] = layers
    if m.attention == "none":
        t["m-attention"] = "none"
    elif m.attention == "MLA":
        t["m-attention"] = f"MLA (latent KV), {m.num_attention_heads} heads"
    else:
        t["m-attention"] = (f"{m.attention}: {m.num_attention_heads} query heads, "
                            f"{m.num_kv_heads} KV heads, head dim {m.head_dim}")
    if m.sliding_window:
        t["m-window"] = (f"{m.sliding_window:,} tokens on {m.sliding_layers} of "
                         f"{m.layers} layers")
    else:
        t["m-window"] = "none (full attention)"
    t["m-moe"] = (f"{m.experts} experts, {m.experts_per_token} per token" if m.experts
                  else "dense (no experts)")
    t["m-context"] = f"{m.max_context:,} tokens" if m.max_context else "not stated"
    quant = m.pre_quantization or "none"
    if m.checkpoint_dtype:
        quant += f"; checkpoint dtype {m.checkpoint_dtype}"
    t["m-quant"] = quant
    t["m-vision"] = fmt_count(m.vision_params) if m.vision_params else "none"
    return t


@dataclass(frozen=True)
class MainView:
    """The main step's view model and the estimate and options it answers (the other
    steps, and Copy as Markdown/JSON, reuse them for the same inputs)."""

    view: ViewModel
    estimate: Estimate
    options: EstimateOptions


def compute_main(config: dict[str, Any], state: dict[str, str], metadata: Any = None,
                 *, model_label: str = "", model_id: str | None = None,
                 revision: str = "") -> MainView:
    """The fast part: one estimate -> headline figures, model facts, breakdown bar, and
    the launch verdict for the same options (site/launch_view.py); ``revision`` is the Hub
    revision the model was read at, which the launch command passes on."""
    options = options_from_state(state)
    est = estimate(config, options, metadata)
    launch = launch_view.launch_vm(config, options, metadata,
                                   state.get("model", "") if model_id is None else model_id,
                                   revision=revision)
    said = launch.verdict
    texts: dict[str, str] = {}
    attrs: dict[str, dict[str, str]] = {}
    texts.update(model_texts(est))
    texts["model-label"] = model_label
    texts["total-gib"] = fmt_gib(est.total_bytes)
    texts["total-gb"] = fmt_gb(est.total_bytes)
    texts["pergpu-gib"] = fmt_gib(est.per_gpu_bytes)
    texts["pergpu-gb"] = fmt_gb(est.per_gpu_bytes)
    plan = est.parallel
    texts["pergpu-plan"] = (f"{plan.gpus} GPU{'s' if plan.gpus != 1 else ''}, "
                            f"TP {plan.tensor_parallel} × PP {plan.pipeline_parallel}")
    texts["context-used"] = f"{est.context:,} tokens"
    texts["precision-used"] = f"{precision_label(est.precision)}, KV cache {est.kv_dtype}"
    texts["kv-per-token"] = f"{est.kv_bytes_per_token:,} bytes per token"
    fit = est.fit
    texts["fit-text"], caveat = evidence.fit_text(est)
    fit_state = "none" if fit is None else ("yes" if fit.fits else "no")
    capacity = None if fit is None else fit.capacity_bytes
    if fit is not None:  # never a fit answer that contradicts the launch verdict
        plain = "fits" if fit.fits else "does not fit"
        word = launch_view.fit_words(plain, fit.fits, said, options.batch)
        if word != plain:
            caveat = ""  # the launch verdict, not the margin, is the news
            texts["fit-text"] = f"{word[:1].upper()}{word[1:]}. {evidence.fit_where(est)}"
        refuses = said is not None and said["memory_checked"] and not said["starts"]
        fit_state = "yes" if fit.fits and not refuses else "no"
    attrs["fit"] = {"data-fit": fit_state, "data-caveat": "error" if caveat else ""}
    texts.update(evidence.headline(est))
    rec = est.recommendation
    texts["recommendation"] = rec.text if rec is not None else ""
    texts["recommendation-node"] = node_aligned(config, options, metadata, rec)
    texts["sum-total"] = fmt_gib(est.total_bytes)
    texts["sum-pergpu"] = fmt_gib(est.per_gpu_bytes)
    texts["sum-fit"] = ("no GPU chosen" if fit is None else
                        f"{ENGINE_PROFILES[options.engine].label} will refuse to start"
                        if fit_state == "no" and fit.fits else
                        ("fits" if fit.fits else "does not fit")
                        + (" (inside the estimate's error)" if caveat else ""))
    texts.update(launch.view.texts or {})
    attrs.update(launch.view.attrs or {})
    attrs["summary"] = {"data-fit": fit_state}
    if est.engine_reserved_bytes:
        label = ENGINE_PROFILES[options.engine].label
        reserved = (f"{label} reserves {fmt_both(est.engine_reserved_bytes)} per GPU up front "
                    f"(gpu_memory_utilization {options.gpu_memory_utilization:g}); what weights, "
                    "activations and the CUDA context leave of it becomes its KV pool "
                    "(CUDA graphs come after, on top)")
        if est.engine_kv_capacity_tokens is not None:
            reserved += f" of {est.engine_kv_capacity_tokens:,} tokens"
        if est.engine_max_concurrency is not None:
            reserved += (f", room for {est.engine_max_concurrency:,.2f} requests of "
                         f"{est.context:,} tokens at once")
        texts["reserved"] = reserved + "."
    else:
        texts["reserved"] = ""
    bt, ba = charts.stacked_bar(est, capacity, plan.gpus)
    texts.update(bt)
    attrs.update(ba)
    # context slider follows the resolved context
    attrs["context-slider"] = {"max": str(slider_max(est.model.max_context)),
                               "value": str(context_to_slider(est.context))}
    attrs["context"] = {"placeholder": f"auto {est.context}"}
    warnings = list(est.warnings) + [w for w in (said or {}).get("warnings", [])
                                     if w not in est.warnings]
    hardware = hardware_view.safe_compute(est, options)
    texts.update(hardware.texts or {})
    attrs.update(hardware.attrs or {})
    view = ViewModel(texts=texts, attrs=attrs, breakdown=evidence.breakdown(est),
                     rows=dict(hardware.rows or {}), warnings=warnings,
                     launch=launch.view.launch)
    return MainView(view, est, options)


#: GPUs per server node (DGX/HGX H100/H200/B200, MI300X platforms: 8 per node).
NODE_GPUS = 8


def _node_aligned(count: int) -> bool:
    return count in (1, 2, 4) or count % NODE_GPUS == 0


def node_aligned(config: dict[str, Any], options: EstimateOptions, metadata: Any,
                 rec: Any) -> str:
    """Beside a minimal GPU count that fills no whole node (10 x H100 as TP=2 x PP=5) or
    splits tensors across nodes (TP=16), the smallest count of whole 8-GPU nodes that fits
    with TP within a node (dividing the attention heads) and PP across nodes; '' when the
    minimum is already aligned (1, 2, 4 GPUs, or whole nodes with TP <= 8)."""
    if rec is None or rec.count is None or (_node_aligned(rec.count) and
                                            (rec.tensor_parallel or 1) <= NODE_GPUS):
        return ""
    from estimator import parse_config

    try:
        heads = parse_config(config).attention.num_heads
    except EstimatorError:
        return ""
    candidates = [c for c in (1, 2, 4, *range(NODE_GPUS, 65, NODE_GPUS)) if c >= rec.count]
    for count in candidates:
        tp = next((t for t in range(min(count, NODE_GPUS), 0, -1)
                   if count % t == 0 and (not heads or heads % t == 0)), 1)
        pp = count // tp
        try:
            est = estimate(config, options.with_(gpu=rec.gpu, gpus=count, tensor_parallel=tp,
                                                 pipeline_parallel=pp), metadata)
        except EstimatorError:
            return ""
        if est.fit is not None and est.fit.fits:
            layout = f"TP={tp}" + (f", PP={pp}" if pp > 1 else "")
            nodes = count // NODE_GPUS
            where = (f", {nodes} node{'s' if nodes != 1 else ''} of {NODE_GPUS}" if nodes
                     else "")
            return (f"Node-aligned: {count} x {rec.gpu_name} ({layout}{where}): "
                    f"{est.per_gpu_bytes / GIB:.1f} GiB per GPU of "
                    f"{est.fit.usable_bytes / GIB:.1f} GiB usable")
    return ""


def compute_compare(config: dict[str, Any], options: EstimateOptions,
                    metadata: Any = None) -> ViewModel:
    """The precision table: one row per precision for the same options."""
    rows = []
    marks = []
    for e in compare_precisions(config, options, metadata):
        fits = "—" if e.fit is None else ("yes" if e.fit.fits else "no")
        rows.append([precision_label(e.precision), fmt_gib(e.total_bytes),
                     fmt_gib(e.per_gpu_bytes), fits, fmt_gib(e.weights_bytes),
                     fmt_gib(e.kv_cache_bytes)])
        marks.append(e.precision)
    return ViewModel(rows={"compare": rows}, row_keys={"compare": marks})


def compute_sweep(config: dict[str, Any], options: EstimateOptions, est: Estimate, axis: str,
                  metadata: Any = None) -> ViewModel:
    """One chart: memory per GPU along ``axis`` (context or batch), stopped where it fits."""
    points = sweep(config, options, metadata, axis=axis, points=SWEEP_POINTS)
    capacity = None if est.fit is None else est.fit.usable_bytes
    current = est.context if axis == "context" else options.batch
    prefix = "chart-ctx" if axis == "context" else "chart-batch"
    largest = None
    if options.gpu:
        ask = max_context if axis == "context" else max_batch
        try:
            largest = ask(config, options, metadata)
        except EstimatorError:
            largest = None
    texts, attrs = charts.line_chart(prefix, points, capacity, axis, current, largest,
                              limited=bool(options.gpu))
    return ViewModel(texts=texts, attrs=attrs)


def compute_limits(config: dict[str, Any], options: EstimateOptions, metadata: Any = None
                   ) -> ViewModel:
    """The largest batch and the longest context that fit the chosen GPU."""
    texts: dict[str, str] = {}
    if not options.gpu:
        texts["max-batch"] = "choose a GPU"
        texts["max-context"] = "choose a GPU"
        return ViewModel(texts=texts)
    try:
        mb = max_batch(config, options, metadata)
    except EstimatorError as exc:
        mb, texts["max-batch"] = None, str(exc)
    else:
        texts["max-batch"] = "does not fit even at batch 1" if mb is None else (
            f"{mb:,} requests at {options.context or 'the default'} context"
            if options.context else f"{mb:,} requests")
    try:
        mc = max_context(config, options, metadata)
    except EstimatorError as exc:
        mc, texts["max-context"] = None, str(exc)
    else:
        limit = _model_limit(config)
        texts["max-context"] = "does not fit even at 1 token" if mc is None else (
            f"{mc:,} tokens per request at batch {options.batch}"
            + (f" (past the model's own limit of {limit:,})" if limit and mc > limit else ""))
    return ViewModel(texts=texts)


def _model_limit(config: dict[str, Any]) -> int | None:
    try:
        from estimator import parse_config

        return parse_config(config).max_context
    except EstimatorError:
        return None


def compute(config: dict[str, Any], state: dict[str, str], metadata: Any = None,
            *, model_label: str = "", model_id: str | None = None) -> ViewModel:
    """Everything at once (the build's pre-render; the browser does it in steps)."""
    main = compute_main(config, state, metadata, model_label=model_label, model_id=model_id)
    est, options = main.estimate, main.options
    parts = (main.view, compute_compare(config, options, metadata),
             compute_sweep(config, options, est, "context", metadata),
             compute_sweep(config, options, est, "batch", metadata),
             compute_limits(config, options, metadata))
    view = ViewModel()
    for part in parts:
        view = view.add(part)
    return view


# ---------------------------------------------------------------------------
# build-time rendering into the HTML template

# a pattern, compiled by re.sub at build time: the worker never renders a template
_SLOT = r"\{\{(text|attr|rows|list|options|checked|evidence):([^}]+)\}\}"


def _option_html(values: list[tuple[str, str]], selected: str) -> str:
    import html  # build time only: the worker's start-up skips it

    out = []
    for value, label in values:
        sel = " selected" if value == selected else ""
        out.append(f'<option value="{html.escape(value)}"{sel}>{html.escape(label)}</option>')
    return "".join(out)


def select_choices(name: str) -> list[tuple[str, str]]:
    if name == "precision":
        return [("auto", "As published (auto)")] + [(k, p.label) for k, p in PRECISIONS.items()]
    if name == "kv_dtype":
        return [(k, "auto (as model)" if k == "auto" else k) for k in KV_DTYPES]
    if name == "engine":
        return [(k, ENGINE_MENU_LABELS.get(k, ENGINE_PROFILES[k].label)) for k in ENGINES]
    if name == "gpu":
        return [("", "none")] + [(k, g.name) for k, g in GPUS.items()]
    if name == "paged_attention":
        return [("", "engine default"), ("true", "on"), ("false", "off")]
    raise KeyError(name)


def render_static(template: str, vm: ViewModel, state: dict[str, str],
                  model_ids: list[str]) -> str:
    """Replace {{text:id}}, {{attr:id:name}}, {{rows:id}}, {{list:warnings}},
    {{options:name}} placeholders with escaped content."""
    import html  # build time only

    def fill(match: re.Match[str]) -> str:
        kind, key = match.group(1), match.group(2)
        if kind == "text":
            if key.startswith("state."):
                return html.escape(state.get(key[6:], ""))
            return html.escape(vm.text(key))
        if kind == "attr":
            element, _, name = key.partition(":")
            return html.escape(vm.attr(element, name), quote=True)
        if kind == "rows":
            keys = (vm.row_keys or {}).get(key, [])
            current = state.get("precision", "")
            out = []
            for i, row in enumerate((vm.rows or {}).get(key, [])):
                mark = ' class="current"' if i < len(keys) and keys[i] == current else ""
                cells = "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
                out.append(f"<tr{mark}>{cells}</tr>")
            return "".join(out)
        if kind == "list":
            if key == "warnings":
                return "".join(f"<li>{html.escape(w)}</li>" for w in vm.warnings or [])
            if key == "launch-fixes":
                return launch_view.fixes_html(vm.launch)
            if key == "models":
                return "".join(f'<option value="{html.escape(m)}"></option>' for m in model_ids)
            if key == "devices":
                return hardware_view.datalist_html()
        if kind == "evidence" and key == "breakdown":
            return evidence.breakdown_html(vm.breakdown or [])
        if kind == "options":
            return _option_html(select_choices(key), state.get(key, ""))
        if kind == "checked":
            return " checked" if state.get(key, "") == "true" else ""
        raise KeyError(match.group(0))

    out = re.sub(_SLOT, fill, template)
    left = re.findall(r"\{\{[^}]*\}\}", out)
    if left:
        raise ValueError(f"unfilled template placeholders: {left[:5]}")
    return out
