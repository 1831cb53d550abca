"""HubClient against a fake transport: the request plan, status mapping, caches, async."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar, TypeVar

import pytest
from fakehub import LLAMA_CONFIG, TOKEN, FakeAsyncTransport, FakeHub, FakeTransport

from estimator.errors import (
    GatedRepoError,
    HubError,
    HubNetworkError,
    InvalidResponseError,
    OfflineCacheMissError,
    OptionError,
    RateLimitedError,
    RepoNotFoundError,
    UnsupportedModelError,
)
from estimator.hub import DiskCache, HfHubFiles, HubClient, MemoryCache
from estimator.hub.http import Response

T = TypeVar("T")


def run_async(coro: Coroutine[object, object, T]) -> T:
    """Run a coroutine to completion on a fresh loop in its own thread: the Playwright
    tests of the same session keep an event loop running on the main thread, where
    asyncio.run() refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()

EP = "https://hub.test"
REPO = "meta-llama/Llama-3.1-8B"


def client(hub: FakeHub, **kw: object) -> HubClient:
    kw.setdefault("retry_pause", 0.0)
    return HubClient(FakeTransport(hub), endpoint=EP, **kw)  # type: ignore[arg-type]


def test_plain_model(hub: FakeHub) -> None:
    hub.add_model(
        REPO,
        config=LLAMA_CONFIG,
        safetensors={"BF16": 8030261248},
        files={"config.json": 855, "model.safetensors.index.json": 23950},
    )
    info = client(hub).fetch_model(REPO)
    assert info.config == LLAMA_CONFIG and info.config_repo_id == REPO
    assert info.weights.safetensors_parameters == {"BF16": 8030261248}
    assert info.weights.source == "hub-api"
    assert info.pipeline_tag == "text-generation" and info.library_name == "transformers"
    assert info.sha and info.relation is None and info.gguf_files == ()
    # The API gave totals: the index file is not fetched.
    assert hub.urls() == [
        f"{EP}/api/models/{REPO}?blobs=true",
        f"{EP}/{REPO}/resolve/main/config.json",
    ]
    assert info.to_dict()["weights_source"] == "hub-api"


def test_revision_urls(hub: FakeHub) -> None:
    hub.add_model(REPO, revision="refs%2Fpr%2F3", safetensors={"BF16": 1})
    info = client(hub).fetch_model(f"https://huggingface.co/{REPO}/tree/refs%2Fpr%2F3")
    assert info.revision == "refs/pr/3"
    assert hub.urls()[1] == f"{EP}/{REPO}/resolve/refs%2Fpr%2F3/config.json"


def test_index_fallback_when_api_has_no_totals(hub: FakeHub) -> None:
    hub.add_model(REPO, files={"config.json": 1, "model.safetensors.index.json": 2})
    hub.add(
        f"/{REPO}/resolve/main/model.safetensors.index.json",
        {"metadata": {"total_size": 16060522496}, "weight_map": {}},
    )
    info = client(hub).fetch_model(REPO)
    assert info.weights.safetensors_total_bytes == 16060522496
    assert info.weights.safetensors_parameters is None
    assert info.weights.source == "model.safetensors.index.json"
    assert info.index_total_size == 16060522496


def test_bin_index_and_single_file_fallbacks(hub: FakeHub) -> None:
    hub.add_model("o/bin", files={"config.json": 1, "pytorch_model.bin.index.json": 2})
    hub.add("/o/bin/resolve/main/pytorch_model.bin.index.json", {"metadata": {"total_size": 77}})
    assert client(hub).fetch_model("o/bin").weights.safetensors_total_bytes == 77
    hub.add_model("o/one", files={"config.json": 1, "model.safetensors": 988_000_000})
    info = client(hub).fetch_model("o/one")
    assert info.weights.safetensors_total_bytes == 988_000_000
    assert info.weights.source == "model.safetensors size"


