"""How far each figure can be trusted: its error measured against published engine logs.

The figures come from ``estimator/data/confidence.json``, which
``tests/validation/evidence.py`` writes from the validation run (the estimator against
``tests/validation/records.json``); a test fails when the file is stale. For one
estimate, each component gets the error measured for its engine and architecture family
where logs exist, a wider scope where the figure does not depend on them (weights, KV
bytes per token), and "not validated" otherwise.

    >>> confidence(est)["kv_cache"].text    # Llama-3.1-8B on vLLM
    'within 0.11 % (median 0.01 %) on 7 published logs, measured with vLLM 0.7–0.19 on dense models'

Errors are absolute percentages of the measured figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .engines import ENGINE_PROFILES
from .precision import PRECISIONS
from .report import COMPONENT_LABELS
from .result import Estimate, ModelSummary

__all__ = [
    "COMPONENTS",
    "COMPONENT_LABELS",
    "FAMILY_LABELS",
    "Confidence",
    "architecture_family",
    "confidence",
    "estimate_error",
    "fit_caveat",
    "fit_verdict",
    "total_confidence",
    "weights_format",
]

DATA = Path(__file__).with_name("data") / "confidence.json"

#: The figures a confidence is given for: the breakdown's rows, the engine's KV pool
#: (vLLM/SGLang: what its reservation leaves for the cache) and the total.
COMPONENTS = ("weights", "kv_cache", "activations", "overhead", "engine_kv_pool", "total")
#: Architecture families, by what changes the memory: recurrent layers, a latent KV cache,
#: sliding-window layers, routed experts; anything else is dense.
FAMILY_LABELS = {
    "dense": "dense",
    "moe": "mixture-of-experts",
    "mla": "MLA",
    "sliding": "sliding-window",
    "hybrid": "hybrid recurrent",
}
_WHAT = {
    "weights": "weights",
    "kv_cache": "KV cache",
    "activations": "activation peak",
    "overhead": "CUDA context and graphs",
    "engine_kv_pool": "KV pool",
    "total": "total",
}
# Weights and the KV cache's bytes per token are the same arithmetic under every engine, so
# their error measured with other engines or families says something; activations, the
# overhead, the pool and the total are each engine's own behaviour.
_WIDENS = {"weights", "kv_cache"}


def architecture_family(model: ModelSummary) -> str:
    """The family a model's memory behaves like (a key of :data:`FAMILY_LABELS`)."""
    if model.ssm_layers:
        return "hybrid"
    if model.attention == "MLA":
        return "mla"
    if model.sliding_layers:
        return "sliding"
    if model.experts:
        return "moe"
    return "dense"


@dataclass(frozen=True)
class Confidence:
    """The measured error of one figure for one engine and family."""

    component: str
    records: int  # published logs that measured it
    measurements: int  # figures compared (a log may print several)
    median_abs_error: float | None  # % of the measured figure
    max_abs_error: float | None
    engines: dict[str, list[str]] = field(default_factory=dict)  # engine -> versions stated
    scope: str = "none"  # engine+family | engine | family | all | none
    note: str = ""
    engines_text: str = ""  # "vLLM 0.5–0.19; llama.cpp builds 2961–5898"

    @property
    def validated(self) -> bool:
        return self.records > 0 and self.max_abs_error is not None

    @property
    def exact(self) -> bool:
        """No error beyond the digits the logs print."""
        return self.validated and (self.max_abs_error or 0.0) < 0.005

    @property
    def short(self) -> str:
        """A table cell: "±0.54 %, 8 logs", "exact, 12 logs" or "not validated"."""
        if not self.validated:
            return "not validated"
        error = "exact" if self.exact else f"±{_pct(self.max_abs_error)} %"
        return f"{error}, {_plural(self.records, 'log')}"

    @property
    def text(self) -> str:
        """A sentence: "within 0.54 % (median 0.01 %) on 8 published logs, measured with
        vLLM 0.7–0.19 on dense models"."""
        if not self.validated:
            return "not validated: " + self.note
        if self.exact:
            error = "exact to the digits the logs print"
        else:
            error = f"within {_pct(self.max_abs_error)} % (median {_pct(self.median_abs_error)} %)"
        return f"{error} on {_plural(self.records, 'published log')}, {self.note}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "median_abs_error": self.median_abs_error,
            "max_abs_error": self.max_abs_error,
            "engines": {k: list(v) for k, v in self.engines.items()},
            "note": self.note,
            "measurements": self.measurements,
            "scope": self.scope,
            "text": self.text,
            "short": self.short,
        }


def _pct(x: float | None) -> str:
    """Two significant digits or so: 0.54, 0.01, 8.8, 42."""
    if x is None:
        return "?"
    if abs(x) < 1:
        return f"{x:.2f}"
    if abs(x) < 10:
        return f"{x:.1f}"
    return f"{x:.0f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


@lru_cache(maxsize=1)
def _table() -> dict[tuple[str, str, str], dict[str, Any]]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    return {(e["component"], e["engine"], e["family"]): e for e in data["entries"]}


