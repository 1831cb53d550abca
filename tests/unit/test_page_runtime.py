"""The page's Python side (site/runtime.py and site/view.py, run in a worker in the
browser) on CPython: the same requests the main thread sends, the same JSON answers.
tests/e2e checks the same through the browser; these run in milliseconds."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any

import pytest

from estimator import EstimateOptions, estimate, max_batch, max_context
from tests.conftest import ROOT, load_config

sys.path.insert(0, str(ROOT / "site"))

import charts
import runtime
import view

GPU = view.UI_DEFAULTS["gpu"]
ENGINE = view.UI_DEFAULTS["engine"]  # the page's default engine (vLLM)
LLAMA = "meta-llama/Llama-3.1-8B"


def call(op: str, **args: Any) -> Any:
    """One request, on an event loop of its own in a thread (a suite that ran Playwright's
    sync API before may have a loop running in this thread)."""
    answer: list[str] = []
    thread = threading.Thread(
        target=lambda: answer.append(asyncio.run(runtime.handle(op, json.dumps(args)))))
    thread.start()
    thread.join()
    return json.loads(answer[0])


@pytest.fixture(autouse=True)
def bundled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "BUNDLED", {LLAMA: load_config("meta-llama__Llama-3.1-8B")})
    monkeypatch.setattr(runtime, "MODELS", {})


def state(**changes: str) -> dict[str, str]:
    return {**view.default_state(LLAMA), **changes}


def test_load_and_compute_every_step() -> None:
    loaded = call("load", model=f"https://huggingface.co/{LLAMA}/tree/main", revision="")
    assert loaded["model"] == LLAMA and loaded["revision"] == "" and "error" not in loaded
    est = estimate(load_config("meta-llama__Llama-3.1-8B"),
                   EstimateOptions(gpu=GPU, engine=ENGINE, batch=4))
    main = call("compute", key=loaded["key"], state=state(batch="4"), step="main")
    assert main["texts"]["total-gib"] == view.fmt_gib(est.total_bytes)
    assert main["texts"]["sum-total"] == view.fmt_gib(est.total_bytes)
    assert main["attrs"]["fit"]["data-fit"] == "yes"
    for step in ("compare", "ctx", "batch", "limits"):
        part = call("compute", key=loaded["key"], state=state(batch="4"), step=step)
        assert "error" not in part, step
    batch = call("compute", key=loaded["key"], state=state(batch="4"), step="batch")
    options = EstimateOptions(gpu=GPU, engine=ENGINE, batch=4)
    config = load_config("meta-llama__Llama-3.1-8B")
    assert batch["texts"]["chart-batch-stop-label"] == \
        f"fits up to batch {max_batch(config, options):,}"
    ctx = call("compute", key=loaded["key"], state=state(batch="4"), step="ctx")
    assert ctx["texts"]["chart-ctx-stop-label"] == \
        f"fits up to {max_context(config, options):,} tokens"


def test_handle_now_answers_estimates_as_handle_does() -> None:
    """The worker asks handle_now first: every request but a Hub load or search gets the
    same answer there as through handle, and those two get None (they must wait)."""
    loaded = call("load", model=LLAMA)
    args = json.dumps({"key": loaded["key"], "state": state(batch="3"), "step": "main"})
    now = runtime.handle_now("compute", args)
    assert now is not None and json.loads(now) == call("compute", **json.loads(args))
    assert json.loads(now)["texts"]["total-gib"] != call(
        "compute", key=loaded["key"], state=state(batch="30"), step="main")["texts"]["total-gib"]
    assert runtime.handle_now("load", json.dumps({"model": LLAMA})) is None
    assert runtime.handle_now("suggest", json.dumps({"query": "llama"})) is None
    assert json.loads(runtime.handle_now("nope", "{}") or "") == {
        "error": {"message": "unknown request 'nope'"}}


@pytest.mark.parametrize(("field", "value"), [("batch", "0"), ("context", "0"),
                                              ("headroom", "2"), ("batch", "many"),
                                              ("layers", "999")])
def test_option_errors_name_their_field(field: str, value: str) -> None:
    key = call("load", model=LLAMA)["key"]
    answer = call("compute", key=key, state=state(**{field: value}), step="main")
    assert answer["error"]["fields"] == [field], answer
    assert field in answer["error"]["message"]


def test_tp_times_pp_names_all_three_fields() -> None:
    key = call("load", model=LLAMA)["key"]
    answer = call("compute", key=key, state=state(tensor_parallel="8", pipeline_parallel="2"),
                  step="main")
    assert answer["error"]["fields"] == ["gpus", "tensor_parallel", "pipeline_parallel"]


def test_local_configs_and_their_errors() -> None:
    bad = call("local", text="{not json", source="pasted config")
    assert bad["error"]["kind"] == "json" and "not valid JSON" in bad["error"]["message"]
    encoder = call("local", text=json.dumps({"model_type": "bert", "architectures":
                                             ["BertForMaskedLM"], "hidden_size": 8}),
                   source="uploaded file config.json")
    assert encoder["error"]["kind"] == "unsupported"
    phi = call("local", text=json.dumps(load_config("microsoft__phi-1")), source="pasted config")
    main = call("compute", key=phi["key"], state=state(), step="main")
    est = estimate(load_config("microsoft__phi-1"), EstimateOptions(gpu=GPU, engine=ENGINE))
    assert main["texts"]["total-gib"] == view.fmt_gib(est.total_bytes)


def test_bad_model_id_and_lost_model_are_answers_not_crashes() -> None:
    assert call("load", model="not a model id!")["error"]["kind"] == "model-id"
    assert call("compute", key="hub:nope@main", state=state())["error"]["kind"] == "lost"
    assert "unknown request" in call("nonsense")["error"]["message"]


def test_copy_json_is_the_library_answer() -> None:
    key = call("load", model=LLAMA)["key"]
    text = call("copy", key=key, state=state(batch="2"), kind="json", model=LLAMA)["text"]
    est = estimate(load_config("meta-llama__Llama-3.1-8B"),
                   EstimateOptions(gpu=GPU, engine=ENGINE, batch=2))
    assert json.loads(text)["total_bytes"] == est.total_bytes


def test_node_aligned_plan() -> None:
    config = load_config("meta-llama__Llama-3.1-70B-Instruct")
    options = EstimateOptions(gpu=GPU, context=8192, batch=4)
    rec = estimate(config, options).recommendation
    assert (rec.count, rec.tensor_parallel) == (3, 1)
    text = view.node_aligned(config, options, None, rec)
    aligned = estimate(config, options.with_(gpus=4, tensor_parallel=4))
    assert text.startswith("Node-aligned: 4 x ") and "(TP=4)" in text
    assert f"{aligned.per_gpu_bytes / 2**30:.1f} GiB per GPU" in text
    one = estimate(config, EstimateOptions(gpu=GPU, context=4096)).recommendation
    if one.count in (1, 2, 4, 8):
        assert view.node_aligned(config, EstimateOptions(gpu=GPU, context=4096), None, one) == ""


def test_clipped_chart_values_are_labelled() -> None:
    config = load_config("meta-llama__Llama-3.1-8B")
    options = EstimateOptions(gpu=GPU, batch=4)
    est = estimate(config, options)
    part = view.compute_sweep(config, options, est, "batch")
    label = part.text("chart-batch-clip-label")
    from estimator import sweep

    peak = max(p.per_gpu_bytes for p in sweep(config, options, axis="batch", points=64))
    assert label.endswith(f"{peak / 2**30:,.0f} GiB at batch 256"), label
    assert part.attr("chart-batch-clipped", "d").startswith("M")
    # every clipped point sits on the top edge, none of them in the plain line
    assert all(xy.split(",")[1] == f"{charts.PAD_T:.1f}"
               for xy in part.attr("chart-batch-clipped", "d").replace("M", "").replace(
                   "L", "").split())


def _library_verdict(options: EstimateOptions, model_id: str = LLAMA) -> Any:
    from estimator.estimate import prepare
    from estimator.launch import launch_verdict

    config = load_config("meta-llama__Llama-3.1-8B")
    spec, counts = prepare(config, options)
    return launch_verdict(spec, counts, options, model_id=model_id)


def test_launch_verdict_fixes_and_command_are_the_library_answer() -> None:
    key = call("load", model=LLAMA)["key"]
    refusing = state(gpu="rtx4090", context="131072")
    main = call("compute", key=key, state=refusing, step="main")
    want = _library_verdict(view.options_from_state(refusing))
    assert main["launch"]["starts"] is False is want.starts
    assert main["texts"]["launch-verdict"] == want.summary
    assert main["texts"]["launch-verdict"].startswith("vLLM will refuse to start: To serve")
    assert main["texts"]["launch-command"] == want.command == (
        f"vllm serve {LLAMA} --max-model-len 131072")
    assert main["attrs"]["launch"]["data-starts"] == "no"
    assert main["attrs"]["fit"]["data-fit"] == "no"  # never green beside a refusal
    fixes = main["launch"]["fixes"]
    assert [f["change"] for f in fixes] == [f.change for f in want.fixes]
    applicable = [f for f in fixes if f["apply"]]
    assert {"context", "tensor_parallel"} <= {k for f in applicable for k in f["apply"]}
    for fix in applicable:  # what a fix button sets starts, with the result it promised
        fixed = {**refusing, **fix["apply"]}
        after = call("compute", key=key, state=fixed, step="main")
        assert after["launch"]["starts"] is True, fix
        assert f"{fix['result'].split(': ')[1].split(' ')[0]} request" in \
            after["texts"]["launch-verdict"], (fix, after["texts"]["launch-verdict"])
    # "--max-model-len auto" is a flag the form has no field for: shown, not a button
    assert any(f["apply"] is None and f["flags"] == "--max-model-len auto" for f in fixes)


def test_launch_command_names_the_hub_revision(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model read at a revision other than main: the page's command passes it on."""
    from estimator.estimate import prepare
    from estimator.launch import launch_verdict

    config = load_config("meta-llama__Llama-3.1-8B")
    model = runtime.Model(config, None, f"{LLAMA} at v2 (from the Hub)", [], LLAMA, "v2")
    monkeypatch.setitem(runtime.MODELS, f"hub:{LLAMA}@v2", model)
    sglang = state(engine="sglang")
    main = call("compute", key=f"hub:{LLAMA}@v2", state=sglang, step="main")
    options = view.options_from_state(sglang)
    want = launch_verdict(*prepare(config, options), options, model_id=LLAMA, revision="v2")
    assert want is not None
    assert main["texts"]["launch-command"] == main["launch"]["command"] == want.command
    assert want.command is not None and want.command.startswith(
        f"python -m sglang.launch_server --model-path {LLAMA} --revision v2 --context-length ")


