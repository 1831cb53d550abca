"""What to fetch for a model, written once as a generator of requests.

``model_plan`` yields each :class:`Request` it needs and is sent back the
:class:`Response`; it returns a :class:`HubModelInfo`. It does no I/O itself, so
the blocking driver (CLI) and the async driver (page) in :mod:`.client` share
every decision: which URLs, what a status means, when to fall back to the
index file, when to follow an adapter or a GGUF repo to its base model, when to
read a GGUF header instead, and which close ids to suggest for a typo.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from ..errors import (
    ConfigError,
    ForbiddenError,
    GatedRepoError,
    InvalidResponseError,
    OptionError,
    RepoNotFoundError,
    UnsupportedModelError,
)
from ..result import WeightMetadata
from .http import OFFLINE_MISS, Request, Response
from .info import ApiModelInfo, GgufFile, HubModelInfo
from .parse import (
    adapter_base_model,
    index_total_size,
    load_json,
    parse_gguf_files,
    parse_model_api,
    parse_search_ids,
    select_gguf,
    weight_metadata,
)
from .plan_gguf import from_gguf_header, gguf_notes
from .status import not_found_error, raise_for_status
from .suggest import closest_ids, search_queries
from .urls import InvalidModelIdError, ModelRef, parse_model_ref, validate_repo_id

__all__ = ["Context", "Plan", "api_url", "file_url", "model_plan", "search_url"]

log = logging.getLogger("estimator.hub")

Plan = Generator[Request, Response, HubModelInfo]

#: Index files whose ``metadata.total_size`` gives the weight bytes, in preference order.
INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
#: How many base-model hops to follow (adapter -> base, GGUF repo -> base).
MAX_DEPTH = 2


@dataclass(frozen=True)
class Context:
    """What the plan needs to know about the client: where, and whether a token is set."""

    endpoint: str
    has_token: bool = False
    cache_hint: str = ""
    suggest: bool = True  # ask the Hub's search for close ids after a "not found"

    def check(self, req: Request, resp: Response, gated: str | None = None) -> None:
        raise_for_status(
            req,
            resp,
            endpoint=self.endpoint,
            has_token=self.has_token,
            gated=gated,
            cache_hint=self.cache_hint,
        )


def api_url(endpoint: str, repo_id: str, revision: str) -> str:
    """The model API URL; ``blobs=true`` makes it list file sizes."""
    url = f"{endpoint}/api/models/{repo_id}"
    if revision != "main":
        url += f"/revision/{quote(revision, safe='')}"
    return url + "?blobs=true"


def file_url(endpoint: str, repo_id: str, revision: str, filename: str) -> str:
    """The raw-file URL of ``filename`` at ``revision``."""
    return f"{endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(filename)}"


def search_url(endpoint: str, search: str, author: str | None = None, limit: int = 20) -> str:
    """The model search API (``/api/models?search=``), optionally within one author."""
    who = f"author={quote(author, safe='')}&" if author else ""
    return f"{endpoint}/api/models?{who}search={quote(search, safe='')}&limit={limit}"


@dataclass(frozen=True)
class _Repo:
    """What the model API established: the repo's current name, its info and file list."""

    endpoint: str
    ref: ModelRef
    repo_id: str
    api: ApiModelInfo | None
    names: set[str] | None  # None: the API did not list the files (offline)
    gguf_files: tuple[GgufFile, ...]

    @property
    def gated(self) -> str | None:
        return self.api.gated if self.api is not None else None

    def file_req(self, name: str, **kw: Any) -> Request:
        url = file_url(self.endpoint, self.repo_id, self.ref.revision, name)
        return Request(url, self.repo_id, self.ref.revision, name, **kw)

    def lists(self, name: str) -> bool:
        """Whether ``name`` may be in the repo: listed, or the list is unknown."""
        return self.names is None or name in self.names


