"""Own hardware (issue 14): the device catalog, Apple's working-set caps, placement on mixed
GPUs and system RAM as llama.cpp / Ollama / vLLM do it, and the speed model's measured error.

Every bound here is a measured figure: the catalog against its sources and the published
CUDA totals, the Metal caps against printed ``ggml_metal_init`` lines (apple_caps.json),
Ollama's placement against its logs and the speed model against published runs it was not
fitted on (speed_records.json, offload_records.json; fit_speed.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from estimator import EstimateOptions, estimate
from estimator.devices import (
    DEVICES,
    catalog_document,
    derived_usable_gib,
    metal_working_set_bytes,
    resolve_device,
    resolve_devices,
)
from estimator.errors import EstimatorError
from estimator.placement import CONTEXT_ALIGN, FIT_MARGIN_BYTES
from estimator.speed import DeviceShare, SpeedInputs, estimate_speed, speed_fit

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CONFIGS = ROOT / "tests" / "fixtures" / "configs"
GIB = 2**30
MIB = 2**20

sys.path.insert(0, str(HERE))
import fit_speed  # noqa: E402


def _config(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CONFIGS / name).read_text())
    return data


def _placement(config: str, **options: Any) -> dict[str, Any]:
    est = estimate(_config(config), EstimateOptions(**options))
    doc: dict[str, Any] = est.to_dict()
    return doc


# -- the catalog ----------------------------------------------------------------------------

CATALOG = catalog_document()


def test_catalog_covers_the_hardware_people_run() -> None:
    keys = set(DEVICES)
    assert len(keys) >= 80
    for wanted in (
        "rtx2080", "rtx3060", "rtx3090", "rtx4060", "rtx4090", "rtx5090", "rtx4090-laptop",
        "rtx-a4000", "rtx-a6000", "rtx6000-ada", "rtx-pro-6000",
        "t4", "a100-80gb", "h100-80gb", "h200", "b200", "gh200", "h20", "l20", "l40s",
        "rx7900xtx", "rx9070xt", "mi210", "mi300x", "mi325x", "arc-a770",
        "m1-16gb", "m2-ultra-192gb", "m3-ultra-512gb", "m4-max-128gb",
    ):
        assert wanted in keys, wanted
    kinds = {d.kind for d in DEVICES.values()}
    assert {"gpu", "apple", "cpu"} <= kinds
    # Every Apple chip in each of its memory sizes (M1-M4: 73 machines).
    assert sum(1 for d in DEVICES.values() if d.kind == "apple") >= 60


def test_every_figure_names_a_source_with_a_link() -> None:
    sources = CATALOG["sources"]
    for entry in CATALOG["devices"]:
        cited = entry["sources"]
        assert "memory" in cited, entry["key"]
        if entry.get("bandwidth_gbs"):
            assert "bandwidth" in cited, entry["key"]
        if entry.get("fp16_tflops"):
            assert "compute" in cited, entry["key"]
        for what, source_id in cited.items():
            if what.endswith("_basis") or (entry["kind"] == "cpu" and what == "memory"):
                continue  # how a figure is derived (text), or the RAM the user gives
            ids = source_id if isinstance(source_id, list) else [source_id]
            for one in ids:
                assert one in sources, (entry["key"], one)
                assert sources[one]["url"].startswith("https://"), one


def test_existing_keys_keep_their_validated_totals() -> None:
    totals = json.loads((HERE / "gpu_totals.json").read_text())
    for entry in totals:
        assert entry["gpu_key"] in DEVICES
    assert DEVICES["h100-80gb"].usable_bytes == round(79.11 * GIB)


def test_derived_usable_memory_matches_the_measured_cards() -> None:
    """The rule used for cards without a published total (nominal, less ECC's 1/16 when on
    by default, less 0.5 GiB on NVIDIA) is within 1.2 GiB of every measured card."""
    for entry in CATALOG["devices"]:
        if entry["memory_rule"] != "measured":
            continue
        derived = derived_usable_gib(entry["memory_gb"], entry["vendor"], entry["ecc_default"])
        assert abs(derived - entry["usable_gib"]) <= 1.2, entry["key"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("RTX 4090", "rtx4090"),
        ("rtx4090", "rtx4090"),
        ("A100 80GB PCIe", "a100-80gb-pcie"),
        ("M2 Ultra 192GB", "m2-ultra-192gb"),
        ("RX 7900 XTX", "rx7900xtx"),
        ("RTX 4090 Laptop", "rtx4090-laptop"),
        ("h100-80gb", "h100-80gb"),
    ],
)
def test_names_as_people_write_them(text: str, key: str) -> None:
    assert resolve_device(text).key == key


def test_lists_counts_and_custom_devices() -> None:
    assert [d.key for d in resolve_devices("2x rtx3090,rtx4060")] == [
        "rtx3090", "rtx3090", "rtx4060",
    ]
    custom = resolve_devices("custom", gpu_memory_bytes=12 * GIB, gpu_bandwidth_gbs=360.0)
    assert custom[0].usable_bytes == 12 * GIB and custom[0].bandwidth_gbs == 360.0
    with pytest.raises(EstimatorError, match="rtx"):
        resolve_device("rtx 9999")


# -- Apple unified memory -------------------------------------------------------------------

APPLE = json.loads((HERE / "apple_caps.json").read_text())


@pytest.mark.parametrize("record", APPLE["records"], ids=lambda r: r["id"])
def test_metal_working_set_matches_printed_values(record: dict[str, Any]) -> None:
    assert record["source_url"].startswith("https://github.com/")
    printed = record["quote"].replace(",", ".")
    value = record["logged_mib"] if record["printed_unit"] != "GiB" else record["logged_mib"] / 1024
    assert f"{value:.2f}" in printed
    got = metal_working_set_bytes(record["ram_gb"] * GIB, record["wired_limit_mb"]) / MIB
    if record["modelled"]:
        assert round(got, 2) == pytest.approx(record["logged_mib"], abs=0.005)
        if record["device"]:
            assert DEVICES[record["device"]].usable_bytes / MIB == pytest.approx(got, abs=0.01)
    else:  # macOS 26's larger default: documented as not modelled
        assert got < record["logged_mib"]


# -- speed ------------------------------------------------------------------------------------

RECORDS = json.loads((HERE / "speed_records.json").read_text())


def test_speed_records_are_many_quoted_and_sourced() -> None:
    assert len(RECORDS) >= 100
    assert len({r["device"] for r in RECORDS}) >= 20
    for record in RECORDS:
        assert record["device"] in DEVICES, record["id"]
        assert record["source_url"].startswith("https://github.com/"), record["id"]
        assert f"{record['tokens_per_s']:g}" in record["quote"].replace(",", ""), record["id"]
        assert (CONFIGS / record["config"]).is_file(), record["id"]


@pytest.fixture(scope="module")
def fitted() -> dict[str, Any]:
    result: dict[str, Any] = fit_speed.run(write=False)
    return result


def test_speed_fit_is_reproducible(fitted: dict[str, Any]) -> None:
    """estimator/data/speed_fit.json is what fit_speed.py computes from the records."""
    assert fitted["doc"] == speed_fit()


def test_decode_error_on_held_out_devices(fitted: dict[str, Any]) -> None:
    held = fitted["doc"]["held_out"]
    assert held["decode_rows"] >= 30 and len(held["devices"]) >= 8
    assert held["decode_median_pct"] <= 20.0
    assert held["decode_worst_pct"] <= 40.0


def test_prefill_error_on_held_out_devices(fitted: dict[str, Any]) -> None:
    """Prompt speed varies several-fold between llama.cpp builds of the same GPU; the bound
    holds the measured error (26.8% median, 96.2% worst) from growing."""
    held = fitted["doc"]["held_out"]
    assert held["prefill_median_pct"] <= 30.0
    assert held["prefill_worst_pct"] <= 100.0


OFFLOAD = json.loads((HERE / "offload_records.json").read_text())


def test_offload_records_are_quoted_and_sourced() -> None:
    for record in OFFLOAD["speed"]:
        assert str(record["tokens_per_s"]) in record["quote"], record["id"]
        assert record["source_url"].startswith("https://github.com/"), record["id"]
        assert (CONFIGS / record["config"]).is_file(), record["id"]
    uses = [r["use"] for r in OFFLOAD["speed"]]
    assert uses.count("held-out") >= 4 and uses.count("fit") >= 1


def test_offloaded_decode_error_on_held_out_runs(fitted: dict[str, Any]) -> None:
    """Layers or MoE experts in system RAM: the CPU's share of its RAM bandwidth is fitted on
    two dense runs and checked on two dense and two MoE runs it was not fitted on."""
    off = fitted["doc"]["offload"]
    assert off["held_out"]["median_pct"] <= 20.0
    assert off["held_out"]["worst_pct"] <= 30.0
    assert off["gpu_only_controls"]["worst_pct"] <= 20.0


def test_speed_model_takes_plain_data() -> None:
    """The page can call the speed model without a config: bytes, bandwidth, layers."""
    gpu = DEVICES["rtx4090"]
    inputs = SpeedInputs(
        shares=(DeviceShare(gpu, 4_900_000_000, 0, 131_072, 32, 8_000_000_000),),
        engine="llama.cpp",
        quantized=True,
        experts_active_fraction=1.0,
        prompt_tokens=512,
        generated_tokens=128,
        batch=1,
        attention_flops_per_token_per_ctx=4.0 * 32 * 32 * 128,
        total_layers=32,
        ram_bandwidth_gbs=89.6,
        cpu_tflops=0.8,
        pcie_gbs=31.5,
    )
    speed = estimate_speed(inputs)
    assert speed.decode_tokens_per_s and 80 < speed.decode_tokens_per_s < 200
    assert speed.prefill_tokens_per_s and speed.prefill_tokens_per_s > 1000
    assert speed.bound == "memory"


# -- placement ------------------------------------------------------------------------------

LLAMA70 = "meta-llama__Llama-3.1-70B-Instruct.json"


def test_offload_fills_the_gpu_back_to_front_with_a_margin() -> None:
    doc = _placement(LLAMA70, engine="llama.cpp", precision="Q4_K_M", gpu="rtx4090",
                     ram_bytes=64 * GIB, context=8192)
    p = doc["placement"]
    gpu, cpu = p["devices"][0], p["cpu"]
    assert p["fits"] is True and p["strategy"] == "fit"
    assert gpu["output_layer"] and not cpu["output_layer"]  # the last layers and the output
    assert gpu["used_bytes"] + FIT_MARGIN_BYTES <= gpu["memory_bytes"]
    assert gpu["layers"] + cpu["layers"] == 80
    assert p["flags"] == ["-c 8192", f"-ngl {gpu['layers'] + 1}"]
    assert cpu["weights_bytes"] > 15 * GIB and doc["speed"]["bound"] == "cpu-memory"


def test_mixed_gpus_split_by_free_memory_and_output_goes_last() -> None:
    p = _placement("Qwen__Qwen3-32B.json", engine="llama.cpp", precision="Q4_K_M",
                   gpu="rtx3090,rtx3060", context=32768)["placement"]
    big, small = p["devices"]
    assert p["on_gpus"] and p["strategy"] == "default-split"
    assert small["output_layer"] and not big["output_layer"]
    share = (big["memory_bytes"] - 0.3 * GIB) / (big["memory_bytes"] + small["memory_bytes"])
    assert abs(big["layers"] / 64 - share) < 0.05


def test_tensor_split_and_n_gpu_layers_are_followed() -> None:
    p = _placement("Qwen__Qwen3-32B.json", engine="llama.cpp", precision="Q4_K_M",
                   gpu="rtx3090,rtx3090", tensor_split="1,1", context=4096)["placement"]
    # 64 blocks + the output layer in halves: layer il goes to the first device whose share
    # exceeds il / 65 (llama-model.cpp upper_bound), so 0-32 and 33-63 + output.
    assert [d["layers"] for d in p["devices"]] == [33, 31]
    assert p["devices"][1]["output_layer"] and "-ts 1,1" in p["flags"]
    p = _placement("Qwen__Qwen3-32B.json", engine="llama.cpp", precision="Q4_K_M",
                   gpu="rtx3090", n_gpu_layers=20, ram_bytes=64 * GIB, context=4096)["placement"]
    assert p["gpu_layers"] == 20 and p["cpu"]["layers"] == 45  # 19 blocks + output on the GPU


def test_moe_experts_go_to_system_ram_first() -> None:
    p = _placement("openai__gpt-oss-120b.json", engine="llama.cpp", gpu="rtx4090",
                   ram_bytes=64 * GIB, context=32768)["placement"]
    assert p["fits"] is True and p["gpu_layers"] == p["total_layers"]
    assert p["cpu_moe_layers"] > 0 and p["cpu"]["layers"] == 0
    assert any(f.startswith("--n-cpu-moe") for f in p["flags"])
    given = _placement("openai__gpt-oss-20b.json", engine="llama.cpp", gpu="rtx2080",
                       n_cpu_moe=12, ram_bytes=32 * GIB, context=4096)["placement"]
    assert "--n-cpu-moe 12" in given["flags"] and given["cpu_moe_layers"] == 12


def test_a_clear_verdict_when_even_ram_is_too_small() -> None:
    p = _placement(LLAMA70, engine="llama.cpp", precision="Q4_K_M", gpu="rtx4060",
                   ram_bytes=16 * GIB, context=8192)["placement"]
    assert p["fits"] is False and "does not fit even with CPU offload" in p["verdict"]
    assert p["max_context"] is None  # the weights alone are too big
    p = _placement(LLAMA70, engine="llama.cpp", precision="Q4_K_M", gpu="rtx4090",
                   ram_bytes=40 * GIB, context=131072)["placement"]
    best = p["max_context"]
    assert p["fits"] is False and best and best % CONTEXT_ALIGN == 0
    at = _placement(LLAMA70, engine="llama.cpp", precision="Q4_K_M", gpu="rtx4090",
                    ram_bytes=40 * GIB, context=best)["placement"]
    past = _placement(LLAMA70, engine="llama.cpp", precision="Q4_K_M", gpu="rtx4090",
                      ram_bytes=40 * GIB, context=best + CONTEXT_ALIGN)["placement"]
    assert at["fits"] is True and past["fits"] is False


def test_offload_none_refuses_system_ram() -> None:
    p = _placement(LLAMA70, engine="llama.cpp", precision="Q4_K_M", gpu="rtx4090",
                   ram_bytes=64 * GIB, context=8192, offload="none")["placement"]
    assert p["fits"] is False and "does not fit on the GPUs" in p["verdict"]


def test_tensor_parallel_engines_are_bound_by_the_smallest_gpu() -> None:
    p = _placement("Qwen__Qwen3-32B.json", engine="vllm", precision="awq-int4",
                   gpu="rtx3090,rtx3060", context=8192)["placement"]
    assert p["strategy"] == "equal-shards"
    assert "smallest GPU" in p["notes"][0]
    assert len({d["weights_bytes"] for d in p["devices"]}) == 1


def test_ollama_reproduces_its_logged_four_gpu_split() -> None:
    """ollama#9181: memory.go's estimate for an 80-layer llama at num_ctx 64000 on four GPUs
    with 22.0 GiB free: 11 layers each, 21.8 GiB per GPU, 87.1 GiB on GPUs, 127.4 GiB in all."""
    record = OFFLOAD["ollama"][0]
    logged = record["logged"]
    for figure in ("127.4 GiB", "87.1 GiB", "19.5 GiB", "21.8 GiB", "11,11,11,11"):
        assert figure in record["quote"]
    doc = _placement(record["config"], engine="ollama", precision=record["precision"],
                     gpu="4x custom", gpu_memory_bytes=int(record["gpu_memory_gib"] * GIB),
                     context=record["context"], ram_bytes=256 * GIB)
    p = doc["placement"]
    assert [d["layers"] for d in p["devices"]] == logged["split"]
    assert p["gpu_layers"] == logged["layers_offload"]
    for device in p["devices"]:
        assert round(device["used_bytes"] / GIB, 1) == logged["allocation_gib"]
    assert f"{logged['required_full_gib']} GiB in all" in p["notes"][0].replace("127.44", "127.4")
    assert round(doc["kv_cache_bytes"] / GIB, 1) == logged["kv_gib"]


def test_ollama_graph_and_kv_formulas_match_its_log() -> None:
    """ollama#5913 (Qwen2-72B shapes, num_ctx 2048): graph full 313.0 MiB, partial 1.3 GiB,
    KV 640.0 MiB - fs/ggml GraphSize and memory.go's KV, as ported."""
    from estimator.estimate import prepare
    from estimator.placement.ollama_graph import ollama_graph, ollama_kv_per_layer

    record = OFFLOAD["ollama"][1]
    h = record["hparams"]
    config = _config("Qwen__Qwen2.5-32B.json") if (CONFIGS / "Qwen__Qwen2.5-32B.json").is_file() \
        else json.loads((ROOT / "tests" / "golden" / "Qwen__Qwen2.5-32B.json").read_text())
    config = {**config, "hidden_size": h["hidden_size"], "num_attention_heads":
              h["num_attention_heads"], "num_key_value_heads": h["num_key_value_heads"],
              "num_hidden_layers": h["num_hidden_layers"], "vocab_size": h["vocab_size"]}
    spec, _ = prepare(config, EstimateOptions(engine="ollama", context=record["context"]))
    kv = ollama_kv_per_layer(spec, record["context"], "auto")
    partial, full = ollama_graph(spec, record["context"], 512, sum(kv))
    logged = record["logged"]
    assert round(sum(kv) / MIB, 1) == logged["kv_mib"]
    assert round(full / MIB, 1) == logged["graph_full_mib"]
    assert round(partial / GIB, 1) == logged["graph_partial_gib"]


