"""HubClient with the real urllib transport against a local HTTP server (127.0.0.1).

HF_ENDPOINT points at the server, as a user with a mirror would set it, so the
environment handling, sockets, timeouts and redirects are all exercised.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
from fakehub import LLAMA_CONFIG, TOKEN, FakeHub, serve

from estimator.errors import (
    GatedRepoError,
    HubError,
    HubNetworkError,
    InvalidResponseError,
    RateLimitedError,
    RepoNotFoundError,
)
from estimator.hub import HubClient

REPO = "Qwen/Qwen2.5-7B-Instruct"
API_PATH = f"/api/models/{REPO}?blobs=true"


def env_client(monkeypatch: pytest.MonkeyPatch, endpoint: str, **kw: object) -> HubClient:
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    c = HubClient.from_env(use_cache=False, timeout=float(kw.pop("timeout", 5.0)))  # type: ignore[arg-type]
    c.retry_pause = 0.0
    return c


def test_fetch_over_http(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.add_model(REPO, config=LLAMA_CONFIG, safetensors={"BF16": 7615616512})
    with serve(hub) as endpoint:
        info = env_client(monkeypatch, endpoint).fetch_model(REPO)
    assert info.config == LLAMA_CONFIG
    assert info.weights.safetensors_parameters == {"BF16": 7615616512}
    for seen in hub.seen:
        assert seen.url.startswith(endpoint) and TOKEN not in seen.url
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["User-Agent"].startswith("llm-mem/")


@pytest.mark.parametrize(
    ("status", "headers", "error", "text"),
    [
        (404, {"X-Error-Code": "RepoNotFound"}, RepoNotFoundError, "not found"),
        (401, {}, GatedRepoError, "accept its licence"),
        (403, {"X-Error-Code": "GatedRepo"}, GatedRepoError, "huggingface.co/" + REPO),
        (429, {"Retry-After": "7"}, RateLimitedError, "retry after 7 s"),
        (500, {}, HubNetworkError, "HTTP 500"),
        (302, {}, HubError, "unexpected HTTP 302"),  # redirect without Location
    ],
)
def test_statuses_over_http(
    hub: FakeHub,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    headers: dict[str, str],
    error: type[Exception],
    text: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hub.add(API_PATH, {"error": TOKEN}, status, headers=headers)
    with serve(hub) as endpoint, pytest.raises(error) as info:
        env_client(monkeypatch, endpoint).fetch_model(REPO)
    assert text in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in caplog.text
    if status == 429:
        assert isinstance(info.value, RateLimitedError) and info.value.retry_after == 7.0


def test_non_json_over_http(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.add(API_PATH, raw=b"<!DOCTYPE html><title>Captive portal</title>")
    with serve(hub) as endpoint, pytest.raises(InvalidResponseError, match="HTML"):
        env_client(monkeypatch, endpoint).fetch_model(REPO)


def test_timeout_over_http(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.add(API_PATH, {"id": REPO}, delay=1.0)
    with serve(hub) as endpoint, pytest.raises(HubNetworkError, match=r"within 0\.2 s") as info:
        env_client(monkeypatch, endpoint, timeout=0.2).fetch_model(REPO)
    assert TOKEN not in str(info.value)


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HubNetworkError, match=f"cannot reach 127.0.0.1:{port}") as info:
        env_client(monkeypatch, f"http://127.0.0.1:{port}").fetch_model(REPO)
    assert TOKEN not in str(info.value)


def test_same_origin_redirect_keeps_token(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    # A renamed repo: the Hub redirects to the new name on the same host.
    hub.add_model("new/name", safetensors={"BF16": 1})
    hub.add(
        "/api/models/old/name?blobs=true",
        status=307,
        headers={"Location": "/api/models/new/name?blobs=true"},
    )
    hub.add(
        "/old/name/resolve/main/config.json",
        status=307,
        headers={"Location": "/new/name/resolve/main/config.json"},
    )
    with serve(hub) as endpoint:
        info = env_client(monkeypatch, endpoint).fetch_model("old/name")
    assert info.repo_id == "new/name"
    assert all(s.headers.get("Authorization") == f"Bearer {TOKEN}" for s in hub.seen)


def test_cross_origin_redirect_drops_token(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    cdn = FakeHub()
    cdn.add("/blob/config.json", LLAMA_CONFIG)
    hub.add_model(REPO, safetensors={"BF16": 1})
    with serve(cdn, "localhost") as cdn_endpoint, serve(hub) as endpoint:
        hub.add(
            f"/{REPO}/resolve/main/config.json",
            status=302,
            headers={"Location": f"{cdn_endpoint}/blob/config.json"},
        )
        info = env_client(monkeypatch, endpoint).fetch_model(REPO)
    assert info.config == LLAMA_CONFIG
    assert cdn.seen and all("Authorization" not in s.headers for s in cdn.seen)


def test_disk_cache_over_http(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LLM_MEM_CACHE", str(tmp_path / "cache"))
    hub.add_model(REPO, config=LLAMA_CONFIG, safetensors={"BF16": 1})
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        first = HubClient.from_env().fetch_model(REPO)
        n = len(hub.seen)
        assert HubClient.from_env().fetch_model(REPO) == first and len(hub.seen) == n
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        assert HubClient.from_env().fetch_model(REPO) == first and len(hub.seen) == n
    cached = list((tmp_path / "cache").rglob("*"))
    assert any(p.is_file() for p in cached)
    for p in cached:
        if p.is_file():
            assert TOKEN.encode() not in p.read_bytes()