def model_plan(ctx: Context, ref: ModelRef, gguf_choice: str | None = None, depth: int = 0) -> Plan:
    """Fetch config, weight metadata and GGUF choices for ``ref`` (see module doc)."""
    notes: list[str] = []
    if gguf_choice is None and ref.filename and ref.filename.lower().endswith(".gguf"):
        gguf_choice = ref.filename

    # 1. The model API: file list with sizes, per-dtype parameter counts, gating.
    repo = yield from _model_api(ctx, ref, depth, notes)

    # 2. config.json, or the base model's when this repo is an adapter or GGUF-only.
    config, config_failed = yield from _config(ctx, repo)
    base: str | None = None
    relation: str | None = None
    base_info: HubModelInfo | None = None
    if config is None:
        base, relation = yield from _base_model(ctx, repo, config_failed)
        try:
            base_info = yield from _follow(ctx, repo.repo_id, base, relation or "derivative", depth)
        except (GatedRepoError, RepoNotFoundError, ForbiddenError, UnsupportedModelError) as err:
            api = repo.api
            own_file = any(not g.projector for g in repo.gguf_files)
            if relation != "gguf" or api is None or not own_file:
                raise
            # The GGUF repo is open even when its base is not: size it from its own file.
            return (
                yield from from_gguf_header(ref, repo.repo_id, api, repo.gguf_files, gguf_choice,
                                            base, err, repo.file_req)
            )
        config = base_info.config
        notes.append(_base_note(repo.repo_id, base, relation, base_info))

    # 3. GGUF files: list them, and size the chosen one exactly.
    chosen = _chosen_gguf(repo, gguf_choice, notes)

    # 4. Weight totals: the API's per-dtype counts, else an index file, else a file size.
    if base_info is not None:
        weights = _base_weights(base_info, chosen)
        index_total = base_info.index_total_size
        notes = [*notes, *base_info.notes]
    else:
        index_total, index_source = yield from _index_total(repo)
        weights = weight_metadata(
            repo.api, index_total=index_total, index_source=index_source, gguf=chosen
        )
    return HubModelInfo(
        repo_id=repo.repo_id,
        revision=ref.revision,
        config=config,
        weights=weights,
        config_repo_id=base_info.config_repo_id if base_info is not None else repo.repo_id,
        sha=repo.api.sha if repo.api is not None else None,
        base_model=base,
        relation=relation,
        api=repo.api,
        gguf_files=repo.gguf_files,
        gguf_file=chosen,
        index_total_size=index_total,
        notes=tuple(notes),
        requested_id=ref.repo_id,
    )


def _model_api(
    ctx: Context, ref: ModelRef, depth: int, notes: list[str]
) -> Generator[Request, Response, _Repo]:
    """The model API's answer; offline without it, the plan goes on from the files alone.
    A repo that is not found gets close ids from the Hub's search in its error."""
    api_req = Request(api_url(ctx.endpoint, ref.repo_id, ref.revision), ref.repo_id, ref.revision)
    api_resp = yield api_req
    api: ApiModelInfo | None = None
    repo_id = ref.repo_id
    if api_resp.status == OFFLINE_MISS:
        notes.append("offline and the model info is not cached: parameters come from the config")
    else:
        try:
            ctx.check(api_req, api_resp)
        except RepoNotFoundError as err:
            if type(err) is not RepoNotFoundError or depth > 0 or not ctx.suggest:
                raise
            suggestions = yield from _suggestions(ctx, ref.repo_id)
            raise not_found_error(
                api_req,
                endpoint=ctx.endpoint,
                has_token=ctx.has_token,
                suggestions=suggestions,
                status=err.status,
                message=err.server_message,
            ) from None
        api = parse_model_api(load_json(api_resp.body, api_req.what), ref.repo_id)
        repo_id = _renamed(ref.repo_id, api.repo_id, notes)
    names = api.file_names() if api is not None and api.siblings is not None else None
    gguf_files = parse_gguf_files(api.siblings) if api is not None and api.siblings else ()
    return _Repo(ctx.endpoint, ref, repo_id, api, names, gguf_files)


def _config(
    ctx: Context, repo: _Repo
) -> Generator[Request, Response, tuple[dict[str, Any] | None, tuple[Request, Response] | None]]:
    """The repo's config.json, or None and the failed answer, which may still need
    reporting if no base model is found."""
    config_req = repo.file_req("config.json")
    if not repo.lists("config.json"):
        return None, None
    config_resp = yield config_req
    if config_resp.ok:
        return _json_config(config_resp, config_req), None
    if repo.names is not None or config_resp.status not in (404, OFFLINE_MISS):
        ctx.check(config_req, config_resp, repo.gated)
    return None, (config_req, config_resp)


def _base_model(
    ctx: Context, repo: _Repo, config_failed: tuple[Request, Response] | None
) -> Generator[Request, Response, tuple[str, str | None]]:
    """(base model id, relation) of a repo without config.json: an adapter's base, else the
    model card's first base model; without either, the repo cannot be estimated."""
    base: str | None = None
    relation: str | None = None
    if repo.lists("adapter_config.json"):
        adapter_req = repo.file_req("adapter_config.json")
        adapter_resp = yield adapter_req
        if adapter_resp.ok:
            base = adapter_base_model(_json_object(adapter_resp, adapter_req))
            relation = "adapter" if base else None
        elif repo.names is not None:
            ctx.check(adapter_req, adapter_resp, repo.gated)
    if base is None and repo.api is not None and repo.api.base_models:
        base = repo.api.base_models[0]
        relation = "gguf" if repo.gguf_files else "derivative"
    if base is None:
        if config_failed is not None:
            ctx.check(*config_failed, repo.gated)  # e.g. offline cache miss: say that
        raise UnsupportedModelError(
            f"{repo.repo_id} has no config.json, and no adapter_config.json or base_model "
            "to follow; estimate it from a local config.json with --config"
        )
    return base, relation


def _base_note(repo_id: str, base: str, relation: str | None, base_info: HubModelInfo) -> str:
    kind = {"adapter": "an adapter (LoRA/PEFT)", "gguf": "a GGUF repo"}.get(
        relation or "", "derived"
    )
    return f"{repo_id} is {kind} of {base}: using {base_info.config_repo_id}'s config.json"


