"""The HTTP seam: request/response values, transports, and status -> error mapping.

A transport does one GET and returns status, headers and body; it never
interprets them. Everything that gives a status a meaning lives here, once, so
the CLI (urllib) and the page (fetch) say the same thing for the same failure.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import urllib.request

from ..errors import (
    GatedRepoError,
    HubError,
    HubNetworkError,
    OfflineCacheMissError,
    RateLimitedError,
    RepoNotFoundError,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "OFFLINE_MISS",
    "AsyncTransport",
    "Request",
    "Response",
    "Transport",
    "UrllibTransport",
    "check_response",
    "parse_retry_after",
]

log = logging.getLogger("estimator.hub")

#: Seconds to wait for the Hub before giving up on a request.
DEFAULT_TIMEOUT = 15.0
#: Status of the synthetic response a cache gives when offline and the file is absent.
OFFLINE_MISS = -1


@dataclass(frozen=True)
class Request:
    """One GET the client wants to make, with what it is for (used in messages).

    ``repo_id``/``revision``/``filename`` describe the target; ``filename`` is
    None for the model API. Headers are added by the client, never stored here,
    so a Request can be logged or put in an error without leaking a token.
    """

    url: str
    repo_id: str
    revision: str
    filename: str | None = None  # None: the model API

    @property
    def what(self) -> str:
        target = "model info" if self.filename is None else self.filename
        rev = "" if self.revision == "main" else f"@{self.revision}"
        return f"{target} of {self.repo_id}{rev}"


@dataclass(frozen=True)
class Response:
    """One HTTP answer. Header names are lower-cased."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    from_cache: bool = False

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Transport(Protocol):
    """A blocking HTTP GET (CPython)."""

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Response: ...


class AsyncTransport(Protocol):
    """An awaitable HTTP GET (the browser, or asyncio code)."""

    async def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Response: ...


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _repo_hint(repo_id: str, has_token: bool) -> str:
    hints = []
    if "/" not in repo_id:
        hints.append("most ids are 'org/name', e.g. 'Qwen/Qwen2.5-7B-Instruct'")
    else:
        hints.append("check the spelling on https://huggingface.co/models")
    if not has_token:
        hints.append("if it is private, set HF_TOKEN")
    return "; ".join(hints)


def _gated_message(req: Request, has_token: bool) -> str:
    page = f"https://huggingface.co/{req.repo_id}"
    if has_token:
        return (
            f"{req.repo_id} is gated and your token has no access to it: accept its licence on "
            f"{page} with the account the token belongs to"
        )
    return (
        f"{req.repo_id} is gated or private: accept its licence on {page}, then give a token "
        "(set HF_TOKEN, or run `huggingface-cli login`)"
    )


def check_response(
    req: Request, resp: Response, *, endpoint: str, has_token: bool, cache_hint: str = ""
) -> None:
    """Raise the specific HubError for a failed response; return if it is a success.

    Uses the Hub's ``X-Error-Code`` header (RepoNotFound, GatedRepo,
    EntryNotFound, RevisionNotFound) when present, the status otherwise.
    """
    if resp.ok:
        return
    status = resp.status
    code = resp.headers.get("x-error-code", "")
    log.debug("HTTP %s (%s) for %s", status, code or "-", req.what)
    if status == OFFLINE_MISS:
        where = f" in {cache_hint}" if cache_hint else ""
        raise OfflineCacheMissError(
            f"HF_HUB_OFFLINE is set and the {req.what} is not cached{where}; "
            "run once online (or unset HF_HUB_OFFLINE)"
        )
    if code == "GatedRepo" or (status in (401, 403) and code not in ("RepoNotFound",)):
        raise GatedRepoError(_gated_message(req, has_token))
    if code == "RevisionNotFound" or (
        code == "" and status == 404 and req.revision != "main" and req.filename is None
    ):
        raise RepoNotFoundError(
            f"revision {req.revision!r} not found in {req.repo_id}; use a branch, tag or commit "
            "hash that exists"
        )
    if code == "EntryNotFound":
        raise RepoNotFoundError(f"{req.filename} not found in {req.repo_id} at {req.revision}")
    if code == "RepoNotFound" or status == 404:
        raise RepoNotFoundError(
            f"model {req.repo_id!r} not found on {endpoint} ({_repo_hint(req.repo_id, has_token)})"
        )
    if status == 429:
        retry = parse_retry_after(resp.headers.get("retry-after"))
        after = f"; retry after {retry:.0f} s" if retry is not None else "; wait a minute"
        advice = "" if has_token else " (a token raises the limit: set HF_TOKEN)"
        raise RateLimitedError(f"the Hub is rate-limiting requests{after}{advice}", retry)
    if status >= 500:
        raise HubNetworkError(
            f"the Hub answered HTTP {status} for the {req.what}; it may be down, try again later"
        )
    raise HubError(f"unexpected HTTP {status} for the {req.what}")


class UrllibTransport:
    """CPython transport on urllib; the token never follows a redirect to another host.

    urllib copies every header to a redirect target, so the Authorization
    header is registered as "unredirected" and re-added only for same-origin
    redirects (a renamed repo), never for a CDN on another host.
    """

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Response:
        import socket
        import urllib.error
        import urllib.request

        request = urllib.request.Request(url, method="GET")
        for name, value in headers.items():
            if name.lower() == "authorization":
                request.add_unredirected_header("Authorization", value)
            else:
                request.add_header(name, value)
        opener = urllib.request.build_opener(_same_origin_auth_handler())
        host = urlsplit(url).netloc
        try:
            with opener.open(request, timeout=timeout) as answer:
                body = answer.read()
                return Response(answer.status, _lower(answer.headers.items()), body)
        except urllib.error.HTTPError as err:
            try:
                body = err.read()
            except OSError:
                body = b""
            return Response(err.code, _lower(err.headers.items() if err.headers else ()), body)
        except TimeoutError:
            raise HubNetworkError(f"{host} did not answer within {timeout:g} s") from None
        except urllib.error.URLError as err:
            reason = err.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise HubNetworkError(f"{host} did not answer within {timeout:g} s") from None
            raise HubNetworkError(f"cannot reach {host}: {reason}") from None
        except OSError as err:
            raise HubNetworkError(f"cannot reach {host}: {err.strerror or err}") from None


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


def _same_origin_auth_handler() -> urllib.request.BaseHandler:
    import urllib.request

    class SameOriginAuth(urllib.request.HTTPRedirectHandler):
        def redirect_request(  # type: ignore[no-untyped-def]
            self, req, fp, code, msg, headers, newurl
        ):
            new = super().redirect_request(req, fp, code, msg, headers, newurl)
            auth = req.unredirected_hdrs.get("Authorization")
            if new is not None and auth and _origin(newurl) == _origin(req.full_url):
                new.add_unredirected_header("Authorization", auth)
            return new

    return SameOriginAuth()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()
