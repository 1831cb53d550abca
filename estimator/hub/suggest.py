"""'Did you mean' for a model id the Hub does not know: which searches, which answers.

The Hub's search (``/api/models?search=``) matches substrings, so a typo finds nothing by
itself. Two cheap searches cover the usual mistakes: the name alone (a wrong or
mistyped org, wrong case) and, within the org, the name's first word (a typo later in
the name: ``Llama-3.1-8B-Instrct``). Candidates are ranked by edit distance; only close
ones are offered. Pure functions: the plan makes the requests.
"""

from __future__ import annotations

import re

__all__ = ["closest_ids", "edit_distance", "search_queries"]

#: At most this many suggestions are shown.
MAX_SUGGESTIONS = 3


def search_queries(repo_id: str) -> list[tuple[str, str | None]]:
    """(search text, author) pairs to ask, most specific first."""
    org, _, name = repo_id.rpartition("/")
    queries: list[tuple[str, str | None]] = [(name, None)]
    first = re.split(r"[-_.]", name, maxsplit=1)[0]
    if org and first and first != name:
        queries.append((first, org))
    elif org and len(name) > 3:
        queries.append((name[:3], org))
    return queries


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def closest_ids(wanted: str, candidates: list[str]) -> tuple[str, ...]:
    """The candidates closest to ``wanted`` (case-insensitive), if within a few edits."""
    target = wanted.lower()
    limit = max(2, len(target) // 6)
    scored = []
    for cand in dict.fromkeys(candidates):
        if cand == wanted:
            continue
        distance = edit_distance(target, cand.lower(), limit)
        if distance <= limit:
            scored.append((distance, cand))
    if not scored:
        return ()
    best = min(d for d, _ in scored)
    return tuple(sorted(c for d, c in scored if d == best)[:MAX_SUGGESTIONS])
