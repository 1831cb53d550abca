// Offline support on the page side: registers the service worker (sw.js), asks it to
// keep the runtime once Python is up, and tells the visitor when the connection is
// gone and what still works. No inline scripts or styles (CSP); styles in extras.css.
import { isReady, pageReady } from "./ready.js";

const root = document.documentElement;

function notice() {
  let box = document.getElementById("offline-notice");
  if (!box) {
    box = document.createElement("p");
    box.id = "offline-notice";
    box.className = "offline-notice";
    box.setAttribute("role", "status");
    box.setAttribute("aria-live", "polite");
    box.hidden = true;
    const header = document.querySelector("header") || document.body;
    header.appendChild(box);
  }
  return box;
}

/** Whether the Python runtime can start without a network: already running here, or its
 *  files (the wasm is the largest) held by the service worker's cache. */
async function runtimeAvailable() {
  if (isReady()) return true;
  const wasm = document.querySelector('meta[name="llm-mem-runtime"]');
  if (!wasm || !("caches" in window)) return false;
  try {
    return Boolean(await caches.match(new URL(wasm.getAttribute("content"), location.href).href));
  } catch (err) {
    return false;
  }
}

async function showConnection() {
  const box = notice();
  if (navigator.onLine) {
    delete root.dataset.offline;
    box.hidden = true;
    box.textContent = "";
    return;
  }
  root.dataset.offline = "";
  const works = await runtimeAvailable();
  if (navigator.onLine) return;
  // claim that bundled models work only when the runtime can actually start
  box.textContent = works
    ? "You are offline. Bundled models, uploaded configs and models you looked at before " +
      "still work; other Hub models need a connection."
    : "You are offline, and the Python runtime is not stored on this device yet: no " +
      "estimate can be computed until the connection is back (then use Retry).";
  root.dataset.offlineRuntime = works ? "cached" : "missing";
  box.hidden = false;
}

window.addEventListener("online", showConnection);
window.addEventListener("offline", showConnection);
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", showConnection, { once: true });
} else {
  showConnection();
}

if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.addEventListener("message", (event) => {
    const data = event.data || {};
    if (data.type === "sw:filled") {
      root.dataset.offlineVersion = data.version || "";
      if (data.complete) root.dataset.offlineReady = "";
    }
  });
  const register = () => navigator.serviceWorker.register("./sw.js", { scope: "./" })
    .catch((err) => { root.dataset.swError = String(err && err.message || err); });
  // Register once Python has drawn its first estimate, never during the boot: a service
  // worker that starts, precaches and claims the page meanwhile competes with Pyodide for
  // the CPU and intercepts the runtime's own downloads (hashing and storing ~14 MB), which
  // made the first estimate ~0.2 s later (tests/benchmarks/bench_page.py). Then it precaches
  // the small files and fills the big runtime files, which the page has downloaded by now,
  // from the HTTP cache. (A returning visitor's service worker controls the page from the
  // start anyway: registering is then only the update check.)
  let pythonUp = false;
  const askFill = (worker) => { if (worker) worker.postMessage({ type: "fill" }); };
  // a new deploy's SW takes over while (or after) the page starts: ask it too
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (pythonUp) askFill(navigator.serviceWorker.controller);
  });
  pageReady.then(() => {
    pythonUp = true;
    register();
    navigator.serviceWorker.ready.then((registration) => askFill(registration.active));
  });
}
