"""GGUF files in the request plan: which file to size, and how to estimate a GGUF repo
from its own file when its base model cannot be read (the structure from the file's
header, the weights from its size)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from typing import Any

from ..errors import ConfigError, ForbiddenError, GatedRepoError, UnsupportedModelError
from ..result import WeightMetadata
from .gguf_header import HEADER_BYTES, config_from_gguf, read_gguf_header
from .http import Request, Response
from .info import ApiModelInfo, GgufFile, HubModelInfo
from .parse import select_gguf
from .urls import ModelRef

__all__ = ["default_gguf", "from_gguf_header", "gguf_notes"]

log = logging.getLogger("estimator.hub")

#: ``file_req(name, **request fields)``: a request for one file of the repo.
FileRequest = Callable[..., Request]


def default_gguf(files: tuple[GgufFile, ...]) -> GgufFile:
    """Q4_K_M when the repo has it (the most downloaded type), else its smallest file."""
    models = [g for g in files if not g.projector and g.complete and g.size]
    models = models or [g for g in files if not g.projector]
    for g in models:
        if g.quant == "Q4_K_M":
            return g
    return models[0]


def gguf_notes(chosen: GgufFile) -> list[str]:
    """What is missing about the chosen file: its size, or some of its parts."""
    if chosen.size is None:
        return [f"the Hub did not give the size of {chosen.filename}"]
    if not chosen.complete:
        return [
            f"{chosen.filename}: only {len(chosen.parts)} of {chosen.expected_parts} parts "
            "are in the repo"
        ]
    return []


def from_gguf_header(
    ref: ModelRef,
    repo_id: str,
    api: ApiModelInfo,
    gguf_files: tuple[GgufFile, ...],
    gguf_choice: str | None,
    base: str,
    base_error: Exception,
    file_req: FileRequest,
) -> Generator[Request, Response, HubModelInfo]:
    """Estimate a GGUF repo from its own file when its base model cannot be read: the
    structure from the file's header, the weights from its size, and a note saying so.
    If the header cannot be read either, the base model's error stands."""
    chosen = select_gguf(gguf_files, gguf_choice) if gguf_choice else default_gguf(gguf_files)
    if not chosen.size:
        raise base_error  # without its size the file says nothing about the weights
    config = yield from _header_config(chosen, base_error, file_req)
    notes = _header_notes(repo_id, chosen, config, base, base_error, gguf_choice)
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


def _header_config(
    chosen: GgufFile, base_error: Exception, file_req: FileRequest
) -> Generator[Request, Response, dict[str, Any]]:
    """The config the file's header describes; the base model's error when it cannot be
    read."""
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
        return config_from_gguf(header)
    except (ValueError, UnsupportedModelError) as why:
        log.debug("GGUF header of %s not usable: %s", chosen.filename, why)
        raise base_error from None


def _header_notes(
    repo_id: str,
    chosen: GgufFile,
    config: dict[str, Any],
    base: str,
    base_error: Exception,
    gguf_choice: str | None,
) -> list[str]:
    reason = {
        GatedRepoError: "is gated",
        ForbiddenError: "refuses access",
        UnsupportedModelError: "has no usable config.json",
    }.get(type(base_error), "cannot be read (not found, or private)")
    size = f"{(chosen.size or 0) / 2**30:.2f} GiB"  # known: checked before the header
    notes = [
        f"{base} {reason} without access: {repo_id} is estimated from its own file "
        f"{chosen.filename}, the structure from its GGUF header ({config['architectures'][0]}, "
        f"{config['num_hidden_layers']} layers) and the weights from its size ({size})",
        *gguf_notes(chosen),
    ]
    if not gguf_choice:
        notes.append("pick another GGUF file with --gguf-file")
    return notes


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
