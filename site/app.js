// Loading indicator while PyScript boots Python; nothing here computes estimates.
// No inline scripts (CSP): this module is loaded from 'self'.
const root = document.documentElement;
const bar = document.getElementById("loading-bar");
const text = document.getElementById("loading-text");

// Figures pre-rendered for the default model do not answer a shared link's settings:
// mark them stale (dimmed, fit banner neutral) and say why until Python has computed.
const results = document.getElementById("results");
const reason = document.getElementById("stale-reason");
function bootStale(message) {
  if (root.hasAttribute("data-ready")) return;
  results.dataset.stale = "boot";
  document.getElementById("facts").dataset.stale = "boot";
  reason.textContent = message;
  reason.hidden = false;
}
if (location.search.length > 1) {
  bootStale("Computing the estimate for this link: the Python runtime is starting. " +
            "The figures below are the default model's until then.");
}

const stages = [
  [/pyodide\.asm\.wasm$/, 55, "Python runtime downloaded; starting it…"],
  [/python_stdlib\.zip$/, 70, "Standard library loaded…"],
  [/\.whl$/, 82, "Estimator package loaded…"],
  [/main\.[0-9a-f]+\.py$/, 90, "Starting the estimator…"],
];
let progress = 5;
function advance(value, message) {
  if (value > progress) {
    progress = value;
    bar.value = value;
    if (message) text.textContent = message;
  }
}
if ("PerformanceObserver" in window) {
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        for (const [re, value, message] of stages) {
          if (re.test(entry.name)) advance(value, message);
        }
      }
    }).observe({ type: "resource", buffered: true });
  } catch (e) { /* older browsers: the bar just creeps */ }
}
// creep slowly so the bar never looks stuck
const creep = setInterval(() => advance(Math.min(progress + 1, 50)), 250);

// Remember which controls the visitor changed before Python took over.
document.getElementById("controls").addEventListener("input", (event) => {
  if (!root.hasAttribute("data-ready") && event.target.dataset) {
    event.target.dataset.touched = "1";
    bootStale("Your change is applied as soon as the Python runtime has started.");
  }
});

new MutationObserver((_, observer) => {
  if (root.hasAttribute("data-ready")) {
    clearInterval(creep);
    bar.value = 100;
    observer.disconnect();
  }
}).observe(root, { attributes: true, attributeFilter: ["data-ready"] });

// PyScript reports Python errors as events; show them instead of spinning forever.
for (const name of ["py:error", "error"]) {
  window.addEventListener(name, (event) => {
    if (root.hasAttribute("data-ready")) return;
    const message = event.message || (event.error && event.error.message);
    if (message && /pyodide|python|pyscript/i.test(String(event.filename || message))) {
      text.textContent = "The Python runtime failed to start: " + message;
      root.dataset.failed = "";
    }
  });
}

// inputs are watched from here on (tests type during boot only after this)
root.dataset.interactive = "";
