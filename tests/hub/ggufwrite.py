"""Write the header of a GGUF file (ggml docs/gguf.md, version 3) for tests.

Values are typed the way llama.cpp's convert_hf_to_gguf.py writes them: counts as
UINT32, the context as UINT32, names as STRING, the token list as an ARRAY of STRING.
"""

from __future__ import annotations

import struct
from typing import Any

UINT32, FLOAT32, STRING, ARRAY, UINT64 = 4, 6, 8, 9, 10


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _value(kind: int, value: Any) -> bytes:
    if kind == UINT32:
        return struct.pack("<I", value)
    if kind == UINT64:
        return struct.pack("<Q", value)
    if kind == FLOAT32:
        return struct.pack("<f", value)
    if kind == STRING:
        return _string(value)
    item, items = value
    return struct.pack("<IQ", item, len(items)) + b"".join(_value(item, v) for v in items)


def gguf_header(entries: list[tuple[str, int, Any]], tensors: int = 291) -> bytes:
    out = b"GGUF" + struct.pack("<IQQ", 3, tensors, len(entries))
    for key, kind, value in entries:
        out += _string(key) + struct.pack("<I", kind) + _value(kind, value)
    return out


def llama_8b_header(vocab: int = 128256, filler: int = 0) -> bytes:
    """Llama-3.1-8B-Instruct's architecture keys as llama.cpp writes them, then its
    tokenizer (``filler`` extra bytes of chat template make the file longer)."""
    return gguf_header(
        [
            ("general.architecture", STRING, "llama"),
            ("general.name", STRING, "Meta Llama 3.1 8B Instruct"),
            ("llama.block_count", UINT32, 32),
            ("llama.context_length", UINT32, 131072),
            ("llama.embedding_length", UINT32, 4096),
            ("llama.feed_forward_length", UINT32, 14336),
            ("llama.attention.head_count", UINT32, 32),
            ("llama.attention.head_count_kv", UINT32, 8),
            ("llama.rope.freq_base", FLOAT32, 500000.0),
            ("llama.attention.layer_norm_rms_epsilon", FLOAT32, 1e-5),
            ("general.file_type", UINT32, 15),
            ("llama.vocab_size", UINT32, vocab),
            ("llama.rope.dimension_count", UINT32, 128),
            ("tokenizer.ggml.model", STRING, "gpt2"),
            ("tokenizer.ggml.tokens", ARRAY, (STRING, [f"t{i}" for i in range(vocab)])),
            ("tokenizer.chat_template", STRING, "x" * filler),
        ]
    )
