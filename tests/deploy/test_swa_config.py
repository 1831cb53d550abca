"""staticwebapp.config.json: valid, only known keys, every route present in dist/,
the headers the page relies on; and swa_server.py applies them as SWA would."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from deploy_support import ROOT, swa_server

CONFIG = ROOT / "site" / "staticwebapp.config.json"
TOP_KEYS = {"routes", "navigationFallback", "responseOverrides", "globalHeaders", "mimeTypes",
            "auth", "networking", "forwardingGateway", "platform", "trailingSlash"}
ROUTE_KEYS = {"route", "methods", "rewrite", "redirect", "statusCode", "headers", "allowedRoles"}
HUB = {"https://huggingface.co", "https://*.huggingface.co", "https://*.hf.co"}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CONFIG.read_text(encoding="utf-8"))
    return data


def csp_directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_json_small_and_known_keys(config: dict[str, Any]) -> None:
    assert CONFIG.stat().st_size < 20_000  # SWA's limit
    assert set(config) <= TOP_KEYS
    for route in config["routes"]:
        assert set(route) <= ROUTE_KEYS and route["route"].startswith("/")
        assert "*" not in route["route"][:-1] or "{" in route["route"]
    assert set(config["responseOverrides"]) <= {"400", "401", "403", "404"}


def test_no_navigation_fallback_serving_html_for_assets(config: dict[str, Any]) -> None:
    # the page routes by query string: a missing .wasm must be a 404, never index.html
    assert "navigationFallback" not in config


def test_mime_types(config: dict[str, Any]) -> None:
    mime = config["mimeTypes"]
    assert mime[".wasm"] == "application/wasm"
    assert mime[".mjs"] == "text/javascript"
    assert mime[".json"] == "application/json"
    assert mime[".whl"] == mime[".zip"] == "application/zip"


def test_csp(config: dict[str, Any]) -> None:
    glob = csp_directives(config["globalHeaders"]["Content-Security-Policy"])
    assert glob["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
    for words in glob.values():
        assert "'unsafe-eval'" not in words and "'unsafe-inline'" not in words
    assert set(glob["connect-src"]) == {"'self'"} | HUB
    assert glob["default-src"] == ["'self'"] and glob["object-src"] == ["'none'"]
    assert glob["frame-ancestors"] == ["'self'"]  # the full page: not framable by others
    embed = next(r for r in config["routes"] if r["route"] == "/embed.html")
    emb = csp_directives(embed["headers"]["Content-Security-Policy"])
    # a route header replaces the global one: it repeats the full policy
    assert emb["frame-ancestors"] == ["*"]
    assert {k: v for k, v in emb.items() if k != "frame-ancestors"} == \
        {k: v for k, v in glob.items() if k != "frame-ancestors"}


def test_meta_csp_in_page_matches_header(config: dict[str, Any]) -> None:
    page = (ROOT / "site" / "index.html").read_text(encoding="utf-8")
    meta = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    if meta is None:
        pytest.skip("the page has no meta CSP")
    header = csp_directives(config["globalHeaders"]["Content-Security-Policy"])
    for name, words in csp_directives(meta.group(1)).items():
        assert set(words) == set(header.get(name, header["default-src"])), name


def test_cache_headers(config: dict[str, Any]) -> None:
    routes = {r["route"]: r.get("headers", {}) for r in config["routes"]}
    assert "immutable" in routes["/assets/*"]["Cache-Control"]
    assert config["globalHeaders"]["Cache-Control"] == "no-cache"
    for path in ("/index.html", "/sw.js", "/manifest.webmanifest", "/embed.html"):
        assert routes[path]["Cache-Control"] == "no-cache"


@pytest.fixture(scope="module")
def built(dist: Path) -> Path:
    """The session's build (tests/deploy/conftest.py)."""
    return dist


def test_every_route_exists_in_dist(config: dict[str, Any], built: Path) -> None:
    assert (built / "staticwebapp.config.json").read_bytes() == CONFIG.read_bytes()
    for route in config["routes"]:
        path = route["route"]
        if path.endswith("/*"):
            assert (built / path[1:-2]).is_dir(), path
        else:
            assert (built / path[1:]).is_file(), path
    for override in config["responseOverrides"].values():
        if "rewrite" in override:
            assert (built / override["rewrite"][1:]).is_file()
    # every hashed asset lives under /assets/ (the immutable route)
    manifest = json.loads((built / "asset-manifest.json").read_text())
    for name, entry in manifest["assets"].items():
        if re.search(r"[.-][0-9a-f]{10}[./]", entry["path"]):
            assert entry["path"].startswith("assets/"), name


def test_service_worker_lists_this_build(built: Path) -> None:
    sw = (built / "sw.js").read_text()
    manifest = json.loads((built / "asset-manifest.json").read_text())
    match = re.search(r'const BUILD = (\{.*?\});\n', sw)
    assert match, "build.py did not fill sw.js"
    info = json.loads(match.group(1))
    assert info["assets"] == manifest["assets"] and re.fullmatch(r"[0-9a-f]{16}", info["version"])
    assert "staticwebapp.config.json" not in info["assets"] and "sw.js" not in info["assets"]
    for entry in info["assets"].values():
        assert (built / entry["path"]).is_file()
    webmanifest = json.loads((built / "manifest.webmanifest").read_text())
    for icon in webmanifest["icons"]:
        assert (built / icon["src"]).is_file()
    embed = (built / "embed.html").read_text()
    assert '<html lang="en" data-embed' in embed


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def test_swa_server_applies_config(built: Path) -> None:
    server, url = swa_server.serve_in_thread(built)
    try:
        manifest = json.loads((built / "asset-manifest.json").read_text())["assets"]
        wasm = manifest["pyodide/pyodide.asm.wasm"]["path"]
        status, headers, _ = get(f"{url}/{wasm}", **{"Accept-Encoding": "identity"})
        assert status == 200 and headers["content-type"] == "application/wasm"
        assert "immutable" in headers["cache-control"]
        assert "wasm-unsafe-eval" in headers["content-security-policy"]
        status, headers, _ = get(f"{url}/")
        assert status == 200 and headers["cache-control"] == "no-cache"
        assert "frame-ancestors 'self'" in headers["content-security-policy"]
        status, headers, _ = get(f"{url}/embed.html")
        assert headers["content-security-policy"].endswith("frame-ancestors *")
        status, headers, _ = get(f"{url}/sw.js")
        assert status == 200 and headers["cache-control"] == "no-cache"
        status, headers, _ = get(f"{url}/assets/missing.wasm")
        assert status == 404  # no HTML with 200 for a missing runtime file
        status, _, _ = get(f"{url}/staticwebapp.config.json")
        assert status == 404
        status, headers, _ = get(f"{url}/manifest.webmanifest")
        assert headers["content-type"] == "application/manifest+json"
    finally:
        server.shutdown()
        server.server_close()
