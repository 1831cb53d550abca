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
from .gguf_header import HEADER_BYTES, config_from_gguf, read_gguf_header
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


def model_plan(ctx: Context, ref: ModelRef, gguf_choice: str | None = None, depth: int = 0) -> Plan:
    """Fetch config, weight metadata and GGUF choices for ``ref`` (see module doc)."""
    notes: list[str] = []
    if gguf_choice is None and ref.filename and ref.filename.lower().endswith(".gguf"):
        gguf_choice = ref.filename

    # 1. The model API: file list with sizes, per-dtype parameter counts, gating.
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
    gated = api.gated if api is not None else None

    def file_req(name: str, **kw: Any) -> Request:
        return Request(file_url(ctx.endpoint, repo_id, ref.revision, name), repo_id, ref.revision,
                       name, **kw)

    # 2. config.json, or the base model's when this repo is an adapter or GGUF-only.
    config: dict[str, Any] | None = None
    config_req = file_req("config.json")
    config_resp: Response | None = None
    if names is None or "config.json" in names:
        config_resp = yield config_req
        if config_resp.ok:
            config = _json_config(config_resp, config_req)
        elif names is not None or config_resp.status not in (404, OFFLINE_MISS):
            ctx.check(config_req, config_resp, gated)

    gguf_files = parse_gguf_files(api.siblings) if api is not None and api.siblings else ()
    base: str | None = None
    relation: str | None = None
    base_info: HubModelInfo | None = None
    if config is None:
        if names is None or "adapter_config.json" in names:
            adapter_req = file_req("adapter_config.json")
            adapter_resp = yield adapter_req
            if adapter_resp.ok:
                base = adapter_base_model(_json_object(adapter_resp, adapter_req))
                relation = "adapter" if base else None
            elif names is not None:
                ctx.check(adapter_req, adapter_resp, gated)
        if base is None and api is not None and api.base_models:
            base = api.base_models[0]
            relation = "gguf" if gguf_files else "derivative"
        if base is None:
            if config_resp is not None and not config_resp.ok:
                ctx.check(config_req, config_resp, gated)  # e.g. offline cache miss: say that
            raise UnsupportedModelError(
                f"{repo_id} has no config.json, and no adapter_config.json or base_model "
                "to follow; estimate it from a local config.json with --config"
            )
        try:
            base_info = yield from _follow(ctx, repo_id, base, relation or "derivative", depth)
        except (GatedRepoError, RepoNotFoundError, ForbiddenError, UnsupportedModelError) as err:
            if relation != "gguf" or api is None or not any(not g.projector for g in gguf_files):
                raise
            # The GGUF repo is open even when its base is not: size it from its own file.
            return (
                yield from _from_gguf_header(ctx, ref, repo_id, api, gguf_files, gguf_choice,
                                             base, err, file_req)
            )
        config = base_info.config
        kind = {"adapter": "an adapter (LoRA/PEFT)", "gguf": "a GGUF repo"}.get(
            relation or "", "derived"
        )
        notes.append(
            f"{repo_id} is {kind} of {base}: using {base_info.config_repo_id}'s config.json"
        )

    # 3. GGUF files: list them, and size the chosen one exactly.
    chosen: GgufFile | None = None
    if gguf_choice is not None:
        if not gguf_files:
            raise OptionError(f"{repo_id} has no GGUF files to choose {gguf_choice!r} from")
        chosen = select_gguf(gguf_files, gguf_choice)
        notes.extend(_gguf_notes(chosen))
    elif any(not g.projector for g in gguf_files):
        quants = ", ".join(sorted({g.quant or g.filename for g in gguf_files if not g.projector}))
        notes.append(f"GGUF files available ({quants}); pick one with --gguf-file for exact bytes")

    # 4. Weight totals: the API's per-dtype counts, else an index file, else a file size.
    index_total: int | None = None
    index_source = ""
    if base_info is None and (api is None or not api.safetensors_parameters):
        for index_name in INDEX_FILES:
            if names is not None and index_name not in names:
                continue
            index_req = file_req(index_name)
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

    if base_info is not None:
        weights = base_info.weights
        if chosen is not None:
            source = "+".join(s for s in (weights.source, "gguf-file") if s)
            weights = replace(
                weights, gguf_file_bytes=chosen.size, gguf_quant=chosen.quant, source=source
            )
        index_total = base_info.index_total_size
        notes = [*notes, *base_info.notes]
    else:
        weights = weight_metadata(
            api, index_total=index_total, index_source=index_source, gguf=chosen
        )
    return HubModelInfo(
        repo_id=repo_id,
        revision=ref.revision,
        config=config,
        weights=weights,
        config_repo_id=base_info.config_repo_id if base_info is not None else repo_id,
        sha=api.sha if api is not None else None,
        base_model=base,
        relation=relation,
        api=api,
        gguf_files=gguf_files,
        gguf_file=chosen,
        index_total_size=index_total,
        notes=tuple(notes),
        requested_id=ref.repo_id,
    )


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


