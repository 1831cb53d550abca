"""Pure parsers for what the Hub sends back: model API JSON, index files, GGUF names.

Kept free of I/O so the same code serves the CLI (urllib) and the page (fetch),
and so every odd shape the Hub has produced can be tested from a literal.
Parsers are lenient about missing keys (older repos lack most of them) and
strict about types: a value of the wrong type is treated as absent, never trusted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..errors import ConfigJSONError, InvalidResponseError, OptionError
from ..jsonsafe import loads
from ..result import WeightMetadata
from ..values import MAX_PARAMS
from .info import ApiModelInfo, GgufFile, Sibling

__all__ = [
    "adapter_base_model",
    "gguf_quant",
    "index_total_size",
    "load_json",
    "parse_gguf_files",
    "parse_model_api",
    "parse_search_ids",
    "select_gguf",
    "weight_metadata",
]

# A quant tag is its own "word" in the file name: separated by - . _ or the ends.
_QUANT_RE = re.compile(
    r"(?:^|(?<=[-._/ ]))"
    r"(I?Q[1-8](?:_[0-9]+)*(?:_(?:K|S|M|L|XS|XXS|XL|NL|M?XL))*"
    r"|TQ[12]_[0-9]"
    r"|MXFP4(?:_MOE)?"
    r"|BF16|F16|FP16|F32|FP32)"
    r"(?=$|[-._ ])",
    re.IGNORECASE,
)
_SPLIT_RE = re.compile(r"^(?P<stem>.*)-(?P<part>\d{5})-of-(?P<total>\d{5})\.gguf$", re.IGNORECASE)


def load_json(body: bytes, what: str, *, config: bool = False) -> Any:
    """Decode a JSON answer with the safe loader (depth, number and size limits).

    Text that is not JSON at all (an HTML captive portal, a cut-off body) is an
    :class:`InvalidResponseError`: the answer is wrong, not the model. Valid JSON that
    breaks a limit is a :class:`ConfigJSONError` when ``config`` (a hostile config.json
    on the Hub is a model that cannot be estimated), an InvalidResponseError otherwise.
    """
    try:
        return loads(body, what)
    except ConfigJSONError as err:
        if err.reason not in ("syntax", "encoding"):
            if config:
                raise
            raise InvalidResponseError(str(err)) from None
        start = body[:60].decode("utf-8", "replace").strip().replace("\n", " ")
        hint = ""
        if start.lower().startswith("<"):
            hint = " (an HTML page: a captive portal or proxy login? is HF_ENDPOINT right?)"
        raise InvalidResponseError(
            f"expected JSON for {what}, got {len(body)} bytes starting {start!r}{hint}"
        ) from None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


#: Largest count or byte size believed from the Hub (a quadrillion parameters in fp64).
_MAX_HUB_INT = 8 * MAX_PARAMS


def _int(value: Any) -> int | None:
    """A non-negative whole number within what a model can have, else None (absent)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= _MAX_HUB_INT else None


def _siblings(value: Any) -> tuple[Sibling, ...] | None:
    if not isinstance(value, list):
        return None
    out: list[Sibling] = []
    for item in value:
        if not isinstance(item, dict) or not _str(item.get("rfilename")):
            continue
        size = _int(item.get("size"))
        lfs = item.get("lfs")
        if size is None and isinstance(lfs, dict):
            size = _int(lfs.get("size"))
        out.append(Sibling(item["rfilename"], size))
    return tuple(out)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _dtype_counts(value: Any) -> dict[str, int] | None:
    if not isinstance(value, dict):
        return None
    counts = {str(k): v for k, v in value.items() if _int(v) is not None}
    return counts or None


def parse_model_api(data: Any, repo_id: str) -> ApiModelInfo:
    """Parse a ``/api/models/<id>`` answer (``?blobs=true`` adds file sizes)."""
    if not isinstance(data, dict):
        raise InvalidResponseError(f"the model API answer for {repo_id} is not a JSON object")
    safetensors = _dict(data.get("safetensors"))
    gated = data.get("gated")
    card = _dict(data.get("cardData"))
    base = card.get("base_model")
    bases = (base,) if isinstance(base, str) else tuple(b for b in base or () if isinstance(b, str))
    return ApiModelInfo(
        repo_id=_str(data.get("id")) or _str(data.get("modelId")) or repo_id,
        sha=_str(data.get("sha")),
        private=data.get("private") is True,
        gated=gated if isinstance(gated, str) and gated else None,
        pipeline_tag=_str(data.get("pipeline_tag")),
        library_name=_str(data.get("library_name")),
        tags=tuple(t for t in data.get("tags") or () if isinstance(t, str)),
        config=data["config"] if isinstance(data.get("config"), dict) else {},
        safetensors_parameters=_dtype_counts(safetensors.get("parameters")),
        safetensors_total=_int(safetensors.get("total")),
        gguf=data["gguf"] if isinstance(data.get("gguf"), dict) else None,
        siblings=_siblings(data.get("siblings")),
        base_models=bases,
    )


