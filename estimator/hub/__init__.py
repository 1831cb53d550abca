"""Read models from the Hugging Face Hub: ids and URLs in, config and weight facts out.

Shared by the command line (blocking, urllib, disk cache) and the page
(async, ``pyfetch``, memory cache). Nothing here is imported by the core
estimator, so ``llm-mem --config`` never pays for it.
"""

from __future__ import annotations

from .cache import DiskCache, HfHubFiles, MemoryCache
from .client import HubClient
from .http import AsyncTransport, Request, Response, Transport
from .info import ApiModelInfo, GgufFile, HubModelInfo, Sibling
from .parse import gguf_quant, load_json, parse_gguf_files, parse_model_api
from .status import hub_error
from .urls import (
    InvalidModelIdError,
    ModelRef,
    parse_model_ref,
    validate_endpoint,
    validate_repo_id,
    validate_revision,
)

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
    "hub_error",
    "load_json",
    "parse_gguf_files",
    "parse_model_api",
    "parse_model_ref",
    "validate_endpoint",
    "validate_repo_id",
    "validate_revision",
]


def __getattr__(name: str) -> object:
    # UrllibTransport needs sockets and threads, which the page has not: import on use.
    if name == "UrllibTransport":
        from .transport import UrllibTransport

        return UrllibTransport
    raise AttributeError(name)
