"""Turn whatever a person pastes into a (repo id, revision, file) triple.

People copy model ids from the Hub page, the address bar, a "Files" tab, a
download link or a blog post. All of these name the same model; this module
accepts every such form and rejects anything else with the *reason*, because
"invalid model id" alone does not tell anyone what to fix. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..errors import InvalidEndpointError, OptionError

__all__ = [
    "DEFAULT_REVISION",
    "InvalidModelIdError",
    "ModelRef",
    "parse_model_ref",
    "validate_endpoint",
    "validate_repo_id",
    "validate_revision",
]

DEFAULT_REVISION = "main"

#: Hosts that mean "the public Hub" when they appear in a pasted URL.
HUB_HOSTS = ("huggingface.co", "hf.co")

#: Path parts of a Hub page URL that are followed by a revision.
_REVISION_MARKERS = ("tree", "blob", "resolve", "raw", "commit", "commits", "edit")

_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_MAX_ID_LENGTH = 96  # the Hub's own limit on "org/name"


class InvalidModelIdError(OptionError):
    """What the user typed is not a model id or Hub URL; the message says why."""

    kind = "bad_model_id"


_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_MAX_REVISION_LENGTH = 255


def validate_revision(revision: str) -> str:
    r"""Return ``revision`` if it is a name git (and so the Hub) accepts, else raise.

    Branch and tag names follow ``git check-ref-format``: no ``..``, no ``@{``, no
    control characters, spaces or ``~ ^ : ? * [ \``, no component starting with ``.`` or
    ending with ``.lock``, no leading, trailing or doubled ``/``. Commit hashes and
    ``refs/pr/N`` pass. Checked before the revision reaches a URL or the local cache,
    where ``..`` would climb out of the snapshot folder.
    """
    if not revision:
        raise InvalidModelIdError("the revision is empty; use a branch, tag or commit hash")
    bad = _REF_FORBIDDEN.search(revision)
    reason = ""
    if len(revision) > _MAX_REVISION_LENGTH:
        reason = f"is longer than {_MAX_REVISION_LENGTH} characters"
    elif bad:
        reason = f"contains {bad.group()!r}"
    elif ".." in revision or "@{" in revision or revision == "@":
        reason = "contains '..' or '@{'"
    elif revision.startswith("/") or revision.endswith(("/", ".")) or "//" in revision:
        reason = "has an empty path part"
    elif any(p.startswith(".") or p.endswith(".lock") for p in revision.split("/")):
        reason = "has a part starting with '.' or ending with '.lock'"
    if reason:
        shown = revision if len(revision) <= 60 else revision[:57] + "..."
        raise InvalidModelIdError(
            f"revision {shown!r} {reason}; git, and so the Hub, does not allow that in a "
            "branch or tag name"
        )
    return revision


def validate_endpoint(url: str) -> str:
    """The Hub endpoint without a trailing slash, if it is an http(s) URL with a host.

    ``HF_ENDPOINT`` and ``--endpoint`` name a server to ask over HTTP: ``file://``,
    ``ftp://`` and the like are refused, and so are credentials, queries and fragments
    in it (a token goes in HF_TOKEN, never in a URL).
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise InvalidEndpointError(f"the Hub endpoint {text!r} is not a URL ({err})") from None
    del port
    if parts.scheme not in ("http", "https"):
        raise InvalidEndpointError(
            f"the Hub endpoint {text!r} must be an http:// or https:// URL "
            "(HF_ENDPOINT / --endpoint), e.g. https://huggingface.co"
        )
    if not parts.hostname:
        raise InvalidEndpointError(f"the Hub endpoint {text!r} has no host name")
    if parts.username is not None or parts.password is not None:
        raise InvalidEndpointError(
            "the Hub endpoint must not hold a user name or password; put a token in HF_TOKEN"
        )
    if parts.query or parts.fragment:
        raise InvalidEndpointError(
            f"the Hub endpoint {text!r} must not have a query or fragment"
        )
    return text.rstrip("/")


@dataclass(frozen=True)
class ModelRef:
    """A model on the Hub: ``repo_id`` at ``revision``, optionally one file of it.

    ``filename`` is set when a file URL was pasted (``.../blob/main/config.json``,
    ``.../resolve/main/model-Q4_K_M.gguf``); ``revision_given`` tells whether the
    revision came from the text rather than the default.
    """

    repo_id: str
    revision: str = DEFAULT_REVISION
    filename: str | None = None
    revision_given: bool = False

    def __str__(self) -> str:
        text = self.repo_id
        if self.revision != DEFAULT_REVISION:
            text += f"@{self.revision}"
        return text


def validate_repo_id(repo_id: str) -> str:
    """Return ``repo_id`` if the Hub would accept it, else raise with the reason.

    Mirrors the Hub's rules: ``name`` or ``org/name``; letters, digits, ``-``,
    ``_``, ``.``; no ``--`` or ``..``; not starting or ending with ``-`` or ``.``;
    at most 96 characters.
    """
    if not repo_id:
        raise InvalidModelIdError(
            "the model id is empty; expected 'org/name', e.g. 'Qwen/Qwen2.5-7B'"
        )
    if any(ch.isspace() for ch in repo_id):
        raise InvalidModelIdError(f"model id {repo_id!r} contains spaces; expected 'org/name'")
    parts = repo_id.split("/")
    if len(parts) > 2:
        raise InvalidModelIdError(
            f"model id {repo_id!r} has {len(parts) - 1} slashes; expected 'org/name' "
            "(or paste the full https://huggingface.co/... address)"
        )
    if len(repo_id) > _MAX_ID_LENGTH:
        raise InvalidModelIdError(
            f"model id {repo_id!r} is {len(repo_id)} characters long; "
            f"the Hub allows {_MAX_ID_LENGTH}"
        )
    for part in parts:
        if not part:
            raise InvalidModelIdError(f"model id {repo_id!r} has an empty organisation or name")
        bad = sorted({ch for ch in part if not _NAME_RE.match(ch)})
        if bad:
            shown = " ".join(repr(ch) for ch in bad)
            raise InvalidModelIdError(
                f"model id {repo_id!r} contains {shown}; only letters, digits, '-', '_' and '.' "
                "are allowed"
            )
        if "--" in part or ".." in part:
            raise InvalidModelIdError(
                f"model id {repo_id!r} contains '--' or '..', which the Hub forbids"
            )
        if part[0] in "-." or part[-1] in "-.":
            raise InvalidModelIdError(
                f"model id {repo_id!r}: a name cannot start or end with '-' or '.'"
            )
    if repo_id.endswith(".git"):
        raise InvalidModelIdError(f"model id {repo_id!r} ends with '.git'; drop it")
    return repo_id


def parse_model_ref(
    text: str, revision: str | None = None, *, extra_hosts: tuple[str, ...] = ()
) -> ModelRef:
    """Parse a model id or Hub URL into a :class:`ModelRef`.

    Accepted: ``org/name``, ``name`` (legacy ids such as ``gpt2``),
    ``https://huggingface.co/org/name`` (also ``hf.co``, no scheme, ``www.``),
    ``.../tree/<rev>``, ``.../blob/<rev>/<file>``, ``.../resolve/<rev>/<file>``,
    ``.../api/models/org/name``; surrounding spaces, trailing slashes, queries and
    fragments are ignored. ``revision`` (the ``--revision`` flag) overrides a
    revision found in the text. ``extra_hosts`` adds hosts such as a mirror's
    ``HF_ENDPOINT``.
    """
    raw = text.strip()
    if not raw:
        raise InvalidModelIdError(
            "the model id is empty; expected 'org/name', e.g. 'Qwen/Qwen2.5-7B'"
        )
    segments = _path_segments(raw, extra_hosts)
    ref = _from_segments(raw, segments)
    if revision is not None:
        ref = ModelRef(ref.repo_id, validate_revision(revision.strip()), ref.filename, True)
    elif ref.revision_given:
        validate_revision(ref.revision)
    if ref.filename is not None:
        _validate_filename(ref.filename)
    return ref


def _validate_filename(name: str) -> None:
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\\" in name or "\x00" in name:
        raise InvalidModelIdError(f"file name {name!r} in the address is not a path in a repo")


def _path_segments(raw: str, extra_hosts: tuple[str, ...]) -> list[str]:
    """The path of a pasted URL (or the id itself) split on '/', decoded."""
    text = raw
    lowered = text.lower()
    hosts = tuple(h.lower() for h in (*HUB_HOSTS, *extra_hosts) if h)
    has_scheme = "://" in text
    bare_host = any(lowered.startswith(h + "/") or lowered == h for h in hosts) or any(
        lowered.startswith("www." + h) for h in hosts
    )
    if has_scheme or bare_host:
        if not has_scheme:
            text = "https://" + text
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https"):
            raise InvalidModelIdError(f"{raw!r} is not an http(s) address of a Hub model")
        host = (parts.hostname or "").lower().removeprefix("www.")
        if host not in hosts:
            raise InvalidModelIdError(
                f"{raw!r} is not a Hugging Face Hub address (host {host!r}); "
                "paste an id like 'org/name' or a https://huggingface.co/... link"
            )
        path = parts.path
    else:
        path = text.split("?", 1)[0].split("#", 1)[0]
    segments = [unquote(s) for s in path.strip("/").split("/") if s != ""]
    if not segments:
        raise InvalidModelIdError(
            f"{raw!r} names no model; expected https://huggingface.co/org/name"
        )
    if segments[0] in ("datasets", "spaces"):
        kind = segments[0][:-1]
        raise InvalidModelIdError(f"{raw!r} is a {kind}, not a model")
    if segments[:2] == ["api", "models"]:
        segments = segments[2:]
        if len(segments) >= 3 and segments[-2] == "revision":
            segments = [*segments[:-2], "tree", segments[-1]]
    elif segments[0] == "models" and len(segments) > 1:
        segments = segments[1:]
    return segments


def _from_segments(raw: str, segments: list[str]) -> ModelRef:
    """Pick repo id, revision and file out of the path segments."""
    if len(segments) >= 2 and segments[1] in _REVISION_MARKERS:
        id_len = 1  # legacy single-name id followed by /tree/<rev>...
    elif len(segments) <= 2:
        id_len = len(segments)
    elif segments[2] in _REVISION_MARKERS:
        id_len = 2
    else:
        if raw.strip("/") == "/".join(segments):
            validate_repo_id("/".join(segments))  # a bare id: say what is wrong with it
        raise InvalidModelIdError(
            f"cannot read a model id from {raw!r}: expected 'org/name', or a Hub URL ending in "
            "/tree/<revision>, /blob/<revision>/<file> or /resolve/<revision>/<file>"
        )
    repo_id = validate_repo_id("/".join(segments[:id_len]))
    rest = segments[id_len:]
    if not rest:
        return ModelRef(repo_id)
    marker, tail = rest[0], rest[1:]
    if not tail:
        if marker in ("tree", "commits"):
            return ModelRef(repo_id)
        raise InvalidModelIdError(f"{raw!r} ends in '/{marker}' without a revision")
    revision = tail[0]
    if revision == "refs" and len(tail) >= 3 and tail[1] in ("pr", "convert"):
        revision, files = "/".join(tail[:3]), tail[3:]  # refs/pr/1 pasted unencoded
    else:
        files = tail[1:]
    filename = "/".join(files) or None
    if marker in ("blob", "resolve", "raw", "edit") and filename is None:
        raise InvalidModelIdError(
            f"{raw!r} names a revision but no file after /{marker}/{revision}"
        )
    if marker in ("tree", "commit", "commits"):
        filename = None  # a folder or commit page: the model, not a file
    return ModelRef(repo_id, revision, filename, True)
