"""A fake Hugging Face Hub for tests: the real Hub's rules, served three ways.

``FakeHub`` holds repos (public, private, gated, renamed, disabled) and answers as
huggingface.co does, with the recorded shapes of :mod:`realhub`: an unknown or private
repo is a 401 "Invalid username or password." without a token and a 404 RepoNotFound
with one, a gated repo's files are 401/403 GatedRepo, an unknown token is refused on
every request, the search API matches substrings. Explicit routes (``add``) override
the rules for one path. ``FakeTransport`` and ``FakeAsyncTransport`` answer in-process;
``serve`` answers over real HTTP on 127.0.0.1 (trickling, truncated bodies and Range
included) so urllib, sockets, deadlines and redirects are exercised too. Nothing here
touches the network.
"""

from __future__ import annotations

import glob
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import realhub

from estimator.hub.http import Response

#: A fake token; tests assert it never shows up anywhere but the Authorization header.
TOKEN = "hf_SECRETtokenDoNotLeak0123456789"

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "configs"

LLAMA_CONFIG: dict[str, Any] = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "max_position_embeddings": 131072,
    "vocab_size": 128256,
    "rms_norm_eps": 1e-05,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}


def fixture_config() -> dict[str, Any]:
    """A real config.json from tests/fixtures/configs (a Llama one if present)."""
    paths = sorted(glob.glob(str(FIXTURES / "*.json")))
    preferred = [p for p in paths if "llama" in p.lower()] or paths
    if not preferred:
        return dict(LLAMA_CONFIG)
    data: dict[str, Any] = json.loads(Path(preferred[0]).read_text(encoding="utf-8"))
    return data


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to stall before answering
    trickle: float = 0.0  # over HTTP: seconds between single bytes of the body
    truncate_at: int | None = None  # over HTTP: close after this many body bytes

    @classmethod
    def of(cls, shape: realhub.Shape) -> Route:
        return cls(shape.status, shape.body, dict(shape.headers))


@dataclass
class Seen:
    url: str
    headers: dict[str, str]


@dataclass
class Repo:
    """How a repo behaves: who may read it."""

    private: bool = False
    readers: frozenset[str] = frozenset()  # tokens that may read a private repo
    gated: str | None = None  # "auto" | "manual"
    granted: frozenset[str] = frozenset()  # tokens whose account may read a gated repo
    disabled: bool = False


