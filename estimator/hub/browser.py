"""Transport for the page: ``pyodide.http.pyfetch`` (the browser's fetch).

Imported only in Pyodide; ``pyodide`` is imported inside :meth:`get`, so
CPython can import this module (for tests and type checks) without it. The
browser drops forbidden headers such as User-Agent on its own, and per the
Fetch standard strips Authorization on a cross-origin redirect. One deadline
covers the whole request (the answer's headers and its body together).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import HubNetworkError, HubTimeoutError, InvalidResponseError
from .http import DEFAULT_MAX_BYTES, Response

__all__ = ["PyfetchTransport"]

_FORBIDDEN = {"user-agent"}


class PyfetchTransport:
    """An :class:`~estimator.hub.http.AsyncTransport` over ``pyfetch``.

    ``fetch`` can be injected (tests, or a page that wraps fetch); by default it
    is ``pyodide.http.pyfetch``.
    """

    def __init__(self, fetch: Any = None) -> None:
        self._fetch = fetch

    async def get(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        max_bytes: int = DEFAULT_MAX_BYTES,
        partial: bool = False,
    ) -> Response:
        fetch = self._fetch
        if fetch is None:
            from pyodide.http import pyfetch  # type: ignore[import-not-found]

            fetch = pyfetch
        sent = {k: v for k, v in headers.items() if k.lower() not in _FORBIDDEN}
        host = urlsplit(url).netloc
        deadline = time.monotonic() + timeout
        try:
            answer = await asyncio.wait_for(fetch(url, method="GET", headers=sent), timeout)
            raw_headers = getattr(answer, "headers", {}) or {}
            head = {str(k).lower(): str(v) for k, v in dict(raw_headers).items()}
            declared = head.get("content-length", "")
            too_big = declared.isdigit() and len(declared) < 16 and int(declared) > max_bytes
            if too_big and not partial:
                raise InvalidResponseError(
                    f"the answer is larger than {max_bytes / 2**20:.0f} MiB; not read"
                )
            left = max(deadline - time.monotonic(), 0.001)
            body = await asyncio.wait_for(_body(answer, max_bytes, partial), left)
        except asyncio.TimeoutError:
            raise HubTimeoutError(f"{host} did not answer within {timeout:g} s") from None
        except InvalidResponseError:
            raise
        except Exception as err:  # pyfetch raises OSError or a JsException on network errors
            name = type(err).__name__
            raise HubNetworkError(
                f"cannot reach {host} ({name}; offline, blocked, or a CORS error)"
            ) from None
        final = getattr(answer, "url", "") or url
        return Response(int(answer.status), head, body, url=str(final))


async def _body(answer: Any, max_bytes: int, partial: bool) -> bytes:
    """At most ``max_bytes`` of the body: streamed through the JS reader when the answer
    has one (a server ignoring a Range header must not make the page read gigabytes)."""
    js = getattr(answer, "js_response", None)
    stream = getattr(js, "body", None) if js is not None else None
    if stream is None:
        body = bytes(await answer.bytes())
    else:
        reader = stream.getReader()
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            part = await reader.read()
            if part.done:
                break
            chunk = bytes(part.value.to_bytes())
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            await reader.cancel()
        body = b"".join(chunks)
    if len(body) > max_bytes:
        if partial:
            return body[:max_bytes]
        raise InvalidResponseError(
            f"the answer is larger than {max_bytes / 2**20:.0f} MiB; not read"
        )
    return body
