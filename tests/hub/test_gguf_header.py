"""Reading a GGUF header (its first bytes only) and the config it implies."""

from __future__ import annotations

import struct

import pytest
from ggufwrite import ARRAY, STRING, UINT32, gguf_header, llama_8b_header

from estimator import estimate
from estimator.errors import UnsupportedModelError
from estimator.hub.gguf_header import ArrayCount, config_from_gguf, read_gguf_header
from tests.conftest import load_config


def test_llama_header_gives_the_same_structure_as_its_config() -> None:
    header = read_gguf_header(llama_8b_header())
    assert header.version == 3 and not header.truncated
    assert header.metadata["llama.block_count"] == 32
    assert header.metadata["tokenizer.ggml.tokens"] == ArrayCount(128256)
    config = config_from_gguf(header)
    assert config == {
        "model_type": "llama",
        "architectures": ["gguf:llama"],
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "intermediate_size": 14336,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "max_position_embeddings": 131072,
        "vocab_size": 128256,
        "tie_word_embeddings": False,
    }
    real = estimate(load_config("meta-llama__Llama-3.1-8B-Instruct"))
    from_header = estimate(config)
    assert from_header.kv_bytes_per_token == real.kv_bytes_per_token == 131072
    assert from_header.params == real.params


def test_a_cut_header_keeps_the_token_count() -> None:
    data = llama_8b_header()
    start = data.index(b"tokenizer.ggml.tokens")
    header = read_gguf_header(data[: start + 200])  # inside the token strings
    assert header.truncated
    assert header.metadata["tokenizer.ggml.tokens"] == ArrayCount(128256)
    assert config_from_gguf(header)["vocab_size"] == 128256
    early = read_gguf_header(data[:120])
    assert early.truncated and "llama.block_count" not in early.metadata
    with pytest.raises(UnsupportedModelError, match="cut off before it"):
        config_from_gguf(early)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"GGML" + b"\0" * 40, "no GGUF magic"),
        (b"GGUF" + struct.pack("<I", 1) + b"\0" * 40, "version 1"),
        (b"GGUF\x03\0", "cut off"),
        (b"<html>login</html>", "no GGUF magic"),
    ],
)
def test_not_gguf(data: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        read_gguf_header(data)


def test_hostile_lengths_are_not_trusted() -> None:
    data = b"GGUF" + struct.pack("<IQQ", 3, 1, 2**63) + struct.pack("<Q", 2**62) + b"key"
    header = read_gguf_header(data)
    assert header.truncated and header.metadata == {}
    huge_array = gguf_header([("a", ARRAY, (UINT32, []))])
    assert read_gguf_header(huge_array).metadata == {"a": []}
    bad_type = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"k"
    with pytest.raises(ValueError, match="unknown value type 99"):
        read_gguf_header(bad_type + struct.pack("<I", 99) + b"\0" * 8)


def test_mixtral_and_qwen_moe_headers() -> None:
    mixtral = gguf_header(
        [
            ("general.architecture", STRING, "llama"),
            ("llama.block_count", UINT32, 32),
            ("llama.context_length", UINT32, 32768),
            ("llama.embedding_length", UINT32, 4096),
            ("llama.feed_forward_length", UINT32, 14336),
            ("llama.attention.head_count", UINT32, 32),
            ("llama.attention.head_count_kv", UINT32, 8),
            ("llama.expert_count", UINT32, 8),
            ("llama.expert_used_count", UINT32, 2),
            ("llama.vocab_size", UINT32, 32000),
        ]
    )
    config = config_from_gguf(read_gguf_header(mixtral))
    assert config["model_type"] == "mixtral" and config["num_local_experts"] == 8
    real = load_config("mistralai__Mixtral-8x7B-v0.1")
    assert estimate(config).params == estimate(real).params
    assert estimate(config).kv_bytes_per_token == estimate(real).kv_bytes_per_token


def test_unmapped_architecture_and_per_layer_values() -> None:
    other = gguf_header([("general.architecture", STRING, "rwkv7")])
    with pytest.raises(UnsupportedModelError, match="'rwkv7' is not read"):
        config_from_gguf(read_gguf_header(other))
    per_layer = gguf_header(
        [
            ("general.architecture", STRING, "llama"),
            ("llama.attention.head_count_kv", ARRAY, (UINT32, [8, 4])),
        ]
    )
    with pytest.raises(UnsupportedModelError, match="differs per layer"):
        config_from_gguf(read_gguf_header(per_layer))
