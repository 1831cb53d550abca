"""DOM wiring of the page (PyScript entry point). No estimator logic lives here:
``view`` turns (config, state) into texts/attributes/rows, ``estimator`` computes,
this module only reads controls, writes ``textContent``/attributes and talks to
the Hub through ``estimator.hub``. Strings from configs and the Hub are only
ever assigned as text, never parsed as HTML.
"""

from __future__ import annotations

import asyncio
import json

import view
from pyodide.ffi import create_proxy
from pyscript import document, window

from estimator import EstimatorError, OptionError
from estimator.hub.urls import parse_model_ref

# The Hub client (and what it imports) loads on first use: bundled models need none of it.
HubClient = PyfetchTransport = MemoryCache = None


def hub_modules() -> bool:
    global HubClient, PyfetchTransport, MemoryCache
    if HubClient is None:
        try:
            from estimator.hub import HubClient, MemoryCache
            from estimator.hub.browser import PyfetchTransport
        except ImportError:  # pragma: no cover - a wheel without the Hub client
            return False
    return True

HUB = "https://huggingface.co"
TOKEN_KEY = "llm-mem-hub-token"
ROOT = document.documentElement

with open("models.json", encoding="utf-8") as fh:
    BUNDLED: dict = json.load(fh)

DEFAULT_MODEL = document.getElementById("app").dataset.defaultModel


_TASKS: set = set()


def spawn(coro):
    """Run a coroutine in the background, keeping a reference until it ends."""
    task = asyncio.ensure_future(coro)
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return task


def el(id_: str):
    return document.getElementById(id_)


