"""What to fetch for a model, written once as a generator of requests.

``model_plan`` yields each :class:`Request` it needs and is sent back the
:class:`Response`; it returns a :class:`HubModelInfo`. It does no I/O itself, so
the blocking driver (CLI) and the async driver (page) in :mod:`.client` share
every decision: which URLs, what a status means, when to fall back to the
index file, when to follow an adapter or a GGUF repo to its base model.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from ..errors import InvalidResponseError, OptionError, UnsupportedModelError
from .http import OFFLINE_MISS, Request, Response, check_response
from .info import ApiModelInfo, GgufFile, HubModelInfo
from .parse import (
    adapter_base_model,
    index_total_size,
    load_json,
    parse_gguf_files,
    parse_model_api,
    select_gguf,
    weight_metadata,
)
from .urls import InvalidModelIdError, ModelRef, parse_model_ref

__all__ = ["Context", "Plan", "api_url", "file_url", "model_plan"]

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

    def check(self, req: Request, resp: Response) -> None:
        check_response(
            req, resp, endpoint=self.endpoint, has_token=self.has_token, cache_hint=self.cache_hint
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


def model_plan(ctx: Context, ref: ModelRef, gguf_choice: str | None = None, depth: int = 0) -> Plan:
    """Fetch config, weight metadata and GGUF choices for ``ref`` (see module doc)."""
    notes: list[str] = []
    if gguf_choice is None and ref.filename and ref.filename.lower().endswith(".gguf"):
        gguf_choice = ref.filename

    def file_req(name: str) -> Request:
        return Request(
            file_url(ctx.endpoint, ref.repo_id, ref.revision, name), ref.repo_id, ref.revision, name
        )

    # 1. The model API: file list with sizes, per-dtype parameter counts, gating.
    api_req = Request(api_url(ctx.endpoint, ref.repo_id, ref.revision), ref.repo_id, ref.revision)
    api_resp = yield api_req
    api: ApiModelInfo | None = None
    if api_resp.status == OFFLINE_MISS:
        notes.append("offline and the model info is not cached: parameters come from the config")
    else:
        ctx.check(api_req, api_resp)
        api = parse_model_api(load_json(api_resp.body, api_req.what), ref.repo_id)
    names = api.file_names() if api is not None and api.siblings is not None else None

    # 2. config.json, or the base model's when this repo is an adapter or GGUF-only.
    config: dict[str, Any] | None = None
    config_req = file_req("config.json")
    config_resp: Response | None = None
    if names is None or "config.json" in names:
        config_resp = yield config_req
        if config_resp.ok:
            config = _json_object(config_resp, config_req)
        elif names is not None or config_resp.status not in (404, OFFLINE_MISS):
            ctx.check(config_req, config_resp)

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
                ctx.check(adapter_req, adapter_resp)
        if base is None and api is not None and api.base_models:
            base = api.base_models[0]
            relation = "gguf" if gguf_files else "derivative"
        if base is None:
            if config_resp is not None and not config_resp.ok:
                ctx.check(config_req, config_resp)  # e.g. offline cache miss: say that
            raise UnsupportedModelError(
                f"{ref.repo_id} has no config.json, and no adapter_config.json or base_model "
                "to follow; estimate it from a local config.json with --config"
            )
        base_info = yield from _follow(ctx, ref, base, relation or "derivative", depth)
        config = base_info.config
        kind = {"adapter": "an adapter (LoRA/PEFT)", "gguf": "a GGUF repo"}.get(
            relation or "", "derived"
        )
        notes.append(
            f"{ref.repo_id} is {kind} of {base}: using {base_info.config_repo_id}'s config.json"
        )

    # 3. GGUF files: list them, and size the chosen one exactly.
    chosen: GgufFile | None = None
    if gguf_choice is not None:
        if not gguf_files:
            raise OptionError(f"{ref.repo_id} has no GGUF files to choose {gguf_choice!r} from")
        chosen = select_gguf(gguf_files, gguf_choice)
        if chosen.size is None:
            notes.append(f"the Hub did not give the size of {chosen.filename}")
        elif not chosen.complete:
            notes.append(
                f"{chosen.filename}: only {len(chosen.parts)} of "
                f"{chosen.expected_parts} parts are in the repo"
            )
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
        repo_id=api.repo_id if api is not None else ref.repo_id,
        revision=ref.revision,
        config=config,
        weights=weights,
        config_repo_id=base_info.config_repo_id if base_info is not None else ref.repo_id,
        sha=api.sha if api is not None else None,
        base_model=base,
        relation=relation,
        api=api,
        gguf_files=gguf_files,
        gguf_file=chosen,
        index_total_size=index_total,
        notes=tuple(notes),
    )


def _follow(ctx: Context, ref: ModelRef, base: str, relation: str, depth: int) -> Plan:
    """Fetch the base model named by an adapter or model card."""
    if depth >= MAX_DEPTH:
        raise UnsupportedModelError(
            f"{ref.repo_id} leads through more than {MAX_DEPTH} base models; "
            "give the base model id directly"
        )
    try:
        base_ref = parse_model_ref(base)
    except InvalidModelIdError:
        raise UnsupportedModelError(
            f"{ref.repo_id} is a {relation} of {base!r}, which is not a Hub model id "
            "(a local path?); run llm-mem on the base model id instead"
        ) from None
    if base_ref.repo_id == ref.repo_id:
        raise UnsupportedModelError(f"{ref.repo_id} names itself as its base model")
    return (yield from model_plan(ctx, base_ref, None, depth + 1))


def _json_object(resp: Response, req: Request) -> dict[str, Any]:
    data = load_json(resp.body, req.what)
    if not isinstance(data, dict):
        raise InvalidResponseError(f"{req.what} is not a JSON object")
    return data
