"""Read models from the Hugging Face Hub: ids and URLs in, config and weight facts out.

Shared by the command line (blocking, urllib, disk cache) and the page
(async, ``pyfetch``, memory cache). Nothing here is imported by the core
estimator, so ``llm-mem --config`` never pays for it.
"""

from __future__ import annotations

from .cache import DiskCache, HfHubFiles, MemoryCache
from .client import HubClient
from .http import AsyncTransport, Request, Response, Transport, UrllibTransport
from .info import ApiModelInfo, GgufFile, HubModelInfo, Sibling
from .parse import gguf_quant, parse_gguf_files, parse_model_api
from .urls import InvalidModelIdError, ModelRef, parse_model_ref, validate_repo_id

__all__ = [
    "ApiModelInfo",
    "AsyncTransport",
    "DiskCache",
    "GgufFile",
    "HfHubFiles",
    "HubClient",
    "HubModelInfo",
    "InvalidModelIdError",
    "MemoryCache",
    "ModelRef",
    "Request",
    "Response",
    "Sibling",
    "Transport",
    "UrllibTransport",
    "gguf_quant",
    "parse_gguf_files",
    "parse_model_api",
    "parse_model_ref",
    "validate_repo_id",
]
