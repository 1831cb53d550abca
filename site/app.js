// The page's main thread: the form, the URL, the results region. Every figure comes from
// Python in a worker (site/worker.js, site/runtime.py); this module only reads inputs,
// asks the worker, and writes textContent/attributes (never markup from data). It is
// loaded as a module from 'self' (strict CSP: no inline scripts, no eval).
//
// The results region's contract: #results carries data-stale whenever its figures are not
// the answer for what the inputs say now (booting, updating, loading a model, a failed
// load, an invalid option), with the reason inside it (#stale-reason); the fit banner is
// never green then. <html data-ready> once the first answer (or error) for the initial
// inputs is shown (site/ready.js); data-generation / data-settled count the re-estimates
// (tests wait on them).
import { isReady, markReady as markPageReady } from "./ready.js";

const root = document.documentElement;
const $ = (id) => document.getElementById(id);
const CFG = JSON.parse($("app").dataset.config);
const FIELDS = CFG.fields; // EstimateOptions field names, in form order
const DEFAULTS = CFG.defaults; // field -> its default as the form writes it
const DEFAULT_MODEL = CFG.defaultModel;
const BUNDLED = new Set(CFG.bundled);
const EMBED_KEYS = ["embed", "controls", "theme", "frame"];
const TOKEN_KEY = "llm-mem-hub-token";
const STALL_MS = 25000; // no word from the runtime for this long: say so, offer Retry
const SLIDER_MIN = 64, SLIDER_STEPS = 100; // site/view.py CONTEXT_SLIDER_MIN, SLIDER_STEPS_PER_OCTAVE
const params = new URLSearchParams(location.search);
const embedded = root.hasAttribute("data-embed") || ["1", "true"].includes(params.get("embed"));

const cap = (text) => (text ? text[0].toUpperCase() + text.slice(1) : text);

// ---------------------------------------------------------------------------
// state <-> URL (the same rules as site/view.py state_from_query / query_from_state)

function stateFromQuery(search) {
  const state = { model: DEFAULT_MODEL, revision: "", ...DEFAULTS };
  for (const [key, value] of new URLSearchParams(search)) {
    if (key in state) state[key] = value.trim();
  }
  if (!state.model) state.model = DEFAULT_MODEL;
  return state;
}

function queryFromState(state) {
  const query = new URLSearchParams();
  if (state.model && state.model !== DEFAULT_MODEL) query.set("model", state.model);
  if (state.revision && state.revision !== "main") query.set("revision", state.revision);
  for (const name of FIELDS) {
    if ((state[name] ?? "") !== DEFAULTS[name]) query.set(name, state[name] ?? "");
  }
  if (embedded) { // the widget's own settings survive every change
    const current = new URLSearchParams(location.search);
    for (const key of EMBED_KEYS) if (current.has(key)) query.set(key, current.get(key));
  }
  const text = query.toString();
  return text ? "?" + text : "";
}

function sliderToContext(position) {
  const raw = SLIDER_MIN * 2 ** (position / SLIDER_STEPS);
  const power = 2 ** Math.round(Math.log2(raw));
  if (Math.abs(raw - power) / power < 0.03) return power;
  const step = raw >= 4096 ? 256 : 64;
  return Math.max(1, Math.round(raw / step) * step);
}

function contextToSlider(context) {
  return Math.max(0, Math.round(Math.log2(Math.max(context, 1) / SLIDER_MIN) * SLIDER_STEPS));
}

// ---------------------------------------------------------------------------
// writing the DOM (cached: a value is written only when it changes)

const written = new Map();

function setText(id, value) {
  const key = id + "\0text";
  if (written.get(key) === value) return;
  const node = $(id);
  if (!node) return;
  // the pre-rendered page already shows most answers: no write, no relayout, for those
  if (node.textContent !== value) node.textContent = value;
  written.set(key, value);
}

function setAttr(id, name, value) {
  const key = id + "\0" + name;
  if (written.get(key) === value) return;
  const node = $(id);
  if (!node) return;
  if (name === "value") {
    if (node === document.activeElement) return; // never move a control under the user's hands
    if (node.value !== value) node.value = value;
  } else if (node.getAttribute(name) !== value) {
    node.setAttribute(name, value);
  }
  written.set(key, value);
}

