"""The CLI's transport: urllib, one deadline per request, bounded bodies.

urllib's ``timeout`` bounds each socket operation, not the request: a server that
trickles a byte every few seconds keeps it alive forever. Here every socket a request
opens (redirects included) is registered with a :class:`Deadline`; when the request's
time is up a timer shuts them down, which ends any blocked read at once, and the
request fails with :class:`HubTimeoutError`. A body is read up to ``max_bytes``; a
body cut short by the server (fewer bytes than ``Content-Length``) is an error, never a
success that could be parsed or cached.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import HubNetworkError, HubTimeoutError, InvalidResponseError
from .http import DEFAULT_MAX_BYTES, Response

__all__ = ["Deadline", "UrllibTransport"]

_CHUNK = 64 * 1024


class Deadline:
    """The end time of one request and the sockets to shut when it passes."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def register(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class UrllibTransport:
    """CPython transport on urllib; the token never follows a redirect to another host.

    urllib copies every header to a redirect target, so the Authorization header is
    registered as "unredirected" and re-added only for same-origin redirects (a renamed
    repo), never for a CDN on another host.
    """

    def get(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        max_bytes: int = DEFAULT_MAX_BYTES,
        partial: bool = False,
    ) -> Response:
        request = urllib.request.Request(url, method="GET")
        for name, value in headers.items():
            if name.lower() == "authorization":
                request.add_unredirected_header("Authorization", value)
            else:
                request.add_header(name, value)
        deadline = Deadline(timeout)
        opener = urllib.request.build_opener(
            _same_origin_auth_handler(), *_deadline_handlers(deadline)
        )
        host = urlsplit(url).netloc
        timer = threading.Timer(timeout, deadline.expire)
        timer.daemon = True
        timer.start()
        try:
            return self._fetch(opener, request, deadline, max_bytes, partial)
        except (OSError, http.client.HTTPException) as err:
            if deadline.expired or isinstance(err, TimeoutError):
                raise HubTimeoutError(f"{host} did not answer within {timeout:g} s") from None
            if isinstance(err, http.client.IncompleteRead):
                raise HubNetworkError(
                    f"{host} closed the connection before the whole answer arrived"
                ) from None
            if isinstance(err, urllib.error.URLError):
                reason: Any = err.reason
                if isinstance(reason, (TimeoutError, socket.timeout)):
                    raise HubTimeoutError(f"{host} did not answer within {timeout:g} s") from None
                raise HubNetworkError(f"cannot reach {host}: {reason}") from None
            text = getattr(err, "strerror", None) or str(err) or type(err).__name__
            raise HubNetworkError(f"cannot reach {host}: {text}") from None
        finally:
            timer.cancel()

    @staticmethod
    def _fetch(
        opener: urllib.request.OpenerDirector,
        request: urllib.request.Request,
        deadline: Deadline,
        max_bytes: int,
        partial: bool,
    ) -> Response:
        try:
            answer: Any = opener.open(request, timeout=max(deadline.remaining(), 0.001))
        except urllib.error.HTTPError as err:
            answer = err  # an error status still has headers and a body worth reading
        with answer:
            status = int(answer.status if answer.status is not None else answer.code)
            head = _lower(answer.headers.items() if answer.headers else ())
            body = _read(answer, head, max_bytes, partial)
            if deadline.expired:
                raise TimeoutError
            return Response(status, head, body, url=str(answer.geturl() or request.full_url))


def _read(answer: Any, head: Mapping[str, str], max_bytes: int, partial: bool) -> bytes:
    """The body, at most ``max_bytes``; short of Content-Length is a dropped connection."""
    declared = head.get("content-length", "")
    expected = int(declared) if declared.isdigit() and len(declared) < 16 else None
    if expected is not None and expected > max_bytes and not partial:
        raise InvalidResponseError(_too_large(max_bytes, expected))
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = answer.read(min(_CHUNK, max_bytes + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            if partial:
                return b"".join(chunks)[:max_bytes]
            raise InvalidResponseError(_too_large(max_bytes, None))
    if expected is not None and total < expected:
        raise http.client.IncompleteRead(b"".join(chunks), expected - total)
    return b"".join(chunks)


def _too_large(max_bytes: int, size: int | None) -> str:
    said = f" ({size / 2**20:.0f} MiB)" if size is not None else ""
    return f"the answer is larger than {max_bytes / 2**20:.0f} MiB{said}; not read"


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


def _deadline_handlers(deadline: Deadline) -> tuple[urllib.request.BaseHandler, ...]:
    """HTTP(S) handlers whose connections register their sockets with ``deadline``."""

    def bounded(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
        class Connection(base):  # type: ignore[misc,valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                create: Any = getattr(self, "_create_connection", socket.create_connection)

                def create_registered(
                    address: tuple[str, int], timeout: float = 0.0, source: Any = None
                ) -> socket.socket:
                    sock: socket.socket = create(address, max(deadline.remaining(), 0.001), source)
                    deadline.register(sock)
                    return sock

                self._create_connection = create_registered

        return Connection

    http_connection = bounded(http.client.HTTPConnection)
    https_connection = bounded(http.client.HTTPSConnection)

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(http_connection, req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            context = getattr(self, "_context", None)
            return self.do_open(https_connection, req, context=context)

    return Http(), Https()


def _same_origin_auth_handler() -> urllib.request.BaseHandler:
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