def test_launch_default_engine_and_generic_choice() -> None:
    key = call("load", model=LLAMA)["key"]
    main = call("compute", key=key, state=state(), step="main")
    want = _library_verdict(view.options_from_state(state()))
    assert view.UI_DEFAULTS["engine"] == "vllm" and main["launch"]["engine"] == "vllm"
    assert main["texts"]["launch-verdict"] == want.summary
    assert main["texts"]["launch-verdict"].startswith("vLLM will start: ")
    assert main["texts"]["launch-engine"].startswith("Assumes vLLM V1")
    generic = call("compute", key=key, state=state(engine="generic"), step="main")
    assert generic["launch"]["starts"] is None and generic["texts"]["launch-command"] == ""
    assert generic["texts"]["launch-verdict"].startswith("Assumes no engine (generic)")
    assert ("generic", "generic (no engine: whole prompt in one pass)") in \
        view.select_choices("engine")
    # a local config has no Hub id: its command names a placeholder
    phi = call("local", text=json.dumps(load_config("microsoft__phi-1")), source="pasted")
    local = call("compute", key=phi["key"], state=state(), step="main")
    assert local["texts"]["launch-command"].startswith("vllm serve MODEL ")


def test_ollama_launch_block_has_no_command_box() -> None:
    """Ollama has no launch command: the page hides the command box and its Copy button
    (data-command="none"), never shows "None", says where num_ctx goes, and its verdict is
    Ollama's placement (layers in system RAM), not transformers' out-of-memory."""
    key = call("load", model=LLAMA)["key"]
    ollama = state(engine="ollama", precision="Q4_K_M", context="8192", gpu="rtx2060")
    main = call("compute", key=key, state=ollama, step="main")
    want = _library_verdict(view.options_from_state(ollama))
    assert want.command is None and want.starts
    assert main["texts"]["launch-command"] == "" and main["launch"]["command"] == ""
    assert main["attrs"]["launch"] == {"data-starts": "yes", "data-command": "none"}
    assert main["texts"]["launch-verdict"] == want.summary == (
        "Ollama will start: 27/33 layers on the GPU, 1.4 GiB in system RAM (slower)")
    assert "Ollama has no launch command: set num_ctx" in main["texts"]["launch-facts"]
    assert "transformers" not in main["texts"]["launch-engine"]
    assert all("None" not in str(t) for t in main["texts"].values())
    vllm = call("compute", key=key, state=state(), step="main")
    assert vllm["attrs"]["launch"]["data-command"] == "yes"