function setRows(key, rows, marks) {
  const body = $("rows-" + key);
  if (!body) return;
  const width = rows.length ? rows[0].length : 0;
  if (body.rows.length !== rows.length || (rows.length && body.rows[0].cells.length !== width)) {
    body.replaceChildren();
    for (const row of rows) {
      const tr = document.createElement("tr");
      for (let j = 0; j < row.length; j++) tr.appendChild(document.createElement("td"));
      body.appendChild(tr);
    }
  }
  const current = state.precision;
  rows.forEach((row, i) => {
    const tr = body.rows[i];
    row.forEach((cell, j) => {
      if (tr.cells[j].textContent !== cell) tr.cells[j].textContent = cell;
    });
    if (marks) tr.className = marks[i] === current ? "current" : "";
  });
}

function setList(id, items) {
  const list = $(id);
  const key = id + "\0list";
  const joined = items.join("\n");
  if (written.get(key) === joined) return;
  list.replaceChildren(...items.map((item) => {
    const li = document.createElement("li");
    li.textContent = item;
    return li;
  }));
  $("warnings-box").hidden = !items.length;
  written.set(key, joined);
}

function apply(vm) {
  for (const [id, value] of Object.entries(vm.texts || {})) setText(id, value);
  for (const [id, attrs] of Object.entries(vm.attrs || {})) {
    for (const [name, value] of Object.entries(attrs)) setAttr(id, name, value);
  }
  for (const [key, rows] of Object.entries(vm.rows || {})) setRows(key, rows, (vm.row_keys || {})[key]);
  if (vm.warnings) setList("warnings", vm.warnings);
  if (vm.breakdown) document.dispatchEvent(new CustomEvent("llm-mem:breakdown", { detail: vm.breakdown }));
  if (vm.launch) showLaunch(vm.launch);
}

// ---------------------------------------------------------------------------
// the launch block (site/launch_view.py): fixes as buttons that apply them, the command
// with a copy button. Drawn like launch_view.fixes_html pre-renders it.

function showLaunch(launch) {
  const list = $("launch-fixes");
  const key = JSON.stringify(launch.fixes);
  if (written.get("launch\0fixes") === key) return;
  written.set("launch\0fixes", key);
  list.replaceChildren(...launch.fixes.map((fix, i) => {
    const li = document.createElement("li");
    const change = cap(fix.change);
    let head;
    if (fix.apply) {
      head = document.createElement("button");
      head.type = "button";
      head.className = "fix";
      head.dataset.fix = String(i);
      head.dataset.apply = JSON.stringify(fix.apply);
      head.disabled = Boolean(stale); // drawn while the rest is still updating
    } else {
      head = document.createElement("span");
      head.className = "fix-text";
    }
    head.textContent = change;
    const flags = document.createElement("code");
    flags.textContent = fix.flags;
    const result = document.createElement("span");
    result.className = "fix-result";
    result.textContent = "→ " + fix.result;
    li.append(head, " ", flags, " ", result);
    return li;
  }));
}

function applyFix(button) {
  if (stale || !loaded) return; // a fix is for the inputs its verdict answered
  const settings = JSON.parse(button.dataset.apply || "{}");
  Object.assign(state, settings);
  writeControls();
  $("launch-verdict").focus(); // the button goes away with the old verdict
  wantPush = true; // a committed change: into the URL once its estimate is in
  refresh();
}

async function copyCommand() {
  const text = $("launch-command").textContent;
  if (stale || !text) return;
  const button = $("copy-command");
  root.dataset.copied = text; // read by tests; harmless
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
    button.dataset.copied = "";
    setText("copy-command-status", "");
    setTimeout(() => { button.textContent = "Copy command"; delete button.dataset.copied; }, 2000);
  } catch (error) { // no clipboard permission: select the command for Ctrl+C / ⌘C
    const range = document.createRange();
    range.selectNodeContents($("launch-command"));
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    setText("copy-command-status", "Selected: press Ctrl+C (⌘C) to copy.");
  }
}

