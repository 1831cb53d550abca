// The breakdown's rows: each figure, its formula filled in with this model's numbers, and
// its measured error with a link to the records behind it (site/evidence.py builds the
// data; build time pre-renders the same markup). app.js hands every view model that carries
// a breakdown over in an "llm-mem:breakdown" event. Text only: textContent and attributes,
// never markup from data.
let last = "";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The two rows of one figure: label and sizes, then its formula and measured error. */
function rows(item) {
  const part = el("tr", `part part-${item.key}`);
  const head = el("th", "", item.label);
  head.scope = "row";
  part.append(head, el("td", "", item.gib), el("td", "", item.gb));
  const explain = el("tr", "explain");
  const cell = el("td");
  cell.colSpan = 3;
  if (item.lines.length) {
    const formula = el("p", "formula");
    for (const line of item.lines) formula.append(el("span", "line", line));
    cell.append(formula);
  }
  const trust = el("p", "trust");
  trust.append(el("span", "trust-label", "Measured error:"), " ", el("span", "trust-text", item.trust));
  if (item.link) {
    const link = el("a", "", "see its records");
    link.href = item.link;
    if (document.documentElement.hasAttribute("data-embed")) { // a widget opens it beside the host page
      link.target = "_blank";
      link.rel = "noopener";
    }
    trust.append(" ", link);
  }
  cell.append(trust);
  explain.append(cell);
  return [part, explain];
}

document.addEventListener("llm-mem:breakdown", (event) => {
  const items = event.detail || [];
  const key = JSON.stringify(items);
  const body = document.getElementById("rows-breakdown");
  if (!body || key === last) return;
  last = key;
  body.replaceChildren(...items.flatMap(rows));
});
