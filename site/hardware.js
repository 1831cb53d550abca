// "My hardware" (issue 14): the list of GPUs and Macs in use, and the placement bars.
//
// This module only edits form controls and draws from data Python computed; app.js does
// the rest. The GPU list lives in the hidden #gpu field as a comma list of catalog keys (or
// names as typed, which Python resolves and, when unknown, names beside the field); every
// change is announced with input + change events on it, so app.js estimates it, keeps it in
// the URL and restores it on Back like any other control. The bars are drawn from
// #hw-bars[data-bars] (site/hardware_view.py), whose text equivalent is the placement table.
const root = document.documentElement;
const $ = (id) => document.getElementById(id);
const CUSTOM = "custom"; // estimator.devices.CUSTOM_KEY
const SVG = "http://www.w3.org/2000/svg";
const BAR_W = 600;
const DEFAULT_GPU = (() => {
  try { return JSON.parse($("app").dataset.config).defaults.gpu || ""; } catch (e) { return ""; }
})();

const gpuField = $("gpu");
const addInput = $("hw-add");
const memoryField = $("gpu_memory");

/** Catalog name -> key and key -> name, from the device search's options. */
function catalog() {
  const byName = new Map();
  const byKey = new Map();
  for (const option of $("hw-devices").options) {
    byName.set(option.value.toLowerCase(), option.dataset.key);
    byKey.set(option.dataset.key, option.value);
  }
  return { byName, byKey };
}
let names = null;
const lookup = () => names || (names = catalog());

function entries() {
  return String(gpuField.value || "").split(",").map((s) => s.trim()).filter(Boolean);
}

function announce(node) {
  node.dispatchEvent(new Event("input", { bubbles: true }));
  node.dispatchEvent(new Event("change", { bubbles: true }));
}

function setEntries(list) {
  gpuField.value = list.join(",");
  announce(gpuField);
  drawList();
}

/** The devices of the last placement, in list order (what Python resolved each entry to). */
function placed() {
  try {
    return JSON.parse($("hw-bars").dataset.bars || "[]").filter((row) => row.key !== "cpu");
  } catch (e) {
    return [];
  }
}

function label(entry, index, resolved) {
  if (entry.toLowerCase() === CUSTOM) {
    const memory = String(memoryField.value || "").trim();
    return memory ? `Other GPU, ${memory}${/[a-z]/i.test(memory) ? "" : " GiB"}` : "Other GPU (give its GiB)";
  }
  const known = lookup().byKey.get(entry);
  if (known) return known;
  // a name as typed ("RTX 3090"): the catalog name it was read as, once estimated
  return resolved && resolved[index] ? resolved[index].name : entry;
}

function drawList() {
  const list = $("hw-list");
  const items = entries();
  const devices = placed();
  // only when the estimate answers this very list (no "2x" repeats, no error pending)
  const resolved = devices.length === items.length && gpuField.getAttribute("aria-invalid") !== "true"
    ? devices : null;
  list.replaceChildren(...items.map((entry, index) => {
    const li = document.createElement("li");
    li.className = "hw-chip";
    const name = document.createElement("span");
    name.textContent = label(entry, index, resolved);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "hw-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", "Remove " + name.textContent);
    remove.addEventListener("click", () => removeAt(index));
    li.append(name, remove);
    return li;
  }));
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "hw-none muted";
    li.textContent = "none: add one to check the fit";
    list.appendChild(li);
  }
}

function removeAt(index) {
  const list = entries();
  const [gone] = list.splice(index, 1);
  if (gone && gone.toLowerCase() === CUSTOM) {
    for (const id of ["gpu_memory", "gpu_bandwidth"]) {
      if ($(id).value) { $(id).value = ""; announce($(id)); }
    }
  }
  setEntries(list);
  addInput.focus();
}

function add() {
  const typed = String(addInput.value || "").trim();
  if (!typed) { addInput.focus(); return; }
  const key = lookup().byName.get(typed.toLowerCase()) || (lookup().byKey.has(typed) ? typed : null);
  // a name the catalog does not list verbatim goes as typed: Python reads names as people
  // write them ("rtx 4090") and says beside this field when it knows no such device
  setEntries([...entries(), key || typed.replace(/,/g, " ")]);
  addInput.value = "";
}

/** "Other: N GiB" is a device of the list: typing its memory adds it, clearing removes it
 *  (the rule of site/hardware_view.py option_values, which links follow too). */
