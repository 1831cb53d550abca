"""The launch block of the page: will the chosen engine start, what to change if not, and
the command to paste. Pure, like site/view.py (which merges this into its view model):
the same code pre-renders the first answer at build time and runs in the browser.

Everything comes from ``estimator.launch.launch_verdict`` for the same options as the
figures beside it, so the verdict and the figures always answer the same inputs.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from viewmodel import ViewModel  # site/viewmodel.py

from estimator import EstimateOptions, EstimatorError
from estimator.engines import ENGINE_PROFILES
from estimator.estimate import prepare
from estimator.launch import LaunchVerdict, fit_with_launch, launch_verdict

#: EstimateOptions fields: a fix that sets only these can be applied by the form.
_FIELDS = {f.name for f in dataclasses.fields(EstimateOptions)}

GENERIC_NOTE = ("Assumes no engine (generic): the whole prompt of every request in one "
                "forward pass and no engine pool, an upper bound for serving. Choose vLLM, "
                "SGLang, llama.cpp, TGI or transformers for a launch verdict and its command.")

#: Where an engine without a launch command takes the settings (Ollama: num_ctx and num_gpu
#: are model parameters, docs/modelfile.md PARAMETER, or the API's "options").
NO_COMMAND = {"ollama": "set num_ctx (and num_gpu) as a Modelfile PARAMETER or in the API's "
                        "options"}


def _text(value: Any) -> str:
    """A setting as the form and the URL write it (site/view.py to_text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fix_state(options: dict[str, Any]) -> dict[str, str] | None:
    """The form values a fix sets, or None when the form cannot express it (a flag only,
    such as ``--max-model-len auto``)."""
    if not options or any(k not in _FIELDS for k in options):
        return None
    return {k: _text(v) for k, v in options.items()}


def verdict(config: dict[str, Any], options: EstimateOptions, metadata: Any,
            model_id: str, revision: str = "") -> LaunchVerdict | None:
    spec, counts = prepare(config, options)
    return launch_verdict(spec, counts, options, metadata, model_id=model_id,
                          revision=revision or None)


@dataclass(frozen=True)
class LaunchPart:
    """The launch block's part of the view model (texts, attributes and the ``launch``
    payload app.js draws the fix buttons and the command from), and the verdict itself
    (``LaunchVerdict.to_dict()``, None without one) for the fit answer beside it."""

    view: ViewModel
    verdict: dict[str, Any] | None


def launch_vm(config: dict[str, Any], options: EstimateOptions, metadata: Any,
              model_id: str, *, revision: str = "") -> LaunchPart:
    """The launch block for these options (see LaunchPart); the command names the model at
    ``revision`` (the Hub revision it was read at; "" for main)."""
    label = ENGINE_PROFILES[options.engine].label
    try:
        v = verdict(config, options, metadata, model_id or "MODEL", revision)
    except EstimatorError as exc:
        v, problem = None, f"No launch verdict for {label}: {exc}"
    else:
        problem = ""
    if v is None:
        text = problem or GENERIC_NOTE
        payload: dict[str, Any] = {"engine": options.engine, "label": label, "starts": None,
                                   "verdict": text, "fixes": [], "command": ""}
        return LaunchPart(ViewModel(
            texts={"launch-verdict": text, "launch-facts": "", "launch-command": "",
                   "launch-engine": ""},
            attrs={"launch": {"data-starts": "none", "data-command": "none"}},
            launch=payload), None)
    summary = v.summary
    if len(v.problems) > 1:
        summary += ("" if summary.endswith(".") else ".") + " Also: " + "; ".join(
            p.message for p in v.problems[1:]) + "."
    facts = []
    if v.max_context is not None and v.memory_checked:
        facts.append(f"longest context that starts: {v.max_context:,} tokens")
    if v.valid_tensor_parallel is not None:
        sizes = ", ".join(str(t) for t in v.valid_tensor_parallel)
        facts.append(f"tensor-parallel sizes {label} accepts for this model: {sizes}")
    fixes = [{"change": f.change, "flags": " ".join(f.flags), "result": f.result,
              "apply": fix_state(dict(f.options))} for f in v.fixes]
    payload = {"engine": v.engine, "label": v.label, "starts": v.starts, "verdict": summary,
               "fixes": fixes, "command": v.command or ""}
    if not v.command:
        # No launch command (Ollama takes its settings as model parameters): the box and its
        # Copy button are hidden (data-command="none") and the facts say where they go.
        where = NO_COMMAND.get(v.engine, "none is written")
        facts.append(f"{label} has no launch command: {where}")
    said = "; ".join(facts)
    texts = {
        "launch-verdict": summary,
        "launch-facts": said[:1].upper() + said[1:] + "." if said else "",
        "launch-command": v.command or "",
        "launch-engine": "Assumes " + "; ".join(v.assumptions) + "." if v.assumptions else "",
    }
    return LaunchPart(ViewModel(texts=texts,
                                attrs={"launch": {"data-starts": "yes" if v.starts else "no",
                                                  "data-command": "yes" if v.command else "none"}},
                                launch=payload), v.to_dict())


def fit_words(word: str, fits: bool, launch: dict[str, Any] | None, batch: int) -> str:
    """The page's fit word ("fits" / "does not fit"), reconciled with the launch verdict
    (``LaunchVerdict.to_dict()``) as the CLI does (estimator.launch.fit_with_launch)."""
    return fit_with_launch(word, fits, launch, batch)


def fixes_html(launch: dict[str, Any] | None) -> str:
    """The fix list, pre-rendered (escaped) exactly as app.js draws it (build time only, so
    the worker never imports ``html``)."""
    import html

    out = []
    for i, fix in enumerate((launch or {}).get("fixes") or []):
        change = html.escape(fix["change"][:1].upper() + fix["change"][1:])
        if fix["apply"] is not None:
            data = html.escape(json.dumps(fix["apply"], sort_keys=True), quote=True)
            head = (f'<button type="button" class="fix" data-fix="{i}" data-apply="{data}">'
                    f"{change}</button>")
        else:
            head = f'<span class="fix-text">{change}</span>'
        out.append(f"<li>{head} <code>{html.escape(fix['flags'])}</code> "
                   f'<span class="fix-result">→ {html.escape(fix["result"])}</span></li>')
    return "".join(out)