def _default_gguf(files: tuple[GgufFile, ...]) -> GgufFile:
    """Q4_K_M when the repo has it (the most downloaded type), else its smallest file."""
    models = [g for g in files if not g.projector and g.complete and g.size]
    models = models or [g for g in files if not g.projector]
    for g in models:
        if g.quant == "Q4_K_M":
            return g
    return models[0]


def _gguf_notes(chosen: GgufFile) -> list[str]:
    if chosen.size is None:
        return [f"the Hub did not give the size of {chosen.filename}"]
    if not chosen.complete:
        return [
            f"{chosen.filename}: only {len(chosen.parts)} of {chosen.expected_parts} parts "
            "are in the repo"
        ]
    return []


def _from_gguf_header(
    ctx: Context,
    ref: ModelRef,
    repo_id: str,
    api: ApiModelInfo,
    gguf_files: tuple[GgufFile, ...],
    gguf_choice: str | None,
    base: str,
    base_error: Exception,
    file_req: Any,
) -> Plan:
    """Estimate a GGUF repo from its own file when its base model cannot be read: the
    structure from the file's header, the weights from its size, and a note saying so.
    If the header cannot be read either, the base model's error stands."""
    chosen = select_gguf(gguf_files, gguf_choice) if gguf_choice else _default_gguf(gguf_files)
    if not chosen.size:
        raise base_error  # without its size the file says nothing about the weights
    req = file_req(
        chosen.parts[0],
        headers=(("Range", f"bytes=0-{HEADER_BYTES - 1}"),),
        cacheable=False,
        max_bytes=HEADER_BYTES,
        partial=True,
        label=f"header of {chosen.parts[0]}",
    )
    resp = yield req
    if not resp.ok:
        log.debug("GGUF header of %s: HTTP %s", chosen.filename, resp.status)
        raise base_error
    try:
        header = read_gguf_header(resp.body)
        config = config_from_gguf(header)
    except (ValueError, UnsupportedModelError) as why:
        log.debug("GGUF header of %s not usable: %s", chosen.filename, why)
        raise base_error from None
    reason = {
        GatedRepoError: "is gated",
        ForbiddenError: "refuses access",
        UnsupportedModelError: "has no usable config.json",
    }.get(type(base_error), "cannot be read (not found, or private)")
    size = f"{chosen.size / 2**30:.2f} GiB"
    notes = [
        f"{base} {reason} without access: {repo_id} is estimated from its own file "
        f"{chosen.filename}, the structure from its GGUF header ({config['architectures'][0]}, "
        f"{config['num_hidden_layers']} layers) and the weights from its size ({size})",
        *_gguf_notes(chosen),
    ]
    if not gguf_choice:
        notes.append("pick another GGUF file with --gguf-file")
    total = api.gguf.get("total") if api.gguf else None
    if isinstance(total, int) and not isinstance(total, bool) and total > 0:
        notes.append(f"the Hub's GGUF summary gives {total:,} parameters")
        config = _match_tied(config, total)
    context = api.gguf.get("context_length") if api.gguf else None
    if isinstance(context, int) and not isinstance(context, bool) and 0 < context <= 10**9:
        config.setdefault("max_position_embeddings", context)
    return HubModelInfo(
        repo_id=repo_id,
        revision=ref.revision,
        config=config,
        weights=WeightMetadata(
            gguf_file_bytes=chosen.size, gguf_quant=chosen.quant, source="gguf-file"
        ),
        config_repo_id=repo_id,
        sha=api.sha,
        base_model=base,
        relation="gguf",
        api=api,
        gguf_files=gguf_files,
        gguf_file=chosen,
        notes=tuple(notes),
        config_source="gguf-header",
        requested_id=ref.repo_id,
    )


def _match_tied(config: dict[str, Any], total: int) -> dict[str, Any]:
    """GGUF metadata does not say whether the output matrix is the embedding: pick the
    reading whose parameter count is nearer the Hub's count of the file's tensors."""
    from ..params import count_params
    from ..spec import parse_config

    try:
        untied = count_params(parse_config(config)).total
    except ConfigError:
        return config
    tied = untied - config["vocab_size"] * config["hidden_size"]
    if abs(tied - total) < abs(untied - total):
        return {**config, "tie_word_embeddings": True}
    return config


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

