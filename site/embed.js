/*! LLM inference memory estimator: embed loader.
 *
 *   <script src="https://YOUR-SITE/embed.js" defer></script>
 *   <div data-llm-memory model="meta-llama/Llama-3.1-8B" precision="int4" context="32768"></div>
 *
 * Turns every [data-llm-memory] element into an iframe of embed.html (served next to
 * this script), sized to its content and following the page's light/dark scheme.
 * Attributes (all optional; also accepted with a data- prefix):
 *   model revision precision kv_dtype engine context batch gpu gpus ...  estimator settings:
 *                                      the page's URL keys (KEYS, from estimator/schema.py)
 *   gpus="rtx3090,rtx4060" ram="64GiB"  own hardware: a list of GPUs (mixed), system RAM;
 *                                      gpu_memory="12" gpu_bandwidth="360" a card not listed
 *   controls="precision,context,gpu"   visible controls ("none" for a read-only card)
 *   theme="auto|light|dark"            auto (default) follows the host page, see hostTheme()
 *   height="480"                       initial height in px before the widget reports its own
 *   title="..."                        iframe title (accessibility)
 * No dependencies, no cookies, nothing sent anywhere but the iframe's own origin.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL("./", (script && script.src) || location.href);
  var origin = base.origin;
  var SKIP = { "data-llm-memory": 1, "class": 1, "id": 1, "style": 1, "title": 1, "height": 1, "theme": 1 };
  // The attributes passed on to the widget (build.py embed_keys: the page's URL keys, from
  // estimator/schema.py); null in the unbuilt source: every attribute but SKIP.
  var KEYS = /*KEYS*/null/*END KEYS*/;
  var frames = [];

  function hostTheme() {
    var html = document.documentElement, body = document.body || html;
    var md = body.getAttribute("data-md-color-scheme"); // MkDocs Material
    if (md) return md === "slate" ? "dark" : "light";
    var attr = html.getAttribute("data-theme") || body.getAttribute("data-theme") ||
      html.getAttribute("data-mode") || html.getAttribute("data-bs-theme"); // Furo, PyData, Bootstrap
    if (attr === "dark" || attr === "light") return attr;
    if (html.classList.contains("dark") || body.classList.contains("dark")) return "dark";
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches
      ? "dark" : "light";
  }

  function build(el) {
    if (el.getAttribute("data-llm-memory-loaded")) return;
    el.setAttribute("data-llm-memory-loaded", "1");
    var query = new URLSearchParams();
    for (var i = 0; i < el.attributes.length; i++) {
      var a = el.attributes[i];
      var name = a.name.replace(/^data-/, "").replace(/-/g, "_");
      if (SKIP[a.name] || SKIP[name] || name === "llm_memory_loaded" || a.value === "") continue;
      // gpus="rtx3090,rtx4060": a list of devices (the gpu setting); gpus="2": a count
      if (name === "gpus" && /[a-z]/i.test(a.value)) name = "gpu";
      if (KEYS && KEYS.indexOf(name) < 0) continue;
      query.set(name, a.value);
    }
    var theme = el.getAttribute("theme") || el.getAttribute("data-theme") || "auto";
    var follow = theme === "auto";
    query.set("theme", follow ? hostTheme() : theme);
    var id = "llm-memory-" + (frames.length + 1);
    query.set("frame", id);
    var iframe = document.createElement("iframe");
    iframe.src = new URL("embed.html?" + query.toString(), base).href;
    iframe.title = el.getAttribute("title") || "LLM inference memory estimate";
    iframe.loading = "lazy";
    iframe.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
    iframe.style.width = "100%";
    iframe.style.border = "0";
    iframe.style.display = "block";
    iframe.style.height = (parseInt(el.getAttribute("height"), 10) || 340) + "px";
    iframe.style.colorScheme = "normal";
    el.textContent = "";
    el.appendChild(iframe);
    frames.push({ id: id, iframe: iframe, follow: follow });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data) return;
    for (var i = 0; i < frames.length; i++) {
      var f = frames[i];
      if (event.source !== f.iframe.contentWindow) continue;
      if (event.data.type === "llm-memory:resize" && event.data.height > 0) {
        f.iframe.style.height = Math.min(Math.ceil(event.data.height) + 2, 5000) + "px";
        f.iframe.setAttribute("data-height", String(event.data.height));
      } else if (event.data.type === "llm-memory:ready") {
        f.iframe.setAttribute("data-ready", "1");
        if (f.follow) post(f, hostTheme());
      }
    }
  });

  function post(f, theme) {
    if (f.iframe.contentWindow) {
      f.iframe.contentWindow.postMessage({ type: "llm-memory:theme", theme: theme }, origin);
    }
  }

  function followTheme() {
    var theme = hostTheme();
    for (var i = 0; i < frames.length; i++) if (frames[i].follow) post(frames[i], theme);
  }

  function scan(rootNode) {
    var nodes = (rootNode || document).querySelectorAll("[data-llm-memory]");
    for (var i = 0; i < nodes.length; i++) build(nodes[i]);
  }

  function start() {
    scan(document);
    var watch = { attributes: true, attributeFilter: ["data-md-color-scheme", "data-theme", "data-mode", "data-bs-theme", "class"] };
    var mo = new MutationObserver(followTheme);
    mo.observe(document.documentElement, watch);
    if (document.body) mo.observe(document.body, watch);
    if (window.matchMedia) {
      var mq = window.matchMedia("(prefers-color-scheme: dark)");
      if (mq.addEventListener) mq.addEventListener("change", followTheme);
    }
    // MkDocs Material "instant navigation" swaps the page without reloading scripts
    if (window.document$ && window.document$.subscribe) {
      window.document$.subscribe(function () { scan(document); });
    }
  }

  window.LLMMemoryEmbed = { scan: scan };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
