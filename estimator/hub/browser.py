"""Transport for the page: ``pyodide.http.pyfetch`` (the browser's fetch).

Imported only in Pyodide; ``pyodide`` is imported inside :meth:`get`, so
CPython can import this module (for tests and type checks) without it. The
browser drops forbidden headers such as User-Agent on its own, and per the
Fetch standard strips Authorization on a cross-origin redirect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..errors import HubNetworkError
from .http import Response

__all__ = ["PyfetchTransport"]

_FORBIDDEN = {"user-agent"}


class PyfetchTransport:
    """An :class:`~estimator.hub.http.AsyncTransport` over ``pyfetch``.

    ``fetch`` can be injected (tests, or a page that wraps fetch); by default it
    is ``pyodide.http.pyfetch``.
    """

    def __init__(self, fetch: Any = None) -> None:
        self._fetch = fetch

    async def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Response:
        fetch = self._fetch
        if fetch is None:
            from pyodide.http import pyfetch  # type: ignore[import-not-found]

            fetch = pyfetch
        sent = {k: v for k, v in headers.items() if k.lower() not in _FORBIDDEN}
        host = urlsplit(url).netloc
        try:
            answer = await asyncio.wait_for(fetch(url, method="GET", headers=sent), timeout)
            body = await asyncio.wait_for(answer.bytes(), timeout)
        except asyncio.TimeoutError:
            raise HubNetworkError(f"{host} did not answer within {timeout:g} s") from None
        except Exception as err:  # pyfetch raises OSError or a JsException on network errors
            name = type(err).__name__
            raise HubNetworkError(
                f"cannot reach {host} ({name}; offline, blocked, or a CORS error)"
            ) from None
        raw_headers = getattr(answer, "headers", {}) or {}
        return Response(
            int(answer.status), {str(k).lower(): str(v) for k, v in dict(raw_headers).items()}, body
        )
