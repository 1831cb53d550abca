"""Every form of model reference people paste, and the reason when one is wrong."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimator.errors import OptionError
from estimator.hub.urls import InvalidModelIdError, ModelRef, parse_model_ref, validate_repo_id

GOOD = [
    ("meta-llama/Llama-3.1-8B-Instruct", ("meta-llama/Llama-3.1-8B-Instruct", "main", None)),
    ("gpt2", ("gpt2", "main", None)),
    ("  Qwen/Qwen2.5-7B  ", ("Qwen/Qwen2.5-7B", "main", None)),
    ("Qwen/Qwen2.5-7B/", ("Qwen/Qwen2.5-7B", "main", None)),
    ("https://huggingface.co/Qwen/Qwen2.5-7B", ("Qwen/Qwen2.5-7B", "main", None)),
    ("https://huggingface.co/Qwen/Qwen2.5-7B///", ("Qwen/Qwen2.5-7B", "main", None)),
    ("http://huggingface.co/Qwen/Qwen2.5-7B", ("Qwen/Qwen2.5-7B", "main", None)),
    ("https://www.huggingface.co/Qwen/Qwen2.5-7B", ("Qwen/Qwen2.5-7B", "main", None)),
    ("huggingface.co/Qwen/Qwen2.5-7B", ("Qwen/Qwen2.5-7B", "main", None)),
    ("hf.co/Qwen/Qwen2.5-7B", ("Qwen/Qwen2.5-7B", "main", None)),
    ("https://hf.co/Qwen/Qwen2.5-7B", ("Qwen/Qwen2.5-7B", "main", None)),
    ("HTTPS://HuggingFace.co/Qwen/Qwen2.5-7B", ("Qwen/Qwen2.5-7B", "main", None)),
    (
        "https://huggingface.co/Qwen/Qwen2.5-7B?library=transformers",
        ("Qwen/Qwen2.5-7B", "main", None),
    ),
    ("https://huggingface.co/Qwen/Qwen2.5-7B#model-card", ("Qwen/Qwen2.5-7B", "main", None)),
    ("https://huggingface.co/Qwen/Qwen2.5-7B/tree/main", ("Qwen/Qwen2.5-7B", "main", None)),
    ("https://huggingface.co/Qwen/Qwen2.5-7B/tree/v1.0/", ("Qwen/Qwen2.5-7B", "v1.0", None)),
    ("https://huggingface.co/Qwen/Qwen2.5-7B/tree/main/subdir", ("Qwen/Qwen2.5-7B", "main", None)),
    ("https://huggingface.co/Qwen/Qwen2.5-7B/tree", ("Qwen/Qwen2.5-7B", "main", None)),
    ("https://huggingface.co/org/m/tree/refs%2Fpr%2F12", ("org/m", "refs/pr/12", None)),
    ("org/m/tree/refs/pr/12", ("org/m", "refs/pr/12", None)),
    ("https://huggingface.co/org/m/blob/main/config.json", ("org/m", "main", "config.json")),
    ("https://huggingface.co/org/m/resolve/abc123/config.json", ("org/m", "abc123", "config.json")),
    (
        "https://huggingface.co/org/m/resolve/main/q4/m-Q4_K_M.gguf?download=true",
        ("org/m", "main", "q4/m-Q4_K_M.gguf"),
    ),
    ("https://huggingface.co/org/m/raw/main/config.json", ("org/m", "main", "config.json")),
    ("https://huggingface.co/org/m/commit/0123abc", ("org/m", "0123abc", None)),
    ("https://huggingface.co/gpt2", ("gpt2", "main", None)),
    ("https://huggingface.co/gpt2/blob/main/config.json", ("gpt2", "main", "config.json")),
    ("https://huggingface.co/models/org/m", ("org/m", "main", None)),
    ("https://huggingface.co/api/models/org/m", ("org/m", "main", None)),
    ("https://huggingface.co/api/models/org/m/revision/dev", ("org/m", "dev", None)),
    ("org/m.v2_x-1", ("org/m.v2_x-1", "main", None)),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_accepted_forms(text: str, expected: tuple[str, str, str | None]) -> None:
    ref = parse_model_ref(text)
    assert (ref.repo_id, ref.revision, ref.filename) == expected


def test_revision_argument_overrides_url() -> None:
    ref = parse_model_ref("https://huggingface.co/org/m/tree/dev", "v2")
    assert (ref.revision, ref.revision_given) == ("v2", True)
    assert not parse_model_ref("org/m").revision_given
    assert parse_model_ref("org/m/tree/x").revision_given


def test_str_shows_revision() -> None:
    assert str(ModelRef("org/m")) == "org/m"
    assert str(ModelRef("org/m", "dev")) == "org/m@dev"


def test_extra_host_for_mirror() -> None:
    ref = parse_model_ref("https://hf-mirror.com/org/m", extra_hosts=("hf-mirror.com",))
    assert ref.repo_id == "org/m"
    with pytest.raises(InvalidModelIdError, match="not a Hugging Face Hub address"):
        parse_model_ref("https://hf-mirror.com/org/m")


BAD = [
    ("", "empty"),
    ("   ", "empty"),
    ("a/b/c", "2 slashes"),
    ("org/na me", "spaces"),
    ("org/name!", "'!'"),
    ("org/na\u00efve", "only letters"),
    ("org--x/y", "'--'"),
    ("org/x..y", "'--' or '..'"),
    ("org/-x", "start or end"),
    ("org/x.", "start or end"),
    ("/name", None),  # leading slash stripped: a legacy id, valid
    ("org/x.git", ".git"),
    ("o/" + "x" * 100, "characters long"),
    ("https://github.com/org/x", "not a Hugging Face Hub address"),
    ("ftp://huggingface.co/org/x", "http"),
    ("https://huggingface.co/", "names no model"),
    ("https://huggingface.co/datasets/org/x", "is a dataset"),
    ("https://huggingface.co/spaces/org/x", "is a space"),
    ("https://huggingface.co/org/x/discussions/3", "cannot read a model id"),
    ("https://huggingface.co/org/x/blob/main", "no file"),
    ("https://huggingface.co/org/x/resolve", "without a revision"),
]


@pytest.mark.parametrize(("text", "reason"), BAD)
def test_rejected_with_reason(text: str, reason: str | None) -> None:
    if reason is None:
        assert parse_model_ref(text).repo_id == "name"
        return
    with pytest.raises(InvalidModelIdError) as info:
        parse_model_ref(text)
    assert reason in str(info.value)
    assert isinstance(info.value, OptionError)  # the CLI maps it to "bad usage"


def test_empty_revision_rejected() -> None:
    with pytest.raises(InvalidModelIdError, match="revision is empty"):
        parse_model_ref("org/m", " ")


def test_validate_repo_id_returns_id() -> None:
    assert validate_repo_id("a/b") == "a/b"


@given(st.text(max_size=80))
def test_any_text_parses_or_says_why(text: str) -> None:
    try:
        ref = parse_model_ref(text)
    except InvalidModelIdError as err:
        assert str(err)
    else:
        assert validate_repo_id(ref.repo_id) == ref.repo_id
