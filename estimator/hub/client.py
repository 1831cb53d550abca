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
from ..errors import EstimatorError, HubError
from . import env as hub_env
from .cache import DEFAULT_MAX_AGE, Cache, DiskCache, HfHubFiles
from .http import (
    DEFAULT_TIMEOUT,
    NO_ANSWER,
    OFFLINE_MISS,
    AsyncTransport,
    Request,
    Response,
    Transport,
)
from .info import HubModelInfo
from .plan import Context, Plan, model_plan
from .urls import (
    HUB_HOSTS,
    ModelRef,
    parse_model_ref,
    validate_endpoint,
    validate_repo_id,
    validate_revision,
)

__all__ = ["HubClient"]

log = logging.getLogger("estimator.hub")

#: Statuses worth one more try after a pause: the Hub's proxies hiccup.
RETRY_STATUSES = (502, 503, 504)
#: Seconds an optional request (the "did you mean" search) may take: it only adds to
#: an error the user is already waiting for.
OPTIONAL_TIMEOUT = 5.0


class HubClient:
    """Fetch model configs and weight metadata from the Hugging Face Hub.

    ``transport`` does the GETs (:class:`~estimator.hub.transport.UrllibTransport` by
    default; the page passes :class:`estimator.hub.browser.PyfetchTransport`). ``endpoint``
    must be an http(s) URL. ``token`` is sent only as ``Authorization: Bearer`` to
    ``endpoint``, never in a URL, and is scrubbed from any error text. ``timeout`` bounds
    each request as a whole. ``cache`` keeps answers, and only once a whole fetch has
    succeeded, so a captive portal's page or a cut-off body is never stored; with
    ``offline`` set, only the cache and ``local_files`` are read. ``suggest`` asks the
    Hub's search for close ids after a "not found". Use :meth:`from_env` for the CLI's
    environment-driven setup.
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
        suggest: bool = True,
    ) -> None:
        if transport is None:
            from .transport import UrllibTransport  # sockets and threads: not in the page

            transport = UrllibTransport()
        self.transport = transport
        self.endpoint = validate_endpoint(endpoint)
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
            suggest,
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
            validate_repo_id(model.repo_id)
            if revision is None:
                validate_revision(model.revision)
                return model
            return ModelRef(model.repo_id, validate_revision(revision), model.filename, True)
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
    # Answers are cached only when the plan has returned: every body it was sent has then
    # been parsed and used, so nothing malformed is ever stored.

    def _drive_sync(self, plan: Plan) -> HubModelInfo:
        pending: list[tuple[Request, Response]] = []
        try:
            req = next(plan)
            while True:
                resp = self._before(req)
                if resp is None:
                    resp = self._get_sync(req)
                pending.append((req, resp))
                req = plan.send(resp)
        except StopIteration as done:
            self._commit(pending)
            return cast(HubModelInfo, done.value)

    async def _drive_async(self, plan: Plan) -> HubModelInfo:
        pending: list[tuple[Request, Response]] = []
        try:
            req = next(plan)
            while True:
                resp = self._before(req)
                if resp is None:
                    resp = await self._get_async(req)
                pending.append((req, resp))
                req = plan.send(resp)
        except StopIteration as done:
            self._commit(pending)
            return cast(HubModelInfo, done.value)

    def _get_sync(self, req: Request) -> Response:
        retries = 0 if req.optional else self.retries
        for attempt in range(retries + 1):
            try:
                result: Any = self._call(req)
            except HubError:
                if req.optional:
                    return Response(NO_ANSWER)
                raise
            if inspect.isawaitable(result):
                close = getattr(result, "close", None)
                if close is not None:
                    close()
                raise TypeError("this transport is async: use fetch_model_async")
            resp = cast(Response, result)
            if resp.status not in RETRY_STATUSES or attempt == retries:
                break
            log.debug("HTTP %s for %s, retrying", resp.status, req.what)
            time.sleep(self.retry_pause)
        return resp

    async def _get_async(self, req: Request) -> Response:
        retries = 0 if req.optional else self.retries
        for attempt in range(retries + 1):
            try:
                result: Any = self._call(req)
                resp = cast(Response, await result if inspect.isawaitable(result) else result)
            except HubError:
                if req.optional:
                    return Response(NO_ANSWER)
                raise
            if resp.status not in RETRY_STATUSES or attempt == retries:
                break
            log.debug("HTTP %s for %s, retrying", resp.status, req.what)
            await asyncio.sleep(self.retry_pause)
        return resp

    def _call(self, req: Request) -> Any:
        headers = self._headers()
        headers.update(req.headers)
        timeout = min(self.timeout, OPTIONAL_TIMEOUT) if req.optional else self.timeout
        return self.transport.get(req.url, headers, timeout, req.max_bytes, req.partial)

    # -- shared steps ------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"llm-mem/{_version}"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _before(self, req: Request) -> Response | None:
        """A cached (or, offline, a missing) answer; None means ask the network."""
        if self.offline:
            body = None
            if req.cacheable and self.cache is not None:
                body = self.cache.get(req.url, None)
            local = self.local_files
            if body is None and local is not None and req.filename and not req.headers:
                body = local.read(req.repo_id, req.revision, req.filename)
            log.debug("offline %s for %s", "hit" if body is not None else "miss", req.what)
            return Response(200, {}, body, True) if body is not None else Response(OFFLINE_MISS)
        if self.cache is not None and req.cacheable:
            body = self.cache.get(req.url, self.max_age)
            if body is not None:
                log.debug("cache hit for %s", req.what)
                return Response(200, {}, body, True)
        log.debug("GET %s", req.url)
        return None

    def _commit(self, pending: list[tuple[Request, Response]]) -> None:
        """Store the successful answers of a fetch that succeeded as a whole."""
        if self.cache is None:
            return
        for req, resp in pending:
            if resp.ok and not resp.from_cache and req.cacheable:
                self.cache.put(req.url, resp.body)

    def _scrub(self, err: EstimatorError) -> EstimatorError:
        """Remove the token from an error's text and what the server said, whatever put
        it there (a hostile endpoint can echo the Authorization header back)."""
        token = self._token
        if token and any(token in str(a) for a in err.args):
            err.args = tuple(str(a).replace(token, "***") for a in err.args)
        said = getattr(err, "server_message", None)
        if token and isinstance(said, str) and token in said:
            err.server_message = said.replace(token, "***")  # type: ignore[attr-defined]
        return err

    def _scrubbed(self, call: Any) -> HubModelInfo:
        try:
            return cast(HubModelInfo, call())
        except EstimatorError as err:
            raise self._scrub(err) from None
