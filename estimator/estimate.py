"""Put the parts together: one model, one set of options, one full estimate.

``estimate`` parses the config and calls ``estimate_spec``, which adds to the breakdown
(:mod:`estimator.breakdown`) the placement and speed on the hardware named
(:mod:`estimator.hardware`) and the recommendation (:mod:`estimator.planning`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from .breakdown import breakdown, hardware_devices, prepare
from .hardware import plan_hardware
from .options import EstimateOptions
from .params import ParamCounts
from .planning import recommend
from .result import Estimate, WeightMetadata
from .spec import ModelSpec
from .stages import DEFAULT_CONTEXT

__all__ = ["DEFAULT_CONTEXT", "breakdown", "estimate", "estimate_spec", "prepare"]

def estimate(
    config: Mapping[str, Any],
    options: EstimateOptions | None = None,
    metadata: WeightMetadata | None = None,
    *,
    engine_version: str | None = None,
) -> Estimate:
    """Memory needed to serve the model of ``config`` with ``options``.

    ``engine_version`` picks an older engine release to model (e.g. "0.15.1", or "v0" for
    vLLM's V0 engine), for checking published logs; None models the newest release."""
    options = options or EstimateOptions()
    spec, counts = prepare(config, options)
    return estimate_spec(spec, counts, options, metadata, engine_version=engine_version)


def estimate_spec(
    spec: ModelSpec,
    counts: ParamCounts,
    options: EstimateOptions,
    metadata: WeightMetadata | None = None,
    *,
    engine_version: str | None = None,
) -> Estimate:
    """Full estimate (with GPU fit and recommendation) for a parsed spec."""
    result = breakdown(spec, counts, options, metadata, engine_version=engine_version)
    devices = hardware_devices(options)
    if not devices:
        return result
    placement, speed = plan_hardware(spec, counts, options, metadata, result, devices)
    result = dataclasses.replace(result, placement=placement, speed=speed)
    if len(devices) > 1 or devices[0].kind in ("custom", "cpu"):
        return result  # "more of the same GPU" answers neither a mixed set nor a custom card
    return dataclasses.replace(result, recommendation=recommend(spec, counts, options, metadata))
