"""The smallest changes that make a refused launch start, each verified by re-judging it.

The candidates are a table of rules, smallest change first: each rule reads the engine's
profile (``LaunchFlags``: how it spells the context, KV type, reservation and TP size) and the
problems found, and proposes groups of tries; the first try of a group that starts is kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .breakdown import breakdown
from .engines import LaunchFlags
from .errors import EstimatorError
from .launch_checks import Judgement, Setup, valid_tensor_parallel
from .params import ParamCounts
from .result import Estimate, WeightMetadata
from .spec import ModelSpec

__all__ = ["Fix", "fixes"]


@dataclass(frozen=True)
class Fix:
    """A change that makes the launch start, verified by re-estimating it."""

    change: str
    flags: tuple[str, ...]
    result: str
    #: The estimator settings the change sets (EstimateOptions fields), so that a page can
    #: apply it; empty when the change is a flag only (``auto``).
    options: tuple[tuple[str, Any], ...] = ()


class Outcome(Protocol):
    """What a fix needs of a re-judged launch (estimator.launch.LaunchVerdict)."""

    @property
    def starts(self) -> bool: ...

    @property
    def concurrency(self) -> float | None: ...

    @property
    def memory_checked(self) -> bool: ...


#: Re-judges a changed setup without looking for fixes (estimator.launch).
Rejudge = Callable[[Setup], Outcome]

_CONTEXT_CODES = frozenset({"max_model_len", "context_length"})
_TP_CODES = frozenset({"tp_heads", "tp_vocab", "tp_kv_heads", "tp_intermediate"})
_FLOAT_PRECISIONS = ("bf16", "fp16", "fp32", "fp8")


@dataclass(frozen=True)
class _Try:
    """One candidate change: its wording, the flags it adds, the settings it changes."""

    change: str
    flags: tuple[str, ...]
    settings: tuple[tuple[str, Any], ...]
    #: A flag-only fix with the same result, offered when this one starts (vLLM
    #: ``--max-model-len auto``).
    twin: tuple[str, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class _Case:
    """One setup under review: what a fix rule reads to decide whether it applies."""

    spec: ModelSpec
    setup: Setup
    est: Estimate
    judgement: Judgement
    flags: LaunchFlags
    codes: frozenset[str]

    @property
    def memory(self) -> bool:
        """A problem of memory, not of the context limit or TP divisibility."""
        return bool(self.codes - _CONTEXT_CODES - _TP_CODES)


def _model_limit(c: _Case) -> list[list[_Try]]:
    derived = c.spec.engine_max_context
    if not (c.codes & _CONTEXT_CODES and derived):
        return []
    change = f"use the model's limit of {derived:,} tokens"
    return [[_Try(change, (c.flags.context, str(derived)), (("context", derived),))]]


def _shorter_context(c: _Case) -> list[list[_Try]]:
    length = c.judgement.max_context
    if not (length and length < c.est.context):
        return []
    value = length * c.setup.options.batch if c.flags.context_per_slot else length
    twin = None
    if c.flags.auto_context:
        # --max-model-len auto (-1): kv_cache_utils._auto_fit_max_model_len picks the same
        # length from the pool at start-up, and stays right on other hardware.
        label = c.setup.profile.label
        twin = (f"let {label} fit the context to memory (here {length:,} tokens)", "auto")
    change = f"shorten the context to {length:,} tokens"
    flags = (c.flags.context, str(value))
    return [
        [
            _Try(
                change,
                flags,
                (("context", length),),
                None if twin is None else (twin[0], (c.flags.context, twin[1])),
            )
        ]
    ]


def _kv_fp8(c: _Case) -> list[list[_Try]]:
    if not (c.memory and c.flags.kv_fp8 and c.est.kv_dtype not in ("fp8", "q8_0", "q4_0")):
        return []
    flags = (c.flags.kv_cache_dtype, c.flags.kv_fp8)
    return [[_Try("store the KV cache in FP8", flags, (("kv_dtype", "fp8"),))]]


def _kv_q8_0(c: _Case) -> list[list[_Try]]:
    if not (c.memory and c.flags.kv_q8_0 and c.est.kv_dtype not in ("q8_0", "q4_0")):
        return []
    flags = ("-ctk", "q8_0", "-ctv", "q8_0")
    return [[_Try("quantize the KV cache to q8_0", flags, (("kv_dtype", "q8_0"),))]]


def _reservation(c: _Case) -> list[list[_Try]]:
    fraction = c.flags.memory_fraction
    if not (c.memory and fraction and c.setup.options.gpu_memory_utilization < 0.95):
        return []
    change = "raise the memory reservation to 0.95"
    return [[_Try(change, (fraction, "0.95"), (("gpu_memory_utilization", 0.95),))]]


def _eager(c: _Case) -> list[list[_Try]]:
    graphs = any("CUDA graphs" in w for w in c.judgement.warnings)
    flag = c.flags.enforce_eager
    if not (flag and not c.setup.options.enforce_eager and graphs):
        return []
    change = "skip CUDA graphs (eager mode)"
    return [[_Try(change, tuple(flag.split()), (("enforce_eager", True),))]]


def _tensor_parallel(c: _Case) -> list[list[_Try]]:
    o, flag = c.setup.options, c.flags.tensor_parallel
    tp_codes = c.codes & _TP_CODES
    if not (flag and (c.memory or tp_codes)):
        return []
    valid = valid_tensor_parallel(c.spec, o.engine) or ()
    larger = [t for t in valid if o.tp < t <= 8]
    # A size the engine rejects: the nearest valid one below it keeps the GPUs in use.
    order = ([t for t in valid if t < o.tp][::-1] + larger) if tp_codes else larger
    group = [
        _Try(
            "run on one GPU" if t == 1 else f"split the model over {t} GPUs",
            (flag, str(t)),
            (("tensor_parallel", t), ("gpus", max(t * o.pipeline_parallel, 1))),
        )
        for t in order
    ]
    return [group] if group else []


def _four_bit(c: _Case) -> list[list[_Try]]:
    four_bit = c.flags.four_bit
    if not (c.memory and c.est.precision in _FLOAT_PRECISIONS and four_bit):
        return []
    change = "use a 4-bit checkpoint of the model"
    return [[_Try(change, c.flags.four_bit_flags, (("precision", four_bit),))]]


#: The rules, smallest change first.
_RULES: tuple[Callable[[_Case], list[list[_Try]]], ...] = (
    _model_limit,
    _shorter_context,
    _kv_fp8,
    _kv_q8_0,
    _reservation,
    _eager,
    _tensor_parallel,
    _four_bit,
)


def _result(outcome: Outcome, context: int) -> str:
    if outcome.concurrency is not None and outcome.memory_checked:
        n = outcome.concurrency
        return f"starts: {n:.2f} request{'s' if n != 1 else ''} of {context:,} tokens at once"
    return "starts"


def _attempt(
    spec: ModelSpec,
    counts: ParamCounts,
    setup: Setup,
    meta: WeightMetadata | None,
    rejudge: Rejudge,
    candidate: _Try,
) -> Fix | None:
    """The fix if the changed setup starts, else None."""
    try:
        options = setup.options.with_(**dict(candidate.settings))
    except EstimatorError:
        return None
    trial = dataclasses.replace(setup, options=options)
    try:
        outcome = rejudge(trial)
    except EstimatorError:
        return None
    if not outcome.starts:
        return None
    context = options.context or breakdown(
        spec, counts, options, meta, engine_version=setup.engine_version
    ).context
    return Fix(candidate.change, candidate.flags, _result(outcome, context), candidate.settings)


def fixes(
    spec: ModelSpec,
    counts: ParamCounts,
    setup: Setup,
    est: Estimate,
    judgement: Judgement,
    meta: WeightMetadata | None,
    rejudge: Rejudge,
) -> list[Fix]:
    """Candidate changes, smallest first, each kept only if re-judging it starts."""
    codes = frozenset(p.code for p in judgement.problems)
    case = _Case(spec, setup, est, judgement, setup.profile.launch, codes)
    found: list[Fix] = []
    for rule in _RULES:
        for group in rule(case):
            for candidate in group:
                fix = _attempt(spec, counts, setup, meta, rejudge, candidate)
                if fix is None:
                    continue
                found.append(fix)
                if candidate.twin is not None:
                    found.append(Fix(candidate.twin[0], candidate.twin[1], fix.result))
                break
    unique: dict[tuple[str, ...], Fix] = {}
    for fix in found:
        unique.setdefault(fix.flags, fix)
    return list(unique.values())
