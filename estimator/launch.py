"""Will the launch start? The engine's start-up verdict, the smallest fixes, and the command
to paste.

The checks are the engines' own, chosen by each profile's ``startup`` rules
(estimator.launch_checks, which cites every check and message); the fixes are a table of
rules re-judged one by one (estimator.launch_fixes); the command is written from the profile's
``launch`` flags (estimator.commands).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from . import vllm_v1
from .breakdown import breakdown
from .commands import launch_command
from .engines import ENGINE_PROFILES
from .launch_checks import Problem, Setup, total_bytes, valid_tensor_parallel, vllm_start
from .launch_fixes import Fix, fixes
from .launch_judges import judge
from .options import EstimateOptions
from .params import ParamCounts
from .result import Estimate, WeightMetadata
from .spec import ModelSpec

__all__ = [
    "Fix",
    "LaunchVerdict",
    "Problem",
    "fit_with_launch",
    "launch_verdict",
    "valid_tensor_parallel",
    "vllm_startup",
]


@dataclass(frozen=True)
class LaunchVerdict:
    """Whether the launch starts, why not if it does not, and the fixes that would make it."""

    engine: str
    label: str
    starts: bool
    problems: tuple[Problem, ...]
    max_context: int | None  # the longest context that starts with these settings
    valid_tensor_parallel: tuple[int, ...] | None  # None: the engine does not split heads
    concurrency: float | None  # requests of the chosen context that fit at once
    fixes: tuple[Fix, ...]
    command: str | None
    memory_checked: bool  # False when no GPU was chosen: only the static checks ran
    warnings: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = field(default_factory=tuple)
    detail: str = ""  # how it starts, said in the summary (Ollama: where the layers go)

    @property
    def summary(self) -> str:
        """One line: "vLLM will start: ..." or "vLLM will refuse to start: ..."."""
        if not self.starts:
            return f"{self.label} will refuse to start: {self.problems[0].message}"
        if not self.memory_checked:
            return f"{self.label} passes its start-up checks (choose a GPU to check memory)"
        if self.detail:
            return f"{self.label} will start: {self.detail}"
        if self.concurrency is not None:
            return (
                f"{self.label} will start: {self.concurrency:.2f} requests of the chosen "
                "context fit at once"
            )
        return f"{self.label} will start"

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "starts": self.starts,
            "summary": self.summary,
            "problems": [dataclasses.asdict(p) for p in self.problems],
            "max_context": self.max_context,
            "valid_tensor_parallel": None
            if self.valid_tensor_parallel is None
            else list(self.valid_tensor_parallel),
            "concurrency": self.concurrency,
            "fixes": [
                {
                    "change": f.change,
                    "flags": list(f.flags),
                    "result": f.result,
                    "options": dict(f.options),
                }
                for f in self.fixes
            ],
            "command": self.command,
            "memory_checked": self.memory_checked,
            "warnings": list(self.warnings),
            "assumptions": list(self.assumptions),
        }


def _estimate(
    spec: ModelSpec, counts: ParamCounts, setup: Setup, meta: WeightMetadata | None
) -> Estimate:
    return breakdown(spec, counts, setup.options, meta, engine_version=setup.engine_version)


def _verdict(
    spec: ModelSpec,
    counts: ParamCounts,
    setup: Setup,
    meta: WeightMetadata | None,
    with_fixes: bool,
) -> LaunchVerdict:
    est = _estimate(spec, counts, setup, meta)
    j = judge(spec, counts, setup, est, meta)
    o = setup.options

    def rejudge(trial: Setup) -> LaunchVerdict:
        return _verdict(spec, counts, trial, meta, with_fixes=False)

    found = fixes(spec, counts, setup, est, j, meta, rejudge) if with_fixes and j.problems else []
    command = launch_command(
        o.engine,
        setup.model_id,
        o,
        context=est.context,
        precision=est.precision,
        kv_dtype=est.kv_dtype,
        checkpoint_dtype=spec.checkpoint_dtype,
        allow_long_context=setup.allow_long_context,
        revision=setup.revision,
    )
    return LaunchVerdict(
        engine=o.engine,
        label=setup.profile.label,
        starts=not j.problems,
        problems=tuple(j.problems),
        max_context=j.max_context,
        valid_tensor_parallel=valid_tensor_parallel(spec, o.engine),
        concurrency=j.concurrency if not j.problems else None,
        fixes=tuple(found),
        command=command,
        memory_checked=j.memory_checked,
        warnings=tuple(j.warnings),
        assumptions=tuple(j.assumptions),
        detail=j.detail if not j.problems else "",
    )


def launch_verdict(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None = None,
    *,
    model_id: str = "MODEL",
    gpu_memory_bytes: int | None = None,
    enforce_eager: bool = False,
    allow_long_context: bool = False,
    with_fixes: bool = True,
    engine_version: str | None = None,
    revision: str | None = None,
) -> LaunchVerdict | None:
    """Whether ``options.engine`` starts with these settings, and what to change if not.

    ``gpu_memory_bytes`` overrides the chosen GPU's total (a log's ``total_gpu_memory``);
    ``allow_long_context`` is the engine's env var that lifts the context limit (vLLM's
    VLLM_ALLOW_LONG_MAX_MODEL_LEN=1, SGLang's SGLANG_ALLOW_OVERWRITE_LONGER_CONTEXT_LEN=1);
    ``engine_version`` models an older release (see ``estimate``); ``revision`` is the Hub
    branch, tag or commit the model was read at, passed on in the command. None for the
    generic engine."""
    if not ENGINE_PROFILES[options.engine].serving_engine:
        return None
    if enforce_eager:
        options = options.with_(enforce_eager=True)
    setup = Setup(
        options,
        model_id,
        gpu_memory_bytes,
        allow_long_context=allow_long_context,
        engine_version=engine_version,
        revision=revision,
    )
    return _verdict(spec, counts, setup, metadata, with_fixes)


def fit_with_launch(fit_text: str, fits: bool, launch: dict[str, Any] | None, batch: int) -> str:
    """The fit verdict ("fits" / "does NOT fit", maybe with its error margin) said so that it
    never contradicts the launch verdict (``LaunchVerdict.to_dict()``) beside it.

    The fit asks whether ``batch`` requests of the context fit in the usable memory (the
    GPU less its headroom); the engine asks whether it can start at all. They differ when a
    start-up check fails on memory that fits (a TP size the heads or vocabulary do not
    divide, a context past the model's limit), and when the engine starts but serves fewer
    requests at once than the batch (vLLM, SGLang and TGI queue the rest)."""
    if not launch or not launch.get("memory_checked"):
        return fit_text
    label = ENGINE_PROFILES[launch["engine"]].label
    if not launch["starts"]:
        return f"the memory fits, but {label} will refuse to start" if fits else fit_text
    if fits:
        return fit_text
    if ENGINE_PROFILES[launch["engine"]].startup.check == "offload-estimate":
        return (
            f"does NOT fit on the GPU alone; {label} starts with the layers its own estimate "
            "places there, the rest in system RAM"
        )
    n = launch.get("concurrency")
    if n is not None and n < batch:
        return (
            f"{batch:,} requests do NOT fit at once; {label} starts and serves "
            f"{n:.2f} at a time"
        )
    return f"does NOT fit with the headroom kept free; {label} starts with less to spare"


def vllm_startup(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None = None,
    *,
    gpu_memory_bytes: int | None = None,
    engine_version: str | None = None,
) -> vllm_v1.Startup | None:
    """vLLM's start-up figures (budget, profiled peak, KV pool, tokens, concurrency) for
    these options on a GPU of ``gpu_memory_bytes`` (default: the chosen GPU's total)."""
    engine = next(p.key for p in ENGINE_PROFILES.values() if p.memory_profiler == "vllm-v1")
    setup = Setup(
        options.with_(engine=engine), "MODEL", gpu_memory_bytes, engine_version=engine_version
    )
    est = _estimate(spec, counts, setup, metadata)
    total = total_bytes(setup, est)
    if total is None:
        return None
    derived = spec.engine_max_context or est.context
    return vllm_start(spec, setup, est, total, max(derived, est.context))