def test_adapter_follows_base(hub: FakeHub) -> None:
    hub.add_model("me/lora", files={"adapter_config.json": 700, "adapter_model.safetensors": 9})
    hub.add(
        "/me/lora/resolve/main/adapter_config.json",
        {"base_model_name_or_path": REPO, "peft_type": "LORA"},
    )
    hub.add_model(REPO, config=LLAMA_CONFIG, safetensors={"BF16": 8030261248})
    info = client(hub).fetch_model("me/lora")
    assert info.relation == "adapter" and info.base_model == REPO
    assert info.config_repo_id == REPO and info.config == LLAMA_CONFIG
    assert info.weights.safetensors_parameters == {"BF16": 8030261248}
    assert any("adapter" in n and REPO in n for n in info.notes)


def test_adapter_with_local_path_base(hub: FakeHub) -> None:
    hub.add_model("me/lora", files={"adapter_config.json": 7})
    hub.add(
        "/me/lora/resolve/main/adapter_config.json", {"base_model_name_or_path": "/home/me/llama"}
    )
    with pytest.raises(UnsupportedModelError, match="not a Hub model id"):
        client(hub).fetch_model("me/lora")


def test_gguf_repo_follows_card_base_and_sizes_choice(hub: FakeHub) -> None:
    files = {"Llama-Q4_K_M.gguf": 4_920_734_016, "Llama-Q8_0.gguf": 8_540_770_560, "README.md": 10}
    hub.add_model(
        "bartowski/Llama-GGUF",
        files=files,
        extra={
            "cardData": {"base_model": REPO},
            "library_name": "gguf",
            "gguf": {"total": 8030261312, "architecture": "llama", "context_length": 131072},
        },
    )
    hub.add_model(REPO, config=LLAMA_CONFIG, safetensors={"BF16": 8030261248})
    c = client(hub)
    info = c.fetch_model("bartowski/Llama-GGUF", gguf_file="q4_k_m")
    assert info.relation == "gguf" and info.config == LLAMA_CONFIG
    assert info.gguf_file is not None and info.gguf_file.quant == "Q4_K_M"
    assert info.weights.gguf_file_bytes == 4_920_734_016 and info.weights.gguf_quant == "Q4_K_M"
    assert info.weights.source == "hub-api+gguf-file"
    assert [g.quant for g in info.gguf_files] == ["Q4_K_M", "Q8_0"]
    assert info.api is not None and info.api.gguf is not None
    # A pasted file URL picks the file.
    url = "https://huggingface.co/bartowski/Llama-GGUF/blob/main/Llama-Q8_0.gguf"
    assert c.fetch_model(url).weights.gguf_file_bytes == 8_540_770_560
    # No choice: listed, with a note.
    info = c.fetch_model("bartowski/Llama-GGUF")
    assert info.gguf_file is None and any("--gguf-file" in n for n in info.notes)
    with pytest.raises(OptionError, match="available"):
        c.fetch_model("bartowski/Llama-GGUF", gguf_file="Q2_K")
    with pytest.raises(OptionError, match="no GGUF files"):
        c.fetch_model(REPO, gguf_file="Q2_K")


def test_repo_without_config_or_base(hub: FakeHub) -> None:
    hub.add_model("o/empty", files={"README.md": 1})
    with pytest.raises(UnsupportedModelError, match=r"no config\.json"):
        client(hub).fetch_model("o/empty")


def test_base_loop_is_bounded(hub: FakeHub) -> None:
    for a, b in (("o/a", "o/b"), ("o/b", "o/c"), ("o/c", "o/a")):
        hub.add_model(a, files={"x.gguf": 1}, extra={"cardData": {"base_model": b}})
    with pytest.raises(UnsupportedModelError, match="more than 2 base models"):
        client(hub).fetch_model("o/a")
    hub.add_model("o/self", files={"x.gguf": 1}, extra={"cardData": {"base_model": "o/self"}})
    with pytest.raises(UnsupportedModelError, match="itself"):
        client(hub).fetch_model("o/self")