# -- llama.cpp load logs -------------------------------------------------------------------

LLAMACPP = OFFLOAD["llamacpp"]
WEIGHT_BOUND = 0.01  # per-device model buffer: 1 % (the GGUF type rules are exact; see README)
KV_BOUND = 0.005  # per-device KV buffer: 0.5 %


def _logged_placement(record: dict[str, Any]) -> dict[str, Any]:
    """The placement's per-device weights and KV for the record's -ngl, split the way the
    logging build split it (``output_first``: llama.cpp PR #18148), from the same layout the
    estimator places (estimator/hardware.py _place)."""
    from estimator.breakdown import breakdown, prepare
    from estimator.layout import model_layout
    from estimator.placement.llama_split import Slot, cpu_side, default_split, device_placement

    options = EstimateOptions(engine="llama.cpp", precision=record["precision"],
                              context=record["context"])
    spec, counts = prepare(_config(record["config"]), options)
    layout = model_layout(spec, counts, breakdown(spec, counts, options, None))
    slots = [Slot(DEVICES.get(key, DEVICES["rtx4090"]), 0) for key in record["devices"]]
    cpu_layers = default_split(layout, slots, (1.0,) * len(slots), record["n_gpu_layers"],
                                output_first=record["output_first"])
    gpus = [device_placement(layout, s, bool(cpu_layers), 0, 0) for s in slots]
    cpu = cpu_side(layout, cpu_layers, [], not any(s.output for s in slots), None)
    return {
        "gpus": gpus,
        "cpu": cpu,
        "offloaded": sum(len(s.layers) + s.output for s in slots),
        "total_layers": layout.layers + 1,
    }


