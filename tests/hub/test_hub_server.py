"""HubClient with the real urllib transport against a local HTTP server (127.0.0.1).

HF_ENDPOINT points at the server, as a user with a mirror would set it, so the
environment handling, sockets, timeouts and redirects are all exercised.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import realhub
from fakehub import LLAMA_CONFIG, TOKEN, FakeHub, serve

from estimator.errors import (
    ForbiddenError,
    GatedRepoError,
    HubError,
    HubNetworkError,
    HubTimeoutError,
    InvalidResponseError,
    InvalidTokenError,
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
    ("shape", "error", "kind", "text"),
    [
        (realhub.NOT_FOUND_WITH_TOKEN, RepoNotFoundError, "not_found_or_private",
         "or private and your token cannot read it"),
        (realhub.BAD_TOKEN_ANSWER, InvalidTokenError, "bad_token", "the Hub refused the token"),
        (realhub.gated_not_granted(REPO), GatedRepoError, "gated", "is gated and your token"),
        (realhub.PLAIN_403, ForbiddenError, "forbidden", "(HTTP 403): your token lacks"),
        (realhub.DISABLED_ANSWER, ForbiddenError, "disabled", "is disabled on"),
        (realhub.RATE_LIMITED, RateLimitedError, "rate_limited", "retry in 55 s"),
        (realhub.Shape(500), HubNetworkError, "server_error", "HTTP 500"),
        (realhub.Shape(302), HubError, "http_error", "unexpected HTTP 302"),  # no Location
    ],
)
def test_statuses_over_http(
    hub: FakeHub,
    monkeypatch: pytest.MonkeyPatch,
    shape: realhub.Shape,
    error: type[HubError],
    kind: str,
    text: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hub.add_shape(API_PATH, shape)
    with serve(hub) as endpoint, pytest.raises(error) as info:
        env_client(monkeypatch, endpoint).fetch_model(REPO)
    assert info.value.kind == kind and text in str(info.value)
    assert TOKEN not in str(info.value) and TOKEN not in caplog.text
    if kind == "rate_limited":
        assert isinstance(info.value, RateLimitedError) and info.value.retry_after == 55.0


def test_non_json_over_http(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.add(API_PATH, raw=b"<!DOCTYPE html><title>Captive portal</title>")
    with serve(hub) as endpoint, pytest.raises(InvalidResponseError, match="HTML"):
        env_client(monkeypatch, endpoint).fetch_model(REPO)


def test_timeout_over_http(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.add(API_PATH, {"id": REPO}, delay=1.0)
    with serve(hub) as endpoint, pytest.raises(HubTimeoutError, match=r"within 0\.2 s") as info:
        env_client(monkeypatch, endpoint, timeout=0.2).fetch_model(REPO)
    assert TOKEN not in str(info.value) and info.value.kind == "timeout"


def test_one_deadline_for_a_trickling_server(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """One byte every 0.4 s answers every read well within a per-read timeout, forever; the
    request's single deadline (1.0 s here, 15 s by default) ends it on time."""
    hub.add(API_PATH, {"id": REPO, "siblings": []}, trickle=0.4)
    with serve(hub) as endpoint:
        start = time.monotonic()
        with pytest.raises(HubTimeoutError, match=r"did not answer within 1 s"):
            env_client(monkeypatch, endpoint, timeout=1.0).fetch_model(REPO)
        elapsed = time.monotonic() - start
    assert 0.9 < elapsed < 2.0


def test_a_cut_off_body_is_an_error_and_is_not_cached(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hub.add_model(REPO, config=LLAMA_CONFIG, safetensors={"BF16": 1})
    config_path = f"/{REPO}/resolve/main/config.json"
    hub.routes[config_path].truncate_at = 40  # Content-Length promises more
    monkeypatch.setenv("LLM_MEM_CACHE", str(tmp_path / "cache"))
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        with pytest.raises(HubNetworkError, match="closed the connection before the whole"):
            HubClient.from_env().fetch_model(REPO)
        assert not list((tmp_path / "cache").rglob("*"))
        hub.routes[config_path].truncate_at = None
        assert HubClient.from_env().fetch_model(REPO).config == LLAMA_CONFIG


def test_an_answer_over_the_size_limit_is_not_read(
    hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from estimator.hub.transport import UrllibTransport

    hub.add("/big", raw=b"x" * 5000)
    hub.add("/exact", raw=b"y" * 4096)
    hub.add("/over", raw=b"z" * 4097)
    with serve(hub) as endpoint:
        with pytest.raises(InvalidResponseError, match="larger than"):
            UrllibTransport().get(f"{endpoint}/big", {}, 5.0, 4096)
        cut = UrllibTransport().get(f"{endpoint}/big", {}, 5.0, 4096, partial=True)
        # the limit itself is allowed; one byte more is not
        exact = UrllibTransport().get(f"{endpoint}/exact", {}, 5.0, 4096)
        with pytest.raises(InvalidResponseError, match="larger than"):
            UrllibTransport().get(f"{endpoint}/over", {}, 5.0, 4096)
    assert cut.status == 200 and cut.body == b"x" * 4096
    assert exact.status == 200 and exact.body == b"y" * 4096


def test_gguf_header_range_over_http(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_hub_client import GGUF_REPO, Q4, gguf_repo_with_gated_base

    gguf_repo_with_gated_base(hub)
    monkeypatch.setenv("HF_ENDPOINT", "")
    with serve(hub) as endpoint:
        monkeypatch.setenv("HF_ENDPOINT", endpoint)
        info = HubClient.from_env(use_cache=False).fetch_model(GGUF_REPO)
    assert info.config_source == "gguf-header" and info.gguf_file is not None
    assert info.gguf_file.filename == Q4
    assert hub.seen[-1].headers["Range"] == "bytes=0-262143"


def test_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HubNetworkError, match=f"cannot reach 127.0.0.1:{port}") as info:
        env_client(monkeypatch, f"http://127.0.0.1:{port}").fetch_model(REPO)
    assert TOKEN not in str(info.value)


def test_renamed_repo_over_http_keeps_token(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    # A renamed repo: the Hub answers 307 to the new name on the same host, query kept.
    hub.add_model("new/name", config=LLAMA_CONFIG, safetensors={"BF16": 1})
    hub.rename("old/name", "new/name")
    with serve(hub) as endpoint:
        info = env_client(monkeypatch, endpoint).fetch_model("old/name")
    assert info.repo_id == "new/name" and info.config == LLAMA_CONFIG
    assert [urlsplit(s.url).path + "?" + urlsplit(s.url).query for s in hub.seen] == [
        "/api/models/old/name?blobs=true",
        "/api/models/new/name?blobs=true",
        "/new/name/resolve/main/config.json?",
    ]
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
