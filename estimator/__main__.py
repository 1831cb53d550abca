"""``python -m estimator`` runs the ``llm-mem`` command line."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