def test_llamacpp_load_logs_are_quoted_and_sourced() -> None:
    assert len(LLAMACPP) >= 3
    for record in LLAMACPP:
        assert (CONFIGS / record["config"]).is_file(), record["id"]
        assert record["source_url"].startswith("https://github.com/"), record["id"]
        text = record["quote"] + record.get("kv_quote", "")
        logged = record["logged"]
        figures = list((logged["weights_mib"] or {}).values()) + list(
            (logged["kv_mib"] or {}).values()
        )
        for figure in figures:
            for value in figure if isinstance(figure, list) else [figure]:
                assert f"{value:.2f}" in text, (record["id"], value)
        if logged["offloaded"]:
            n, m = logged["offloaded"]
            assert f"offloaded {n}/{m} layers to GPU" in record["quote"], record["id"]


@pytest.mark.parametrize("record", LLAMACPP, ids=[r["id"] for r in LLAMACPP])
def test_llamacpp_load_logs_match_the_placement(record: dict[str, Any]) -> None:
    """Per-device model buffers within 1 % and KV buffers within 0.5 % of the logged MiB
    (measured: Qwen3-30B-A3B Q4_K_M +0.46 % GPU / -0.72 % CPU and Qwen2.5-14B Q4_K_M +0.79 %
    GPU, since the layout shares the repeating bytes by parameters and not by each block's
    GGUF types; the others within 0.01 %; KV exact - tests/validation/README.md)."""
    est = _logged_placement(record)
    logged = record["logged"]
    if logged["offloaded"]:
        assert [est["offloaded"], est["total_layers"]] == logged["offloaded"]
        if "repeating layers to GPU" in record["quote"]:
            blocks = int(record["quote"].split("offloading ")[1].split(" repeating")[0])
            assert sum(g.layers for g in est["gpus"]) == blocks, record["id"]
    weights = logged["weights_mib"] or {}
    if "CUDA0" in weights:
        got = est["gpus"][0].weights_bytes / MIB
        cuda0 = weights["CUDA0"]
        want = sum(cuda0) if isinstance(cuda0, list) else cuda0  # one line per buffer
        assert abs(got / want - 1) <= WEIGHT_BOUND, (got, want)
    if "CPU" in weights:
        got = est["cpu"].weights_bytes / MIB
        if record.get("cpu_is_whole_file"):
            got += sum(g.weights_bytes for g in est["gpus"]) / MIB  # mmap range: whole file
        assert abs(got / weights["CPU"] - 1) <= WEIGHT_BOUND, (got, weights["CPU"])
    kv = logged["kv_mib"] or {}
    gpu_kv = est["gpus"][0].kv_bytes / MIB
    if "CUDA0" in kv:
        assert abs(gpu_kv / kv["CUDA0"] - 1) <= KV_BOUND, (gpu_kv, kv["CUDA0"])
    if "CPU" in kv:
        assert abs(est["cpu"].kv_bytes / MIB / kv["CPU"] - 1) <= KV_BOUND
    if "total" in kv:
        total = (est["cpu"].kv_bytes + sum(g.kv_bytes for g in est["gpus"])) / MIB
        assert abs(total / kv["total"] - 1) <= KV_BOUND, (total, kv["total"])


