"""The estimator's side of the page: runs in a worker (site/worker.js) and answers the
main thread's requests (site/app.js) with plain JSON. No DOM here, no state about the
form: every request carries the inputs it is about.

Requests (``handle(op, args_json)``; ``handle_now`` answers those that need no waiting):
  load     {model, revision, token}  -> {key, model, revision, label, notes} or {error}
  local    {text, source}            -> the same, for an uploaded or pasted config.json
  compute  {key, state, step}        -> a view model (site/view.py), step main|compare|
                                        ctx|batch|limits, or {error: {message, fields}}
  copy     {key, state, kind, link, model} -> {text}  (Markdown or JSON, estimator/report.py)
  suggest  {query}                   -> {ids}  (Hub search)

A model fetched with a token is kept under a key of its own, so that a request without
a token (an embed widget sharing this worker) can never be answered from it.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _use_compiled_dataclass_methods(path: Path) -> None:
    """@dataclass compiles generated source for every class it makes (~50 classes at the
    worker's start-up). build.py compiles those sources once (dataclasses.marshal, beside
    this file in the worker): give dataclasses the compiled code instead; any source
    not in it is compiled as before."""
    try:
        import marshal

        codes = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return

    def exec_compiled(source: Any, globals: Any = None, locals: Any = None) -> None:
        code = codes.get(source) if isinstance(source, str) else None
        builtins.exec(source if code is None else code, globals, locals)

    dataclasses.exec = exec_compiled  # type: ignore[attr-defined]  # shadows the builtin there


_use_compiled_dataclass_methods(Path(__file__).with_name("dataclasses.marshal"))

import view  # noqa: E402  (after the line above: its imports make dataclasses)

from estimator import EstimateOptions, EstimatorError, OptionError, estimate, report  # noqa: E402

HUB = "https://huggingface.co"
_MODELS_JSON = Path(__file__).with_name("models.json")  # written there by site/worker.js
BUNDLED: dict[str, Any] = (json.loads(_MODELS_JSON.read_text(encoding="utf-8"))
                           if _MODELS_JSON.exists() else {})


@dataclass
class Model:
    """A loaded config and what the page says about it."""

    config: dict[str, Any]
    metadata: Any
    label: str
    notes: list[str] = field(default_factory=list)
    repo_id: str = ""  # the Hub id the launch command names ("" for a local config)
    revision: str = ""  # the Hub revision it was read at, for the command ("" for main)


MODELS: dict[str, Model] = {}
#: The last main step by its inputs' key, reused by the extras of the same inputs.
_memo: dict[str, view.MainView] = {}
_hub_cache: Any = None  # answers fetched without a token only


#: Requests that may wait on the network (a Hub model, a Hub search): ``handle`` only.
WAITING_OPS = ("load", "suggest")


async def handle(op: str, args_json: str) -> str:
    """One request; every failure becomes an answer, never a dead runtime."""
    if op not in WAITING_OPS:
        return _answer_now(op, args_json)
    try:
        args = json.loads(args_json)
        result = await (load(args) if op == "load" else suggest(args))
    except Exception as exc:  # a bug must show as a message, not freeze the page
        result = _failure(exc)
    return json.dumps(result)


def handle_now(op: str, args_json: str) -> str | None:
    """A request that needs no waiting (all but WAITING_OPS), answered in this call: the
    worker skips the trip through Pyodide's event loop (a coroutine, a task, a promise) on
    every estimate. None for the others: they go through ``handle``."""
    return None if op in WAITING_OPS else _answer_now(op, args_json)


def _answer_now(op: str, args_json: str) -> str:
    try:
        args = json.loads(args_json)
        if op == "local":
            result = local(args)
        elif op == "compute":
            result = compute(args)
        elif op == "copy":
            result = copy(args)
        else:
            result = {"error": {"message": f"unknown request {op!r}"}}
    except Exception as exc:  # a bug must show as a message, not freeze the page
        result = _failure(exc)
    return json.dumps(result)


def _failure(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, RecursionError):
        return {"error": {"message": "this input is nested too deeply to read"}}
    return {"error": {"message": f"internal error: {type(exc).__name__}: {exc}"}}


def _check(model: Model) -> str | None:
    """Why the model cannot be estimated at all (None: it can)."""
    try:
        estimate(model.config, EstimateOptions(), model.metadata)
    except OptionError:
        return None
    except EstimatorError as exc:
        return f"Cannot estimate this model: {exc}"
    return None


def _loaded(key: str, model: Model, repo_id: str, revision: str) -> dict[str, Any]:
    problem = _check(model)
    if problem:
        return {"model": repo_id, "revision": revision, "error": {"message": problem,
                                                                  "kind": "unsupported"}}
    MODELS[key] = model
    return {"key": key, "model": repo_id, "revision": revision, "label": model.label,
            "notes": " ".join(model.notes)}


def _bundled(repo_id: str) -> dict[str, Any]:
    key = f"bundled:{repo_id}"
    if key in MODELS:
        return {"key": key, "model": repo_id, "revision": "", "label": MODELS[key].label,
                "notes": ""}
    return _loaded(key, Model(BUNDLED[repo_id], None,
                              f"{repo_id} (bundled copy of its config.json)",
                              repo_id=repo_id), repo_id, "")


async def load(args: dict[str, Any]) -> dict[str, Any]:
    text = str(args.get("model") or "").strip()
    revision = str(args.get("revision") or "").strip()
    token = str(args.get("token") or "").strip() or None
    if text in BUNDLED and revision in ("", "main"):  # the first estimate: no Hub code needed
        return _bundled(text)
    from estimator.hub.urls import parse_model_ref  # imports the Hub client: only when needed

    try:
        ref = parse_model_ref(text, revision or None)
    except EstimatorError as exc:
        return {"model": text, "revision": revision,
                "error": {"message": str(exc), "kind": "model-id"}}
    repo_id, rev = ref.repo_id, ref.revision
    shown_rev = "" if rev == "main" else rev
    if repo_id in BUNDLED and rev == "main":
        return _bundled(repo_id)
    key = f"hub:{repo_id}@{rev}" + (":token" if token else "")
    if key in MODELS:
        model = MODELS[key]
        return {"key": key, "model": repo_id, "revision": shown_rev, "label": model.label,
                "notes": " ".join(model.notes)}
    try:
        from estimator.hub import HubClient, MemoryCache
        from estimator.hub.browser import PyfetchTransport
    except ImportError:  # pragma: no cover - a wheel without the Hub client
        return {"model": repo_id, "revision": shown_rev, "error": {
            "message": f"{repo_id} is not bundled with this page; upload its config.json",
            "kind": "unavailable"}}
    global _hub_cache
    if _hub_cache is None:
        _hub_cache = MemoryCache()
    try:
        client = HubClient(PyfetchTransport(), endpoint=HUB, token=token,
                           cache=None if token else _hub_cache, retries=0)
        info = await client.fetch_model_async(repo_id, rev)
    except EstimatorError as exc:
        return {"model": repo_id, "revision": shown_rev, "error": hub_error(exc, repo_id)}
    label = f"{info.config_repo_id} at {info.revision} (from the Hub)"
    return _loaded(key, Model(info.config, info.weights, label, list(info.notes), repo_id,
                              shown_rev), repo_id, shown_rev)


def local(args: dict[str, Any]) -> dict[str, Any]:
    source = str(args.get("source") or "local config")
    from estimator.jsonsafe import load_config_text

    try:  # depth, size and number limits: no input can take the runtime down
        data = load_config_text(str(args.get("text") or ""), source)
    except EstimatorError as exc:
        text = str(exc)  # says what is wrong, starting with the source's name
        return {"error": {"message": text[:1].upper() + text[1:], "kind": "json"}}
    key = f"local:{len(MODELS)}:{source}"
    return _loaded(key, Model(data, None, f"{source} (local; not part of the link)"),
                   "", "")


def _main(model: Model, state: dict[str, str]) -> view.MainView:
    key = json.dumps([id(model), state], sort_keys=True)
    if key not in _memo:
        _memo.clear()
        _memo[key] = view.compute_main(model.config, state, model.metadata,
                                       model_label=model.label, model_id=model.repo_id or "MODEL",
                                       revision=model.revision)
    return _memo[key]


def compute(args: dict[str, Any]) -> dict[str, Any]:
    model = MODELS.get(str(args.get("key")))
    if model is None:
        return {"error": {"message": "this model is no longer loaded; choose it again",
                          "kind": "lost"}}
    state = {str(k): str(v) for k, v in dict(args.get("state") or {}).items()}
    step = str(args.get("step") or "main")
    try:
        main = _main(model, state)
        if step == "main":
            return main.view.to_json()
        options, est = main.options, main.estimate
        if step == "compare":
            return view.compute_compare(model.config, options, model.metadata).to_json()
        if step in ("ctx", "batch"):
            axis = "context" if step == "ctx" else "batch"
            return view.compute_sweep(model.config, options, est, axis, model.metadata).to_json()
        if step == "limits":
            return view.compute_limits(model.config, options, model.metadata).to_json()
        return {"error": {"message": f"unknown step {step!r}"}}
    except OptionError as exc:
        fields = getattr(exc, "fields", None) or view.error_fields(str(exc))
        return {"error": {"message": str(exc), "fields": fields, "kind": "option"}}
    except EstimatorError as exc:
        return {"error": {"message": f"Cannot estimate this model: {exc}", "kind": "model"}}


def copy(args: dict[str, Any]) -> dict[str, Any]:
    model = MODELS.get(str(args.get("key")))
    if model is None:
        return {"error": {"message": "no estimate to copy"}}
    state = {str(k): str(v) for k, v in dict(args.get("state") or {}).items()}
    est = _main(model, state).estimate
    name = str(args.get("model") or "")
    if args.get("kind") == "json":
        return {"text": report.estimate_json(est, name)}
    return {"text": report.estimate_markdown(est, name, str(args.get("link") or ""))}


async def suggest(args: dict[str, Any]) -> dict[str, Any]:
    from urllib.parse import urlencode

    from estimator.hub.browser import PyfetchTransport

    query = str(args.get("query") or "").strip()
    url = f"{HUB}/api/models?" + urlencode({"search": query, "limit": 10})
    try:
        resp = await PyfetchTransport().get(url, {"Accept": "application/json"}, 10.0)
        if resp.status != 200:
            return {"ids": []}
        found = [str(item.get("id") or item.get("modelId") or "")
                 for item in json.loads(resp.body) if isinstance(item, dict)]
    except Exception:  # suggestions are a convenience: stay quiet on failure
        return {"ids": []}
    return {"ids": [f for f in found if f]}


#: Hub failures (estimator.errors kinds) that a token, or a different one, could solve.
NEEDS_TOKEN = {"not_found_or_private", "gated", "bad_token", "forbidden"}


def hub_error(exc: EstimatorError, repo_id: str) -> dict[str, Any]:
    """The message for a Hub failure, keyed on its kind (estimator.errors), with what to do
    next and whether a token could help; the Hub's own words are shown as text only."""
    kind = str(getattr(exc, "kind", "hub"))
    text = str(exc)
    try:  # the client's advice names the CLI's ways to give a token; the page has a field
        from estimator.hub.status import TOKEN_HINT

        text = text.replace(TOKEN_HINT, "paste it in the token field")
    except ImportError:  # pragma: no cover
        pass
    advice = {
        "not_found_or_private": "Check the id; if the repo is private, paste a token that can "
                                "read it.",
        "gated": "Accept its terms on huggingface.co, then paste a token of that account in "
                 "the token field.",
        "bad_token": "Paste a valid token, or clear it to read public models.",
        "forbidden": "The token may lack the read permission.",
        "network": "Bundled models and uploaded configs still work.",
        "timeout": "Bundled models and uploaded configs still work.",
        "server_error": "Try again later; bundled models and uploaded configs still work.",
        "rate_limited": "Wait, or add a token (it raises the limit).",
    }.get(kind, "")
    if kind in ("network", "timeout", "server_error"):
        message = f"cannot reach the Hub: {text}."
    elif kind == "invalid_response":
        message = f"the Hub sent something unexpected: {text}"
    elif kind == "rate_limited":
        message = f"rate-limited by the Hub while reading {repo_id}: {text}."
    else:
        message = text.rstrip(".") + "."
    return {"kind": kind, "needs_token": kind in NEEDS_TOKEN,
            "message": f"{message} {advice}".strip()}