class Page:
    def __init__(self) -> None:
        self.elements: dict = {}
        self.texts: dict[str, str] = {}
        self.state = view.state_from_query(window.location.search, DEFAULT_MODEL)
        self.config: dict | None = None
        self.metadata = None
        self.label = ""
        self.loaded_key: tuple[str, str] | None = None
        self.generation = 0
        self.last = None  # last successful compute_main() result
        self.cache = None
        self.suggest_task = None
        self.model_task = None
        self.proxies: list = []
        self.stale: str | None = None  # why #results does not answer the inputs, if it does not
        self.load_error: EstimatorError | None = None  # the last model load's failure
        self.invalid: list[str] = []  # option fields marked aria-invalid
        self.pending: tuple[str, str] | None = None  # the model being fetched

    # -- DOM helpers ---------------------------------------------------------------

    def node(self, id_: str):
        node = self.elements.get(id_)
        if node is None:
            node = el(id_)
            self.elements[id_] = node
        return node

    def set_text(self, id_: str, value: str) -> None:
        if self.texts.get(id_) == value:
            return
        node = self.node(id_)
        if node is not None:
            node.textContent = value
            self.texts[id_] = value

    def set_attr(self, id_: str, name: str, value: str) -> None:
        key = f"{id_}\0{name}"
        if self.texts.get(key) == value:
            return
        node = self.node(id_)
        if node is None:
            return
        if name == "value":
            if node is document.activeElement:
                return  # never move a control under the user's hands
            node.value = value
        else:
            node.setAttribute(name, value)
        self.texts[key] = value

    def set_rows(self, key: str, rows: list[list[str]], marks: list[str] | None) -> None:
        body = self.node(f"rows-{key}")
        trs = body.rows
        if trs.length != len(rows) or (rows and trs.length and trs.item(0).cells.length
                                       != len(rows[0])):
            body.replaceChildren()
            for row in rows:
                tr = document.createElement("tr")
                for _ in row:
                    tr.appendChild(document.createElement("td"))
                body.appendChild(tr)
            trs = body.rows
            for k in [k for k in self.texts if k.startswith(f"rows-{key}\0")]:
                del self.texts[k]
        current = self.state.get("precision", "")
        for i, row in enumerate(rows):
            tr = trs.item(i)
            for j, cell in enumerate(row):
                ck = f"rows-{key}\0{i}\0{j}"
                if self.texts.get(ck) != cell:
                    tr.cells.item(j).textContent = cell
                    self.texts[ck] = cell
            if marks is not None:
                mk = f"rows-{key}\0{i}\0mark"
                flag = "current" if marks[i] == current else ""
                if self.texts.get(mk) != flag:
                    tr.className = flag
                    self.texts[mk] = flag

    def set_list(self, id_: str, items: list[str]) -> None:
        key = f"{id_}\0list"
        joined = "\n".join(items)
        if self.texts.get(key) == joined:
            return
        ul = self.node(id_)
        ul.replaceChildren()
        for item in items:
            li = document.createElement("li")
            li.textContent = item
            ul.appendChild(li)
        self.node("warnings-box").hidden = not items
        self.texts[key] = joined

    def apply(self, vm: dict) -> None:
        for id_, value in vm.get("texts", {}).items():
            self.set_text(id_, value)
        for id_, attrs in vm.get("attrs", {}).items():
            for name, value in attrs.items():
                self.set_attr(id_, name, value)
        for key, rows in vm.get("rows", {}).items():
            self.set_rows(key, rows, vm.get("row_keys", {}).get(key))
        if "warnings" in vm:
            self.set_list("warnings", vm["warnings"])

    def show_error(self, id_: str, message: str) -> None:
        node = self.node(id_)
        node.textContent = message
        node.hidden = not message
        if id_ == "model-error":
            field = self.node("model")
            if message:
                field.setAttribute("aria-invalid", "true")
            else:
                field.removeAttribute("aria-invalid")

    # -- the results region's contract: data-stale whenever it does not answer the inputs

    def set_stale(self, kind: str | None, reason: str = "") -> None:
        """Mark #results (and the detected facts) as not answering the inputs, and say why.

        kind: "loading" (a model is being fetched), "failed" (the model could not be
        loaded: its figures are cleared), "invalid" (an option is out of range), or None
        once the figures answer the inputs again.
        """
        self.stale = kind
        for id_ in ("results", "facts"):
            node = self.node(id_)
            if kind:
                node.setAttribute("data-stale", kind)
            else:
                node.removeAttribute("data-stale")
        box = self.node("stale-reason")
        box.textContent = reason if kind else ""
        box.hidden = not kind
        if kind == "failed":
            # another model's figures must not stay under this id: clear them
            for id_ in ("total-gib", "total-gb", "pergpu-gib", "pergpu-gb", "pergpu-plan",
                        "recommendation", "max-batch", "max-context", "model-label"):
                self.set_text(id_, "—" if id_ in ("total-gib", "pergpu-gib") else "")
            self.set_text("fit-text", "No estimate: " + reason)
            self.set_attr("fit", "data-fit", "none")

    def show_field_errors(self, fields: list[str], message: str) -> None:
        """The option error next to each field it is about (aria-invalid), not only below."""
        for name in self.invalid:
            if name not in fields:
                node = self.node(name)
                if node:  # JS null is pyodide's jsnull (falsy), not None
                    node.removeAttribute("aria-invalid")
                box = self.node(f"{name}-error")
                if box:
                    box.hidden = True
                    box.textContent = ""
        for name in fields:
            node = self.node(name)
            if not node:
                continue
            box = self.node(f"{name}-error")
            if not box:
                box = document.createElement("p")
                box.id = f"{name}-error"
                box.className = "error field-error"
                holder = node.closest(".field") or node.closest("label") or node.parentElement
                holder.appendChild(box)
                self.elements[f"{name}-error"] = box
                described = str(node.getAttribute("aria-describedby") or "")
                node.setAttribute("aria-describedby", f"{described} {name}-error".strip())
            box.textContent = message
            box.hidden = False
            node.setAttribute("aria-invalid", "true")
            details = node.closest("details")
            if details:
                details.open = True
        self.invalid = list(fields)

    def on(self, target, event: str, handler) -> None:
        proxy = create_proxy(handler)
        self.proxies.append(proxy)
        target.addEventListener(event, proxy)

    # -- estimating ----------------------------------------------------------------

    def refresh(self) -> None:
        """Re-estimate now (headline figures), then fill charts and tables step by step."""
        if self.config is None or self.pending is not None:
            return  # no model, or a new one on its way: #results stays marked stale
        self.generation += 1
        gen = self.generation
        ROOT.dataset.generation = str(gen)
        try:
            main = view.compute_main(self.config, self.state, self.metadata,
                                     model_label=self.label)
        except OptionError as exc:
            fields = getattr(exc, "fields", None) or view.error_fields(str(exc))
            self.show_error("options-error", str(exc))
            self.show_field_errors(fields, str(exc))
            self.set_stale("invalid", f"Not updated: {exc}. The figures below are for the "
                                      "previous valid settings.")
            ROOT.dataset.settled = str(gen)
            return
        except EstimatorError as exc:
            self.show_error("model-error", f"Cannot estimate this model: {exc}")
            self.set_stale("failed", f"Cannot estimate {self.state.get('model', '')}: {exc}")
            ROOT.dataset.settled = str(gen)
            return
        self.show_error("options-error", "")
        self.show_field_errors([], "")
        self.set_stale(None)
        self.apply(main)
        self.last = main
        spawn(self.extras(gen, main))

    async def extras(self, gen: int, main: dict) -> None:
        config, metadata = self.config, self.metadata
        options, est = main["options"], main["estimate"]
        steps = (
            lambda: view.compute_compare(config, options, metadata),
            lambda: view.compute_sweep(config, options, est, "context", metadata),
            lambda: view.compute_sweep(config, options, est, "batch", metadata),
            lambda: view.compute_limits(config, options, metadata),
        )
        for step in steps:
            await asyncio.sleep(0)  # let input events in between the heavier parts
            if gen != self.generation:
                return
            try:
                self.apply(step())
            except EstimatorError as exc:
                self.show_error("options-error", str(exc))
        ROOT.dataset.settled = str(gen)

    # -- state and URL ---------------------------------------------------------------

    def read_control(self, name: str) -> str:
        node = self.node(name)
        if node.type == "checkbox":
            return "true" if node.checked else "false"
        return str(node.value).strip()

    def write_controls(self) -> None:
        for name in (*view.OPTION_FIELDS, "model", "revision"):
            node = self.node(name)
            if node is None:
                continue
            value = self.state.get(name, "")
            if node.type == "checkbox":
                node.checked = value == "true"
            else:
                node.value = value

    def push_url(self) -> None:
        query = view.query_from_state(self.state, DEFAULT_MODEL)
        if query != window.location.search:
            window.history.pushState(None, "", query or window.location.pathname)

    def on_popstate(self, _event) -> None:
        self.state = view.state_from_query(window.location.search, DEFAULT_MODEL)
        self.write_controls()
        spawn(self.load_model())

    # -- events ----------------------------------------------------------------------

    def on_input(self, event) -> None:
        target = event.target
        name = target.name or ""
        if target.id == "context-slider":
            context = view.slider_to_context(int(target.value))
            self.node("context").value = str(context)
            self.state["context"] = str(context)
            self.refresh()
        elif name in view.OPTION_FIELDS:
            self.state[name] = self.read_control(name)
            self.refresh()
        elif name == "model":
            self.suggest(str(target.value))

    def on_change(self, event) -> None:
        target = event.target
        name = target.name or ""
        if name in ("model", "revision"):
            self.state["model"] = self.read_control("model")
            self.state["revision"] = self.read_control("revision")
            spawn(self.load_model(push=True))
            return
        if (name in view.OPTION_FIELDS or target.id == "context-slider") and not self.stale:
            self.push_url()  # only settings that were estimated go into the URL

    # -- models --------------------------------------------------------------------

    def token(self) -> str | None:
        value = str(self.node("token").value).strip()
        return value or None

    async def load_model(self, push: bool = False) -> None:
        text = self.state.get("model", "").strip() or DEFAULT_MODEL
        revision = self.state.get("revision", "").strip()
        try:
            ref = parse_model_ref(text, revision or None)
            repo_id, rev = ref.repo_id, ref.revision
        except EstimatorError as exc:
            self.fail_load(text, exc, str(exc))
            return
        # show the canonical id (a pasted URL becomes org/name and its revision)
        self.state["model"] = repo_id
        self.state["revision"] = "" if rev == "main" else rev
        self.write_model_fields()
        key = (repo_id, rev)
        self.load_error = None
        if key == self.loaded_key and self.config is not None:
            self.show_error("model-error", "")
            self.refresh()
            if push:
                self.push_url()
            return
        if repo_id in BUNDLED and rev == "main":
            if self.use_config(BUNDLED[repo_id], None,
                               f"{repo_id} (bundled copy of its config.json)", key) and push:
                self.push_url()
            return
        if not hub_modules():
            self.fail_load(repo_id, None, f"{repo_id} is not bundled with this page and the Hub "
                                          "client is unavailable; upload its config.json")
            return
        self.show_error("model-error", "")
        self.set_text("model-status", f"Fetching {repo_id} from the Hub…")
        self.set_stale("loading", f"Loading {repo_id} from the Hub… the figures below are for "
                                  "the previous model.")
        self.node("model").setAttribute("aria-busy", "true")
        self.pending = key
        if self.cache is None:
            self.cache = MemoryCache()
        try:
            client = HubClient(PyfetchTransport(), endpoint=HUB, token=self.token(),
                               cache=self.cache, retries=0)
            info = await client.fetch_model_async(repo_id, rev)
        except EstimatorError as exc:
            if (self.state.get("model"), self.state.get("revision") or "main") == key:
                self.pending = None
                self.fail_load(repo_id, exc, hub_message(exc, repo_id))
            return
        finally:
            self.node("model").removeAttribute("aria-busy")
            if self.pending == key:
                self.pending = None
        if (self.state.get("model"), self.state.get("revision") or "main") != key:
            return  # the user moved on while we were fetching
        label = f"{info.config_repo_id} at {info.revision} (from the Hub)"
        notes = " ".join(info.notes)
        self.set_text("model-status", notes)
        if self.use_config(info.config, info.weights, label, key) and push:
            self.push_url()

    def fail_load(self, repo_id: str, exc: EstimatorError | None, message: str) -> None:
        """A model that cannot be loaded: say so beside the field and in the results,
        clear the previous model's figures, keep the URL and every input as they are."""
        self.load_error = exc
        self.config, self.metadata, self.loaded_key = None, None, None
        self.last = None
        self.show_error("model-error", message)
        self.set_text("model-status", "")
        self.set_stale("failed", f"Could not load {repo_id}: {message}")
        self.generation += 1
        ROOT.dataset.generation = str(self.generation)
        ROOT.dataset.settled = str(self.generation)

    def use_config(self, config, metadata, label: str, key) -> bool:
        try:
            view.compute_main(config, self.state, metadata, model_label=label)
        except OptionError:
            pass  # shown by refresh() next to the options
        except EstimatorError as exc:
            self.fail_load(key[0], exc, f"Cannot estimate this model: {exc}")
            return False
        self.config, self.metadata, self.label, self.loaded_key = config, metadata, label, key
        self.show_error("model-error", "")
        if not label.endswith("(from the Hub)"):
            self.set_text("model-status", "")
        self.refresh()
        return True

    def write_model_fields(self) -> None:
        for name in ("model", "revision"):
            node = self.node(name)
            if node is not document.activeElement or name == "model":
                node.value = self.state.get(name, "")

    def use_text_config(self, text: str, source: str) -> None:
        try:
            data = json.loads(text)
        except ValueError as exc:
            self.show_error("model-error", f"{source} is not valid JSON: {exc}")
            return
        if not isinstance(data, dict):
            self.show_error("model-error", f"{source} must be a JSON object (a config.json)")
            return
        self.use_config(data, None, f"{source} (local; not part of the link)", ("local", source))

    async def on_file(self, event) -> None:
        files = event.target.files
        if not files or files.length == 0:
            return
        file = files.item(0)
        text = await file.text()
        self.use_text_config(str(text), f"uploaded file {file.name}")

    def on_paste(self, _event) -> None:
        text = str(self.node("config-text").value).strip()
        if text:
            self.use_text_config(text, "pasted config")

    # -- suggestions -----------------------------------------------------------------

    def suggest(self, text: str) -> None:
        query = text.strip()
        local = [m for m in BUNDLED if query.lower() in m.lower()][:10]
        self.fill_suggestions(local)
        if self.suggest_task is not None:
            self.suggest_task.cancel()
        if len(query) >= 2 and "://" not in query and hub_modules():
            self.suggest_task = spawn(self.hub_suggest(query, local))

    async def hub_suggest(self, query: str, local: list[str]) -> None:
        await asyncio.sleep(0.3)  # debounce typing
        from urllib.parse import urlencode

        url = f"{HUB}/api/models?" + urlencode({"search": query, "limit": 10})
        try:
            resp = await PyfetchTransport().get(url, {"Accept": "application/json"}, 10.0)
            if resp.status != 200:
                return
            found = [str(item.get("id") or item.get("modelId") or "")
                     for item in json.loads(resp.body) if isinstance(item, dict)]
        except Exception:  # suggestions are a convenience: stay quiet on failure
            return
        names = list(dict.fromkeys([*local, *(f for f in found if f)]))[:20]
        self.fill_suggestions(names)

    def fill_suggestions(self, names: list[str]) -> None:
        box = self.node("model-suggestions")
        box.replaceChildren()
        for name in names:
            option = document.createElement("option")
            option.value = name
            box.appendChild(option)

    # -- token -----------------------------------------------------------------------

    def restore_token(self) -> None:
        stored = window.localStorage.getItem(TOKEN_KEY)  # JS null is jsnull, not None
        remember = isinstance(stored, str) and bool(stored)
        if not remember:
            stored = window.sessionStorage.getItem(TOKEN_KEY)
        if isinstance(stored, str) and stored:
            self.node("token").value = stored
        self.node("remember").checked = remember

    def save_token(self, _event=None) -> None:
        value = str(self.node("token").value).strip()
        remember = bool(self.node("remember").checked)
        window.sessionStorage.removeItem(TOKEN_KEY)
        window.localStorage.removeItem(TOKEN_KEY)
        if value:
            (window.localStorage if remember else window.sessionStorage).setItem(TOKEN_KEY, value)

    def on_token(self, event=None) -> None:
        """Keep the token; if the last load needed one (or a better one), retry at once."""
        self.save_token(event)
        if needs_token(self.load_error):
            spawn(self.load_model(push=True))

    # -- copy ------------------------------------------------------------------------

    async def copy(self, kind: str) -> None:
        if self.last is None:
            return
        est = self.last["estimate"]
        model = self.state.get("model", "")
        if kind == "json":
            text = view.as_json(est, model)
        elif kind == "md":
            text = view.as_markdown(est, model, str(window.location.href))
        else:
            text = str(window.location.href)
        ROOT.dataset.copied = text  # read by tests; harmless
        try:
            await window.navigator.clipboard.writeText(text)
            self.set_text("copy-status", "Copied.")
        except Exception:
            self.set_text("copy-status", "Copy blocked by the browser; select and copy manually.")

    # -- start -----------------------------------------------------------------------

    def start(self) -> None:
        form = self.node("controls")
        self.on(form, "input", self.on_input)
        self.on(form, "change", self.on_change)
        self.on(form, "submit", lambda e: e.preventDefault())
        self.on(window, "popstate", self.on_popstate)
        self.on(self.node("config-file"), "change",
                lambda e: spawn(self.on_file(e)))
        self.on(self.node("config-text"), "change", self.on_paste)
        self.on(self.node("token"), "change", self.on_token)
        self.on(self.node("remember"), "change", self.save_token)
        for id_, kind in (("copy-md", "md"), ("copy-json", "json"), ("copy-link", "link")):
            self.on(self.node(id_), "click", lambda e, k=kind: spawn(self.copy(k)))
        self.restore_token()
        # Controls the visitor touched while Python loaded win over the URL.
        for name in (*view.OPTION_FIELDS, "model", "revision"):
            node = self.node(name)
            if node is not None and node.hasAttribute("data-touched"):
                self.state[name] = self.read_control(name)
        self.write_controls()
        spawn(self.boot())

    async def boot(self) -> None:
        # The URL's model, or an error in its place: never another model's figures.
        await self.load_model()
        ROOT.removeAttribute("data-loading")
        ROOT.dataset.ready = ""


