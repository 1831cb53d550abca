"""build.py's own JS modules: imports between hashed files point at the hashed names, and
every page module that waits for "page ready" imports the one helper (site/ready.js)."""

from __future__ import annotations

import re

import pytest

import build
from tests.conftest import ROOT


def test_imports_point_at_the_hashed_file() -> None:
    source = b'import { pageReady } from "./ready.js";\nconst text = "./ready.js";\n'
    linked = build.link_imports("app.js", source, {"ready.js": "assets/ready.0123456789.js"})
    assert linked == (b'import { pageReady } from "./ready.0123456789.js";\n'
                      b'const text = "./ready.js";\n')


def test_a_module_hashed_after_its_importer_stops_the_build() -> None:
    with pytest.raises(SystemExit, match=r"site/app.js imports ./ready.js"):
        build.link_imports("app.js", b'import { isReady } from "./ready.js";', {})


def test_built_assets_import_only_hashed_modules() -> None:
    out = build.Output()
    own = build.add_own_assets(out)
    ready = own["ready.js"].removeprefix("assets/")
    for name in ("app.js", "offline.js", "embed-frame.js"):
        text = out.files[own[name]].decode()
        assert f'from "./{ready}"' in text, name
        assert not re.search(r'from "\./[\w-]+\.js"', text), name


def test_page_ready_is_watched_in_one_place() -> None:
    """Only site/ready.js reads, watches or sets <html data-ready> (app.js marks it through
    it; embed.js's data-ready is the host page's mark on a widget's iframe)."""
    use = re.compile(r'(hasAttribute|attributeFilter)\W+"data-ready"|dataset\.ready')
    watchers = [path.name for path in sorted((ROOT / "site").glob("*.js"))
                if use.search(path.read_text(encoding="utf-8")) and path.name != "ready.js"]
    assert watchers == []