function onMemory() {
  const given = String(memoryField.value || "").trim() !== "";
  const list = entries();
  const has = list.some((e) => e.toLowerCase() === CUSTOM);
  if (given && !has) setEntries(list.join(",") === DEFAULT_GPU ? [CUSTOM] : [...list, CUSTOM]);
  else if (!given && has) setEntries(list.filter((e) => e.toLowerCase() !== CUSTOM));
  else drawList();
}

/** An error about the list (Python's, beside the field) also marks the search input. */
function mirrorInvalid() {
  if (gpuField.getAttribute("aria-invalid") === "true") {
    addInput.setAttribute("aria-invalid", "true");
    const described = (addInput.getAttribute("aria-describedby") || "").split(" ");
    if (!described.includes("gpu-error")) {
      addInput.setAttribute("aria-describedby", [...described, "gpu-error"].join(" ").trim());
    }
  } else {
    addInput.removeAttribute("aria-invalid");
  }
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

const GIB = 2 ** 30;
const gib = (n) => (n / GIB).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** One bar per device and one for system RAM; the capacity of each device at its own scale. */
function drawBars() {
  const box = $("hw-bars");
  let rows = [];
  try { rows = JSON.parse(box.dataset.bars || "[]"); } catch (e) { rows = []; }
  box.replaceChildren(...rows.map((row) => {
    const bar = document.createElement("div");
    bar.className = "hw-bar";
    bar.dataset.key = row.key;
    bar.dataset.fits = row.fits === null ? "unknown" : String(row.fits);
    const head = document.createElement("p");
    head.className = "hw-bar-label";
    const name = document.createElement("strong");
    name.textContent = row.name;
    const holds = document.createElement("span");
    holds.textContent = ": " + row.holds + " · ";
    const room = document.createElement("span");
    room.className = "hw-room";
    room.textContent = row.room;
    head.append(name, holds, room);
    const scale = Math.max(row.memory_bytes, row.used_bytes + row.margin_bytes, 1);
    const drawing = svg("svg", { viewBox: `0 0 ${BAR_W} 22`, preserveAspectRatio: "none",
                                 class: "hw-bar-svg" });
    drawing.appendChild(svg("rect", { class: "hw-track", x: 0, y: 1, height: 20, width: BAR_W }));
    let x = 0;
    for (const part of row.parts) {
      const width = (part.bytes / scale) * BAR_W;
      const rect = svg("rect", { class: "hw-part c-" + ({ kv: "kv_cache", buffers: "activations" }[part.part] || part.part),
                                 x: x.toFixed(1), y: 1, height: 20, width: width.toFixed(1),
                                 "data-part": part.part, "data-bytes": part.bytes });
      drawing.appendChild(rect);
      x += width;
    }
    if (row.memory_bytes) {
      const cap = (row.memory_bytes / scale) * BAR_W;
      if (row.margin_bytes) {
        const free = (row.margin_bytes / scale) * BAR_W;
        drawing.appendChild(svg("rect", { class: "hw-margin", x: (cap - free).toFixed(1), y: 1,
                                          height: 20, width: free.toFixed(1),
                                          "data-bytes": row.margin_bytes }));
      }
      drawing.appendChild(svg("line", { class: "cap", x1: cap.toFixed(1), x2: cap.toFixed(1),
                                        y1: 0, y2: 22, "data-bytes": row.memory_bytes }));
    }
    bar.append(head, drawing);
    return bar;
  }));
  $("hw-results").dataset.devices = String(rows.length);
  drawList();
}

function copyFlags() {
  const text = $("hw-flags").textContent || "";
  root.dataset.copied = text; // read by tests; harmless
  const status = $("hw-copy-status");
  navigator.clipboard.writeText(text).then(
    () => { status.textContent = "Copied."; },
    () => { status.textContent = "Copy blocked by the browser; select and copy manually."; });
}

$("hw-add-button").addEventListener("click", add);
addInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter") { event.preventDefault(); add(); }
});
// the search is not an option of the estimate: app.js must not read it as one
addInput.addEventListener("input", (event) => event.stopPropagation());
addInput.addEventListener("change", (event) => event.stopPropagation());
memoryField.addEventListener("input", onMemory);
$("hw-copy-flags").addEventListener("click", copyFlags);
new MutationObserver(drawBars).observe($("hw-bars"), { attributes: true, attributeFilter: ["data-bars"] });
new MutationObserver(mirrorInvalid).observe(gpuField, { attributes: true, attributeFilter: ["aria-invalid"] });
// Back/Forward: app.js writes the controls back first (its listener was added before this)
window.addEventListener("popstate", () => setTimeout(drawList, 0));
drawList();
drawBars();