// ---------------------------------------------------------------------------
// the stale contract, and errors beside their fields

let stale = null;

function setStale(kind, reason = "") {
  stale = kind;
  for (const id of ["results", "facts", "summary"]) {
    const node = $(id);
    if (!node) continue;
    if (kind) node.dataset.stale = kind;
    else delete node.dataset.stale;
  }
  const box = $("stale-reason");
  box.textContent = kind ? reason : "";
  box.hidden = !kind;
  // the launch verdict's buttons act on the inputs it answered: not while it is stale
  for (const button of document.querySelectorAll("#launch button, #launch-fixes button")) {
    button.disabled = Boolean(kind);
  }
  if (kind === "failed") { // another model's figures must not stay under this id
    for (const id of ["total-gib", "pergpu-gib", "sum-total", "sum-pergpu"]) setText(id, "—");
    setText("sum-fit", "no estimate");
    setAttr("summary", "data-fit", "none");
    for (const id of ["total-gb", "pergpu-gb", "pergpu-plan", "recommendation", "max-batch",
                      "max-context", "model-label", "recommendation-node", "launch-verdict",
                      "launch-engine", "launch-facts", "launch-command"]) setText(id, "");
    setAttr("launch", "data-starts", "none");
    setAttr("launch", "data-command", "none");
    showLaunch({ fixes: [] });
    setText("fit-text", "No estimate: " + reason);
    setAttr("fit", "data-fit", "none");
  }
}

function showModelError(message) {
  const box = $("model-error");
  box.textContent = message;
  box.hidden = !message;
  if (message) $("model").setAttribute("aria-invalid", "true");
  else $("model").removeAttribute("aria-invalid");
}

let invalid = [];

function showFieldErrors(fields, message) {
  for (const name of invalid) {
    if (fields.includes(name)) continue;
    const node = $(name);
    if (node) node.removeAttribute("aria-invalid");
    const box = $(name + "-error");
    if (box) { box.hidden = true; box.textContent = ""; }
  }
  for (const name of fields) {
    const node = $(name);
    if (!node) continue;
    let box = $(name + "-error");
    if (!box) {
      box = document.createElement("p");
      box.id = name + "-error";
      box.className = "error field-error";
      (node.closest(".field") || node.closest(".checks") || node.parentElement).appendChild(box);
      const described = node.getAttribute("aria-describedby") || "";
      node.setAttribute("aria-describedby", (described + " " + box.id).trim());
    }
    box.textContent = message;
    box.hidden = false;
    node.setAttribute("aria-invalid", "true");
    const details = node.closest("details");
    if (details) details.open = true;
  }
  invalid = [...fields];
  const bottom = $("options-error");
  bottom.textContent = message;
  bottom.hidden = !message;
}

// ---------------------------------------------------------------------------
// the runtime (a worker; a SharedWorker for embed widgets, so that every widget of a host
// page shares one Python)

class Runtime {
  constructor(onStatus) {
    this.onStatus = onStatus;
    this.pending = new Map();
    this.nextId = 1;
    this.attempt = 0;
    this.state = "booting";
    this.start();
  }

  start() {
    this.attempt += 1;
    this.state = "booting";
    const url = new URL(CFG.worker, location.href);
    const shared = embedded && typeof SharedWorker === "function" && !this.dedicated;
    try {
      if (shared) {
        // a retry gets a fresh runtime: a new name is a new SharedWorker
        this.worker = new SharedWorker(url, { type: "module", name: "llm-mem-runtime-" + this.attempt });
        this.port = this.worker.port;
      } else {
        this.worker = new Worker(url, { type: "module", name: "llm-mem-runtime" });
        this.port = this.worker;
      }
    } catch (error) {
      this.fail(String(error && error.message || error));
      return;
    }
    root.dataset.runtime = shared ? "shared" : "dedicated";
    this.heard = false;
    this.port.onmessage = (event) => { this.heard = true; this.receive(event.data); };
    this.worker.onerror = (event) => {
      if (event.preventDefault) event.preventDefault();
      if (shared && !this.heard && !this.dedicated) {
        // a browser that refuses a SharedWorker here (third-party storage blocked): this
        // widget gets a runtime of its own
        this.dedicated = true;
        this.attempt -= 1;
        this.start();
        return;
      }
      this.fail("the runtime's script did not load" + (event.message ? ": " + event.message : ""));
    };
    if (shared) this.port.start();
    if (this.painted) this.port.postMessage({ type: "go" });
    this.watch();
  }

