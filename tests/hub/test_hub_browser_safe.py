"""The Hub client the page uses imports and runs without sockets, threads or urllib.request
(Pyodide has none of them): the deadline transport is CPython-only and imported on use."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.conftest import CONFIGS, ROOT

BLOCKED = ("socket", "ssl", "subprocess", "threading", "multiprocessing", "urllib.request",
           "http.client", "difflib")


def test_page_hub_path_runs_with_browser_unavailable_modules_blocked() -> None:
    code = textwrap.dedent(f"""
        import asyncio, importlib.abc, json, sys
        blocked = {BLOCKED!r}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name in blocked:
                    raise ImportError("blocked in the browser: " + name)
        for name in blocked:
            sys.modules.pop(name, None)
        sys.meta_path.insert(0, Block())
        from estimator import estimate, load_config_text
        from estimator.hub import HubClient, MemoryCache
        from estimator.hub.browser import PyfetchTransport
        config = open({str(CONFIGS / "Qwen__Qwen3-8B.json")!r}, "rb").read()

        class Answer:
            def __init__(self, status, body, headers):
                self.status, self.body, self.headers, self.url = status, body, headers, ""
            async def bytes(self):
                return self.body

        async def fetch(url, **kw):
            if "/api/models?" in url:
                return Answer(200, b"[]", {{}})
            if "/api/models/" in url:
                if "nope" in url:
                    msg = "Invalid username or password."
                    return Answer(401, b'{{"error":"' + msg.encode() + b'"}}',
                                  {{"X-Error-Message": msg}})
                return Answer(200, b'{{"id": "Qwen/Qwen3-8B", "siblings": [{{"rfilename": '
                              b'"config.json"}}]}}', {{}})
            return Answer(200, config, {{}})

        client = HubClient(PyfetchTransport(fetch), cache=MemoryCache())
        info = asyncio.run(client.fetch_model_async("Qwen/Qwen3-8B"))
        est = estimate(info.config, None, info.weights)
        try:
            asyncio.run(client.fetch_model_async("Qwen/nope"))
        except Exception as err:
            print(type(err).__name__, err.kind)
        print(est.params, "transport" in sys.modules, "estimator.hub.transport" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert first == "RepoNotFoundError not_found_or_private"
    params, _, transport_loaded = second.split()
    assert int(params) > 8 * 10**9 and transport_loaded == "False"
