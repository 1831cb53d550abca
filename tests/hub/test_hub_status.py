"""Every recorded Hub answer shape mapped to its error, kind and message (estimator.hub.status).

One test per shape of :mod:`realhub`; each asserts the class, the stable ``kind`` the
page keys on, the words a person acts on, and what must never be said (a typo is never
"gated"; a plain 403 is never a generic "unexpected HTTP").
"""

from __future__ import annotations

import pytest
import realhub
from fakehub import TOKEN

from estimator.errors import (
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
from estimator.hub.http import OFFLINE_MISS, Request, Response
from estimator.hub.plan import api_url, file_url
from estimator.hub.status import (
    hub_error,
    parse_rate_limit,
    parse_retry_after,
    server_message,
)

EP = "https://huggingface.co"
REPO = "meta-llama/Llama-3.1-8B-Instruct"
API = Request(api_url(EP, REPO, "main"), REPO, "main")
CONFIG = Request(file_url(EP, REPO, "main", "config.json"), REPO, "main", "config.json")


def response(shape: realhub.Shape) -> Response:
    return Response(shape.status, {k.lower(): v for k, v in shape.headers.items()}, shape.body)


def error_for(
    shape: realhub.Shape,
    req: Request = API,
    *,
    token: bool = False,
    gated: str | None = None,
    endpoint: str = EP,
) -> HubError:
    err = hub_error(req, response(shape), endpoint=endpoint, has_token=token, gated=gated)
    assert err is not None
    return err


def test_missing_or_private_without_token_is_not_found_or_private_never_gated() -> None:
    err = error_for(realhub.NOT_FOUND_NO_TOKEN)
    assert type(err) is RepoNotFoundError and err.kind == "not_found_or_private"
    assert str(err) == (
        f"model '{REPO}' not found on the Hub, or private: check the id or give a token that "
        "can read it (set HF_TOKEN or run `huggingface-cli login`)"
    )
    assert "gated" not in str(err) and "licence" not in str(err) and "terms" not in str(err)
    assert err.status == 401 and err.server_message == realhub.INVALID_LOGIN
    assert err.repo_id == REPO and err.suggestions == ()
    # The same answer for a file of a repo the API did not call gated.
    assert error_for(realhub.NOT_FOUND_NO_TOKEN, CONFIG).kind == "not_found_or_private"


def test_missing_or_private_with_token() -> None:
    err = error_for(realhub.NOT_FOUND_WITH_TOKEN, token=True)
    assert err.kind == "not_found_or_private" and err.status == 404
    assert "or private and your token cannot read it: check the id" in str(err)
    assert "HF_TOKEN" not in str(err)


def test_a_file_of_a_missing_repo_is_the_repo_not_the_file() -> None:
    """With a token, a file of a missing or private repo answers 404 RepoNotFound (the API's
    answer, huggingface_hub test_hf_raise_for_status_repo_not_found): the repo is what is
    missing, not config.json. Only an uncoded 404 for a file, or EntryNotFound, is the file."""
    err = error_for(realhub.NOT_FOUND_WITH_TOKEN, CONFIG, token=True)
    assert type(err) is RepoNotFoundError and err.kind == "not_found_or_private"
    assert not isinstance(err, EntryNotFoundError) and "config.json" not in str(err)
    plain = error_for(realhub.Shape(404), CONFIG)
    assert isinstance(plain, EntryNotFoundError) and plain.kind == "file_not_found"


def test_a_mirror_is_named_and_a_bare_name_gets_a_hint() -> None:
    bare = Request(api_url("http://mirror.test", "Llama-3", "main"), "Llama-3", "main")
    err = error_for(realhub.NOT_FOUND_NO_TOKEN, bare, endpoint="http://mirror.test")
    assert "not found on http://mirror.test" in str(err) and "'org/name'" in str(err)


@pytest.mark.parametrize("token", [False, True])
def test_gated_only_with_the_gated_repo_code(token: bool) -> None:
    shape = realhub.gated_not_granted(REPO) if token else realhub.gated_no_token(REPO)
    err = error_for(shape, CONFIG, token=token, gated="manual")
    assert isinstance(err, GatedRepoError) and err.kind == "gated"
    assert err.page_url == f"{EP}/{REPO}" and err.gated == "manual"
    assert f"request access on {EP}/{REPO} and wait for the authors to approve it" in str(err)
    if token:
        assert "your token's account has no access yet" in str(err) and err.status == 403
    else:
        assert "then give a token of that account (set HF_TOKEN" in str(err)
    assert err.server_message is not None and "restricted" in err.server_message


def test_gated_auto_says_accept_the_terms() -> None:
    err = error_for(realhub.gated_no_token(REPO), CONFIG, gated="auto")
    assert f"{REPO} is gated: accept its terms on {EP}/{REPO}, then give a token" in str(err)
    # The code alone is enough, even when the API was not asked (offline cache).
    assert error_for(realhub.gated_no_token(REPO), CONFIG).kind == "gated"


def test_a_file_of_a_repo_the_api_called_gated_is_gated_even_without_the_code() -> None:
    assert error_for(realhub.NOT_FOUND_NO_TOKEN, CONFIG, gated="auto").kind == "gated"
    assert error_for(realhub.PLAIN_403, CONFIG, token=True, gated="manual").kind == "gated"


def test_bad_token_is_said_whatever_the_repo() -> None:
    for gated in (None, "manual"):
        err = error_for(realhub.BAD_TOKEN_ANSWER, CONFIG, token=True, gated=gated)
        assert isinstance(err, InvalidTokenError) and err.kind == "bad_token"
        assert str(err).startswith("the Hub refused the token (Invalid credentials in")
        assert "invalid or expired" in str(err) and "settings/tokens" in str(err)
        assert "gated" not in str(err)


def test_plain_403_is_forbidden_and_says_what_it_is() -> None:
    with_token = error_for(realhub.PLAIN_403, CONFIG, token=True)
    assert type(with_token) is ForbiddenError and with_token.kind == "forbidden"
    assert str(with_token) == (
        f"the Hub refused the config.json of {REPO} (HTTP 403): your token lacks the permission "
        "to read it (a fine-grained token needs read access to this repo, or to public gated "
        "repos); it is not gated, there are no terms to accept"
    )
    without = error_for(realhub.PLAIN_403)
    assert without.kind == "forbidden" and "access to it is restricted" in str(without)
    assert "unexpected" not in str(without)


def test_disabled_repo() -> None:
    err = error_for(realhub.DISABLED_ANSWER)
    assert isinstance(err, DisabledRepoError) and err.kind == "disabled"
    assert f"{REPO} is disabled on the Hub (Access to this resource is disabled.)" in str(err)


def test_rate_limit_uses_the_ratelimit_header() -> None:
    err = error_for(realhub.RATE_LIMITED)
    assert isinstance(err, RateLimitedError) and err.kind == "rate_limited"
    assert err.retry_after == 55.0
    assert str(err) == (
        "the Hub is rate-limiting requests from this address (500 requests per 300 s); retry "
        "in 55 s (a token raises the limit: set HF_TOKEN or run `huggingface-cli login`)"
    )
    with_token = error_for(realhub.RATE_LIMITED, token=True)
    assert "a token raises" not in str(with_token)


def test_rate_limit_fallbacks() -> None:
    assert parse_rate_limit({"retry-after": "42"}) == (42.0, "")
    assert parse_rate_limit({"ratelimit": '"api";r=0;t=7', "retry-after": "42"})[0] == 7.0
    assert parse_rate_limit({"ratelimit": '"api";r=0;t=soon'}) == (None, "")
    err = error_for(realhub.Shape(429))
    assert err.kind == "rate_limited" and "wait a few minutes" in str(err)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0) == 0.0
    assert parse_retry_after("garbage") is None and parse_retry_after("nan") is None


