// The page's Python runtime, off the main thread: Pyodide in a module worker.
//
// One file for both kinds of worker: a dedicated Worker (the full page) or a SharedWorker
// (embed widgets: every widget frame of one host page talks to the same runtime). Each
// client talks through a port:
//   client -> worker  {type: "go"}   the page has painted: start downloading the runtime
//                     {type: "call", id, op, args}     op: load, local, compute, copy, suggest
//   worker -> client  {type: "reply", id, result} | {type: "reply", id, error}
//                     {type: "status", stage, progress, message}   while booting
//                     {type: "ready", ms} | {type: "failed", message}
// The work itself is Python (site/runtime.py, which uses site/view.py and the estimator
// package); this file only boots Pyodide, installs those files and passes JSON strings.
// build.py ships them as one stored zip of bytecode compiled by this Pyodide's Python
// (python_bundle): written as plain files, imported without compiling or unzipping in Python.
// build.py fills the double-brace placeholders with this build's hashed paths (relative to
// this file, which lives in assets/).
import { loadPyodide } from "./{{pyodide_dir}}/pyodide.mjs";

const FILES = {{files}};
const here = (path) => new URL(path, import.meta.url).href;
const ports = new Set();
const RUNTIME_ID = Math.random().toString(36).slice(2, 10); // tells clients they share one
let last = { type: "status", stage: "download", progress: 10,
             message: "Downloading the Python runtime…" };

function broadcast(message) {
  if (message.type !== "reply") last = message;
  for (const port of ports) port.postMessage(message);
}

async function fetchBytes(name) {
  const response = await fetch(here(FILES[name]));
  if (!response.ok) throw new Error(`${FILES[name]}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Bytes this worker downloaded (resource timing), for the benchmarks. */
function transferred() {
  const entries = performance.getEntriesByType("resource");
  return { wire: entries.reduce((s, e) => s + (e.transferSize || 0), 0),
           raw: entries.reduce((s, e) => s + (e.decodedBodySize || 0), 0) };
}

/** The entries of a stored (uncompressed) zip, as [name, bytes] pairs. */
function storedZip(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end -= 1;
  if (end < 0) throw new Error("the Python bundle is not a zip");
  const count = view.getUint16(end + 10, true);
  const names = new TextDecoder();
  const entries = [];
  for (let i = 0, at = view.getUint32(end + 16, true); i < count; i += 1) {
    if (view.getUint32(at, true) !== 0x02014b50 || view.getUint16(at + 10, true) !== 0) {
      throw new Error("the Python bundle is not a stored zip");
    }
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const local = view.getUint32(at + 42, true);
    const name = names.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const data = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    entries.push([name, bytes.subarray(data, data + size)]);
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }
  return entries;
}

// The page creates this worker before its first paint, so that the worker's own start
// (a thread, this module and pyodide.mjs: ~9 kB) overlaps it, and says "go" once it has
// painted: the runtime's megabytes download after the first paint, never competing with it.
let go;
const painted = new Promise((resolve) => { go = resolve; });

async function boot() {
  await painted;
  const started = performance.now();
  // our files download while Pyodide starts
  const files = Object.fromEntries(Object.keys(FILES).map((name) => [name, fetchBytes(name)]));
  for (const promise of Object.values(files)) promise.catch(() => {}); // awaited below
  const pyodide = await loadPyodide({
    indexURL: here(`./{{pyodide_dir}}/`),
    packages: [],
    stdout: () => {},
    stderr: (line) => console.warn(line),
  });
  broadcast({ type: "status", stage: "start", progress: 80, message: "Starting the estimator…" });
  const home = "/home/pyodide";
  for (const [name, data] of storedZip(await files.python)) {
    const path = `${home}/${name}`;
    pyodide.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
    pyodide.FS.writeFile(path, data);
  }
  pyodide.FS.writeFile(`${home}/models.json`, await files["models.json"]);
  pyodide.runPython(`import sys\nif '${home}' not in sys.path: sys.path.insert(0, '${home}')`);
  const runtime = pyodide.pyimport("runtime");
  broadcast({ type: "ready", ms: Math.round(performance.now() - started), runtime: RUNTIME_ID,
              bytes: transferred() });
  return runtime;
}

// Pyodide can wait forever on a runtime file that failed to download (an aborted or
// non-200 wasm fetch): watch every fetch made while booting and fail at once instead.
const realFetch = self.fetch.bind(self);
let downloadFailed;
const failedDownload = new Promise((_, reject) => { downloadFailed = reject; });
self.fetch = (input, init) => realFetch(input, init).then((response) => {
  if (!response.ok) downloadFailed(new Error(`${response.url || input}: HTTP ${response.status}`));
  return response;
}, (error) => {
  downloadFailed(new Error(`a runtime file did not download (${(error && error.message) || error})`));
  throw error;
});
failedDownload.catch(() => {});
const booted = Promise.race([boot(), failedDownload]);
booted.then(() => { self.fetch = realFetch; }, (error) => {
  self.fetch = realFetch;
  broadcast({ type: "failed", message: String((error && error.message) || error) });
});

async function handle(port, data) {
  if (data && data.type === "go") go();
  if (!data || data.type !== "call") return;
  let reply;
  try {
    const runtime = await booted;
    const args = JSON.stringify(data.args || {});
    // an estimate is answered in this call; a Hub load or search goes through asyncio
    const text = runtime.handle_now(data.op, args) ?? await runtime.handle(data.op, args);
    reply = { type: "reply", id: data.id, result: JSON.parse(text) };
  } catch (error) {
    reply = { type: "reply", id: data.id, error: String((error && error.message) || error) };
  }
  port.postMessage(reply);
}

function attach(port) {
  ports.add(port);
  port.onmessage = (event) => handle(port, event.data);
  port.postMessage(last);
}

if (typeof SharedWorkerGlobalScope !== "undefined" && self instanceof SharedWorkerGlobalScope) {
  self.onconnect = (event) => {
    const port = event.ports[0];
    attach(port);
    port.start();
  };
} else {
  attach(self);
}