  /** The page has painted its pre-rendered estimate: the worker may download the runtime. */
  go() {
    this.painted = true;
    if (this.port) this.port.postMessage({ type: "go" });
  }

  watch() {
    clearTimeout(this.timer);
    if (this.state !== "booting") return;
    this.timer = setTimeout(() => this.onStatus({ type: "stalled" }), STALL_MS);
  }

  fail(message) {
    if (this.state === "failed") return;
    this.state = "failed";
    clearTimeout(this.timer);
    for (const { reject } of this.pending.values()) reject(new Error(message));
    this.pending.clear();
    this.onStatus({ type: "failed", message });
  }

  retry() {
    clearTimeout(this.timer);
    if (this.worker && this.worker.terminate) this.worker.terminate();
    else if (this.port && this.port.close) this.port.close();
    for (const { reject } of this.pending.values()) reject(new Error("restarted"));
    this.pending.clear();
    this.start();
  }

  receive(data) {
    if (!data) return;
    if (data.type === "reply") {
      const waiting = this.pending.get(data.id);
      if (!waiting) return;
      this.pending.delete(data.id);
      if (data.error) waiting.reject(new Error(data.error));
      else waiting.resolve(data.result);
      return;
    }
    if (data.type === "ready") {
      this.state = "ready";
      clearTimeout(this.timer);
    } else if (data.type === "failed") {
      this.fail(data.message);
      return;
    } else {
      this.watch();
    }
    this.onStatus(data);
  }

  call(op, args) {
    if (this.state === "failed") return Promise.reject(new Error("the runtime is not running"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ type: "call", id, op, args });
    });
  }
}

// ---------------------------------------------------------------------------
// controls

const state = stateFromQuery(location.search);
let loaded = null; // {key, model, revision, label, notes}: the model the figures answer
let wanted = null; // the model being loaded
let loadError = null; // the last load's error ({message, kind, needs_token})
let loadTicket = 0;
let generation = 0;

function readControl(name) {
  const node = $(name);
  if (!node) return "";
  if (node.type === "checkbox") return node.checked ? "true" : "false";
  return String(node.value).trim();
}

function writeControls() {
  for (const name of [...FIELDS, "model", "revision"]) {
    const node = $(name);
    if (!node) continue;
    const value = state[name] ?? "";
    if (node.type === "checkbox") node.checked = value === "true";
    else if (node !== document.activeElement || name === "model") node.value = value;
  }
  const context = parseInt(state.context, 10);
  if (context > 0) $("context-slider").value = String(contextToSlider(context));
}

function token() {
  if (embedded) return ""; // a widget lives on someone else's site: never a stored token
  return String($("token").value || "").trim();
}

function pushUrl() {
  const query = queryFromState(state);
  if (query === location.search) return;
  const url = query || location.pathname;
  // a widget must not add entries to the host page's back-button history
  if (embedded) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  document.dispatchEvent(new CustomEvent("llm-mem:url")); // embed-frame.js follows it
}

// ---------------------------------------------------------------------------
// estimating: one request in flight at a time; the newest inputs win

let busy = false;
let dirty = false;
let wantPush = false; // a committed change: into the URL once its estimate is valid

function refresh() {
  if (!loaded || wanted) return; // no model, or another on its way: stays marked stale
  generation += 1;
  root.dataset.generation = String(generation);
  if (stale !== "invalid" || !invalid.length) setStale("updating", "Updating…");
  dirty = true;
  pump();
}

