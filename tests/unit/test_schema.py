"""estimator/schema.py is the one declaration of every estimate option: the library's
validation, the CLI's flags, the page's URL keys and controls, the embed loader's attributes
and the README's table all follow it (issue 12, step 4)."""

from __future__ import annotations

import dataclasses
import re
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

from estimator import EstimateOptions, OptionError
from estimator.cli import build_parser, options_from_args
from estimator.schema import DEFAULT_ENGINE, OPTION, OPTIONS, SAME, markdown_table

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "site"))

import controls  # noqa: E402  site/controls.py
import view  # noqa: E402  site/view.py

NUMBERS = [o for o in OPTIONS if o.kind in ("int", "float")]


def test_readme_option_table_is_the_schema() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- options:begin -->\n(.*?)<!-- options:end -->", readme, re.S)
    assert found, "README.md lacks its generated option table"
    assert found.group(1) == markdown_table(), "run: python -m estimator.schema"


def test_estimate_options_has_exactly_the_schema_fields_with_their_types() -> None:
    fields = dataclasses.fields(EstimateOptions)
    assert {f.name for f in fields} == set(OPTION)
    hints = typing.get_type_hints(EstimateOptions)
    python = {"int": int, "float": float, "str": str, "bool": bool}
    for f in fields:
        option = OPTION[f.name]
        want: Any = python[option.kind]
        assert hints[f.name] == (want | None if option.optional else want), f.name
        assert f.default == option.default, f.name


@pytest.mark.parametrize("option", NUMBERS, ids=lambda o: o.name)
def test_library_range_is_the_schema_range(option: Any) -> None:
    """The bounds are accepted (unless open) and one step past them is refused."""
    low, high = option.bounds
    room = {"gpus": 4096} if option.name in ("tensor_parallel", "pipeline_parallel") else {}
    step = 1 if option.kind == "int" else 1e-9
    for value, ok in ((low, not option.open_low), (high, not option.open_high),
                      (low - step, False), (high + step, False)):
        value = int(value) if option.kind == "int" else value
        if ok:
            EstimateOptions(**{**room, option.name: value})
        else:
            with pytest.raises(OptionError, match=rf"^{option.name} must be"):
                EstimateOptions(**{**room, option.name: value})


def test_choices_are_the_schema_choices() -> None:
    for option in OPTIONS:
        if option.choices:
            for choice in option.choices:
                EstimateOptions(**{option.name: choice})
            with pytest.raises(OptionError, match=f"^unknown {option.noun} 'nope'; choose one"):
                EstimateOptions(**{option.name: "nope"})


def test_cli_flags_are_the_schema_flags() -> None:
    parser = build_parser()
    by_flag = {flag: action for action in parser._actions for flag in action.option_strings}
    for option in OPTIONS:
        for flag in option.flags:
            action = by_flag[flag]
            assert action.dest == option.cli_dest and action.help == option.help, flag
            if option.kind == "bool":
                assert f"--no-{flag[2:]}" in by_flag, flag
    defaults = options_from_args(parser.parse_args(["m"]))
    assert defaults == EstimateOptions(engine=DEFAULT_ENGINE)
    args = parser.parse_args(["m", "--enforce-eager", "--batch-size", "8", "-ngl", "0"])
    assert options_from_args(args) == EstimateOptions(
        engine=DEFAULT_ENGINE, enforce_eager=True, batch=8, n_gpu_layers=0)


def test_every_option_with_a_default_of_its_own_on_cli_and_page() -> None:
    for option in OPTIONS:
        if option.app_default is not SAME:
            assert view.UI_DEFAULTS[option.name] == view.to_text(option.app_default)
    assert view.option_default("batch") == "1" and view.option_default("context") == ""


def test_page_state_round_trips_through_the_url() -> None:
    state = view.default_state("org/m")
    state.update(batch="8", enforce_eager="true", ram="64GiB", headroom="0.2")
    query = view.query_from_state(state, "org/m")
    assert query == "?batch=8&headroom=0.2&enforce_eager=true&ram=64GiB"
    again = view.state_from_query(query, "org/m")
    assert again == state
    options = view.options_from_state(again)
    assert (options.batch, options.enforce_eager, options.headroom) == (8, True, 0.2)
    assert options.ram_bytes == 64 * 1024**3


def test_page_controls_follow_the_schema() -> None:
    template = (ROOT / "site" / "index.html").read_text(encoding="utf-8")
    page = controls.expand(template)
    assert not re.search(r"\{\{(field|fields|check|control|help|label):", page)
    for key, option in controls.BY_KEY.items():
        tag = re.search(rf'<(input|select) id="{key}" name="{key}"[^>]*>', page)
        assert tag, key
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(0)))
        assert attrs["aria-describedby"] == f"help-{key}"
        assert f'<small id="help-{key}" class="help">{controls.help_html(option)}</small>' in page
        if option.control == "number":
            assert attrs.get("min") == (None if option.open_low else
                                        controls._number(option, option.minimum))
            assert attrs.get("max") == (None if option.open_high else
                                        controls._number(option, option.maximum))
    # a checkbox the template does not name appears under Advanced
    assert 'id="enforce_eager" name="enforce_eager" type="checkbox"' in page
    assert "{{checked:enforce_eager}}" in page


def test_embed_loader_passes_the_page_keys() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        import build
    finally:
        sys.path.pop(0)
    keys = build.embed_keys()
    assert set(view.PAGE_FIELDS) <= set(keys) and {"model", "controls"} <= set(keys)
    script = build.render_embed_js((ROOT / "site" / "embed.js").read_text("utf-8")).decode()
    assert '"enforce_eager"' in script and "/*KEYS*/" not in script
