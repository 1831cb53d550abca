"""How the real huggingface.co answers, as recorded; the fake Hub replays these shapes.

A fixture that encodes a guessed rule hides real bugs (a typo reported as "gated" came
from one), so every failure answer the fake Hub gives is built here, with where it was
seen:

* missing or private repo, no token: 401, ``X-Error-Message`` and body
  ``Invalid username or password.``, no ``X-Error-Code`` (recorded traffic,
  /work/shared/notes/launch-and-hardware-facts.md; huggingface_hub ``hf_raise_for_status``
  comment: "401 is misleading as it is returned for private and gated repos if user is
  not authenticated, missing repos");
* missing or private repo with a valid token: 404 ``X-Error-Code: RepoNotFound``
  (huggingface_hub tests ``test_hf_raise_for_status_repo_not_found``);
* gated repo: model API 200 with ``"gated": "auto"|"manual"``; its files 401 without a
  token, ``X-Error-Code: GatedRepo``, message "Access to model X is restricted. You must
  have access to it and be authenticated to access it. Please log in." (reported in
  ToTheBeginning/PuLID#97, city96/ComfyUI_ExtraModels#99); 403 ``GatedRepo`` for a token
  whose account is not on the authorised list (huggingface_hub PR #1225);
* refused token: 401 ``X-Error-Message: Invalid credentials in Authorization header``
  (recorded; huggingface_hub special-cases the text);
* disabled repo: ``X-Error-Message: Access to this resource is disabled.``
  (huggingface_hub ``DisabledRepoError``);
* rate limit: 429 with ``RateLimit: "api";r=0;t=55`` and ``RateLimit-Policy: "fixed
  window";"api";q=500;w=300``, no ``Retry-After`` (hub-docs ``docs/hub/rate-limits.md``);
* renamed repo: 307 to the new name on the same host, query kept (recorded).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Shape:
    """One recorded answer: status, headers (as the Hub spells them) and body."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def _error(message: str) -> bytes:
    return json.dumps({"error": message}, separators=(",", ":")).encode()


INVALID_LOGIN = "Invalid username or password."
BAD_TOKEN = "Invalid credentials in Authorization header"
DISABLED = "Access to this resource is disabled."

NOT_FOUND_NO_TOKEN = Shape(401, {"X-Error-Message": INVALID_LOGIN}, _error(INVALID_LOGIN))
NOT_FOUND_WITH_TOKEN = Shape(
    404,
    {"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
    _error("Repository not found"),
)
BAD_TOKEN_ANSWER = Shape(401, {"X-Error-Message": BAD_TOKEN}, _error(BAD_TOKEN))
DISABLED_ANSWER = Shape(403, {"X-Error-Message": DISABLED}, _error(DISABLED))
PLAIN_403 = Shape(403)  # no code, no message: what "forbidden" means is ours to say
RATE_LIMITED = Shape(
    429, {"RateLimit": '"api";r=0;t=55', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}
)
ENTRY_NOT_FOUND = Shape(
    404,
    {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found"},
    _error("Entry not found"),
)
REVISION_NOT_FOUND = Shape(
    404,
    {"X-Error-Code": "RevisionNotFound", "X-Error-Message": "Invalid rev id: nope"},
    _error("Invalid rev id: nope"),
)


def gated_no_token(repo: str) -> Shape:
    text = (
        f"Access to model {repo} is restricted. You must have access to it and be "
        "authenticated to access it. Please log in."
    )
    return Shape(401, {"X-Error-Code": "GatedRepo", "X-Error-Message": text}, _error(text))


def gated_not_granted(repo: str) -> Shape:
    text = (
        f"Access to model {repo} is restricted and you are not in the authorized list. "
        f"Visit https://huggingface.co/{repo} to ask for access."
    )
    return Shape(403, {"X-Error-Code": "GatedRepo", "X-Error-Message": text}, _error(text))


def renamed(location: str) -> Shape:
    return Shape(307, {"Location": location}, b"")