async function pump() {
  if (busy || !dirty) return;
  busy = true;
  dirty = false;
  const gen = generation;
  const args = { key: loaded.key, state: { ...state } };
  const current = () => gen === generation && !dirty;
  try {
    const main = await runtime.call("compute", { ...args, step: "main" });
    if (!current()) return;
    if (main.error) {
      if (main.error.fields) {
        showFieldErrors(main.error.fields, main.error.message);
        setStale("invalid", `Not updated: ${main.error.message}. The figures below are for ` +
                            "the previous valid settings.");
        wantPush = false; // an invalid setting never reaches the URL
      } else {
        showModelError(main.error.message);
        setStale("failed", main.error.message);
      }
      settle(gen);
      markReady();
      return;
    }
    showFieldErrors([], "");
    apply(main);
    markReady();
    if (wantPush) { wantPush = false; pushUrl(); }
    for (const step of ["compare", "ctx", "batch", "limits"]) {
      const part = await runtime.call("compute", { ...args, step });
      if (!current()) return;
      if (part.error) showFieldErrors(part.error.fields || [], part.error.message);
      else apply(part);
    }
    setStale(null);
    if (wantPush) { wantPush = false; pushUrl(); }
    settle(gen);
  } catch (error) {
    if (current()) {
      setStale("failed", "The Python runtime stopped: " + error.message);
      settle(gen);
    }
  } finally {
    busy = false;
    if (dirty) pump();
  }
}

function settle(gen) {
  root.dataset.settled = String(gen);
}

function markReady() {
  if (isReady()) return;
  root.removeAttribute("data-loading");
  markPageReady();
}

// ---------------------------------------------------------------------------
// models

async function loadModel({ push = false } = {}) {
  const request = { model: (state.model || "").trim() || DEFAULT_MODEL,
                    revision: (state.revision || "").trim() };
  const ticket = ++loadTicket;
  wanted = request;
  loadError = null;
  showModelError("");
  const fromHub = !(BUNDLED.has(request.model) && !request.revision);
  if (fromHub) {
    setText("model-status", `Fetching ${request.model} from the Hub…`);
    $("model").setAttribute("aria-busy", "true");
    setStale("loading", `Loading ${request.model} from the Hub… the figures below are for ` +
                        (loaded ? "the previous model." : "another model."));
  }
  let result;
  try {
    result = await runtime.call("load", { ...request, token: token() });
  } catch (error) {
    result = { model: request.model, error: { message: "the Python runtime stopped: " + error.message } };
  }
  if (ticket !== loadTicket) return; // the visitor moved on meanwhile
  $("model").removeAttribute("aria-busy");
  wanted = null;
  if (result.model) { // the canonical id: a pasted URL becomes org/name and its revision
    state.model = result.model;
    state.revision = result.revision || "";
    for (const name of ["model", "revision"]) $(name).value = state[name];
  }
  if (result.error) {
    failLoad(result.model || request.model, result.error);
    return;
  }
  useModel(result);
  if (push) pushUrl();
}

function useModel(result) {
  loaded = result;
  loadError = null;
  showModelError("");
  setText("model-status", result.notes || "");
  refresh();
}

function failLoad(name, error) {
  loadError = error;
  loaded = null;
  const message = cap(error.message);
  showModelError(message);
  if (error.kind === "bad_token" && !embedded) { // offer to clear the refused token
    const clear = document.createElement("button");
    clear.type = "button";
    clear.id = "clear-token";
    clear.textContent = "Clear the token and retry";
    clear.addEventListener("click", () => {
      $("token").value = "";
      saveToken();
      loadModel({ push: true });
    });
    $("model-error").append(" ", clear);
  }
  setText("model-status", "");
  setStale("failed", name ? `Could not load ${name}: ${message}` : message);
  generation += 1;
  root.dataset.generation = String(generation);
  settle(generation);
  markReady();
}

async function useText(text, source) {
  let result;
  try {
    result = await runtime.call("local", { text, source });
  } catch (error) {
    result = { error: { message: error.message } };
  }
  if (result.error) {
    if (result.error.kind === "json") showModelError(cap(result.error.message)); // the model stays
    else failLoad(source, result.error);
    return;
  }
  loadTicket += 1; // a Hub load still on its way must not replace this
  wanted = null;
  useModel(result);
}

// ---------------------------------------------------------------------------
// events

