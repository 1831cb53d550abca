"""The HTTP seam: request/response values and the transport protocols.

A transport does one GET and returns status, headers and body; it never interprets
them (that is :mod:`.status`, once for every caller). Two transports exist: urllib for
the CLI (:mod:`.transport`) and the browser's fetch for the page (:mod:`.browser`).
Nothing here imports a socket, so the page can import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "NO_ANSWER",
    "OFFLINE_MISS",
    "AsyncTransport",
    "Request",
    "Response",
    "Transport",
]

#: Seconds one request may take in all: connecting, redirects and every read.
DEFAULT_TIMEOUT = 15.0
#: Largest answer read: a model API answer listing thousands of files is a few MiB.
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
#: Status of the synthetic response a cache gives when offline and the file is absent.
OFFLINE_MISS = -1
#: Status the client sends an optional request's plan when the request failed outright.
NO_ANSWER = -2


@dataclass(frozen=True)
class Request:
    """One GET the client wants to make, with what it is for (used in messages).

    ``repo_id``/``revision``/``filename`` describe the target; ``filename`` is None for
    the model API. ``headers`` are request-specific (a ``Range``); the token is added by
    the client, never stored here, so a Request can be logged or put in an error without
    leaking it. ``optional`` requests (the "did you mean" search) never fail the fetch:
    any failure reaches the plan as a ``NO_ANSWER`` response. Only ``cacheable`` answers
    are kept, and only once the plan has parsed them.
    """

    url: str
    repo_id: str
    revision: str
    filename: str | None = None  # None: the model API
    headers: tuple[tuple[str, str], ...] = ()
    optional: bool = False
    cacheable: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES
    partial: bool = False  # a byte range: a body cut at max_bytes is what was asked for
    label: str = ""  # what it is, for messages; default from filename

    @property
    def what(self) -> str:
        target = self.label or ("model info" if self.filename is None else self.filename)
        rev = "" if self.revision == "main" else f"@{self.revision}"
        return f"{target} of {self.repo_id}{rev}"


@dataclass(frozen=True)
class Response:
    """One HTTP answer. Header names are lower-cased; ``url`` is the final URL after
    redirects (empty when the transport cannot tell)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    from_cache: bool = False
    url: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Transport(Protocol):
    """A blocking HTTP GET (CPython). ``timeout`` bounds the whole request; at most
    ``max_bytes`` of the body are read (more is an error unless ``partial``)."""

    def get(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        max_bytes: int = DEFAULT_MAX_BYTES,
        partial: bool = False,
    ) -> Response: ...


class AsyncTransport(Protocol):
    """An awaitable HTTP GET (the browser, or asyncio code), same contract."""

    async def get(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        max_bytes: int = DEFAULT_MAX_BYTES,
        partial: bool = False,
    ) -> Response: ...
