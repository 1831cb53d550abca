"""The ``llm-mem`` answer as a JSON-ready document: ``--json`` prints it, and
estimator/report.py writes the table and Markdown from it.

Pure: a loaded config (``Loaded``, which the CLI reads from a file or the Hub) and the
options in, plain data out. With ``--json`` byte figures are integers and keys are only
ever added.
"""

from __future__ import annotations

import os.path
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .engines import ENGINE_PROFILES
from .options import EstimateOptions
from .result import WeightMetadata

if TYPE_CHECKING:
    from .hub import HubModelInfo

__all__ = ["MODES", "Loaded", "build_document"]

#: What one run computes: one estimate, one line per precision, total memory along an axis,
#: or the largest batch / longest context that fits the GPU.
MODES = ("estimate", "compare-precisions", "sweep-context", "sweep-batch", "max-batch",
         "max-context")


@dataclass
class Loaded:
    """A config to estimate and what is known about where it came from."""

    config: dict[str, Any]
    metadata: WeightMetadata | None
    model_id: str | None
    revision: str | None
    source: str  # "hub" | "file"
    path: str | None = None
    hub: HubModelInfo | None = None
    notes: list[str] = field(default_factory=list)


def build_document(loaded: Loaded, options: EstimateOptions, mode: str = "estimate", *,
                   points: int = 12, engine_default: bool = False) -> dict[str, Any]:
    """Compute ``mode`` (one of MODES) for ``loaded`` with ``options``; ``points`` is the
    sweep's length, ``engine_default`` says that the engine was not chosen."""
    from . import compare_precisions, estimate, max_batch, max_context, sweep

    doc: dict[str, Any] = {
        "model_id": loaded.model_id,
        "revision": loaded.revision,
        "source": loaded.source,
        "config_path": loaded.path,
        "hub": None if loaded.hub is None else loaded.hub.to_dict(),
        "notes": list(loaded.notes),
        # True when --engine was not given: the answer assumes the default engine.
        "engine_default": engine_default,
    }
    cfg, meta = loaded.config, loaded.metadata
    doc["mode"] = mode
    if mode == "compare-precisions":
        doc["estimates"] = [e.to_dict() for e in compare_precisions(cfg, options, meta)]
        return doc
    if mode.startswith("sweep-"):
        axis = mode.removeprefix("sweep-")
        doc["points"] = [
            {
                "x": pt.x,
                "total_bytes": pt.total_bytes,
                "per_gpu_bytes": pt.per_gpu_bytes,
                "fits": pt.fits,
            }
            for pt in sweep(cfg, options, meta, axis=axis, points=points)
        ]
        doc["estimate"] = estimate(cfg, options, meta).to_dict()
        return doc
    if mode in ("max-batch", "max-context"):
        key = mode.replace("-", "_")
        doc[key] = (max_batch if mode == "max-batch" else max_context)(cfg, options, meta)
        doc["estimate"] = estimate(cfg, options, meta).to_dict()
        return doc
    if mode != "estimate":
        raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")
    doc.update(estimate(cfg, options, meta).to_dict())
    doc["launch"] = _launch(loaded, _placed(options, doc.get("placement")))
    if doc.get("fit") and doc.get("fit_verdict"):
        from .launch import fit_with_launch

        # the fit answer never contradicts the launch verdict printed under it
        doc["fit_verdict"] = fit_with_launch(
            doc["fit_verdict"], doc["fit"]["fits"], doc["launch"], options.batch
        )
    return doc


def _placed(options: EstimateOptions, placement: dict[str, Any] | None) -> EstimateOptions:
    """The options with the layer placement llama.cpp's --fit would choose (-ngl, -ts,
    --n-cpu-moe), so the launch command matches the placement shown."""
    rule = ENGINE_PROFILES[options.engine].layer_placement
    if not placement or rule != "llama-fit" or placement["strategy"] != "fit":
        return options
    split = next((f[4:] for f in placement["flags"] if f.startswith("-ts ")), None)
    return options.with_(
        n_gpu_layers=placement["gpu_layers"],
        tensor_split=split or options.tensor_split,
        n_cpu_moe=placement["cpu_moe_layers"] or None,
    )


def _launch(loaded: Loaded, options: EstimateOptions) -> Any:
    """The engine's start-up verdict, fixes and command (None for the generic engine)."""
    from .estimate import prepare
    from .launch import launch_verdict

    spec, counts = prepare(loaded.config, options)
    name = loaded.model_id or "MODEL"
    if loaded.model_id is None and loaded.path:
        # Engines load a model folder: the one holding a config.json given by path.
        folder = os.path.dirname(loaded.path) if loaded.path.endswith("config.json") else ""
        name = folder or loaded.path
    # A Hub model read at a revision other than main: the command passes it on.
    revision = loaded.revision if loaded.model_id is not None else None
    verdict = launch_verdict(
        spec, counts, options, loaded.metadata, model_id=name, revision=revision
    )
    return None if verdict is None else verdict.to_dict()