function onInput(event) {
  const target = event.target;
  const name = target.name || "";
  if (!isReady()) {
    target.dataset.touched = "1";
    if (!stale || stale === "boot") {
      setStale("boot", "Your change is applied as soon as the Python runtime has started.");
    }
  }
  if (target.id === "context-slider") {
    const context = sliderToContext(parseInt(target.value, 10));
    $("context").value = String(context);
    state.context = String(context);
    refresh();
  } else if (FIELDS.includes(name)) {
    state[name] = readControl(name);
    refresh();
  } else if (name === "model") {
    suggest(String(target.value));
  }
}

function onChange(event) {
  const target = event.target;
  const name = target.name || "";
  if (name === "model" || name === "revision") {
    state.model = readControl("model");
    state.revision = readControl("revision");
    if (runtime.state === "ready") loadModel({ push: true });
    return;
  }
  if ((FIELDS.includes(name) || target.id === "context-slider") && loaded) {
    // only settings that were estimated (and valid) go into the URL
    if (stale === null) pushUrl();
    else if (stale === "updating") wantPush = true;
  }
}

function onPopState() {
  Object.assign(state, stateFromQuery(location.search));
  writeControls();
  if (runtime.state === "ready") loadModel();
}

function restoreToken() {
  if (embedded) return;
  const remembered = localStorage.getItem(TOKEN_KEY);
  const stored = remembered || sessionStorage.getItem(TOKEN_KEY);
  if (stored) $("token").value = stored;
  $("remember").checked = Boolean(remembered);
}

function saveToken() {
  if (embedded) return;
  const value = String($("token").value || "").trim();
  sessionStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(TOKEN_KEY);
  if (value) ($("remember").checked ? localStorage : sessionStorage).setItem(TOKEN_KEY, value);
}

function onToken() {
  saveToken();
  // a load that needed a (better) token is tried again at once
  if (loadError && loadError.needs_token && runtime.state === "ready") loadModel({ push: true });
}

let suggestTimer = 0;
function suggest(text) {
  const query = text.trim();
  const local = [...BUNDLED].filter((m) => m.toLowerCase().includes(query.toLowerCase())).slice(0, 10);
  fillSuggestions(local);
  clearTimeout(suggestTimer);
  if (query.length < 2 || query.includes("://") || runtime.state !== "ready") return;
  suggestTimer = setTimeout(async () => {
    try {
      const { ids } = await runtime.call("suggest", { query });
      if ($("model").value.trim() === query) fillSuggestions([...new Set([...local, ...ids])].slice(0, 20));
    } catch (error) { /* suggestions are a convenience */ }
  }, 300);
}

function fillSuggestions(names) {
  $("model-suggestions").replaceChildren(...names.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    return option;
  }));
}

async function copy(kind) {
  if (!loaded) return;
  let text = location.href;
  if (kind !== "link") {
    try {
      const result = await runtime.call("copy", { key: loaded.key, state: { ...state }, kind,
                                                  model: state.model, link: location.href });
      text = result.text || "";
    } catch (error) {
      return;
    }
  }
  root.dataset.copied = text; // read by tests; harmless
  try {
    await navigator.clipboard.writeText(text);
    setText("copy-status", "Copied.");
  } catch (error) {
    setText("copy-status", "Copy blocked by the browser; select and copy manually.");
  }
}

// ---------------------------------------------------------------------------
// boot: progress, failures with Retry, then the first estimate

const bar = $("loading-bar");
const loadingText = $("loading-text");
const retryButton = $("boot-retry");
let progress = 5;
const creep = setInterval(() => advance(Math.min(progress + 1, 60)), 300);

function advance(value, message) {
  if (value <= progress && !message) return;
  progress = Math.max(progress, value);
  bar.value = progress;
  if (message) loadingText.textContent = message;
}

