"""The page's own-hardware part (issue 14): the "My hardware" inputs and what the results
show for them - where each part goes (one bar per GPU and one for system RAM), the speed
estimate with its measured error, and the flags to copy.

Pure, like site/view.py (which calls it): form/URL strings in, plain data out. The inputs
are kept as people type them (``ram=64``, ``64GiB``); sizes are read the CLI's way
(``estimator.cli._size``: a bare number is GiB, GB = GiB) so that the page and
``llm-mem --ram 64GiB`` agree.
"""

from __future__ import annotations

import json
from typing import Any

from viewmodel import ViewModel  # site/viewmodel.py

from estimator import EstimatorError, OptionError
from estimator.devices import CUSTOM_KEY, DEVICES, device_list, resolve_devices
from estimator.report import fmt_gib
from estimator.schema import OPTIONS
from estimator.units import parse_bandwidth, parse_size

#: Page keys (form and URL) that stand for an option in other units, as the CLI names its
#: flags (--ram 64GiB, --gpu-memory 12GiB, --gpu-bandwidth 360): key -> option field.
PAGE_KEYS: dict[str, str] = {o.page_key: o.name for o in OPTIONS if o.page_key}

#: Engines whose placement flags the page offers to copy (their own flag names).
FLAG_ENGINES = {"llama.cpp": "llama.cpp (llama-server / llama-cli)",
                "ollama": "Ollama (Modelfile PARAMETER or API options)",
                "vllm": "vLLM (vllm serve)"}

#: Parts of one bar, in drawing order, with the page's component colours (site/app.css).
PARTS = (("weights", "Weights"), ("kv", "KV cache"), ("buffers", "Buffers"))