def _label(engine: str) -> str:
    profile = ENGINE_PROFILES.get(engine)
    return profile.label if profile else engine


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _lookup(component: str, engine: str, family: str, weights_format: str) -> Confidence:
    table = _table()
    scopes = [(engine, family, "engine+family"), (engine, "*", "engine")]
    if component in _WIDENS:
        # Weights widen within their storage format (a GGUF's per-tensor types, or a
        # checkpoint's dtypes), the KV cache's bytes per token across every engine.
        wide = f"*{weights_format}" if component == "weights" else "*"
        scopes += [(wide, family, "family"), (wide, "*", "all")]
    fam = FAMILY_LABELS.get(family, family)
    serving = engine not in ENGINE_PROFILES or ENGINE_PROFILES[engine].serving_engine
    engine_label = _label(engine) if serving else "generic-engine"
    for eng, fam_key, scope in scopes:
        entry = table.get((component, eng, fam_key))
        if entry is None or not entry["records"]:
            continue
        engines = entry.get("engines") or {}
        measured = str(entry.get("engines_text") or ", ".join(_label(e) for e in engines))
        families = _and([FAMILY_LABELS.get(f, f) for f in entry.get("families") or ()])
        note = {
            "engine+family": f"measured with {measured} on {fam} models",
            "engine": f"measured with {measured} on {families} models (none {fam})",
            "family": f"measured with {measured} on {fam} models (no {engine_label} log)",
            "all": f"measured with {measured} on {families} models (no {engine_label} log "
            f"of a {fam} model)",
        }[scope]
        caveat = entry.get("caveat") or ""
        return Confidence(
            component=component,
            records=int(entry["records"]),
            measurements=int(entry["measurements"]),
            median_abs_error=entry["median_abs_error"],
            max_abs_error=entry["max_abs_error"],
            engines={k: list(v) for k, v in engines.items()},
            scope=scope,
            note=note + (f"; {caveat}" if caveat else ""),
            engines_text=str(entry.get("engines_text") or ""),
        )
    what = _WHAT.get(component, component)
    profile = ENGINE_PROFILES.get(engine)
    if profile is not None and not profile.serving_engine:
        reason = f"the generic profile is no engine's; no log measures its {what}"
    elif component == "engine_kv_pool" and profile and not profile.reserves_fraction:
        reason = f"{_label(engine)} reserves no KV pool up front"
    else:
        reason = f"no published {_label(engine)} log measures the {what}"
    return Confidence(component, 0, 0, None, None, {}, "none", reason)


def weights_format(est: Estimate) -> str:
    """ "gguf" for llama.cpp's per-tensor types, "checkpoint" for everything else."""
    precision = PRECISIONS.get(est.precision)
    return "gguf" if precision is not None and precision.kind == "gguf" else "checkpoint"


def confidence(est: Estimate) -> dict[str, Confidence]:
    """The measured error of every figure of ``est`` (keys: :data:`COMPONENTS`)."""
    engine = est.options.engine
    family = architecture_family(est.model)
    fmt = weights_format(est)
    return {name: _lookup(name, engine, family, fmt) for name in COMPONENTS}


def estimate_error(est: Estimate, conf: dict[str, Confidence] | None = None) -> float | None:
    """The total's measured error in %: the total's own where logs measured it (transformers'
    peak), else each part's largest error weighted by its bytes; None when a part that
    holds memory is not validated."""
    conf = conf or confidence(est)
    if conf["total"].validated:
        return conf["total"].max_abs_error
    total = sum(c.bytes for c in est.components)
    if not total:
        return None
    error = 0.0
    for c in est.components:
        part = conf.get(c.name)
        if not c.bytes:
            continue
        if part is None or part.max_abs_error is None:
            return None
        error += c.bytes * part.max_abs_error
    return error / total


def fit_caveat(est: Estimate, conf: dict[str, Confidence] | None = None) -> str:
    """The margin against the measured error when it is inside it ("within the estimate's
    error: 2 % headroom against ±3 %"); "" when the margin is larger, or without a GPU."""
    fit = est.fit
    if fit is None:
        return ""
    error = estimate_error(est, conf)
    margin = (fit.usable_bytes - fit.per_gpu_bytes) / max(fit.per_gpu_bytes, 1) * 100
    if error is None or abs(margin) >= error:
        return ""
    side = "headroom" if fit.fits else "over"
    return f"within the estimate's error: {_pct(abs(margin))} % {side} against ±{_pct(error)} %"


def fit_verdict(est: Estimate, conf: dict[str, Confidence] | None = None) -> str | None:
    """ "fits" / "does NOT fit", saying so when the margin is inside the measured error:
    "fits, but within the estimate's error: 2 % headroom against ±3 %". None without a GPU."""
    fit = est.fit
    if fit is None:
        return None
    verdict = "fits" if fit.fits else "does NOT fit"
    caveat = fit_caveat(est, conf)
    return f"{verdict}, but {caveat}" if caveat else verdict


def total_confidence(est: Estimate, conf: dict[str, Confidence] | None = None) -> tuple[str, str]:
    """The total's measured error as (a table cell, a sentence): its own where logs measured
    it, else what its parts' errors add up to (:func:`estimate_error`), else which parts
    are not validated."""
    conf = conf or confidence(est)
    own = conf["total"]
    if own.validated:
        return own.short, own.text
    error = estimate_error(est, conf)
    if error is not None:
        return (
            f"±{_pct(error)} % from the parts",
            f"within about {_pct(error)} %: its parts' measured errors weighted by their "
            f"bytes ({own.note})",
        )
    missing = [
        _WHAT.get(c.name, c.name)
        for c in est.components
        if c.bytes and not conf.get(c.name, own).validated
    ]
    return "not validated", f"not validated: {own.note}, nor its {' or '.join(missing)}"
