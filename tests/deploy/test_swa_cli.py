"""Optional: the Azure SWA CLI emulator (2.0.10) validates staticwebapp.config.json
against its schema and serves dist/ with our headers. Skipped unless the CLI is
installed: SWA_CLI=/path/to/node_modules/.bin/swa, or ./node_modules/.bin/swa.

    npm install --ignore-scripts --prefix /tmp/swacli @azure/static-web-apps-cli@2.0.10
    SWA_CLI=/tmp/swacli/node_modules/.bin/swa python -m pytest tests/deploy/test_swa_cli.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from deploy_support import ROOT

CLI = Path(os.environ.get("SWA_CLI", ROOT / "node_modules" / ".bin" / "swa"))
pytestmark = pytest.mark.skipif(not CLI.exists(), reason="SWA CLI not installed (optional)")

VALIDATE = """
import {{ validateConfigFile }} from "{json_js}";
import fs from "node:fs";
const ok = await validateConfigFile(JSON.parse(fs.readFileSync(process.argv[2], "utf8")));
process.exit(ok ? 0 : 1);
"""


def cli_package() -> Path:
    return next(p for p in CLI.resolve().parents if p.name == "static-web-apps-cli")


def test_config_passes_the_cli_schema(tmp_path: Path) -> None:
    script = tmp_path / "validate.mjs"
    script.write_text(VALIDATE.format(json_js=cli_package() / "dist/core/utils/json.js"))
    result = subprocess.run(["node", str(script), str(ROOT / "site/staticwebapp.config.json")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def head(url: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}


def test_emulator_serves_dist_with_our_headers(tmp_path: Path) -> None:
    from deploy_support import build_dist

    dist = tmp_path / "dist"
    build_dist(dist)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "NO_UPDATE_NOTIFIER": "1", "SWA_CLI_NO_TELEMETRY": "1"}
    proc = subprocess.Popen([str(CLI), "start", ".", "--port", str(port)], cwd=dist, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://localhost:{port}"
        for _ in range(100):
            try:
                head(base + "/")
                break
            except OSError:
                time.sleep(0.3)
        status, h = head(base + "/")
        assert status == 200 and "frame-ancestors 'self'" in h["content-security-policy"]
        status, h = head(base + "/embed.html")
        assert h["content-security-policy"].endswith("frame-ancestors *")
        wasm = next(dist.glob("assets/pyodide-*/pyodide.asm.wasm")).relative_to(dist).as_posix()
        status, h = head(f"{base}/{wasm}")
        assert h["content-type"] == "application/wasm" and "immutable" in h["cache-control"]
        status, _ = head(base + "/assets/missing.wasm")
        assert status == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)
