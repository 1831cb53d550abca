"""LLM inference memory estimator: a Hub config.json in, a memory breakdown out.

Pure standard-library Python; runs the same on CPython and on Pyodide.
"""

from __future__ import annotations

from .errors import (
    ConfigError,
    ConfigJSONError,
    DisabledRepoError,
    EntryNotFoundError,
    EstimatorError,
    ForbiddenError,
    GatedRepoError,
    HubError,
    HubNetworkError,
    HubServerError,
    HubTimeoutError,
    InvalidEndpointError,
    InvalidResponseError,
    InvalidTokenError,
    MissingConfigKeyError,
    OfflineCacheMissError,
    OptionError,
    RateLimitedError,
    RepoNotFoundError,
    RevisionNotFoundError,
    UnsupportedModelError,
)
from .estimate import estimate
from .gpus import GPUS, Gpu
from .jsonsafe import load_config_text
from .options import ENGINES, KV_DTYPES, EstimateOptions
from .planning import SweepPoint, compare_precisions, max_batch, max_context, rank_gpus, sweep
from .precision import PRECISIONS
from .result import GB, GIB, Estimate, WeightMetadata
from .spec import ModelSpec, parse_config

__version__ = "0.1.0"

__all__ = [
    "ENGINES",
    "GB",
    "GIB",
    "GPUS",
    "KV_DTYPES",
    "PRECISIONS",
    "ConfigError",
    "ConfigJSONError",
    "DisabledRepoError",
    "EntryNotFoundError",
    "Estimate",
    "EstimateOptions",
    "EstimatorError",
    "ForbiddenError",
    "GatedRepoError",
    "Gpu",
    "HubError",
    "HubNetworkError",
    "HubServerError",
    "HubTimeoutError",
    "InvalidEndpointError",
    "InvalidResponseError",
    "InvalidTokenError",
    "MissingConfigKeyError",
    "ModelSpec",
    "OfflineCacheMissError",
    "OptionError",
    "RateLimitedError",
    "RepoNotFoundError",
    "RevisionNotFoundError",
    "SweepPoint",
    "UnsupportedModelError",
    "WeightMetadata",
    "compare_precisions",
    "estimate",
    "load_config_text",
    "max_batch",
    "max_context",
    "parse_config",
    "rank_gpus",
    "sweep",
]