def index_total_size(data: Any) -> int | None:
    """``metadata.total_size`` of a ``*.safetensors.index.json`` (bytes of all tensors)."""
    if not isinstance(data, dict) or not isinstance(data.get("metadata"), dict):
        return None
    total = data["metadata"].get("total_size")
    if isinstance(total, float) and total.is_integer() and total < 2**63:
        total = int(total)  # some writers store it as 1.6e10
    if isinstance(total, str) and total.isdigit() and len(total) < 20:
        total = int(total)
    return _int(total) or None


def parse_search_ids(data: Any) -> list[str]:
    """Model ids of a ``/api/models?search=`` answer (a list of objects with ``id``)."""
    if not isinstance(data, list):
        return []
    ids = []
    for item in data:
        if isinstance(item, dict):
            repo = _str(item.get("id")) or _str(item.get("modelId"))
            if repo is not None and len(repo) <= 96:
                ids.append(repo)
    return ids


def adapter_base_model(data: Any) -> str | None:
    """The base model a PEFT ``adapter_config.json`` was trained on."""
    if not isinstance(data, dict):
        return None
    return _str(data.get("base_model_name_or_path"))


def gguf_quant(filename: str) -> str | None:
    """The quantization type in a GGUF file name, upper-cased (``q4_k_m`` -> ``Q4_K_M``).

    The last tag in the name wins (``Llama-3-8B-F16-Q4_K_M.gguf`` is Q4_K_M);
    ``FP16``/``FP32`` are normalised to llama.cpp's ``F16``/``F32``.
    """
    base = filename.rsplit("/", 1)[-1]
    split = _SPLIT_RE.match(base)
    stem = split.group("stem") if split else re.sub(r"\.gguf$", "", base, flags=re.IGNORECASE)
    found = _QUANT_RE.findall(stem)
    if not found:
        return None
    quant = str(found[-1]).upper()
    return {"FP16": "F16", "FP32": "F32"}.get(quant, quant)


def parse_gguf_files(siblings: Iterable[Sibling]) -> tuple[GgufFile, ...]:
    """Group a repo's ``.gguf`` files into choices: split sets summed, sorted by size."""
    groups: dict[tuple[str, int], list[Sibling]] = {}
    singles: list[GgufFile] = []
    for s in siblings:
        if not s.name.lower().endswith(".gguf"):
            continue
        projector = "mmproj" in s.name.rsplit("/", 1)[-1].lower()
        split = _SPLIT_RE.match(s.name)
        if split:
            groups.setdefault((split.group("stem"), int(split.group("total"))), []).append(s)
        else:
            singles.append(GgufFile(s.name, gguf_quant(s.name), s.size, (s.name,), 1, projector))
    for (_stem, total), parts in groups.items():
        parts.sort(key=lambda p: p.name)
        sizes = [p.size for p in parts]
        size = None if any(x is None for x in sizes) else sum(x for x in sizes if x is not None)
        first = parts[0].name
        singles.append(
            GgufFile(
                first,
                gguf_quant(first),
                size,
                tuple(p.name for p in parts),
                total,
                "mmproj" in first.rsplit("/", 1)[-1].lower(),
            )
        )
    return tuple(sorted(singles, key=lambda g: (g.projector, g.size or 0, g.filename)))


def select_gguf(files: tuple[GgufFile, ...], choice: str) -> GgufFile:
    """The file a user named, by file name (any part) or by quant type, case-insensitive."""
    wanted = choice.strip().lower()
    models = [g for g in files if not g.projector]
    for g in files:
        names = {n.lower() for n in g.parts} | {n.rsplit("/", 1)[-1].lower() for n in g.parts}
        if wanted in names:
            return g
    matches = [g for g in models if g.quant is not None and g.quant.lower() == wanted]
    if len(matches) == 1:
        return matches[0]
    available = ", ".join(f"{g.filename} ({g.quant or '?'})" for g in models) or "none"
    if matches:
        raise OptionError(
            f"{len(matches)} GGUF files are {choice.strip()}; name one exactly: "
            + ", ".join(g.filename for g in matches)
        )
    raise OptionError(f"no GGUF file matches {choice.strip()!r}; available: {available}")


def weight_metadata(
    api: ApiModelInfo | None,
    *,
    index_total: int | None = None,
    index_source: str = "",
    gguf: GgufFile | None = None,
) -> WeightMetadata:
    """Combine what is known about the stored weights into one WeightMetadata.

    The model API's per-dtype counts are preferred; an index file's total size is
    the fallback; a chosen GGUF file adds its exact byte size and quant type.
    """
    params = api.safetensors_parameters if api is not None else None
    sources = []
    if params:
        sources.append("hub-api")
    if index_total is not None:
        sources.append(index_source or "index.json")
    if gguf is not None and gguf.size is not None:
        sources.append("gguf-file")
    return WeightMetadata(
        safetensors_parameters=dict(params) if params else None,
        safetensors_total_bytes=index_total,
        gguf_file_bytes=None if gguf is None else gguf.size,
        gguf_quant=None if gguf is None else gguf.quant,
        source="+".join(sources),
    )
