"""Typed facts about a Hub repository, as the client hands them to callers.

``ApiModelInfo`` is what one ``/api/models/<id>`` answer says; ``HubModelInfo``
is the complete result of fetching a model (config, weight metadata, GGUF
choices, and where each piece came from), which the CLI and the page show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..result import WeightMetadata

__all__ = ["ApiModelInfo", "GgufFile", "HubModelInfo", "Sibling"]


@dataclass(frozen=True)
class Sibling:
    """One file of the repo; ``size`` is known when the API was asked ``?blobs=true``."""

    name: str
    size: int | None = None


@dataclass(frozen=True)
class GgufFile:
    """One GGUF model file (or a multi-part set, ``-00001-of-00003.gguf``, summed).

    ``quant`` is the quantization type read from the file name (``Q4_K_M``,
    ``IQ4_XS``, ``F16``...), upper-cased, or None if the name does not say.
    ``projector`` marks a multimodal projector (``mmproj-*.gguf``), which is
    loaded next to a model file rather than instead of it.
    """

    filename: str  # the name to pass as --gguf-file (first part of a split set)
    quant: str | None
    size: int | None  # total bytes of all parts; None if a part's size is unknown
    parts: tuple[str, ...]
    expected_parts: int = 1
    projector: bool = False

    @property
    def complete(self) -> bool:
        """All parts of a split file are present in the repo."""
        return len(self.parts) == self.expected_parts

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "quant": self.quant,
            "size": self.size,
            "parts": list(self.parts),
            "projector": self.projector,
        }


@dataclass(frozen=True)
class ApiModelInfo:
    """The useful part of one ``/api/models/<id>[/revision/<rev>]`` answer.

    ``safetensors_parameters`` is the raw dtype -> stored element count map: for
    packed int4 (GPTQ/AWQ as I32) or MXFP4 (U8) checkpoints these are *elements*,
    not parameters; the core decides how to read them.
    """

    repo_id: str
    sha: str | None = None
    private: bool = False
    gated: str | None = None  # None (open), "auto" or "manual"
    pipeline_tag: str | None = None
    library_name: str | None = None
    tags: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)  # the API's short config summary
    safetensors_parameters: dict[str, int] | None = None
    safetensors_total: int | None = None
    gguf: dict[str, Any] | None = None  # total, architecture, context_length...
    siblings: tuple[Sibling, ...] | None = None  # None: the answer had no file list
    base_models: tuple[str, ...] = ()  # cardData.base_model

    def file_names(self) -> set[str]:
        return {s.name for s in self.siblings or ()}

    def size_of(self, name: str) -> int | None:
        for s in self.siblings or ():
            if s.name == name:
                return s.size
        return None


@dataclass(frozen=True)
class HubModelInfo:
    """Everything fetched for one model reference, ready for ``estimate()``.

    ``config`` is the config.json to estimate from. It comes from ``config_repo_id``,
    which differs from ``repo_id`` when the repo is an adapter or a GGUF-only repo
    and its base model was followed (``base_model``, ``relation``). ``config_source``
    is ``config.json``, or ``gguf-header`` when a GGUF repo's base model could not be
    read and the structure came from its own file's header. ``repo_id`` is the repo's
    current name (``requested_id`` the one asked for, which differs after a rename).
    ``weights`` is the :class:`WeightMetadata` to pass to ``estimate()``; ``notes``
    are sentences to show the user about where things came from.
    """

    repo_id: str
    revision: str
    config: dict[str, Any]
    weights: WeightMetadata
    config_repo_id: str
    sha: str | None = None
    base_model: str | None = None
    relation: str | None = None  # "adapter" | "gguf" | None
    api: ApiModelInfo | None = None  # None when offline without a cached answer
    gguf_files: tuple[GgufFile, ...] = ()
    gguf_file: GgufFile | None = None  # the one chosen, if any
    index_total_size: int | None = None
    notes: tuple[str, ...] = ()
    config_source: str = "config.json"  # | "gguf-header"
    requested_id: str | None = None

    @property
    def gated(self) -> str | None:
        return None if self.api is None else self.api.gated

    @property
    def pipeline_tag(self) -> str | None:
        return None if self.api is None else self.api.pipeline_tag

    @property
    def library_name(self) -> str | None:
        return None if self.api is None else self.api.library_name

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (the config itself is left out: it can be large)."""
        return {
            "repo_id": self.repo_id,
            "revision": self.revision,
            "sha": self.sha,
            "config_repo_id": self.config_repo_id,
            "config_source": self.config_source,
            "requested_id": self.requested_id or self.repo_id,
            "base_model": self.base_model,
            "relation": self.relation,
            "gated": self.gated,
            "pipeline_tag": self.pipeline_tag,
            "library_name": self.library_name,
            "safetensors_parameters": self.weights.safetensors_parameters,
            "safetensors_total_bytes": self.weights.safetensors_total_bytes,
            "weights_source": self.weights.source,
            "gguf_files": [g.to_dict() for g in self.gguf_files],
            "gguf_file": None if self.gguf_file is None else self.gguf_file.filename,
            "notes": list(self.notes),
        }
