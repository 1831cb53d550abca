"""Parsing Hub answers: model API JSON, index files, adapters, GGUF file names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimator.errors import InvalidResponseError, OptionError
from estimator.hub.info import GgufFile, Sibling
from estimator.hub.parse import (
    adapter_base_model,
    gguf_quant,
    index_total_size,
    load_json,
    parse_gguf_files,
    parse_model_api,
    parse_search_ids,
    select_gguf,
    weight_metadata,
)

API = {
    "_id": "66969a0a",
    "id": "meta-llama/Llama-3.1-8B-Instruct",
    "modelId": "meta-llama/Llama-3.1-8B-Instruct",
    "author": "meta-llama",
    "sha": "0e9e39f249a16976918f6564b8830bc894c89659",
    "private": False,
    "gated": "manual",
    "disabled": False,
    "pipeline_tag": "text-generation",
    "library_name": "transformers",
    "tags": ["transformers", "safetensors", "llama", "text-generation"],
    "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
    "cardData": {"base_model": "meta-llama/Llama-3.1-8B", "license": "llama3.1"},
    "siblings": [
        {"rfilename": "config.json", "blobId": "0bb6fd75", "size": 855},
        {
            "rfilename": "model-00001-of-00004.safetensors",
            "blobId": "a",
            "size": 4976698672,
            "lfs": {"sha256": "x", "size": 4976698672, "pointerSize": 135},
        },
        {"rfilename": "model.safetensors.index.json", "blobId": "b"},
        {"rfilename": "weird", "blobId": "c", "lfs": {"size": 12}},
        {"blobId": "no-name"},
    ],
    "safetensors": {"parameters": {"BF16": 8030261248}, "total": 8030261248},
}


def test_parse_model_api() -> None:
    info = parse_model_api(API, "x/y")
    assert info.repo_id == "meta-llama/Llama-3.1-8B-Instruct"
    assert info.gated == "manual"
    assert info.pipeline_tag == "text-generation"
    assert info.library_name == "transformers"
    assert info.safetensors_parameters == {"BF16": 8030261248}
    assert info.safetensors_total == 8030261248
    assert info.base_models == ("meta-llama/Llama-3.1-8B",)
    assert info.size_of("model-00001-of-00004.safetensors") == 4976698672
    assert info.size_of("model.safetensors.index.json") is None
    assert info.size_of("weird") == 12  # size from the lfs block
    assert "config.json" in info.file_names() and len(info.siblings or ()) == 4
    assert info.config["model_type"] == "llama"


def test_parse_model_api_packed_counts_kept_raw() -> None:
    # GPTQ int4 stores packed I32 elements; the client must not "fix" them.
    info = parse_model_api(
        {"safetensors": {"parameters": {"I32": 879755264, "F16": 1105494016}}}, "org/gptq"
    )
    assert info.safetensors_parameters == {"I32": 879755264, "F16": 1105494016}
    assert info.repo_id == "org/gptq"


def test_parse_model_api_tolerates_odd_shapes() -> None:
    info = parse_model_api(
        {
            "gated": False,
            "safetensors": {"parameters": {"BF16": "many", "F32": True}},
            "siblings": "nope",
            "cardData": {"base_model": ["a/b", 3]},
            "gguf": [1],
        },
        "org/x",
    )
    assert info.gated is None and info.safetensors_parameters is None
    assert info.siblings is None and info.base_models == ("a/b",) and info.gguf is None
    with pytest.raises(InvalidResponseError):
        parse_model_api([1, 2], "org/x")


def test_gguf_metadata_kept() -> None:
    info = parse_model_api(
        {"gguf": {"total": 8030261312, "architecture": "llama", "context_length": 131072}}, "o/x"
    )
    assert info.gguf == {"total": 8030261312, "architecture": "llama", "context_length": 131072}


@pytest.mark.parametrize(
    ("data", "total"),
    [
        ({"metadata": {"total_size": 16060522496}, "weight_map": {}}, 16060522496),
        ({"metadata": {"total_size": 1.6e10}}, 16000000000),
        ({"metadata": {"total_size": "123"}}, 123),
        ({"metadata": {}}, None),
        ({"weight_map": {}}, None),
        ([], None),
        ({"metadata": {"total_size": -5}}, None),
    ],
)
def test_index_total_size(data: object, total: int | None) -> None:
    assert index_total_size(data) == total


def test_adapter_base_model() -> None:
    cfg = {"base_model_name_or_path": "meta-llama/Llama-3.1-8B", "peft_type": "LORA", "r": 16}
    assert adapter_base_model(cfg) == "meta-llama/Llama-3.1-8B"
    assert adapter_base_model({"peft_type": "LORA"}) is None
    assert adapter_base_model("x") is None


def test_load_json_errors_are_specific() -> None:
    assert load_json(b'{"a": 1}', "x") == {"a": 1}
    with pytest.raises(InvalidResponseError, match="HTML page"):
        load_json(b"<!doctype html><html>", "config.json of a/b")
    with pytest.raises(InvalidResponseError, match=r"expected JSON for config\.json"):
        load_json(b"\xff\xfe", "config.json")


@pytest.mark.parametrize(
    ("name", "quant"),
    [
        ("Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
        ("qwen2.5-7b-instruct-q4_k_m-00001-of-00002.gguf", "Q4_K_M"),
        ("llama-2-7b.Q5_K_S.gguf", "Q5_K_S"),
        ("model.IQ2_XXS.gguf", "IQ2_XXS"),
        ("model-IQ4_XS.gguf", "IQ4_XS"),
        ("model-IQ4_NL.gguf", "IQ4_NL"),
        ("x-UD-Q4_K_XL.gguf", "Q4_K_XL"),
        ("x-Q2_K_L.gguf", "Q2_K_L"),
        ("x-Q8_0.gguf", "Q8_0"),
        ("x-Q4_0_4_4.gguf", "Q4_0_4_4"),
        ("x-TQ1_0.gguf", "TQ1_0"),
        ("gpt-oss-20b-mxfp4.gguf", "MXFP4"),
        ("x-F16.gguf", "F16"),
        ("x-fp16.gguf", "F16"),
        ("x-bf16.gguf", "BF16"),
        ("x.f32.gguf", "F32"),
        ("Q8_0/model-Q8_0-00001-of-00003.gguf", "Q8_0"),
        ("Llama-3-8B-F16-Q4_K_M.gguf", "Q4_K_M"),
        ("Qwen2-7B.gguf", None),
        ("model.gguf", None),
    ],
)
def test_gguf_quant(name: str, quant: str | None) -> None:
    assert gguf_quant(name) == quant


@given(
    st.sampled_from(["Q4_K_M", "Q8_0", "IQ3_XXS", "Q6_K", "BF16"]),
    st.booleans(),
    st.sampled_from(["-", ".", "_"]),
)
def test_gguf_quant_case_insensitive(quant: str, lower: bool, sep: str) -> None:
    tag = quant.lower() if lower else quant
    assert gguf_quant(f"My-Model-7B{sep}{tag}.gguf") == quant


SIBLINGS = [
    Sibling("README.md", 100),
    Sibling("m-Q4_K_M.gguf", 4_920_000_000),
    Sibling("m-Q8_0-00002-of-00003.gguf", 3_000_000_000),
    Sibling("m-Q8_0-00001-of-00003.gguf", 3_000_000_000),
    Sibling("m-Q8_0-00003-of-00003.gguf", 2_500_000_000),
    Sibling("m-Q6_K-00001-of-00002.gguf", 5_000_000_000),
    Sibling("mmproj-m-f16.gguf", 600_000_000),
    Sibling("m-IQ2_M.gguf", None),
]


def test_parse_gguf_files_groups_and_sums() -> None:
    files = parse_gguf_files(SIBLINGS)
    by_name = {g.filename: g for g in files}
    q8 = by_name["m-Q8_0-00001-of-00003.gguf"]
    assert q8.quant == "Q8_0" and q8.size == 8_500_000_000 and q8.complete
    assert q8.parts == (
        "m-Q8_0-00001-of-00003.gguf",
        "m-Q8_0-00002-of-00003.gguf",
        "m-Q8_0-00003-of-00003.gguf",
    )
    q6 = by_name["m-Q6_K-00001-of-00002.gguf"]
    assert not q6.complete
    assert by_name["m-IQ2_M.gguf"].size is None
    assert by_name["mmproj-m-f16.gguf"].projector
    assert files[-1].projector  # projectors listed last
    assert "README.md" not in by_name
    assert q8.to_dict()["parts"][0].endswith("00001-of-00003.gguf")


def test_select_gguf() -> None:
    files = parse_gguf_files(SIBLINGS)
    assert select_gguf(files, "q4_k_m").filename == "m-Q4_K_M.gguf"
    assert select_gguf(files, " Q8_0 ").size == 8_500_000_000
    assert select_gguf(files, "m-Q8_0-00002-of-00003.gguf").quant == "Q8_0"
    assert select_gguf(files, "M-Q4_K_M.GGUF").quant == "Q4_K_M"
    with pytest.raises(OptionError, match=r"no GGUF file matches 'Q3_K_S'; available: .*Q4_K_M"):
        select_gguf(files, "Q3_K_S")
    twin = (*files, GgufFile("other/m-Q4_K_M.gguf", "Q4_K_M", 1, ("other/m-Q4_K_M.gguf",)))
    with pytest.raises(OptionError, match="2 GGUF files are Q4_K_M"):
        select_gguf(twin, "Q4_K_M")
    assert select_gguf(twin, "other/m-Q4_K_M.gguf").size == 1


def test_weight_metadata_sources() -> None:
    api = parse_model_api(API, "x/y")
    wm = weight_metadata(api)
    assert wm.safetensors_parameters == {"BF16": 8030261248} and wm.source == "hub-api"
    gguf = GgufFile("m-Q4_K_M.gguf", "Q4_K_M", 4_920_000_000, ("m-Q4_K_M.gguf",))
    wm = weight_metadata(
        None, index_total=5, index_source="model.safetensors.index.json", gguf=gguf
    )
    assert wm.safetensors_parameters is None and wm.safetensors_total_bytes == 5
    assert (wm.gguf_file_bytes, wm.gguf_quant) == (4_920_000_000, "Q4_K_M")
    assert wm.source == "model.safetensors.index.json+gguf-file"
    assert weight_metadata(None).source == ""


def test_search_ids_keep_hub_length_ids_only() -> None:
    """A ``/api/models?search=`` answer: objects with ``_id``, ``id`` and ``modelId`` (the
    Hub's own shape). A repo id is at most 96 characters (huggingface_hub
    validate_repo_id: "max length is 96"); a longer one is not a Hub id and is dropped."""
    longest = "o/" + "m" * 94
    answer = [
        {"_id": "66944f1fe0c5c2e493a804f5", "id": "meta-llama/Llama-3.1-8B", "likes": 1700,
         "downloads": 9, "private": False, "modelId": "meta-llama/Llama-3.1-8B"},
        {"_id": "x", "modelId": "Qwen/Qwen3-8B"},  # older answers: modelId only
        {"_id": "y", "id": longest},
        {"_id": "z", "id": longest + "m"},
        {"_id": "w", "id": 12},
        "meta-llama/not-an-object",
    ]
    assert len(longest) == 96
    assert parse_search_ids(answer) == ["meta-llama/Llama-3.1-8B", "Qwen/Qwen3-8B", longest]
    assert parse_search_ids({"error": "x"}) == []


def test_default_gguf_skips_projectors_and_incomplete_sets() -> None:
    """The default GGUF is a complete model file with a size; when there is none, the first
    model file (never the multimodal projector, which is loaded beside a model)."""
    from estimator.hub.plan_gguf import default_gguf

    mmproj = GgufFile("mmproj-model-f16.gguf", "F16", 624_434_368, ("mmproj-model-f16.gguf",),
                      projector=True)
    split = GgufFile("m-Q8_0-00001-of-00002.gguf", "Q8_0", None,
                     ("m-Q8_0-00001-of-00002.gguf",), expected_parts=2)
    assert default_gguf((mmproj, split)) is split
    q4 = GgufFile("m-Q4_K_M.gguf", "Q4_K_M", 4_920_734_016, ("m-Q4_K_M.gguf",))
    q8 = GgufFile("m-Q8_0.gguf", "Q8_0", 8_540_770_560, ("m-Q8_0.gguf",))
    assert default_gguf((mmproj, q8, q4)) is q4
    assert default_gguf((mmproj, split, q8)) is q8