function onStatus(message) {
  if (message.type === "status") {
    advance(message.progress, message.message);
  } else if (message.type === "stalled") {
    loadingText.textContent = "The Python runtime is taking long to download (a slow or " +
      "interrupted connection?). Still trying; or";
    retryButton.hidden = false;
  } else if (message.type === "failed") {
    clearInterval(creep);
    root.dataset.failed = "";
    loadingText.textContent = "The Python runtime could not be loaded (" + message.message + ").";
    retryButton.hidden = false;
    setStale(loaded ? "failed" : "boot", "No estimate: the Python runtime could not be loaded. " +
             "Check the connection, then use Retry at the top of the page." +
             (loaded ? "" : " The figures below are the default model's."));
    if (!loaded) markReadyFailed();
  } else if (message.type === "ready") {
    retryButton.hidden = true;
    delete root.dataset.failed;
    advance(95, "Estimating…");
    root.dataset.bootMs = String(message.ms);
    root.dataset.runtimeId = String(message.runtime || "");
    if (message.bytes) { // what the worker downloaded (read by tests/benchmarks/bench_page.py)
      root.dataset.runtimeWire = String(message.bytes.wire);
      root.dataset.runtimeRaw = String(message.bytes.raw);
    }
    // Controls the visitor changed while Python loaded win over the URL.
    for (const name of [...FIELDS, "model", "revision"]) {
      const node = $(name);
      if (node && node.dataset.touched) state[name] = readControl(name);
    }
    loadModel().then(() => {
      clearInterval(creep);
      bar.value = 100;
    });
  }
}

function markReadyFailed() {
  root.removeAttribute("data-loading");
}

retryButton.addEventListener("click", () => {
  retryButton.hidden = true;
  delete root.dataset.failed;
  loadingText.textContent = "Loading the Python runtime again…";
  progress = 5;
  if (runtime.retry) runtime.retry();
});

if (location.search.length > 1 && [...params.keys()].some((k) => k in state)) {
  setStale("boot", "Computing the estimate for this link: the Python runtime is starting. " +
                   "The figures below are the default model's until then.");
}
/** Each field's explanation opens with a "?" button beside its label (a toggletip): shown in
 *  the flow below the field, never over another control, never moving the form on focus. */
function setupHelp() {
  for (const help of document.querySelectorAll("#controls .help")) {
    const id = help.id.replace(/^help-/, "");
    const control = $(id);
    const label = (control && control.closest("label.check")) ||
      document.querySelector(`label[for="${id === "upload" ? "config-file" : id}"]`);
    if (!label || label.querySelector(".tip")) continue;
    const tip = document.createElement("button");
    tip.type = "button";
    tip.className = "tip";
    tip.textContent = "?";
    tip.setAttribute("aria-expanded", "false");
    tip.setAttribute("aria-controls", help.id);
    tip.setAttribute("aria-label", "About " + label.textContent.trim());
    tip.addEventListener("click", (event) => {
      event.preventDefault(); // inside a <label>: do not toggle its checkbox
      const open = help.classList.toggle("open");
      tip.setAttribute("aria-expanded", String(open));
    });
    label.after(tip);
  }
}

setupHelp();
writeControls();
restoreToken();
const form = $("controls");
form.addEventListener("input", onInput);
form.addEventListener("change", onChange);
form.addEventListener("submit", (event) => event.preventDefault());
window.addEventListener("popstate", onPopState);
$("config-file").addEventListener("change", async (event) => {
  const file = event.target.files && event.target.files[0];
  if (file) useText(await file.text(), `uploaded file ${file.name}`);
});
$("config-text").addEventListener("change", () => {
  const text = $("config-text").value.trim();
  if (text) useText(text, "pasted config");
});
$("token").addEventListener("change", onToken);
$("remember").addEventListener("change", saveToken);
for (const [id, kind] of [["copy-md", "md"], ["copy-json", "json"], ["copy-link", "link"]]) {
  $(id).addEventListener("click", () => copy(kind));
}
$("launch-fixes").addEventListener("click", (event) => {
  const button = event.target.closest("button.fix");
  if (button) applyFix(button);
});
$("copy-command").addEventListener("click", copyCommand);
// The worker starts now (its thread and ~9 kB of script overlap the first paint); the
// runtime's 5 MB download waits until the pre-rendered answer is on screen, so that it
// never competes with the first paint (on a slow link it would delay it by seconds).
const runtime = new Runtime(onStatus);
requestAnimationFrame(() => setTimeout(() => runtime.go(), 0));
// inputs are watched from here on (tests type during boot only after this)
root.dataset.interactive = "";