class HardwareFieldError(OptionError):
    """A hardware input that cannot be read, with the form fields it is about."""

    def __init__(self, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.fields = fields


def _size(name: str, text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as exc:
        raise HardwareFieldError(f"{name}: {exc}", [_key_of(name)]) from None


def _bandwidth(text: str) -> float:
    try:
        return parse_bandwidth(text)
    except ValueError as exc:
        raise HardwareFieldError(f"GPU bandwidth: {exc}", ["gpu_bandwidth"]) from None


_LABELS = {"ram": "System RAM", "gpu_memory": "Other GPU's memory"}


def _key_of(label: str) -> str:
    return next((k for k, v in _LABELS.items() if v == label), "ram")


def option_values(state: dict[str, str], default_gpu: str = "") -> dict[str, Any]:
    """The options the hardware page keys set (only those given), checked here so that an
    error names the field it belongs to in the page's words, not the CLI's.

    "Other: N GiB" is a device of the GPU list (``custom``); a memory given without that
    entry adds it, or stands alone when the list is the page's default GPU (a link or an
    embed that says only ``gpu_memory=12``)."""
    values: dict[str, Any] = {}
    ram = state.get("ram", "").strip()
    memory = state.get("gpu_memory", "").strip()
    bandwidth = state.get("gpu_bandwidth", "").strip()
    if ram:
        values["ram_bytes"] = _size(_LABELS["ram"], ram)
    if memory:
        values["gpu_memory_bytes"] = _size(_LABELS["gpu_memory"], memory)
    if bandwidth:
        if not memory:
            raise HardwareFieldError(
                "a bandwidth goes with the other GPU's memory: give its GiB too",
                ["gpu_memory"])
        values["gpu_bandwidth_gbs"] = _bandwidth(bandwidth)
    gpu = state.get("gpu", "").strip()
    names = device_list(gpu) if gpu else []
    if memory and CUSTOM_KEY not in [n.lower() for n in names]:
        # "Other: N GiB" is a device of the list; a memory with no such entry adds one
        gpu = CUSTOM_KEY if gpu == default_gpu else ",".join([*names, CUSTOM_KEY])
        values["gpu"] = gpu
    if any(n.lower() == CUSTOM_KEY for n in names) and not memory:
        raise HardwareFieldError("give the other GPU's memory in GiB (e.g. 12)", ["gpu_memory"])
    if gpu:
        try:
            resolve_devices(gpu, values.get("gpu_memory_bytes"), values.get("gpu_bandwidth_gbs"))
        except OptionError as exc:
            message = str(exc).replace(
                " (give --gpu-memory for a device the catalog lacks)",
                ": remove it and pick a name from the list, or give its memory as Other GPU")
            message = message.replace("--gpu-memory", "Other GPU memory").replace("--gpu", "GPUs")
            raise HardwareFieldError(message, ["gpu"]) from None
    return values


def device_choices() -> list[tuple[str, str]]:
    """(key, name) of every catalog device with memory (CPU-only entries have none)."""
    return [(key, d.name) for key, d in DEVICES.items() if d.memory_bytes > 0]


def datalist_html() -> str:
    """<option>s of the device search (the catalog's names, each with its key); build time
    only, so the worker never imports ``html``."""
    import html

    return "".join(f'<option value="{html.escape(name)}" data-key="{html.escape(key)}">'
                   "</option>" for key, name in device_choices())


def _row(d: Any, cpu: bool) -> dict[str, Any]:
    """One bar: what a device (or system RAM) holds, with the text that says the same."""
    used = d.weights_bytes + d.kv_bytes + d.buffers_bytes
    memory = d.memory_bytes
    parts = [{"part": key, "label": label, "bytes": int(getattr(d, f"{key}_bytes"))}
             for key, label in PARTS]
    holds = []
    if d.layers:
        holds.append(f"{d.layers} layer{'s' if d.layers != 1 else ''}")
    if d.output:
        holds.append("the output layer")
    if cpu and d.expert_layers:
        holds.append(f"the experts of {d.expert_layers} layers")
    if cpu and not holds and d.weights_bytes:
        holds.append("the token embeddings (llama.cpp keeps them in RAM)")
    if memory:
        room = f"{fmt_gib(used)} of {fmt_gib(memory)}"
        if d.margin_bytes:
            room += f" (keeps {fmt_gib(d.margin_bytes)} free)"
    else:
        room = f"{fmt_gib(used)} (no RAM size given)"
    fits = (used + d.margin_bytes <= memory) if memory else None
    return {
        "name": d.name,
        "key": d.key,
        "memory_bytes": int(memory),
        "used_bytes": int(used),
        "margin_bytes": int(d.margin_bytes),
        "parts": parts,
        "holds": ", ".join(holds) or "nothing",
        "room": room,
        "fits": fits,
    }


def placement_rows(placement: Any) -> list[dict[str, Any]]:
    """A bar per device and one for system RAM when it holds anything or was given."""
    rows = [_row(d, False) for d in placement.devices]
    cpu = placement.cpu
    if cpu is not None and (cpu.layers or cpu.expert_layers or cpu.output
                            or cpu.memory_bytes or cpu.kv_bytes):
        rows.append(_row(cpu, True))
    return rows


def _rate(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def speed_text(speed: Any) -> tuple[str, str]:
    """(the speed line, the measured error of such estimates) - '' when there is none."""
    if speed is None or not speed.decode_tokens_per_s:
        return "", ""
    line = f"Estimated speed: decode about {_rate(speed.decode_tokens_per_s)} tokens/s at batch 1"
    if speed.batch > 1 and speed.decode_tokens_per_s_batch:
        line += (f", {_rate(speed.decode_tokens_per_s_batch)} tokens/s in all at batch "
                 f"{speed.batch}")
    if speed.prefill_tokens_per_s:
        line += f"; prefill (reading the prompt) about {_rate(speed.prefill_tokens_per_s)} tokens/s"
    line += "."
    if speed.error.startswith("not measured"):
        error = f"This is an estimate, not a measurement, and its error is {speed.error}"
    else:  # the held-out error of the fit (estimator/data/speed_fit.json)
        error = f"This is an estimate, not a measurement. How far off such estimates were: " \
                f"{speed.error}"
    error += f" (efficiencies: {speed.efficiency_source})."
    return line, error


def flags_text(placement: Any, engine: str) -> tuple[str, str]:
    """(what the flags are for, the flags) for engines whose flags the page names."""
    if placement is None or engine not in FLAG_ENGINES or not placement.flags:
        return "", ""
    if engine == "ollama":
        return FLAG_ENGINES[engine], "\n".join(f"PARAMETER {f}" for f in placement.flags)
    return FLAG_ENGINES[engine], " ".join(placement.flags)


def compute(est: Any, options: Any) -> ViewModel:
    """The view-model part for the own-hardware results (merged into view.compute_main)."""
    texts: dict[str, str] = {}
    attrs: dict[str, dict[str, str]] = {}
    placement = est.placement
    rows = [] if placement is None else placement_rows(placement)
    if placement is None:
        texts["hw-verdict"] = "Choose your GPUs (or a Mac) under My hardware to see where " \
                              "each part goes and how fast it runs."
        state = "none"
    else:
        verdict = placement.verdict.replace("(give --ram)", "(give your system RAM above)")
        texts["hw-verdict"] = verdict[:1].upper() + verdict[1:] + "."
        state = "yes" if placement.fits else ("no" if placement.fits is False else "maybe")
        if placement.max_context:
            texts["hw-verdict"] += (f" The longest context that fits: "
                                    f"{placement.max_context:,} tokens.")
    attrs["hw-results"] = {"data-fit": state}
    attrs["hw-bars"] = {"data-bars": json.dumps(rows, separators=(",", ":"))}
    texts["hw-notes"] = " ".join(placement.notes) if placement is not None else ""
    line, error = speed_text(est.speed)
    texts["hw-speed"] = line
    texts["hw-speed-error"] = error
    label, flags = flags_text(placement, options.engine)
    texts["hw-flags-label"] = label
    texts["hw-flags"] = flags
    attrs["hw-flags-box"] = {"data-has": "yes" if flags else "no"}
    table = [[r["name"], r["holds"], *(fmt_gib(part["bytes"]) for part in r["parts"][:3]),
              r["room"]] for r in rows]
    return ViewModel(texts=texts, attrs=attrs, rows={"placement": table})


def safe_compute(est: Any, options: Any) -> ViewModel:
    """``compute``, never failing the main estimate (a placement problem shows as text)."""
    try:
        return compute(est, options)
    except EstimatorError as exc:  # pragma: no cover - the core raises before this
        return ViewModel(texts={"hw-verdict": str(exc)}, attrs={}, rows={"placement": []})
