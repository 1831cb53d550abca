// Embed mode of the page (embed.html, or index.html?embed=1): a compact layout for
// iframes in docs sites. Does nothing on the full page.
//
// URL parameters (besides the estimator's own: model, precision, context, batch, gpu, ...):
//   controls=precision,context,gpu   which controls stay visible ("none" hides all)
//   theme=light|dark|auto            colour scheme (auto: follow the OS, the default)
//   frame=<id>                       echoed in every message, for hosts without embed.js
//
// Messages (window.postMessage, JSON-like objects):
//   to the parent   {type: "llm-memory:resize", height, frame}   whenever the height changes
//                   {type: "llm-memory:ready", frame}             once Python has computed
//   from the parent {type: "llm-memory:theme", theme: "light"|"dark"|"auto"}
import { pageReady } from "./ready.js";

const root = document.documentElement;
const params = new URLSearchParams(location.search);
const EMBED_KEYS = ["embed", "controls", "theme", "frame"];
const DEFAULT_CONTROLS = ["precision", "context", "gpu"];
const embedded = root.hasAttribute("data-embed") || ["1", "true"].includes(params.get("embed"));

function applyTheme(theme) {
  if (theme === "dark" || theme === "light") {
    root.dataset.theme = theme;
    root.style.colorScheme = theme; // CSSOM, allowed by the CSP (no inline style attribute)
  } else {
    delete root.dataset.theme;
    root.style.colorScheme = "";
  }
}

function fullToolUrl() {
  const query = new URLSearchParams(location.search);
  for (const key of EMBED_KEYS) query.delete(key);
  const url = new URL("./", location.href);
  url.search = query.toString();
  return url.href;
}

function markControls() {
  const chosen = (params.get("controls") ?? DEFAULT_CONTROLS.join(","))
    .split(",").map((s) => s.trim()).filter((s) => s && s !== "none");
  const form = document.getElementById("controls");
  if (!form) return;
  const keep = (node, whole) => {
    if (!node) return;
    node.dataset[whole ? "embedField" : "embedShow"] = "";
    for (let up = node.parentElement; up && up !== form; up = up.parentElement) {
      up.dataset.embedShow = "";
      if (up.tagName === "DETAILS") up.open = true;
    }
  };
  for (const name of chosen) {
    const control = document.getElementById(name);
    if (control && form.contains(control)) keep(control.closest(".field, .checks") || control, true);
  }
  // always visible: which model, and any error or status about it or the options
  for (const id of ["model-error", "model-status", "options-error"]) {
    keep(document.getElementById(id), true);
  }
}

/** The compact card: launch verdict and command, total, fit and recommendation; the rest
 *  (the launch fixes, the breakdown, warnings) behind a "Details and fixes" toggle. */
function foldDetails() {
  const results = document.getElementById("results");
  if (!results || results.querySelector("details.embed-more")) return;
  const more = document.createElement("details");
  more.className = "embed-more";
  const summary = document.createElement("summary");
  summary.textContent = "Details and fixes";
  more.appendChild(summary);
  const moved = ["#launch-fixes", "#launch-engine", "#launch-facts", ".bar-figure", "#warnings-box",
                 ".breakdown-title", ".table-wrap:has(> table.breakdown)", ".answers-more",
                 ".context-line", "#reserved", "#pool-conf", "#hw-results"];
  for (const selector of moved) {
    const node = results.querySelector(selector);
    if (node) more.appendChild(node);
  }
  const answers = results.querySelector(".answers");
  if (answers) answers.after(more);
  else results.appendChild(more);
}

function addFooter() {
  // a <footer>: a landmark when it ends the body (axe's "region" rule); beside the toggle it
  // sits inside <main>, which is one already
  const foot = document.createElement("footer");
  foot.className = "embed-foot";
  const link = document.createElement("a");
  link.id = "embed-open";
  link.target = "_blank";
  link.rel = "noopener";
  link.textContent = "Open the full estimator ↗";
  const follow = () => { link.href = fullToolUrl(); };
  follow();
  // app.js says when it rewrites the query (settings changed); back/forward rewrites it too
  document.addEventListener("llm-mem:url", follow);
  window.addEventListener("popstate", follow);
  const name = document.createElement("span");
  name.className = "embed-foot-name"; // dropped on a narrow card (extras.css)
  name.textContent = " · LLM inference memory estimator";
  foot.append(link, name);
  // beside the "Details and fixes" toggle (floated right): one line less in the card
  const more = document.querySelector("#results details.embed-more");
  if (more) more.before(foot);
  else document.body.appendChild(foot);
}

function startResizeMessages() {
  if (window.parent === window) return;
  const frame = params.get("frame") || "";
  let last = 0;
  const send = () => {
    const height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      window.parent.postMessage({ type: "llm-memory:resize", height, frame }, "*");
    }
  };
  new ResizeObserver(send).observe(document.body);
  window.addEventListener("load", send);
  pageReady.then(() => {
    send();
    window.parent.postMessage({ type: "llm-memory:ready", frame }, "*");
  });
}

if (embedded) {
  root.dataset.embed = "";
  applyTheme(params.get("theme"));
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.source === window.parent && data && data.type === "llm-memory:theme") {
      applyTheme(data.theme);
    }
  });
  // (app.js updates a widget's URL with replaceState, keeping controls/theme/frame: no
  // entries in the host page's back-button history; it signals each update with an
  // "llm-mem:url" event on document, which the footer link follows.)
  const setup = () => { markControls(); foldDetails(); addFooter(); startResizeMessages(); };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup, { once: true });
  } else {
    setup();
  }
}
