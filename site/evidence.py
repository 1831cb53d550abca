"""The evidence beside each figure of the page: its formula filled in with this model's
numbers (estimator.explain) and how far it can be trusted (estimator.confidence).

Pure: an Estimate in, plain data out. site/view.py puts it in the view model;
site/evidence.js draws the breakdown from it in the browser and :func:`breakdown_html`
pre-renders the same markup at build time (escaped text only).
"""

from __future__ import annotations

from typing import Any

from estimator import GIB
from estimator.confidence import (
    Confidence,
    architecture_family,
    confidence,
    fit_caveat,
    total_confidence,
)
from estimator.explain import explain
from estimator.report import COMPONENT_LABELS
from estimator.result import Estimate
from estimator.units import format_gb, format_gib

#: The Accuracy page; its hash selects records by engine and family (site/accuracy.js).
ACCURACY_PAGE = "accuracy.html"


def accuracy_link(est: Estimate, conf: Confidence) -> str:
    """The Accuracy page filtered to the records a confidence was measured on ('' when none)."""
    if not conf.validated:
        return ""
    family = architecture_family(est.model)
    query = {
        "engine+family": {"engine": est.options.engine, "family": family},
        "engine": {"engine": est.options.engine},
        "family": {"family": family},
    }.get(conf.scope, {})
    return ACCURACY_PAGE + ("#" + _form_query(query) if query else "")


_FORM_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def _form_query(query: dict[str, str]) -> str:
    """``urllib.parse.urlencode`` of a flat str dict (form encoding: space as '+', every byte
    but letters, digits and ``_.-~`` as %XX), written out: importing urllib.parse (and the
    ipaddress module it pulls in) costs the worker ~0.15 s at start."""
    def plus(text: str) -> str:
        return "".join(c if c in _FORM_SAFE else "+" if c == " " else
                       "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in text)
    return "&".join(f"{plus(k)}={plus(v)}" for k, v in query.items())


def _item(key: str, label: str, size: int, lines: list[str], text: str, link: str,
          validated: bool) -> dict[str, Any]:
    return {"key": key, "label": label, "gib": format_gib(size), "gb": format_gb(size),
            "lines": lines, "trust": text, "validated": validated, "link": link}


def breakdown(est: Estimate) -> list[dict[str, Any]]:
    """One entry per breakdown row (each component, then the total): label, GiB, GB, the
    formula's lines and the measured error's sentence with a link to its records."""
    conf = confidence(est)
    formulas = {f.component: f for f in explain(est)}
    items = []
    for c in est.components:
        part = conf[c.name]
        lines = list(formulas[c.name].lines) if c.name in formulas else []
        items.append(_item(c.name, COMPONENT_LABELS.get(c.name, c.name), c.bytes, lines,
                           part.text, accuracy_link(est, part), part.validated))
    parts = [c.bytes for c in est.components]
    total_lines = []
    if len(parts) > 1 and sum(parts) == est.total_bytes:
        total_lines.append(" + ".join(f"{p:,}" for p in parts)
                           + f" = {est.total_bytes:,} B")
    _, text = total_confidence(est, conf)
    own = conf["total"]
    items.append(_item("total", COMPONENT_LABELS["total"], est.total_bytes, total_lines, text,
                       accuracy_link(est, own), own.validated))
    return items


def headline(est: Estimate) -> dict[str, str]:
    """Texts beside the headline figures and the engine's pool: the measured error."""
    conf = confidence(est)
    short, _ = total_confidence(est, conf)
    line = "error not validated" if short == "not validated" else f"measured error {short}"
    texts = {"total-conf": line, "pergpu-conf": line}
    pool = conf["engine_kv_pool"]
    texts["pool-conf"] = (f"Its KV pool's measured error: {pool.text}"
                          if est.engine_reserved_bytes else "")
    return texts


def fit_text(est: Estimate) -> tuple[str, str]:
    """The fit banner (the CLI's verdict, with its caveat when the margin is inside the
    measured error) and its caveat alone ('' when none)."""
    fit = est.fit
    if fit is None:
        return "Choose a GPU to check the fit.", ""
    caveat = fit_caveat(est)
    verdict = "Fits" if fit.fits else "Does not fit"
    text = f"{verdict} on {fit_where(est)}"
    return (text + f", but {caveat}" if caveat else text), caveat


def fit_where(est: Estimate) -> str:
    """Which GPUs and how full: '2× NVIDIA H100 80GB: 91% of each GPU's 79.1 GiB (usable
    with headroom: 72.5 GiB)'. Needs a GPU (``est.fit``)."""
    fit = est.fit
    assert fit is not None
    return (f"{est.parallel.gpus}× {fit.gpu_name}: {fit.utilization * 100:.0f}% of each "
            f"GPU's {fit.capacity_bytes / GIB:.1f} GiB (usable with headroom: "
            f"{fit.usable_bytes / GIB:.1f} GiB)")


def breakdown_html(items: list[dict[str, Any]]) -> str:
    """The rows site/evidence.js draws, as escaped HTML for the pre-rendered page (build time:
    the worker never imports ``html``)."""
    import html

    e = html.escape
    out = []
    for item in items:
        out.append(f'<tr class="part part-{e(item["key"])}"><th scope="row">{e(item["label"])}'
                   f'</th><td>{e(item["gib"])}</td><td>{e(item["gb"])}</td></tr>')
        lines = "".join(f'<span class="line">{e(line)}</span>' for line in item["lines"])
        formula = f'<p class="formula">{lines}</p>' if lines else ""
        link = (f' <a href="{e(item["link"])}">see its records</a>' if item["link"] else "")
        out.append(f'<tr class="explain"><td colspan="3">{formula}<p class="trust">'
                   f'<span class="trust-label">Measured error:</span> '
                   f'<span class="trust-text">{e(item["trust"])}</span>{link}</p></td></tr>')
    return "".join(out)


__all__ = ["ACCURACY_PAGE", "accuracy_link", "breakdown", "breakdown_html", "fit_text",
           "headline"]
