#!/usr/bin/env python3
"""Serve dist/ the way Azure Static Web Apps would, from dist/staticwebapp.config.json.

Applies what the page depends on: ``globalHeaders``, per-route ``headers`` (first
matching route wins; a route header replaces a global one of the same name),
``mimeTypes``, ``responseOverrides`` for 404, and *no* navigation fallback (a
missing file is a 404, never index.html). Like the SWA CLI emulator, it does not
serve the config file itself. Precompressed ``.br``/``.gz`` siblings are sent when
the browser accepts them (SWA compresses text types itself; the copies stand in).

    python tests/deploy/swa_server.py [dist] [--port 8080]

Standard library only.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import posixpath
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
CONFIG_NAME = "staticwebapp.config.json"

#: what SWA sends for common types when mimeTypes does not say
DEFAULT_MIME = {
    ".html": "text/html; charset=utf-8", ".css": "text/css", ".js": "text/javascript",
    ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png",
    ".ico": "image/x-icon", ".txt": "text/plain", ".gz": "application/gzip",
}


def load_config(dist: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((dist / CONFIG_NAME).read_text(encoding="utf-8"))
    return data


def route_matches(pattern: str, path: str) -> bool:
    """SWA route patterns: exact paths, a trailing ``*`` wildcard, ``*.{a,b}`` groups."""
    if "{" in pattern:
        head, _, rest = pattern.partition("{")
        options, _, tail = rest.partition("}")
        return any(route_matches(head + option + tail, path) for option in options.split(","))
    if pattern.endswith("*") and "*" not in pattern[:-1]:
        return path.startswith(pattern[:-1])
    return fnmatch.fnmatchcase(path, pattern)


def route_for(config: dict[str, Any], path: str) -> dict[str, Any] | None:
    for route in config.get("routes", []):
        if route_matches(route["route"], path):
            return dict(route)
    return None


def headers_for(config: dict[str, Any], path: str) -> dict[str, str]:
    """Global headers, with those of the first matching route replacing same-named ones."""
    headers = {k.lower(): (k, v) for k, v in config.get("globalHeaders", {}).items()}
    route = route_for(config, path)
    if route:
        for k, v in route.get("headers", {}).items():
            headers[k.lower()] = (k, v)
    return dict(headers.values())


def mime_for(config: dict[str, Any], name: str) -> str:
    ext = posixpath.splitext(name)[1].lower()
    custom = {k.lower(): v for k, v in config.get("mimeTypes", {}).items()}
    return custom.get(ext) or DEFAULT_MIME.get(ext) or "application/octet-stream"


class SwaHandler(BaseHTTPRequestHandler):
    dist: Path = DIST
    config: ClassVar[dict[str, Any]] = {}
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("SWA_SERVER_LOG"):
            super().log_message(format, *args)

    def resolve(self, path: str) -> Path | None:
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            return None
        target = self.dist.joinpath(*parts) if parts else self.dist
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() or target.name == CONFIG_NAME:
            return None
        return target

    def do_HEAD(self) -> None:
        self.respond(head=True)

    def do_GET(self) -> None:
        self.respond(head=False)

    def respond(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path) or "/"
        route = route_for(self.config, path) or {}
        status = HTTPStatus.OK
        if "redirect" in route:
            self.send_response(route.get("statusCode", 302))
            self.send_header("Location", route["redirect"])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        served_path = route.get("rewrite", path)
        target = self.resolve(served_path)
        if target is None:
            status = HTTPStatus.NOT_FOUND
            override = self.config.get("responseOverrides", {}).get("404", {})
            target = self.resolve(override["rewrite"]) if "rewrite" in override else None
            status = HTTPStatus(override.get("statusCode", 404)) if target else status
            served_path = override.get("rewrite", path)
        if target is None:
            body = b"Not found"
            self.send_response(HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)
            return
        accept = self.headers.get("Accept-Encoding", "")
        file, encoding = target, None
        for enc, suffix in (("br", ".br"), ("gzip", ".gz")):
            candidate = target.with_name(target.name + suffix)
            if enc in accept and candidate.is_file():
                file, encoding = candidate, enc
                break
        data = file.read_bytes()
        self.send_response(status)
        self.send_header("Content-Type", mime_for(self.config, target.name))
        self.send_header("Content-Length", str(len(data)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Vary", "Accept-Encoding")
        for name, value in headers_for(self.config, served_path if status == 200 else path).items():
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(data)


def make_server(dist: Path = DIST, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    config = load_config(dist)
    handler = type("Handler", (SwaHandler,), {"dist": dist, "config": config})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def serve_in_thread(dist: Path = DIST, host: str = "127.0.0.1",
                    port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    server = make_server(dist, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dist", nargs="?", type=Path, default=DIST)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    if not (args.dist / CONFIG_NAME).is_file():
        print(f"swa_server: {args.dist / CONFIG_NAME} is missing; run python build.py",
              file=sys.stderr)
        return 2
    server = make_server(args.dist, args.host, args.port)
    print(f"serving {args.dist} as Static Web Apps would on "
          f"http://{args.host}:{server.server_address[1]}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