def test_current_llamacpp_offloads_the_output_layer_first() -> None:
    """Since PR #18148 (2025-12-17) the same -ngl puts the output layer on the GPU and one
    repeating block fewer: the estimator's default follows the current rule."""
    record = LLAMACPP[0]
    p = _placement(record["config"], engine="llama.cpp", precision=record["precision"],
                   gpu="rtx4080-super", n_gpu_layers=record["n_gpu_layers"],
                   context=record["context"], ram_bytes=64 * GIB)["placement"]
    gpu = p["devices"][0]
    assert gpu["output_layer"] and gpu["layers"] == record["n_gpu_layers"] - 1
    old = _logged_placement(record)
    assert old["gpus"][0].layers == record["n_gpu_layers"] and not old["gpus"][0].output


# -- interfaces -----------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "estimator", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_json_has_placement_and_speed() -> None:
    result = _cli("--config", str(CONFIGS / LLAMA70), "--engine", "llama.cpp", "--precision",
                  "Q4_K_M", "--gpu", "rtx3090,rtx4060", "--ram", "64GiB", "--context", "8k",
                  "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    placement, speed = doc["placement"], doc["speed"]
    for device in placement["devices"] + [placement["cpu"]]:
        for key in ("name", "memory_bytes", "weights_bytes", "kv_bytes", "buffers_bytes",
                    "layers"):
            assert key in device
    assert placement["fits"] is True and placement["flags"][0] == "-c 8192"
    for key in ("decode_tokens_per_s", "prefill_tokens_per_s", "bound", "efficiency_source"):
        assert key in speed


def test_cli_custom_gpu_and_catalog_listing() -> None:
    result = _cli("--config", str(CONFIGS / "Qwen__Qwen3-8B.json"), "--engine", "llama.cpp",
                  "--precision", "Q4_K_M", "--gpu-memory", "12GiB", "--gpu-bandwidth", "360",
                  "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["placement"]["devices"][0]["memory_bytes"] == 12 * GIB
    assert doc["speed"]["decode_tokens_per_s"] > 0
    listing = _cli("--list-gpus")
    assert listing.returncode == 0 and "rtx4090" in listing.stdout
    assert len(listing.stdout.splitlines()) == len(DEVICES) + 1


def test_launch_follows_the_placement() -> None:
    """The llama.cpp verdict and command use the layers as placed (not -ngl 99 on one GPU)."""
    result = _cli("--config", str(CONFIGS / "openai__gpt-oss-120b.json"), "--engine",
                  "llama.cpp", "--gpu", "rtx4090", "--ram", "64GiB", "--context", "32k", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    flags = doc["placement"]["flags"]
    assert doc["launch"]["starts"] is True
    for flag in flags[1:]:  # -ngl N and --n-cpu-moe N, as placed
        assert flag in doc["launch"]["command"]
    small = _cli("--config", str(CONFIGS / LLAMA70), "--engine", "llama.cpp", "--precision",
                 "Q4_K_M", "--gpu", "rtx4060", "--ram", "16GiB", "--json")
    verdict = json.loads(small.stdout)["launch"]
    assert verdict["starts"] is False and "even with CPU offload" in verdict["summary"]