def needs_token(exc: EstimatorError | None) -> bool:
    """Whether a (new) token could make the failed load work: gated, private or refused."""
    from estimator import GatedRepoError

    if exc is None:
        return False
    kind = getattr(exc, "kind", "")
    return isinstance(exc, GatedRepoError) or kind in ("gated", "private", "invalid-token",
                                                       "forbidden", "not-found-or-private")


def hub_message(exc: EstimatorError, repo_id: str) -> str:
    """The error text, with what to do next for each Hub failure."""
    from estimator import (
        GatedRepoError,
        HubNetworkError,
        InvalidResponseError,
        RateLimitedError,
        RepoNotFoundError,
    )

    text = str(exc)
    if isinstance(exc, RepoNotFoundError):
        return f"Not found: {text}. Check the id and revision (private repos need a token)."
    if isinstance(exc, GatedRepoError):
        return (f"Access denied to {repo_id}: it is gated or private. Accept its licence on "
                "huggingface.co, then paste a token with read access in the token field.")
    if isinstance(exc, RateLimitedError):
        wait = f" {exc.retry_after:.0f} s" if exc.retry_after else " a minute"
        return (f"Rate-limited by the Hub while reading {repo_id}: wait{wait}, "
                "or add a token (it raises the limit).")
    if isinstance(exc, HubNetworkError):
        return f"Cannot reach the Hub: {text}. Bundled models and uploaded configs still work."
    if isinstance(exc, InvalidResponseError):
        return f"The Hub sent something unexpected: {text}"
    return f"Cannot use {repo_id}: {text}"


PAGE = Page()
PAGE.start()
