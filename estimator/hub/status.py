"""What a failed Hub answer means: every status and error header mapped in one place.

Modelled on huggingface_hub's ``hf_raise_for_status`` and on answers recorded from
huggingface.co (see tests/hub/realhub.py):

* a repo that does not exist, or is private, asked without a token: ``401``, body
  ``{"error":"Invalid username or password."}``, no ``X-Error-Code``. A typo looks
  exactly like this, so it is "not found, or private", never "gated";
* with a token, the same repo answers ``404`` with ``X-Error-Code: RepoNotFound``;
* a gated repo: the model API answers 200 with ``"gated": "auto"|"manual"`` and its
  files 401/403 with ``X-Error-Code: GatedRepo``. Only that is "gated";
* a refused token: ``401`` with ``X-Error-Message: Invalid credentials in Authorization
  header``;
* a disabled repo: ``X-Error-Message: Access to this resource is disabled.``; any other
  403 without a code is "forbidden" (a token without the permission);
* ``429`` carries ``RateLimit: "api";r=0;t=55`` (seconds until the window resets) and
  ``RateLimit-Policy: "fixed window";"api";q=500;w=300``; ``Retry-After`` is a fallback.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..errors import (
    ConfigError,
    DisabledRepoError,
    EntryNotFoundError,
    ForbiddenError,
    GatedRepoError,
    HubError,
    HubServerError,
    InvalidTokenError,
    OfflineCacheMissError,
    RateLimitedError,
    RepoNotFoundError,
    RevisionNotFoundError,
)
from ..jsonsafe import loads
from .env import DEFAULT_ENDPOINT
from .http import OFFLINE_MISS, Request, Response

__all__ = [
    "BAD_TOKEN_MESSAGE",
    "DISABLED_MESSAGE",
    "hub_error",
    "not_found_error",
    "parse_rate_limit",
    "parse_retry_after",
    "raise_for_status",
    "server_message",
]

#: ``X-Error-Message`` of a refused token (huggingface_hub special-cases it too).
BAD_TOKEN_MESSAGE = "Invalid credentials in Authorization header"
#: ``X-Error-Message`` of a repo the Hub disabled (huggingface_hub DisabledRepoError).
DISABLED_MESSAGE = "Access to this resource is disabled."
#: Where a token is made or replaced.
TOKENS_PAGE = "https://huggingface.co/settings/tokens"
#: What the CLI user does to give a token; the page says it its own way.
TOKEN_HINT = "set HF_TOKEN or run `huggingface-cli login`"


def server_message(resp: Response) -> str | None:
    """The Hub's own words: ``X-Error-Message``, else the body's ``error`` string."""
    text = resp.headers.get("x-error-message", "").strip()
    if not text and resp.body and len(resp.body) <= 64 * 1024:
        try:
            data = loads(resp.body, "the error answer")
        except ConfigError:
            data = None
        error = data.get("error") if isinstance(data, dict) else None
        text = error if isinstance(error, str) else ""
    text = "".join(ch for ch in text if ch.isprintable())[:300].strip()
    return text or None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # imports socket: only for the rare HTTP-date form

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if seconds == seconds and seconds < 1e9 else None


def _params(value: str) -> dict[str, str]:
    """``key=value`` parameters of a structured header (``"api";r=0;t=55``)."""
    out = {}
    for part in value.split(";"):
        key, sep, val = part.strip().partition("=")
        if sep:
            out[key.strip().lower()] = val.strip().strip('"')
    return out


def parse_rate_limit(headers: Mapping[str, str]) -> tuple[float | None, str]:
    """Seconds until the limit resets (``RateLimit`` ``t``, else ``Retry-After``) and the
    policy in words (``500 requests per 300 s``, from ``RateLimit-Policy``)."""
    seconds: float | None = None
    t = _params(headers.get("ratelimit", "")).get("t", "")
    if t.isdigit() and len(t) <= 9:
        seconds = float(t)
    if seconds is None:
        seconds = parse_retry_after(headers.get("retry-after"))
    policy = _params(headers.get("ratelimit-policy", ""))
    q, w = policy.get("q", ""), policy.get("w", "")
    words = f"{q} requests per {w} s" if q.isdigit() and w.isdigit() else ""
    return seconds, words


def _hub_name(endpoint: str) -> str:
    return "the Hub" if endpoint.rstrip("/") == DEFAULT_ENDPOINT else endpoint


def not_found_error(
    req: Request,
    *,
    endpoint: str,
    has_token: bool,
    suggestions: tuple[str, ...] = (),
    status: int | None = None,
    message: str | None = None,
) -> RepoNotFoundError:
    """ "not found, or private" for ``req.repo_id``, with close ids when there are any."""
    where = _hub_name(endpoint)
    if suggestions:
        shown = ", ".join(f"'{s}'" for s in suggestions)
        check = f"check the id (did you mean {shown}?)"
    else:
        check = "check the id"
    if "/" not in req.repo_id:
        check += " (most ids are 'org/name')"
    if has_token:
        text = (
            f"model '{req.repo_id}' not found on {where}, or private and your token cannot "
            f"read it: {check}, or use a token of an account with access"
        )
    else:
        text = (
            f"model '{req.repo_id}' not found on {where}, or private: {check} or give a token "
            f"that can read it ({TOKEN_HINT})"
        )
    return RepoNotFoundError(
        text, suggestions=suggestions, repo_id=req.repo_id, status=status, server_message=message
    )


def _gated_error(
    req: Request,
    endpoint: str,
    has_token: bool,
    gated: str | None,
    status: int,
    message: str | None,
) -> GatedRepoError:
    page = f"{endpoint.rstrip('/')}/{req.repo_id}"
    how = (
        "request access on"
        if gated == "manual"
        else "accept its terms on"  # "auto": access is granted at once
    )
    wait = " and wait for the authors to approve it" if gated == "manual" else ""
    if has_token:
        text = (
            f"{req.repo_id} is gated and your token's account has no access yet: {how} "
            f"{page}{wait} while logged in as that account"
        )
    else:
        text = (
            f"{req.repo_id} is gated: {how} {page}{wait}, then give a token of that account "
            f"({TOKEN_HINT})"
        )
    return GatedRepoError(
        text, page_url=page, gated=gated, repo_id=req.repo_id, status=status, server_message=message
    )


def hub_error(
    req: Request,
    resp: Response,
    *,
    endpoint: str,
    has_token: bool,
    gated: str | None = None,
    cache_hint: str = "",
) -> HubError | None:
    """The HubError a failed answer means (None for a success).

    ``gated`` is what the model API said about the repo (``auto``/``manual``), when it
    answered: a file refused with 401/403 of a repo known to be gated is the gate, even
    if the answer lacks ``X-Error-Code``.
    """
    if resp.ok:
        return None
    status = resp.status
    code = resp.headers.get("x-error-code", "")
    message = server_message(resp)
    kw: dict[str, Any] = {"repo_id": req.repo_id, "status": status, "server_message": message}
    if status == OFFLINE_MISS:
        where = f" in {cache_hint}" if cache_hint else ""
        return OfflineCacheMissError(
            f"HF_HUB_OFFLINE is set and the {req.what} is not cached{where}; "
            "run once online (or unset HF_HUB_OFFLINE)",
            repo_id=req.repo_id,
        )
    if status == 401 and message == BAD_TOKEN_MESSAGE:
        return InvalidTokenError(
            f"the Hub refused the token ({BAD_TOKEN_MESSAGE}): it is invalid or expired; "
            f"make a new one on {TOKENS_PAGE}, or remove it to read public models",
            **kw,
        )
    if code == "GatedRepo" or (status in (401, 403) and gated in ("auto", "manual")):
        return _gated_error(req, endpoint, has_token, gated, status, message)
    if code == "RevisionNotFound" or (
        not code and status == 404 and req.revision != "main" and req.filename is None
    ):
        return RevisionNotFoundError(
            f"revision '{req.revision}' not found in {req.repo_id}; use a branch, tag or "
            "commit hash that exists",
            **kw,
        )
    if code == "EntryNotFound" or (not code and status == 404 and req.filename is not None):
        return EntryNotFoundError(
            f"{req.filename} not found in {req.repo_id} at {req.revision}",
            **kw,
        )
    if message == DISABLED_MESSAGE:
        return DisabledRepoError(
            f"{req.repo_id} is disabled on {_hub_name(endpoint)} ({DISABLED_MESSAGE}): no "
            "one can read it, with or without a token",
            **kw,
        )
    if code == "RepoNotFound" or status in (401, 404):
        return not_found_error(
            req, endpoint=endpoint, has_token=has_token, status=status, message=message
        )
    if status == 403:
        said = f": {message}" if message else ""
        if has_token:
            why = (
                "your token lacks the permission to read it (a fine-grained token needs read "
                "access to this repo, or to public gated repos)"
            )
        else:
            why = "access to it is restricted"
        return ForbiddenError(
            f"the Hub refused the {req.what} (HTTP 403{said}): {why}; it is not gated, there "
            "are no terms to accept",
            **kw,
        )
    if status == 429:
        seconds, policy = parse_rate_limit(resp.headers)
        limit = f" ({policy})" if policy else ""
        after = f"; retry in {seconds:.0f} s" if seconds is not None else "; wait a few minutes"
        advice = "" if has_token else f" (a token raises the limit: {TOKEN_HINT})"
        return RateLimitedError(
            f"the Hub is rate-limiting requests from this address{limit}{after}{advice}",
            seconds,
            **kw,
        )
    if status >= 500:
        return HubServerError(
            f"the Hub answered HTTP {status} for the {req.what}; it may be down, try again later",
            **kw,
        )
    return HubError(f"unexpected HTTP {status} for the {req.what}", **kw)


def raise_for_status(
    req: Request,
    resp: Response,
    *,
    endpoint: str,
    has_token: bool,
    gated: str | None = None,
    cache_hint: str = "",
) -> None:
    """Raise :func:`hub_error`'s error, if any."""
    error = hub_error(
        req, resp, endpoint=endpoint, has_token=has_token, gated=gated, cache_hint=cache_hint
    )
    if error is not None:
        raise error
