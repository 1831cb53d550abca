"""The one exception tree every caller (CLI, page, library user) can rely on.

Everything the estimator raises on bad input is an :class:`EstimatorError`, so a
caller needs a single ``except`` to turn any failure into a message a person can
act on. Hub and network failures are separate subclasses so the CLI can map them
to their own exit code and the page to its own message.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "EstimatorError",
    "GatedRepoError",
    "HubError",
    "HubNetworkError",
    "InvalidResponseError",
    "MissingConfigKeyError",
    "OfflineCacheMissError",
    "OptionError",
    "RateLimitedError",
    "RepoNotFoundError",
    "UnsupportedModelError",
]


class EstimatorError(Exception):
    """Base of every error the estimator raises on purpose."""


class ConfigError(EstimatorError):
    """A config.json that cannot be turned into a model spec."""


class MissingConfigKeyError(ConfigError):
    """A key the estimate needs is absent; ``key`` names it."""

    def __init__(self, key: str, detail: str = "") -> None:
        self.key = key
        message = f"config.json is missing '{key}'"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class UnsupportedModelError(ConfigError):
    """The config describes something that is not a text-generating model we can size."""


class OptionError(EstimatorError):
    """An estimate option (precision, batch, engine...) is out of range or unknown."""


class HubError(EstimatorError):
    """Any failure to read a model from the Hugging Face Hub."""


class RepoNotFoundError(HubError):
    """404: the repository (or revision, or file) does not exist."""


class GatedRepoError(HubError):
    """401/403: gated or private; a token and an accepted licence are needed."""


class RateLimitedError(HubError):
    """429: too many requests; ``retry_after`` is seconds when the Hub said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class HubNetworkError(HubError):
    """The Hub could not be reached or did not answer in time."""


class InvalidResponseError(HubError):
    """The Hub answered with something that is not the JSON we asked for."""


class OfflineCacheMissError(HubError):
    """Offline mode (HF_HUB_OFFLINE=1) and the file is not cached locally."""