def _chosen_gguf(repo: _Repo, gguf_choice: str | None, notes: list[str]) -> GgufFile | None:
    """The GGUF file asked for (sized exactly), or a note listing the ones there are."""
    gguf_files = repo.gguf_files
    if gguf_choice is not None:
        if not gguf_files:
            raise OptionError(f"{repo.repo_id} has no GGUF files to choose {gguf_choice!r} from")
        chosen = select_gguf(gguf_files, gguf_choice)
        notes.extend(gguf_notes(chosen))
        return chosen
    if any(not g.projector for g in gguf_files):
        quants = ", ".join(sorted({g.quant or g.filename for g in gguf_files if not g.projector}))
        notes.append(f"GGUF files available ({quants}); pick one with --gguf-file for exact bytes")
    return None


def _index_total(repo: _Repo) -> Generator[Request, Response, tuple[int | None, str]]:
    """(weight bytes, where from) when the API gives no per-dtype counts: an index file's
    ``metadata.total_size``, else the size of a single ``model.safetensors``."""
    api, names = repo.api, repo.names
    index_total: int | None = None
    index_source = ""
    if api is not None and api.safetensors_parameters:
        return index_total, index_source
    for index_name in INDEX_FILES:
        if names is not None and index_name not in names:
            continue
        index_req = repo.file_req(index_name)
        index_resp = yield index_req
        if index_resp.ok:
            index_total = index_total_size(_json_object(index_resp, index_req))
            if index_total is not None:
                index_source = index_name
                break
        if names is None:
            break  # offline guesswork: one try is enough
    if index_total is None and api is not None and "model.safetensors" in (names or ()):
        index_total = api.size_of("model.safetensors")
        index_source = "model.safetensors size" if index_total is not None else ""
    return index_total, index_source


def _base_weights(base_info: HubModelInfo, chosen: GgufFile | None) -> WeightMetadata:
    """The base model's weights, with this repo's chosen GGUF file's size when there is one."""
    weights = base_info.weights
    if chosen is not None:
        source = "+".join(s for s in (weights.source, "gguf-file") if s)
        weights = replace(
            weights, gguf_file_bytes=chosen.size, gguf_quant=chosen.quant, source=source
        )
    return weights


def _renamed(asked: str, answered: str, notes: list[str]) -> str:
    """The repo's current name: the API answers for the new name after a rename (the Hub
    redirects the old one with a 307); files are then asked under that name."""
    if answered == asked:
        return asked
    try:
        validate_repo_id(answered)
    except InvalidModelIdError:
        return asked
    if answered.lower() != asked.lower():
        notes.append(f"{asked} is now {answered} on the Hub (renamed): using {answered}")
    return answered


def _suggestions(ctx: Context, repo_id: str) -> Generator[Request, Response, tuple[str, ...]]:
    """Close ids from the Hub's search: by the name alone (a wrong org or case), then within
    the org by the name's first word (a typo in the name). Failures mean no suggestion."""
    found: list[str] = []
    for search, author in search_queries(repo_id):
        req = Request(
            search_url(ctx.endpoint, search, author, 50 if author else 20),
            repo_id,
            "main",
            label="model search",
            optional=True,
            cacheable=False,
            max_bytes=4 * 1024 * 1024,
        )
        resp = yield req
        if not resp.ok:
            continue
        try:
            found.extend(parse_search_ids(load_json(resp.body, req.what)))
        except (InvalidResponseError, ConfigError):
            continue
        best = closest_ids(repo_id, found)
        if best:
            return best
    return ()


def _follow(ctx: Context, repo_id: str, base: str, relation: str, depth: int) -> Plan:
    """Fetch the base model named by an adapter or model card."""
    if depth >= MAX_DEPTH:
        raise UnsupportedModelError(
            f"{repo_id} leads through more than {MAX_DEPTH} base models; "
            "give the base model id directly"
        )
    try:
        base_ref = parse_model_ref(base)
    except InvalidModelIdError:
        raise UnsupportedModelError(
            f"{repo_id} is a {relation} of {base!r}, which is not a Hub model id "
            "(a local path?); run llm-mem on the base model id instead"
        ) from None
    if base_ref.repo_id == repo_id:
        raise UnsupportedModelError(f"{repo_id} names itself as its base model")
    return (yield from model_plan(ctx, base_ref, None, depth + 1))


def _json_object(resp: Response, req: Request) -> dict[str, Any]:
    data = load_json(resp.body, req.what)
    if not isinstance(data, dict):
        raise InvalidResponseError(f"{req.what} is not a JSON object")
    return data


def _json_config(resp: Response, req: Request) -> dict[str, Any]:
    """A config.json from the Hub: a page that is not JSON at all is a bad answer (exit 3);
    JSON that is hostile (too deep, 5000-digit numbers, NaN) is a bad model (exit 4)."""
    data = load_json(resp.body, req.what, config=True)
    if not isinstance(data, dict):
        raise ConfigError(f"{req.what} is not a JSON object")
    return data