API_PATH = f"/api/models/{REPO}?blobs=true"


@pytest.mark.parametrize(
    ("status", "headers", "error", "text"),
    [
        (404, {"X-Error-Code": "RepoNotFound"}, RepoNotFoundError, "not found on https://hub.test"),
        (401, {"X-Error-Code": "RepoNotFound"}, RepoNotFoundError, "check the spelling"),
        (404, {}, RepoNotFoundError, "set HF_TOKEN"),
        (401, {}, GatedRepoError, "accept its licence on https://huggingface.co/" + REPO),
        (403, {"X-Error-Code": "GatedRepo"}, GatedRepoError, "HF_TOKEN"),
        (429, {"Retry-After": "42"}, RateLimitedError, "retry after 42 s"),
        (429, {}, RateLimitedError, "wait a minute"),
        (500, {}, HubNetworkError, "HTTP 500"),
        (503, {}, HubNetworkError, "try again later"),
        (418, {}, HubError, "unexpected HTTP 418"),
    ],
)
def test_status_mapping_fake(
    hub: FakeHub, status: int, headers: dict[str, str], error: type[Exception], text: str
) -> None:
    hub.add(API_PATH, {"error": "x"}, status, headers=headers)
    with pytest.raises(error) as info:
        client(hub).fetch_model(REPO)
    assert text in str(info.value)
    if status == 429 and headers:
        assert isinstance(info.value, RateLimitedError) and info.value.retry_after == 42


def test_gated_on_config_with_token_says_account(hub: FakeHub) -> None:
    hub.add_model(REPO, files={"config.json": 1}, extra={"gated": "manual"})
    hub.add(
        f"/{REPO}/resolve/main/config.json",
        {"error": "gated"},
        403,
        headers={"X-Error-Code": "GatedRepo"},
    )
    with pytest.raises(GatedRepoError, match="your token has no access") as info:
        client(hub, token=TOKEN).fetch_model(REPO)
    assert TOKEN not in str(info.value)


def test_revision_and_entry_not_found(hub: FakeHub) -> None:
    hub.add(
        f"/api/models/{REPO}/revision/nope?blobs=true",
        {"error": "x"},
        404,
        headers={"X-Error-Code": "RevisionNotFound"},
    )
    with pytest.raises(RepoNotFoundError, match="revision 'nope' not found"):
        client(hub).fetch_model(REPO, "nope")
    hub.add_model("o/m", files={"config.json": 1})
    del hub.routes["/o/m/resolve/main/config.json"]
    with pytest.raises(RepoNotFoundError, match=r"config\.json not found in o/m at main"):
        client(hub).fetch_model("o/m")


def test_non_json_answers(hub: FakeHub) -> None:
    hub.add(API_PATH, raw=b"<html>proxy login</html>")
    with pytest.raises(InvalidResponseError, match="HTML page"):
        client(hub).fetch_model(REPO)
    hub.add_model("o/m")
    hub.add("/o/m/resolve/main/config.json", raw=b"[1, 2]")
    with pytest.raises(InvalidResponseError, match="not a JSON object"):
        client(hub).fetch_model("o/m")


def test_retries_are_bounded(hub: FakeHub) -> None:
    hub.add(API_PATH, {"error": "x"}, 503)
    with pytest.raises(HubNetworkError):
        client(hub, retries=2).fetch_model(REPO)
    assert len(hub.seen) == 3
    hub.seen.clear()
    hub.add(API_PATH, {"error": "x"}, 429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimitedError):
        client(hub, retries=2).fetch_model(REPO)
    assert len(hub.seen) == 1  # 429 is reported, not retried


def test_token_only_in_authorization_header(hub: FakeHub, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="estimator.hub")
    hub.add_model(REPO, safetensors={"BF16": 1})
    c = client(hub, token=TOKEN)
    c.fetch_model(REPO)
    for seen in hub.seen:
        assert TOKEN not in seen.url
        assert seen.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text and "GET" in caplog.text
    assert TOKEN not in repr(c)
    no_token = client(hub)
    hub.seen.clear()
    no_token.fetch_model(REPO)
    assert all("Authorization" not in s.headers for s in hub.seen)


