"""The page's view model: what one step of an estimate shows, as typed plain data.

site/view.py (with launch_view.py and hardware_view.py) builds it; site/runtime.py sends
``to_json()`` to the main thread, where site/app.js copies it into the DOM (texts by
element id with ``textContent``, attributes with ``setAttribute``, table rows, the warnings
list, the breakdown and the launch card); build.py's pre-render fills the HTML template
from the same object (view.render_static). A field left ``None`` is not part of that step,
and the page keeps what it shows there (an empty list or dict does clear it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

#: Element id -> its text.
Texts = dict[str, str]
#: Element id -> attribute name -> value.
Attrs = dict[str, dict[str, str]]
#: Table body id -> rows of cell texts.
Rows = dict[str, list[list[str]]]


@dataclass
class ViewModel:
    """Texts, attributes, table rows, warnings, breakdown items and launch card of a step.

    The field order is the key order of ``to_json`` (the worker's answer)."""

    texts: Texts | None = None
    attrs: Attrs | None = None
    #: The breakdown's figures with formula and measured error (site/evidence.py items).
    breakdown: list[dict[str, Any]] | None = None
    rows: Rows | None = None
    #: Per table, the key of each row (the current one is marked).
    row_keys: dict[str, list[str]] | None = None
    warnings: list[str] | None = None
    #: The launch card: engine, label, starts, verdict, fixes, command (site/launch_view.py).
    launch: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready object site/app.js applies: the fields this step sets."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        return out

    def text(self, key: str) -> str:
        """The text of element ``key`` ('' when this step does not set it)."""
        return (self.texts or {}).get(key, "")

    def attr(self, key: str, name: str) -> str:
        """Attribute ``name`` of element ``key`` ('' when this step does not set it)."""
        return (self.attrs or {}).get(key, {}).get(name, "")

    def add(self, other: ViewModel) -> ViewModel:
        """This view model with ``other``'s parts added (``other`` wins on the same id);
        texts, attributes, rows and warnings start empty, so the result sets all of them."""
        texts = {**(self.texts or {}), **(other.texts or {})}
        attrs = {key: dict(value) for key, value in (self.attrs or {}).items()}
        for key, value in (other.attrs or {}).items():
            attrs.setdefault(key, {}).update(value)
        return ViewModel(
            texts=texts,
            attrs=attrs,
            breakdown=other.breakdown if other.breakdown is not None else self.breakdown,
            rows={**(self.rows or {}), **(other.rows or {})},
            row_keys={**(self.row_keys or {}), **(other.row_keys or {})},
            warnings=[*(self.warnings or []), *(other.warnings or [])],
            launch=other.launch if other.launch is not None else self.launch,
        )
