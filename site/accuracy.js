/* The Accuracy page: tables, charts and filters drawn from the validation run.
 *
 * The data is the JSON block at the end of accuracy.html (site/accuracy-data.json, written
 * by tests/validation/evidence.py, embedded by build.py): no fetch, no Python, works offline.
 * Every string from the records is set as text (textContent / setAttribute), never as markup.
 *
 * Charts: one SVG per figure, estimated against measured on log axes. Each point is an SVG
 * link with an aria-label; one point per chart is in the tab order (a roving tabindex):
 * arrow keys move between points, Home/End jump to the ends, Enter opens the source.
 * The same points are listed in a table under each chart.
 */
"use strict";

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const GIB = 1024 ** 3;
  const data = JSON.parse(document.getElementById("accuracy-data").textContent);
  const rows = data.rows;
  const components = data.components;
  const engineLabel = (key) => data.engines[key] || key;
  const familyLabel = (key) => (key ? data.families[key] || key : "not known yet (config not stored)");
  const SHAPES = { vllm: "circle", "llama.cpp": "square", transformers: "triangle", sglang: "diamond" };
  const filters = {
    engine: document.getElementById("f-engine"),
    family: document.getElementById("f-family"),
    model: document.getElementById("f-model"),
  };
  const tooltip = document.getElementById("tooltip");
  const MINUS = "\u2212";

  // -- helpers ----------------------------------------------------------------------------

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  function cell(text, numeric) {
    return el("td", numeric ? { class: "num" } : {}, text);
  }

  function pct(x, signed) {
    if (x === null || x === undefined) return "";
    const a = Math.abs(x);
    const digits = a < 1 ? 2 : a < 10 ? 1 : 0;
    const body = a.toFixed(digits);
    if (!signed || Number(body) === 0) return body + " %";
    return (x < 0 ? MINUS : "+") + body + " %";
  }

  function number(x) {
    if (x === null || x === undefined) return "";
    const text = Number.isInteger(x) && Math.abs(x) >= 1000
      ? x.toLocaleString("en-US")
      : String(Number(x.toPrecision(6)));
    return text.replace("-", MINUS);
  }

  function gib(bytes) {
    const v = bytes / GIB;
    return (v >= 100 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3)) + " GiB";
  }

  function byVersion(a, b) {
    return a.localeCompare(b, "en", { numeric: true });
  }

  function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  function engineText(r) {
    return engineLabel(r.engine) + (r.version ? " " + r.version : "");
  }

  function sourceLink(r) {
    const td = el("td");
    if (/^https:\/\//.test(r.source)) {
      const a = el("a", { href: r.source, rel: "noopener noreferrer" }, r.source_label);
      if (r.source_title) a.title = r.source_title;
      td.append(a);
    }
    return td;
  }

  function boundOf(key) {
    return components.find((c) => c.key === key);
  }

  // -- filters ----------------------------------------------------------------------------

  function fillSelect(select, values, label) {
    for (const v of values) select.append(el("option", { value: v }, label(v)));
  }

  const engines = [...new Set(rows.map((r) => r.engine))].sort();
  const families = [...new Set(rows.map((r) => r.family || ""))].sort();
  const models = [...new Set(rows.map((r) => r.model))].sort((a, b) => a.localeCompare(b));
  fillSelect(filters.engine, engines, engineLabel);
  fillSelect(filters.family, families.filter(Boolean), familyLabel);
  if (families.includes("")) filters.family.append(el("option", { value: "-" }, familyLabel("")));
  fillSelect(filters.model, models, (m) => m);

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    for (const [key, select] of Object.entries(filters)) {
      const v = params.get(key) || "";
      select.value = [...select.options].some((o) => o.value === v) ? v : "";
    }
  }

  function writeHash() {
    const params = new URLSearchParams();
    for (const [key, select] of Object.entries(filters)) if (select.value) params.set(key, select.value);
    const hash = params.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }

  function selected() {
    const f = { engine: filters.engine.value, family: filters.family.value, model: filters.model.value };
    return rows.filter(
      (r) =>
        (!f.engine || r.engine === f.engine) &&
        (!f.family || (f.family === "-" ? !r.family : r.family === f.family)) &&
        (!f.model || r.model === f.model)
    );
  }

  // -- summary ----------------------------------------------------------------------------

  function drawSummary(shown) {
    const body = document.querySelector("#summary tbody");
    body.replaceChildren();
    for (const c of components) {
      const members = shown.filter((r) => r.component === c.key && r.status === "compared");
      const tr = el("tr");
      const th = el("th", { scope: "row" });
      th.append(el("span", {}, c.label), el("span", { class: "about" }, c.about));
      tr.append(th);
      if (!members.length) {
        tr.append(cell("0", true), cell("0", true), cell("", true), cell("", true));
        tr.append(cell(c.bound), cell("not validated for this selection"));
        body.append(tr);
        continue;
      }
      const errors = members.map((r) => Math.abs(r.error_pct));
      const versions = {};
      for (const r of members) {
        versions[r.engine] = versions[r.engine] || new Set();
        if (r.version) versions[r.engine].add(r.version);
      }
      const engineList = Object.keys(versions)
        .sort()
        .map((e) => engineLabel(e) + (versions[e].size ? " (" + [...versions[e]].sort(byVersion).join(", ") + ")" : ""))
        .join("; ");
      tr.append(
        cell(new Set(members.map((r) => r.record)).size, true),
        cell(members.length, true),
        cell(pct(median(errors)), true),
        cell(pct(Math.max(...errors)), true),
        cell(c.bound),
        cell(engineList)
      );
      body.append(tr);
    }
  }

  // -- charts -----------------------------------------------------------------------------

  const W = 360, H = 300, M = { l: 56, r: 12, t: 12, b: 44 };

  function ticks(lo, hi) {
    const within = (steps) => {
      const out = [];
      for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
        for (const m of steps) {
          const v = Number((m * 10 ** e).toPrecision(2));
          if (v >= lo && v <= hi) out.push(v);
        }
      }
      return out;
    };
    const decades = within([1]);
    return decades.length >= 3 ? decades : within([1, 2, 5]);
  }

  function tickLabel(v) {
    return v >= 1 ? String(v) : String(Number(v.toPrecision(2)));
  }

  function shape(kind, x, y) {
    const s = 5.5;
    if (kind === "square") return svg("rect", { x: x - s + 1, y: y - s + 1, width: 2 * s - 2, height: 2 * s - 2 });
    if (kind === "triangle")
      return svg("path", { d: `M${x} ${y - s}L${x + s} ${y + s * 0.8}L${x - s} ${y + s * 0.8}Z` });
    if (kind === "diamond") return svg("path", { d: `M${x} ${y - s}L${x + s} ${y}L${x} ${y + s}L${x - s} ${y}Z` });
    return svg("circle", { cx: x, cy: y, r: s - 1 });
  }

  function pointLabel(r) {
    return (
      `${r.model}, ${engineText(r)}: ${r.figure} measured ${number(r.measured)} ${r.unit}, ` +
      `estimated ${number(r.estimated)} ${r.unit}, error ${pct(r.error_pct, true)}. ` +
      `Source: ${r.source_label}` + (r.source_title ? ` (${r.source_title})` : "")
    );
  }

  function showTooltip(r, target) {
    tooltip.replaceChildren(
      el("strong", {}, r.model),
      el("span", {}, `${engineText(r)} · ${r.figure}`),
      el("span", {}, `measured ${number(r.measured)} ${r.unit} · estimated ${number(r.estimated)} ${r.unit}`),
      el("span", {}, `error ${pct(r.error_pct, true)}`),
      el("span", { class: "quote" }, r.quote),
      el("span", { class: "src" }, r.source_label)
    );
    tooltip.hidden = false;
    const box = target.getBoundingClientRect();
    const tip = tooltip.getBoundingClientRect();
    const left = Math.min(Math.max(8, box.left + box.width / 2 - tip.width / 2), window.innerWidth - tip.width - 8);
    const above = box.top - tip.height - 8;
    const top = above > 8 ? above : box.bottom + 8;
    tooltip.style.left = `${left + window.scrollX}px`;
    tooltip.style.top = `${top + window.scrollY}px`;
  }

  function hideTooltip() {
    tooltip.hidden = true;
  }

  function drawChart(c, points) {
    const fig = el("figure", { class: "chart", "data-component": c.key });
    const captionId = `chart-${c.key}-title`;
    const cap = el("figcaption", { id: captionId });
    cap.append(el("span", { class: "title" }, c.label));
    const bound = c.bound_pct ? `bound ±${c.bound_pct} %` : c.bound ? `bar: ${c.bound}` : "no bound";
    cap.append(el("span", { class: "muted" }, ` · ${points.length} point${points.length === 1 ? "" : "s"} · ${bound}`));
    fig.append(cap);
    if (!points.length) {
      fig.append(el("p", { class: "empty muted" }, "No compared measurement in this selection."));
      return fig;
    }
    const values = points.flatMap((r) => [r.measured_bytes / GIB, r.estimated_bytes / GIB]);
    for (const r of points) if (r.bound_bytes) values.push((r.measured_bytes - r.bound_bytes) / GIB, (r.measured_bytes + r.bound_bytes) / GIB);
    let lo = Math.min(...values.filter((v) => v > 0)), hi = Math.max(...values);
    lo = lo / 1.6;
    hi = hi * 1.6;
    if (hi / lo < 4) { const mid = Math.sqrt(hi * lo); lo = mid / 2; hi = mid * 2; }
    const px = (v) => M.l + ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (W - M.l - M.r);
    const py = (v) => H - M.b - ((Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * (H - M.t - M.b);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "group", "aria-labelledby": captionId, class: "plot" });
    const deco = svg("g", { "aria-hidden": "true" });
    for (const t of ticks(lo, hi)) {
      deco.append(svg("line", { x1: px(t), x2: px(t), y1: M.t, y2: H - M.b, class: "grid" }));
      deco.append(svg("line", { x1: M.l, x2: W - M.r, y1: py(t), y2: py(t), class: "grid" }));
      const xl = svg("text", { x: px(t), y: H - M.b + 14, "text-anchor": "middle", class: "tick" });
      xl.textContent = tickLabel(t);
      const yl = svg("text", { x: M.l - 6, y: py(t) + 4, "text-anchor": "end", class: "tick" });
      yl.textContent = tickLabel(t);
      deco.append(xl, yl);
    }
    if (c.bound_pct) {
      const b = c.bound_pct / 100;
      const band = `M${px(lo)} ${py(lo * (1 + b))}L${px(hi / (1 + b))} ${py(hi)}L${px(hi)} ${py(hi)}` +
        `L${px(hi)} ${py(hi * (1 - b))}L${px(lo / (1 - b))} ${py(lo)}L${px(lo)} ${py(lo)}Z`;
      deco.append(svg("path", { d: band, class: "band" }));
    }
    deco.append(svg("line", { x1: px(lo), y1: py(lo), x2: px(hi), y2: py(hi), class: "diagonal" }));
    deco.append(svg("rect", { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, class: "frame" }));
    const xt = svg("text", { x: (M.l + W - M.r) / 2, y: H - 8, "text-anchor": "middle", class: "axis" });
    xt.textContent = "measured (GiB)";
    const yt = svg("text", { x: 14, y: (M.t + H - M.b) / 2, "text-anchor": "middle", class: "axis",
      transform: `rotate(-90 14 ${(M.t + H - M.b) / 2})` });
    yt.textContent = "estimated (GiB)";
    deco.append(xt, yt);
    root.append(deco);

    const sorted = [...points].sort((a, b) => a.measured_bytes - b.measured_bytes);
    const links = [];
    sorted.forEach((r, i) => {
      const x = px(r.measured_bytes / GIB), y = py(r.estimated_bytes / GIB);
      const a = svg("a", { href: r.source, class: `point engine-${r.engine.replace(/\W/g, "")}`,
        tabindex: i === 0 ? "0" : "-1", "aria-label": pointLabel(r), rel: "noopener noreferrer" });
      if (r.bound_bytes) {
        a.append(svg("line", { x1: x, x2: x, y1: py((r.measured_bytes + r.bound_bytes) / GIB),
          y2: py(Math.max(r.measured_bytes - r.bound_bytes, lo * GIB) / GIB), class: "whisker" }));
      }
      a.append(svg("circle", { cx: x, cy: y, r: 11, class: "hit" }));
      a.append(shape(SHAPES[r.engine] || "circle", x, y));
      a.addEventListener("mouseenter", () => showTooltip(r, a));
      a.addEventListener("mouseleave", hideTooltip);
      a.addEventListener("focus", () => showTooltip(r, a));
      a.addEventListener("blur", hideTooltip);
      links.push(a);
      root.append(a);
    });
    root.addEventListener("keydown", (event) => {
      const i = links.indexOf(document.activeElement);
      if (i < 0) return;
      let next = null;
      if (event.key === "ArrowRight" || event.key === "ArrowUp") next = Math.min(i + 1, links.length - 1);
      else if (event.key === "ArrowLeft" || event.key === "ArrowDown") next = Math.max(i - 1, 0);
      else if (event.key === "Home") next = 0;
      else if (event.key === "End") next = links.length - 1;
      else if (event.key === "Escape") { hideTooltip(); return; }
      if (next === null) return;
      event.preventDefault();
      links[i].setAttribute("tabindex", "-1");
      links[next].setAttribute("tabindex", "0");
      links[next].focus();
    });
    fig.append(root);

    const details = el("details", { class: "points" });
    details.append(el("summary", {}, `The ${points.length} point${points.length === 1 ? "" : "s"} as a table`));
    const wrap = el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `Table: ${c.label} points` });
    const table = el("table");
    const head = el("tr");
    for (const [h, num] of [["Model", false], ["Engine", false], ["Measured GiB", true], ["Estimated GiB", true], ["Error", true], ["Source", false]])
      head.append(el("th", num ? { scope: "col", class: "num" } : { scope: "col" }, h));
    table.append(el("thead"), el("tbody"));
    table.tHead.append(head);
    for (const r of sorted) {
      const tr = el("tr");
      tr.append(cell(r.model), cell(engineText(r)), cell((r.measured_bytes / GIB).toFixed(3), true),
        cell((r.estimated_bytes / GIB).toFixed(3), true), cell(pct(r.error_pct, true), true), sourceLink(r));
      table.tBodies[0].append(tr);
    }
    wrap.append(table);
    details.append(wrap);
    fig.append(details);
    return fig;
  }

  function drawCharts(shown) {
    const box = document.getElementById("charts");
    box.replaceChildren();
    for (const c of components) {
      const points = shown.filter(
        (r) => r.component === c.key && r.status === "compared" && r.measured_bytes && r.estimated_bytes
      );
      box.append(drawChart(c, points));
    }
  }

  function drawLegend() {
    const list = document.getElementById("legend");
    for (const e of engines) {
      const li = el("li");
      const icon = svg("svg", { viewBox: "0 0 16 16", width: 16, height: 16, "aria-hidden": "true", class: `point engine-${e.replace(/\W/g, "")}` });
      icon.append(shape(SHAPES[e] || "circle", 8, 8));
      li.append(icon, document.createTextNode(" " + engineLabel(e)));
      list.append(li);
    }
  }

  // -- tables -----------------------------------------------------------------------------

  function drawCompared(shown) {
    const body = document.querySelector("#compared tbody");
    body.replaceChildren();
    for (const r of shown.filter((x) => x.status === "compared")) {
      const tr = el("tr");
      const c = boundOf(r.component);
      const err = cell(pct(r.error_pct, true), true);
      if (c && c.bound_pct && Math.abs(r.error_pct) > c.bound_pct) {
        err.append(el("span", { class: "flag" }, " beyond the bound (documented)"));
      }
      const figure = cell(r.figure);
      if (r.note) figure.title = r.note;
      tr.append(cell(r.model), cell(engineText(r)), cell(familyLabel(r.family)), figure,
        cell(number(r.measured), true), cell(number(r.estimated), true), cell(r.unit), err, sourceLink(r));
      body.append(tr);
    }
  }

  function drawGaps(shown) {
    const body = document.querySelector("#gaps tbody");
    body.replaceChildren();
    for (const r of shown.filter((x) => x.status !== "compared")) {
      const tr = el("tr");
      tr.append(cell(r.model), cell(engineText(r)), cell(r.figure), cell(number(r.measured), true),
        cell(r.unit), cell(r.reason), sourceLink(r));
      body.append(tr);
    }
  }

  /** Launch verdicts against the published start-ups (tests/validation/validate_launch.py). */
  function drawLaunch() {
    const launch = data.launch;
    if (!launch) return;
    const refusals = launch.refusals === 1 ? "1 refusal" : `${launch.refusals} refusals`;
    document.getElementById("launch-agreement").textContent =
      `The verdict (starts or refuses) is right on ${launch.right} of ${launch.compared} ` +
      `published start-ups (${refusals} among them); ` +
      `${launch.records - launch.compared} of ${launch.records} records are not compared.`;
    const body = document.querySelector("#launch-verdicts tbody");
    body.replaceChildren();
    for (const r of launch.rows) {
      const said = r.predicted === null ? "not compared" :
        r.predicted === r.logged ? `${r.predicted} (right)` : `${r.predicted} (WRONG)`;
      const tr = el("tr", { "data-status": r.status });
      tr.append(cell(r.model), cell(engineLabel(r.engine)),
        cell(r.logged + (r.logged_problem ? ` (${r.logged_problem})` : "")), cell(said),
        cell(r.note), sourceLink(r));
      body.append(tr);
    }
  }

  // -- the page ---------------------------------------------------------------------------

  function draw() {
    hideTooltip();
    const shown = selected();
    const compared = shown.filter((r) => r.status === "compared");
    const logs = new Set(shown.map((r) => r.record)).size;
    document.getElementById("filter-status").textContent =
      `Showing ${shown.length} of ${rows.length} measurements from ${logs} logs: ` +
      `${compared.length} compared, ${shown.length - compared.length} not.`;
    drawSummary(shown);
    drawCharts(shown);
    drawCompared(shown);
    drawGaps(shown);
  }

  const allCompared = rows.filter((r) => r.status === "compared");
  document.getElementById("counts").textContent =
    `${allCompared.length} of ${rows.length} published measurements (${new Set(rows.map((r) => r.record)).size} logs, ` +
    `${new Set(allCompared.map((r) => r.model)).size} models) could be compared; the rest are listed at the end with the reason.`;
  drawLegend();
  drawLaunch();
  readHash();
  draw();
  for (const select of Object.values(filters)) {
    select.addEventListener("change", () => {
      writeHash();
      draw();
    });
  }
  document.getElementById("filters").addEventListener("reset", () => {
    setTimeout(() => {
      writeHash();
      draw();
    });
  });
  window.addEventListener("hashchange", () => {
    readHash();
    draw();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hideTooltip();
  });
})();