class FakeHub:
    """Repos, explicit routes keyed by path + query, and the real Hub's rules."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.repos: dict[str, Repo] = {}
        self.renames: dict[str, str] = {}
        self.valid_tokens: set[str] = {TOKEN}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    # -- building --------------------------------------------------------------------

    def add(
        self,
        path: str,
        body: Any = None,
        status: int = 200,
        *,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        delay: float = 0.0,
        trickle: float = 0.0,
        truncate_at: int | None = None,
    ) -> None:
        """An explicit answer for one path (it wins over the repo rules)."""
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
        self.routes[path] = Route(status, data, dict(headers or {}), delay, trickle, truncate_at)

    def add_shape(self, path: str, shape: realhub.Shape) -> None:
        self.routes[path] = Route.of(shape)

    def add_model(
        self,
        repo: str,
        *,
        config: dict[str, Any] | None = None,
        files: Mapping[str, int] | None = None,
        safetensors: dict[str, int] | None = None,
        extra: dict[str, Any] | None = None,
        revision: str = "main",
        gated: str | None = None,
        granted: frozenset[str] = frozenset(),
        private: bool = False,
        readers: frozenset[str] = frozenset(),
    ) -> None:
        """An API answer plus the config.json file of a model repo."""
        self.repos[repo] = Repo(private, readers, gated, granted)
        names = dict(files) if files is not None else {"config.json": 700}
        api: dict[str, Any] = {
            "_id": "0123456789abcdef01234567",
            "id": repo,
            "modelId": repo,
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "private": private,
            "gated": gated or False,
            "disabled": False,
            "pipeline_tag": "text-generation",
            "library_name": "transformers",
            "tags": ["transformers", "safetensors"],
            "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
            "siblings": [{"rfilename": n, "blobId": "x", "size": s} for n, s in names.items()],
        }
        if safetensors is not None:
            api["safetensors"] = {"parameters": safetensors, "total": sum(safetensors.values())}
        api.update(extra or {})
        rev = "" if revision == "main" else f"/revision/{revision}"
        self.add(f"/api/models/{repo}{rev}?blobs=true", api)
        if "config.json" in names:
            self.add(f"/{repo}/resolve/{revision}/config.json", config or fixture_config())

    def disable(self, repo: str) -> None:
        self.repos.setdefault(repo, Repo()).disabled = True

    def rename(self, old: str, new: str) -> None:
        """Every path under ``old`` answers 307 to the same path under ``new``."""
        self.renames[old] = new

    # -- answering -------------------------------------------------------------------

    def answer(self, url: str, headers: Mapping[str, str]) -> Route:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lowered = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            self.seen.append(Seen(url, dict(headers)))
        auth = lowered.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth else None
        if token is not None and token not in self.valid_tokens:
            return Route.of(realhub.BAD_TOKEN_ANSWER)
        if parts.path == "/api/models" and "search" in parse_qs(parts.query):
            return self._search(parse_qs(parts.query))
        repo, kind = _repo_of(parts.path)
        if repo is not None:
            for old, new in self.renames.items():
                if repo == old:
                    target = path.replace(f"/{old}/", f"/{new}/", 1).replace(
                        f"/{old}?", f"/{new}?", 1
                    )
                    return Route.of(realhub.renamed(target))
        route = self.routes.get(path)
        info = self.repos.get(repo or "")
        if info is not None and info.disabled:
            return Route.of(realhub.DISABLED_ANSWER)
        if info is not None and info.private and token not in info.readers:
            route = None  # a private repo is indistinguishable from a missing one
            info = None
        if info is not None and info.gated and kind == "file" and token not in info.granted:
            shape = realhub.gated_not_granted if token else realhub.gated_no_token
            return Route.of(shape(repo or ""))
        if route is not None:
            return _ranged(route, lowered.get("range"))
        if info is None:
            return Route.of(realhub.NOT_FOUND_WITH_TOKEN if token else realhub.NOT_FOUND_NO_TOKEN)
        return Route.of(realhub.ENTRY_NOT_FOUND)

    def _search(self, query: dict[str, list[str]]) -> Route:
        text = query["search"][0].lower()
        author = query.get("author", [""])[0]
        limit = int(query.get("limit", ["20"])[0])
        ids = [
            r
            for r, info in self.repos.items()
            if text in r.lower() and not info.private and (not author or r.startswith(author + "/"))
        ]
        body = [{"_id": "x", "id": r, "likes": 0, "downloads": 0, "private": False} for r in ids]
        return Route(200, json.dumps(body[:limit]).encode(), {"Content-Type": "application/json"})

    def urls(self) -> list[str]:
        return [s.url for s in self.seen]


def _repo_of(path: str) -> tuple[str | None, str]:
    """(repo id, "api" | "file") of a Hub path, or (None, "") for anything else."""
    segments = [unquote(s) for s in path.strip("/").split("/")]
    if segments[:2] == ["api", "models"] and len(segments) >= 3:
        rest = segments[2:]
        if len(rest) >= 2 and rest[1] != "revision":
            return f"{rest[0]}/{rest[1]}", "api"
        return rest[0], "api"
    if "resolve" in segments:
        at = segments.index("resolve")
        if 1 <= at <= 2:
            return "/".join(segments[:at]), "file"
    return None, ""


def _ranged(route: Route, range_header: str | None) -> Route:
    """A 206 slice for ``Range: bytes=a-b`` on a 200 route, as the Hub's CDN answers."""
    if not range_header or route.status != 200 or not range_header.startswith("bytes="):
        return route
    start_text, _, end_text = range_header.removeprefix("bytes=").partition("-")
    start = int(start_text or 0)
    end = int(end_text) if end_text else len(route.body) - 1
    body = route.body[start : end + 1]
    headers = {**route.headers, "Content-Range": f"bytes {start}-{end}/{len(route.body)}"}
    return Route(206, body, headers, route.delay, route.trickle, route.truncate_at)


class FakeTransport:
    """Sync transport answering from a FakeHub; follows the Hub's 307s like urllib."""

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub

    def get(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        max_bytes: int = 1 << 25,
        partial: bool = False,
    ) -> Response:
        for _ in range(5):
            r = self.hub.answer(url, headers)
            if r.status in (301, 302, 307, 308) and "Location" in r.headers:
                parts = urlsplit(url)
                url = f"{parts.scheme}://{parts.netloc}{r.headers['Location']}"
                continue
            break
        body = r.body[:max_bytes] if partial else r.body
        return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, body, url=url)


class FakeAsyncTransport:
    """Async transport answering from a FakeHub."""

    def __init__(self, hub: FakeHub) -> None:
        self.sync = FakeTransport(hub)
        self.calls = 0

    async def get(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        max_bytes: int = 1 << 25,
        partial: bool = False,
    ) -> Response:
        import asyncio

        self.calls += 1
        await asyncio.sleep(0)
        return self.sync.get(url, headers, timeout, max_bytes, partial)


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = self.headers.get("Host", "127.0.0.1")
            route = hub.answer(f"http://{host}{self.path}", dict(self.headers.items()))
            if route.delay:
                time.sleep(route.delay)
            try:
                self.send_response(route.status)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                body = route.body
                if route.truncate_at is not None:
                    self.wfile.write(body[: route.truncate_at])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if route.trickle:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(route.trickle)
                    return
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve(hub: FakeHub, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``hub`` over HTTP on ``host``; yields the endpoint URL."""
    server = ThreadingHTTPServer((host, 0), _handler(hub))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