# Modules the worker must not import before its first estimate: each costs Pyodide tens of
# milliseconds at start (measured in Node with the vendored Pyodide: html.entities 80 ms,
# urllib.parse + ipaddress 148 ms, importlib.resources 25 ms, shlex 9 ms), and none is
# needed for a bundled model on the page's default engine: the Hub client loads only for a
# Hub id, html only at build time, llama.cpp's and Ollama's layer placers (~5 ms) only when
# one of them places layers; shlex is not used at all (commands._q).
STARTUP_UNUSED = ("html", "html.entities", "urllib.parse", "ipaddress", "importlib.resources",
                  "shlex", "estimator.hub.plan", "estimator.hub.browser",
                  "estimator.placement.llama", "estimator.placement.ollama")


def test_first_estimate_imports_nothing_it_does_not_need() -> None:
    import subprocess
    import textwrap

    fixture = ROOT / "tests" / "fixtures" / "configs" / "meta-llama__Llama-3.1-8B.json"
    code = textwrap.dedent(f"""
        import asyncio, json, sys
        unused = {STARTUP_UNUSED!r}
        already = [name for name in unused if name in sys.modules]
        sys.path.insert(0, {str(ROOT / "site")!r})
        import runtime, view
        runtime.BUNDLED = {{{LLAMA!r}: json.load(open({str(fixture)!r}))}}
        loaded = json.loads(asyncio.run(runtime.handle("load", json.dumps({{"model": {LLAMA!r}}}))))
        state = view.default_state({LLAMA!r})
        main = json.loads(asyncio.run(runtime.handle(
            "compute", json.dumps({{"key": loaded["key"], "state": state, "step": "main"}}))))
        assert "error" not in main and main, main
        print(json.dumps([n for n in unused if n in sys.modules and n not in already]))
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []
