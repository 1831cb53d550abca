"""A fake Hugging Face Hub for tests: one route table, served three ways.

``FakeHub`` maps request paths to canned answers. ``FakeTransport`` and
``FakeAsyncTransport`` answer from it in-process; ``serve`` answers from it
over real HTTP on 127.0.0.1 so urllib, sockets and timeouts are exercised too.
Nothing here touches the network.
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
from urllib.parse import urlsplit

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
    delay: float = 0.0  # seconds to stall before answering (timeouts)


@dataclass
class Seen:
    url: str
    headers: dict[str, str]


class FakeHub:
    """Route table keyed by path + query (``/api/models/org/name?blobs=true``)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    def add(
        self,
        path: str,
        body: Any = None,
        status: int = 200,
        *,
        headers: Mapping[str, str] | None = None,
        raw: bytes | None = None,
        delay: float = 0.0,
    ) -> None:
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
        self.routes[path] = Route(status, data, dict(headers or {}), delay)

    def add_model(
        self,
        repo: str,
        *,
        config: dict[str, Any] | None = None,
        files: Mapping[str, int] | None = None,
        safetensors: dict[str, int] | None = None,
        extra: dict[str, Any] | None = None,
        revision: str = "main",
    ) -> None:
        """An API answer plus the config.json file of a model repo."""
        names = dict(files) if files is not None else {"config.json": 700}
        api: dict[str, Any] = {
            "id": repo,
            "modelId": repo,
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "private": False,
            "gated": False,
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

    def answer(self, url: str, headers: Mapping[str, str]) -> Route:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        with self.lock:
            self.seen.append(Seen(url, dict(headers)))
        return self.routes.get(
            path, Route(404, b'{"error":"Entry not found"}', {"X-Error-Code": "EntryNotFound"})
        )

    def urls(self) -> list[str]:
        return [s.url for s in self.seen]


class FakeTransport:
    """Sync transport answering from a FakeHub (delays are not slept)."""

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub

    def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Response:
        r = self.hub.answer(url, headers)
        return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.body)


class FakeAsyncTransport:
    """Async transport answering from a FakeHub."""

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub
        self.calls = 0

    async def get(self, url: str, headers: Mapping[str, str], timeout: float) -> Response:
        import asyncio

        self.calls += 1
        await asyncio.sleep(0)
        r = self.hub.answer(url, headers)
        return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.body)


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
                self.wfile.write(route.body)
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
