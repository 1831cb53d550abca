"""The page's option controls, drawn from estimator.schema at build time.

``site/index.html`` places each control with a slot; ``expand`` (build.py ``prerender``)
turns the slots into markup before ``view.render_static`` fills in the state:

- ``{{field:NAME}}``  a whole field: label, input or select, and its help text;
- ``{{check:NAME}}``  a checkbox in its label, and its help text;
- ``{{control:NAME}}`` only the attributes of an input laid out by hand (the context row);
- ``{{help:NAME}}``, ``{{label:NAME}}``  only the help text, only the label;
- ``{{fields:advanced}}``  every option marked ``advanced``, in EstimateOptions' order (a
  new option appears there without touching the template).

The id and name of each control are its URL key; its help is ``help-KEY``. The help text
and the tooltip (``title``) are the schema's ``page_help``, so they cannot disagree.
"""

from __future__ import annotations

import dataclasses
import html
import re

from estimator import EstimateOptions
from estimator.schema import OPTIONS, Option

#: Controls by their page key (the id in the form and the key in the URL).
BY_KEY: dict[str, Option] = {o.key: o for o in OPTIONS if o.control not in ("none", "custom")}

_SLOT_RE = re.compile(r"\{\{(field|check|control|help|label):([a-z_]+)\}\}")
_ADVANCED = "{{fields:advanced}}"


def _plain(text: str) -> str:
    return text.replace("`", "")


def help_html(option: Option) -> str:
    """The help text, escaped, with `code` spans."""
    parts = html.escape(option.page_help, quote=False).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _number(option: Option, value: float) -> str:
    return str(int(value)) if option.kind == "int" else f"{value:g}"


def control_attrs(option: Option) -> str:
    """id, name, type, range, value slot, description and tooltip of an input or select."""
    key = option.key
    attrs: list[tuple[str, str]] = [("id", key), ("name", key)]
    if option.control == "number":
        attrs.append(("type", "number"))
        if option.minimum is not None and not option.open_low:
            attrs.append(("min", _number(option, option.minimum)))
        if option.maximum is not None and not option.open_high:
            attrs.append(("max", _number(option, option.maximum)))
        attrs.append(("step", option.step))
        attrs.append(("inputmode", "numeric" if option.kind == "int" else "decimal"))
    elif option.control == "text":
        attrs += [("type", "text"), ("inputmode", "decimal"), ("spellcheck", "false")]
    elif option.control == "checkbox":
        attrs.append(("type", "checkbox"))
    if option.control in ("number", "text"):
        attrs.append(("value", f"{{{{text:state.{key}}}}}"))
        if option.placeholder:
            attrs.append(("placeholder", option.placeholder))
    attrs.append(("aria-describedby", f"help-{key}"))
    if option.control != "checkbox":
        attrs.append(("title", _plain(option.page_help)))
    return " ".join(f'{name}="{html.escape(value, quote=True)}"' for name, value in attrs)


def _small(option: Option) -> str:
    return f'<small id="help-{option.key}" class="help">{help_html(option)}</small>'


def field_html(option: Option) -> str:
    key = option.key
    label = f'<label for="{key}">{html.escape(option.label)}</label>'
    if option.control == "select":
        control = f"<select {control_attrs(option)}>{{{{options:{key}}}}}</select>"
    else:
        control = f"<input {control_attrs(option)}>"
    return f'<div class="field">{label}{control}{_small(option)}</div>'


def check_html(option: Option) -> str:
    title = html.escape(_plain(option.page_help), quote=True)
    return (f'<label class="check" title="{title}"><input {control_attrs(option)}'
            f"{{{{checked:{option.key}}}}}> {html.escape(option.label)}</label>{_small(option)}")


def advanced_html() -> str:
    """The "Advanced" fields: a checkbox in a field of its own, the others as fields."""
    order = [f.name for f in dataclasses.fields(EstimateOptions)]
    chosen = sorted((o for o in BY_KEY.values() if o.advanced), key=lambda o: order.index(o.name))
    return "".join(f'<div class="field">{check_html(o)}</div>' if o.control == "checkbox"
                   else field_html(o) for o in chosen)


def expand(template: str) -> str:
    """``template`` with every control slot replaced (unknown names raise KeyError)."""
    template = template.replace(_ADVANCED, advanced_html())
    def fill(match: re.Match[str]) -> str:
        kind, option = match.group(1), BY_KEY[match.group(2)]
        if kind == "field":
            return field_html(option)
        if kind == "check":
            return check_html(option)
        if kind == "control":
            return control_attrs(option)
        if kind == "label":
            return html.escape(option.label)
        return help_html(option)

    return _SLOT_RE.sub(fill, template)
