"""Read a GGUF file's metadata from its first bytes, and turn it into a config.json.

Used when a GGUF-only repo's base model cannot be read (gated, private, gone): the
GGUF repo itself is open, and the header of its file carries the structure the KV cache
needs (llama.cpp ``gguf-py/gguf/constants.py`` ``Keys``: ``{arch}.block_count``,
``{arch}.embedding_length``, ``{arch}.attention.head_count_kv``...). Only the header is
fetched (an HTTP Range of :data:`HEADER_BYTES`), and the parser never trusts a length:
counts and sizes are checked against the bytes actually there.

Format (ggml ``docs/gguf.md``, little-endian, versions 2 and 3): ``GGUF``, u32 version,
u64 tensor count, u64 metadata count, then per entry a string key (u64 length + UTF-8),
a u32 value type and the value.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import UnsupportedModelError

__all__ = ["HEADER_BYTES", "ArrayCount", "GgufHeader", "config_from_gguf", "read_gguf_header"]

#: Bytes fetched: architecture keys come first and the tokenizer's token count right after
#: them (convert_hf_to_gguf.py writes set_gguf_parameters, then set_vocab); the token
#: strings and the chat template, which can be megabytes, are not needed.
HEADER_BYTES = 256 * 1024

# GGUF value types (ggml docs/gguf.md, gguf_metadata_value_type).
_FIXED = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
          11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
_MAX_ENTRIES = 100_000
_MAX_KEEP = 4096  # arrays up to this long keep their items (per-layer head counts)


@dataclass(frozen=True)
class ArrayCount:
    """An array whose items were not kept (too long, or cut off): only its length."""

    count: int


@dataclass
class GgufHeader:
    """What the header bytes held: version, metadata read so far, whether it was cut."""

    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    truncated: bool = False


class _Short(Exception):
    """The bytes ended inside an entry."""


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise _Short
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def fixed(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self) -> str:
        size = self.fixed("<Q")
        return self.take(size).decode("utf-8", "replace")


def read_gguf_header(data: bytes) -> GgufHeader:
    """Parse the metadata in ``data`` (the start of a .gguf file); raises ValueError when
    it is not GGUF v2/v3. A cut-off last entry is dropped and ``truncated`` set."""
    cur = _Cursor(data)
    try:
        if cur.take(4) != b"GGUF":
            raise ValueError("not a GGUF file (no GGUF magic)")
        version = cur.fixed("<I")
        if version not in (2, 3):
            raise ValueError(f"GGUF version {version} is not read (2 and 3 are)")
        cur.fixed("<Q")  # tensor count
        entries = cur.fixed("<Q")
    except _Short:
        raise ValueError("the GGUF header is cut off before its metadata") from None
    header = GgufHeader(version)
    for _ in range(min(entries, _MAX_ENTRIES)):
        start = cur.pos
        try:
            key = cur.string()
            kind = cur.fixed("<I")
            header.metadata[key] = _value(cur, kind, header, key, 0)
        except _Short:
            cur.pos = start
            header.truncated = True
            break
    return header


def _value(cur: _Cursor, kind: int, header: GgufHeader, key: str, depth: int) -> Any:
    if kind in _FIXED:
        return cur.fixed(_FIXED[kind])
    if kind == _STRING:
        return cur.string()
    if kind == _ARRAY and depth < 2:
        item = cur.fixed("<I")
        count = cur.fixed("<Q")
        if item in _FIXED:
            size = struct.calcsize(_FIXED[item])
            if count > _MAX_KEEP:
                if cur.pos + count * size > len(cur.data):
                    header.metadata[key] = ArrayCount(count)  # its length is what we need
                    raise _Short
                cur.take(count * size)
                return ArrayCount(count)
            raw = cur.take(count * size)
            return [v[0] for v in struct.iter_unpack(_FIXED[item], raw)]
        items: list[Any] = []
        for _ in range(count):
            try:
                value = _value(cur, item, header, key, depth + 1)
            except _Short:
                header.metadata[key] = ArrayCount(count)
                raise
            if len(items) < _MAX_KEEP:
                items.append(value)
        return items if count <= _MAX_KEEP else ArrayCount(count)
    raise ValueError(f"GGUF metadata {key!r} has an unknown value type {kind}")


# llama.cpp architecture name -> the transformers model_type whose rules size it.
_ARCH_MODEL_TYPE = {
    "llama": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "qwen2moe": "qwen2_moe",
    "qwen3moe": "qwen3_moe",
    "gemma": "gemma",
    "gemma2": "gemma2",
    "gemma3": "gemma3_text",
    "phi3": "phi3",
}


def _count(value: Any) -> int | None:
    if isinstance(value, ArrayCount):
        return value.count
    if isinstance(value, list):
        return len(value)
    return None


def _single(meta: Mapping[str, Any], key: str) -> Any:
    """A per-model number; a per-layer list of equal values counts as that value."""
    value = meta.get(key)
    if isinstance(value, list) and value and all(v == value[0] for v in value):
        return value[0]
    if isinstance(value, (list, ArrayCount)):
        raise UnsupportedModelError(f"GGUF {key} differs per layer; not read from a header")
    return value


def config_from_gguf(header: GgufHeader) -> dict[str, Any]:
    """A config.json equivalent of the header's architecture keys.

    Raises UnsupportedModelError for an architecture not mapped here or a header that
    lacks a key the estimate needs.
    """
    meta = header.metadata
    arch = meta.get("general.architecture")
    if not isinstance(arch, str) or arch not in _ARCH_MODEL_TYPE:
        raise UnsupportedModelError(
            f"GGUF architecture {arch!r} is not read from file headers (supported: "
            f"{', '.join(sorted(_ARCH_MODEL_TYPE))})"
        )

    def get(name: str) -> Any:
        return _single(meta, f"{arch}.{name}")

    experts = get("expert_count") or 0
    model_type = _ARCH_MODEL_TYPE[arch]
    if arch == "llama" and experts:
        model_type = "mixtral"  # llama.cpp writes Mixtral as a llama with experts
    vocab = get("vocab_size") or _count(meta.get("tokenizer.ggml.tokens"))
    config: dict[str, Any] = {
        "model_type": model_type,
        "architectures": [f"gguf:{arch}"],
        "hidden_size": get("embedding_length"),
        "num_hidden_layers": get("block_count"),
        "intermediate_size": get("feed_forward_length"),
        "num_attention_heads": get("attention.head_count"),
        "num_key_value_heads": get("attention.head_count_kv") or get("attention.head_count"),
        "max_position_embeddings": get("context_length"),
        "vocab_size": vocab,
        "tie_word_embeddings": False,
    }
    missing = [k for k, v in config.items() if v is None and k != "intermediate_size"]
    if missing:
        cut = " (the header was cut off before it)" if header.truncated else ""
        raise UnsupportedModelError(
            f"the GGUF header lacks {', '.join(missing)}{cut}; the model cannot be sized from it"
        )
    head_dim = get("attention.key_length")
    if head_dim:
        config["head_dim"] = head_dim
    window = get("attention.sliding_window")
    if window:
        config["sliding_window"] = window
        if model_type.startswith("qwen"):
            config["use_sliding_window"] = True
    if experts:
        key = "num_local_experts" if model_type == "mixtral" else "num_experts"
        config[key] = experts
        config["num_experts_per_tok"] = get("expert_used_count")
        config["moe_intermediate_size"] = get("expert_feed_forward_length") or config[
            "intermediate_size"
        ]
        shared = get("expert_shared_feed_forward_length")
        if shared:
            config["shared_expert_intermediate_size"] = shared
    rope_dims = get("rope.dimension_count")
    heads = config["num_attention_heads"]
    width = config.get("head_dim") or (
        config["hidden_size"] // heads if isinstance(heads, int) and heads > 0 else 0
    )
    if isinstance(rope_dims, int) and isinstance(width, int) and 0 < rope_dims < width:
        config["partial_rotary_factor"] = rope_dims / width
    return {k: v for k, v in config.items() if v is not None}