def test_revision_and_entry_not_found() -> None:
    rev = Request(api_url(EP, REPO, "nope"), REPO, "nope")
    err = error_for(realhub.REVISION_NOT_FOUND, rev)
    assert isinstance(err, RevisionNotFoundError) and err.kind == "revision_not_found"
    assert str(err).startswith(f"revision 'nope' not found in {REPO}")
    err = error_for(realhub.ENTRY_NOT_FOUND, CONFIG)
    assert isinstance(err, EntryNotFoundError) and err.kind == "file_not_found"
    assert str(err) == f"config.json not found in {REPO} at main"


@pytest.mark.parametrize(("status", "kind"), [(500, "server_error"), (503, "server_error"),
                                              (418, "http_error")])
def test_other_statuses(status: int, kind: str) -> None:
    err = error_for(realhub.Shape(status))
    assert err.kind == kind
    if status >= 500:
        assert isinstance(err, HubServerError) and f"HTTP {status}" in str(err)
    else:
        assert str(err) == f"unexpected HTTP 418 for the model info of {REPO}"


def test_offline_miss_and_success() -> None:
    err = hub_error(API, Response(OFFLINE_MISS), endpoint=EP, has_token=False, cache_hint="/c")
    assert isinstance(err, OfflineCacheMissError) and err.kind == "offline_miss"
    assert "in /c" in str(err)
    assert hub_error(API, Response(200, {}, b"{}"), endpoint=EP, has_token=False) is None


def test_server_message_is_plain_text_only() -> None:
    hostile = Response(403, {}, b'{"error": "<b>x</b>\\u0007\\n' + b"y" * 500 + b'"}')
    said = server_message(hostile)
    assert said is not None and said.startswith("<b>x</b>") and len(said) == 300
    assert "\u0007" not in said and "\n" not in said  # no control characters
    assert server_message(Response(403, {}, b"<html>nope</html>")) is None
    assert server_message(Response(403, {}, b'{"error": ["a"]}')) is None


def test_token_never_needed_to_map() -> None:
    # The mapping sees no token at all: only whether one was sent.
    err = error_for(realhub.NOT_FOUND_WITH_TOKEN, token=True)
    assert TOKEN not in str(err)