@pytest.mark.parametrize("status", [401, 403, 404, 429, 500])
def test_token_never_in_error_text(
    hub: FakeHub, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A hostile or buggy endpoint echoing the header back must not leak it either.
    hub.add(
        API_PATH, raw=f"Bearer {TOKEN}".encode(), status=status, headers={"X-Error-Message": TOKEN}
    )
    with pytest.raises(HubError) as info:
        client(hub, token=TOKEN, retries=0).fetch_model(REPO)
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert TOKEN not in caplog.text
    hub.add(API_PATH, raw=f"not json {TOKEN}".encode())
    with pytest.raises(InvalidResponseError) as info2:
        client(hub, token=TOKEN).fetch_model(REPO)
    assert TOKEN not in str(info2.value)


def test_memory_cache(hub: FakeHub) -> None:
    hub.add_model(REPO, safetensors={"BF16": 1})
    cache = MemoryCache()
    c = client(hub, cache=cache)
    first = c.fetch_model(REPO)
    calls = len(hub.seen)
    assert c.fetch_model(REPO) == first and len(hub.seen) == calls
    assert len(cache) == 2
    stale = client(hub, cache=cache, max_age=-1.0)
    stale.fetch_model(REPO)
    assert len(hub.seen) == 2 * calls


def test_errors_are_not_cached(hub: FakeHub) -> None:
    hub.add(API_PATH, {"error": "x"}, 500)
    cache = MemoryCache()
    with pytest.raises(HubNetworkError):
        client(hub, cache=cache, retries=0).fetch_model(REPO)
    assert len(cache) == 0


def test_disk_cache_and_offline(hub: FakeHub, tmp_path: Path) -> None:
    hub.add_model(REPO, config=LLAMA_CONFIG, safetensors={"BF16": 1})
    disk = DiskCache(tmp_path / "c")
    online = client(hub, cache=disk).fetch_model(REPO)
    hub.seen.clear()
    offline = client(hub, cache=disk, offline=True).fetch_model(REPO)
    assert hub.seen == [] and offline == online
    with pytest.raises(OfflineCacheMissError, match="HF_HUB_OFFLINE") as info:
        client(hub, cache=disk, offline=True).fetch_model("o/other")
    assert str(tmp_path / "c") in str(info.value)
    assert hub.seen == []


def test_offline_reads_hf_download_cache(hub: FakeHub, tmp_path: Path) -> None:
    repo_dir = tmp_path / "hub" / "models--o--m"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text("abc123\n")
    snap = repo_dir / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text('{"model_type": "llama", "hidden_size": 8}')
    (snap / "model.safetensors.index.json").write_text('{"metadata": {"total_size": 99}}')
    c = client(hub, offline=True, local_files=HfHubFiles(tmp_path / "hub"))
    info = c.fetch_model("o/m")
    assert info.config == {"model_type": "llama", "hidden_size": 8}
    assert info.api is None and info.weights.safetensors_total_bytes == 99
    assert any("offline" in n for n in info.notes)
    assert hub.seen == []


def test_disk_cache_survives_unwritable_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = DiskCache(blocker / "sub")
    cache.put("k", b"v")  # no exception
    assert cache.get("k", None) is None


def test_async_path(hub: FakeHub) -> None:
    hub.add_model("me/lora", files={"adapter_config.json": 700})
    hub.add("/me/lora/resolve/main/adapter_config.json", {"base_model_name_or_path": REPO})
    hub.add_model(
        REPO, config=LLAMA_CONFIG, files={"config.json": 1, "model.safetensors.index.json": 1}
    )
    hub.add(f"/{REPO}/resolve/main/model.safetensors.index.json", {"metadata": {"total_size": 5}})
    transport = FakeAsyncTransport(hub)
    c = HubClient(transport, endpoint=EP, cache=MemoryCache())
    info = run_async(c.fetch_model_async("me/lora"))
    sync = client(hub).fetch_model("me/lora")
    assert info == sync
    assert info.weights.safetensors_total_bytes == 5 and transport.calls == 5
    run_async(c.fetch_model_async("me/lora"))
    assert transport.calls == 5  # all from the memory cache


def test_async_errors_and_retries(hub: FakeHub) -> None:
    hub.add(API_PATH, {"error": "x"}, 502)
    transport = FakeAsyncTransport(hub)
    c = HubClient(transport, endpoint=EP, token=TOKEN, retry_pause=0.0)
    with pytest.raises(HubNetworkError, match="502") as info:
        run_async(c.fetch_model_async(REPO))
    assert transport.calls == 2 and TOKEN not in str(info.value)


def test_async_path_accepts_sync_transport(hub: FakeHub) -> None:
    hub.add_model(REPO, safetensors={"BF16": 3})
    info = run_async(client(hub).fetch_model_async(REPO))
    assert info.weights.safetensors_parameters == {"BF16": 3}


def test_sync_path_refuses_async_transport(hub: FakeHub) -> None:
    c = HubClient(FakeAsyncTransport(hub), endpoint=EP)
    with pytest.raises(TypeError, match="fetch_model_async"):
        c.fetch_model(REPO)


def test_pyfetch_transport_with_injected_fetch() -> None:
    from estimator.hub.browser import PyfetchTransport

    class FakeFetchResponse:
        status = 404
        headers: ClassVar[dict[str, str]] = {"X-Error-Code": "RepoNotFound"}

        async def bytes(self) -> bytes:
            return b'{"error": "nope"}'

    seen: dict[str, object] = {}

    async def fake_fetch(url: str, **kw: object) -> FakeFetchResponse:
        seen.update(kw, url=url)
        return FakeFetchResponse()

    c = HubClient(PyfetchTransport(fake_fetch), endpoint=EP, token=TOKEN)
    with pytest.raises(RepoNotFoundError):
        run_async(c.fetch_model_async(REPO))
    headers = seen["headers"]
    assert isinstance(headers, dict) and "User-Agent" not in headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"

    async def broken_fetch(url: str, **kw: object) -> FakeFetchResponse:
        raise OSError("Failed to fetch")

    c = HubClient(PyfetchTransport(broken_fetch), endpoint=EP)
    with pytest.raises(HubNetworkError, match="CORS"):
        run_async(c.fetch_model_async(REPO))

    async def slow_fetch(url: str, **kw: object) -> FakeFetchResponse:
        await asyncio.sleep(5)
        return FakeFetchResponse()

    c = HubClient(PyfetchTransport(slow_fetch), endpoint=EP, timeout=0.05)
    with pytest.raises(HubNetworkError, match=r"did not answer within 0\.05 s"):
        run_async(c.fetch_model_async(REPO))


def test_browser_module_does_not_import_pyodide() -> None:
    import sys

    import estimator.hub.browser  # noqa: F401

    assert "pyodide" not in sys.modules


def test_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "HF_ENDPOINT": "https://mirror.test/",
        "HF_TOKEN": TOKEN,
        "HF_HUB_OFFLINE": "1",
        "LLM_MEM_CACHE": str(tmp_path / "lm"),
        "HF_HOME": str(tmp_path / "h"),
    }
    c = HubClient.from_env(env)
    assert c.endpoint == "https://mirror.test" and c.offline
    assert isinstance(c.cache, DiskCache) and c.cache.root == tmp_path / "lm"
    assert c.parse_ref("https://mirror.test/o/m").repo_id == "o/m"
    assert TOKEN not in repr(c)
    assert HubClient.from_env({}, use_cache=False).cache is None


def test_response_ok() -> None:
    assert Response(204).ok and not Response(301).ok
