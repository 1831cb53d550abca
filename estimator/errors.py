"""The one exception tree every caller (CLI, page, library user) can rely on.

Everything the estimator raises on bad input is an :class:`EstimatorError`, so a
caller needs a single ``except`` to turn any failure into a message a person can
act on. Every class has a stable ``kind`` string (the page keys its advice and
buttons on it, e.g. "clear token" for ``bad_token``); Hub errors also carry what the
Hub said (``status``, ``server_message``) and about which repo. Hub and network
failures are :class:`HubError` so the CLI can give them their own exit code.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "ConfigJSONError",
    "DisabledRepoError",
    "EntryNotFoundError",
    "EstimatorError",
    "ForbiddenError",
    "GatedRepoError",
    "HubError",
    "HubNetworkError",
    "HubServerError",
    "HubTimeoutError",
    "InvalidEndpointError",
    "InvalidResponseError",
    "InvalidTokenError",
    "MissingConfigKeyError",
    "OfflineCacheMissError",
    "OptionError",
    "RateLimitedError",
    "RepoNotFoundError",
    "RevisionNotFoundError",
    "UnsupportedModelError",
]


class EstimatorError(Exception):
    """Base of every error the estimator raises on purpose."""

    kind = "error"


class ConfigError(EstimatorError):
    """A config.json that cannot be turned into a model spec."""

    kind = "config"


class ConfigJSONError(ConfigError):
    """Config text that is not safe, valid JSON; ``reason``: syntax, encoding, depth,
    number or size (see :mod:`estimator.jsonsafe`)."""

    kind = "config_json"

    def __init__(self, message: str, reason: str = "syntax") -> None:
        self.reason = reason
        super().__init__(message)


class MissingConfigKeyError(ConfigError):
    """A key the estimate needs is absent; ``key`` names it."""

    kind = "missing_key"

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        message = f"config.json is missing '{key}'"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class UnsupportedModelError(ConfigError):
    """The config describes something that is not a text-generating model we can size."""

    kind = "unsupported"


class OptionError(EstimatorError):
    """An estimate option (precision, batch, engine...) is out of range or unknown."""

    kind = "option"


class InvalidEndpointError(OptionError):
    """``--endpoint`` / ``HF_ENDPOINT`` is not an http(s) URL."""

    kind = "bad_endpoint"


class HubError(EstimatorError):
    """Any failure to read a model from the Hugging Face Hub.

    ``repo_id``: the repo the failing request was for; ``status``: the HTTP status
    (None when there was no answer); ``server_message``: the Hub's own words
    (``X-Error-Message`` or the body's ``error``), for display as text only.
    """

    kind = "http_error"

    def __init__(
        self,
        message: str,
        *,
        repo_id: str | None = None,
        status: int | None = None,
        server_message: str | None = None,
    ) -> None:
        self.repo_id = repo_id
        self.status = status
        self.server_message = server_message
        super().__init__(message)


class RepoNotFoundError(HubError):
    """The repo does not exist, or is private and the request could not read it.

    The Hub answers both the same way (401 without ``X-Error-Code`` when no token is
    sent, 404 ``RepoNotFound`` with one), so the message never claims which.
    ``suggestions``: close model ids from the Hub's search, best first (may be empty).
    """

    kind = "not_found_or_private"

    def __init__(self, message: str, *, suggestions: tuple[str, ...] = (), **kw: Any) -> None:
        self.suggestions = suggestions
        super().__init__(message, **kw)


class RevisionNotFoundError(RepoNotFoundError):
    """The repo exists but the branch, tag or commit does not."""

    kind = "revision_not_found"


class EntryNotFoundError(RepoNotFoundError):
    """The repo and revision exist but the file does not."""

    kind = "file_not_found"


class GatedRepoError(HubError):
    """The repo is gated (the model API says ``gated: auto|manual``, or a file answered
    ``X-Error-Code: GatedRepo``) and the request's account has no access yet.
    ``page_url`` is where to accept the terms; ``gated`` is ``auto``/``manual`` when known."""

    kind = "gated"

    def __init__(
        self, message: str, *, page_url: str = "", gated: str | None = None, **kw: Any
    ) -> None:
        self.page_url = page_url
        self.gated = gated
        super().__init__(message, **kw)


class InvalidTokenError(HubError):
    """The token was refused (``Invalid credentials in Authorization header``)."""

    kind = "bad_token"


class ForbiddenError(HubError):
    """403 without an error code: the token lacks a permission, or access is restricted."""

    kind = "forbidden"


class DisabledRepoError(ForbiddenError):
    """The Hub disabled the repo (``Access to this resource is disabled.``)."""

    kind = "disabled"


class RateLimitedError(HubError):
    """429: too many requests; ``retry_after`` is seconds when the Hub said."""

    kind = "rate_limited"

    def __init__(self, message: str, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class HubNetworkError(HubError):
    """The Hub could not be reached."""

    kind = "network"


class HubTimeoutError(HubNetworkError):
    """The Hub did not give its whole answer before the request's deadline."""

    kind = "timeout"


class HubServerError(HubNetworkError):
    """The Hub answered 5xx (after the retries)."""

    kind = "server_error"


class InvalidResponseError(HubError):
    """The Hub answered with something that is not the JSON we asked for."""

    kind = "invalid_response"


class OfflineCacheMissError(HubError):
    """Offline mode (HF_HUB_OFFLINE=1) and the file is not cached locally."""

    kind = "offline_miss"
