"""``HubClient``: drives the request plan over a sync or async transport.

The plan (:mod:`.plan`) decides what to fetch; this module only supplies the
answers: from the cache, from the network, or "missing" when offline. The two
drivers, :meth:`HubClient.fetch_model` and :meth:`HubClient.fetch_model_async`,
differ only in whether they await the transport.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Mapping
from typing import Any, cast

from .. import __version__ as _version
from ..errors import EstimatorError
from . import env as hub_env
from .cache import DEFAULT_MAX_AGE, Cache, DiskCache, HfHubFiles
from .http import (
    DEFAULT_TIMEOUT,
    OFFLINE_MISS,
    AsyncTransport,
    Request,
    Response,
    Transport,
    UrllibTransport,
)
from .info import HubModelInfo
from .plan import Context, Plan, model_plan
from .urls import HUB_HOSTS, ModelRef, parse_model_ref

__all__ = ["HubClient"]

log = logging.getLogger("estimator.hub")

#: Statuses worth one more try after a pause: the Hub's proxies hiccup.
RETRY_STATUSES = (502, 503, 504)


class HubClient:
    """Fetch model configs and weight metadata from the Hugging Face Hub.

    ``transport`` does the GETs (:class:`UrllibTransport` by default; the page
    passes :class:`estimator.hub.browser.PyfetchTransport`). ``token`` is sent
    only as ``Authorization: Bearer`` to ``endpoint``, never in a URL, and is
    scrubbed from any error text. ``cache`` keeps successful bodies; with
    ``offline`` set, only the cache and ``local_files`` are read.
    Use :meth:`from_env` for the CLI's environment-driven setup.
    """

    def __init__(
        self,
        transport: Transport | AsyncTransport | None = None,
        *,
        endpoint: str = hub_env.DEFAULT_ENDPOINT,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        cache: Cache | None = None,
        offline: bool = False,
        local_files: HfHubFiles | None = None,
        max_age: float | None = DEFAULT_MAX_AGE,
        retries: int = 1,
        retry_pause: float = 1.0,
    ) -> None:
        self.transport = transport if transport is not None else UrllibTransport()
        self.endpoint = endpoint.rstrip("/")
        self._token = token or None
        self.timeout = timeout
        self.cache = cache
        self.offline = offline
        self.local_files = local_files
        self.max_age = max_age
        self.retries = max(0, retries)
        self.retry_pause = retry_pause
        cache_root = getattr(cache, "root", None)
        self._context = Context(
            self.endpoint,
            self._token is not None,
            str(cache_root) if cache_root is not None else "",
        )

    def __repr__(self) -> str:  # never shows the token
        token = "set" if self._token else "none"
        return f"HubClient(endpoint={self.endpoint!r}, token={token}, offline={self.offline})"

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        transport: Transport | AsyncTransport | None = None,
        endpoint: str | None = None,
        use_cache: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> HubClient:
        """A client set up like huggingface_hub: HF_ENDPOINT, HF_TOKEN / token file,
        HF_HUB_OFFLINE, a disk cache (LLM_MEM_CACHE) and the HF download cache."""
        return cls(
            transport,
            endpoint=endpoint or hub_env.endpoint(env),
            token=hub_env.token(env),
            timeout=timeout,
            cache=DiskCache(hub_env.cache_dir(env)) if use_cache else None,
            offline=hub_env.is_offline(env),
            local_files=HfHubFiles(hub_env.hf_hub_cache(env)),
        )

    # -- public API --------------------------------------------------------------------

    def parse_ref(self, model: str | ModelRef, revision: str | None = None) -> ModelRef:
        """Parse what a user typed, also accepting URLs on this client's endpoint."""
        if isinstance(model, ModelRef):
            if revision is None:
                return model
            return ModelRef(model.repo_id, revision, model.filename, True)
        host = self.endpoint.split("://", 1)[-1].split("/", 1)[0]
        extra = () if host in HUB_HOSTS else (host,)
        return parse_model_ref(model, revision, extra_hosts=extra)

    def fetch_model(
        self, model: str | ModelRef, revision: str | None = None, gguf_file: str | None = None
    ) -> HubModelInfo:
        """Fetch config.json, weight metadata and GGUF choices (blocking)."""
        ref = self.parse_ref(model, revision)
        return self._scrubbed(lambda: self._drive_sync(model_plan(self._context, ref, gguf_file)))

    async def fetch_model_async(
        self, model: str | ModelRef, revision: str | None = None, gguf_file: str | None = None
    ) -> HubModelInfo:
        """Same as :meth:`fetch_model`, awaiting the transport (the page's entry point)."""
        ref = self.parse_ref(model, revision)
        try:
            return await self._drive_async(model_plan(self._context, ref, gguf_file))
        except EstimatorError as err:
            raise self._scrub(err) from None

    # -- drivers -----------------------------------------------------------------------

    def _drive_sync(self, plan: Plan) -> HubModelInfo:
        try:
            req = next(plan)
            while True:
                resp = self._before(req)
                if resp is None:
                    resp = self._get_sync(req)
                self._after(req, resp)
                req = plan.send(resp)
        except StopIteration as done:
            return cast(HubModelInfo, done.value)

    async def _drive_async(self, plan: Plan) -> HubModelInfo:
        try:
            req = next(plan)
            while True:
                resp = self._before(req)
                if resp is None:
                    resp = await self._get_async(req)
                self._after(req, resp)
                req = plan.send(resp)
        except StopIteration as done:
            return cast(HubModelInfo, done.value)

    def _get_sync(self, req: Request) -> Response:
        for attempt in range(self.retries + 1):
            result = self.transport.get(req.url, self._headers(), self.timeout)
            if inspect.isawaitable(result):
                close = getattr(result, "close", None)
                if close is not None:
                    close()
                raise TypeError("this transport is async: use fetch_model_async")
            resp = result
            if resp.status not in RETRY_STATUSES or attempt == self.retries:
                break
            log.debug("HTTP %s for %s, retrying", resp.status, req.what)
            time.sleep(self.retry_pause)
        return resp

    async def _get_async(self, req: Request) -> Response:
        for attempt in range(self.retries + 1):
            result: Any = self.transport.get(req.url, self._headers(), self.timeout)
            resp = cast(Response, await result if inspect.isawaitable(result) else result)
            if resp.status not in RETRY_STATUSES or attempt == self.retries:
                break
            log.debug("HTTP %s for %s, retrying", resp.status, req.what)
            await asyncio.sleep(self.retry_pause)
        return resp

    # -- shared steps ------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"llm-mem/{_version}"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _before(self, req: Request) -> Response | None:
        """A cached (or, offline, a missing) answer; None means ask the network."""
        if self.offline:
            body = self.cache.get(req.url, None) if self.cache is not None else None
            if body is None and self.local_files is not None and req.filename is not None:
                body = self.local_files.read(req.repo_id, req.revision, req.filename)
            log.debug("offline %s for %s", "hit" if body is not None else "miss", req.what)
            return Response(200, {}, body, True) if body is not None else Response(OFFLINE_MISS)
        if self.cache is not None:
            body = self.cache.get(req.url, self.max_age)
            if body is not None:
                log.debug("cache hit for %s", req.what)
                return Response(200, {}, body, True)
        log.debug("GET %s", req.url)
        return None

    def _after(self, req: Request, resp: Response) -> None:
        if resp.ok and not resp.from_cache and self.cache is not None:
            self.cache.put(req.url, resp.body)

    def _scrub(self, err: EstimatorError) -> EstimatorError:
        """Remove the token from an error's text, whatever put it there."""
        token = self._token
        if token and any(token in str(a) for a in err.args):
            err.args = tuple(str(a).replace(token, "***") for a in err.args)
        return err

    def _scrubbed(self, call: Any) -> HubModelInfo:
        try:
            return cast(HubModelInfo, call())
        except EstimatorError as err:
            raise self._scrub(err) from None
