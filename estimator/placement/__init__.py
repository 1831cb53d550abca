"""Where a model's parts go on the hardware you have: GPUs (mixed), system RAM, a Mac.

* llama.cpp (:mod:`.llama`): layers split over GPUs by free memory (``--tensor-split``
  overrides, :mod:`.llama_split`), and when that does not fit, placed as ``--fit`` /
  ``llama-fit-params`` does (common/fit.cpp ``common_params_fit_impl``, :mod:`.llama_fit`):
  1 GiB left free per device, layers filled back to front so the last GPU holds the output
  layer, MoE experts moved to system RAM before whole layers; :mod:`.llama_flags` writes
  the flags.
* Ollama (:mod:`.ollama`): its own estimate (llm/memory.go ``EstimateGPULayers``): a spare
  layer and a graph per GPU (:mod:`.ollama_graph`), layers handed out round robin, the
  output layer last.
* vLLM, SGLang, TGI, transformers (:mod:`.shards`): tensor parallelism needs equal shards,
  so the smallest device bounds every rank; nothing is offloaded.

Everything is plain data (:mod:`.records`): :meth:`Placement.to_dict` is the ``placement``
JSON object.
"""

from __future__ import annotations

from ..devices import Device
from ..engines import ENGINE_PROFILES
from ..layout import ModelLayout
from ..options import EstimateOptions
from ..result import Estimate
from ..spec import ModelSpec
from .records import CONTEXT_ALIGN, FIT_MARGIN_BYTES, DevicePlacement, Placement
from .shards import place_shards

__all__ = [
    "CONTEXT_ALIGN",
    "FIT_MARGIN_BYTES",
    "LAYER_ENGINES",
    "DevicePlacement",
    "Placement",
    "place",
    "round_context",
]

#: Engines that place whole layers (and offload the rest to system RAM).
LAYER_ENGINES = tuple(k for k, p in ENGINE_PROFILES.items() if p.layer_placement != "shards")


def place(
    spec: ModelSpec,
    layout: ModelLayout | None,
    est: Estimate,
    devices: tuple[Device, ...],
    options: EstimateOptions,
) -> Placement:
    """Place ``est`` on ``devices`` (and system RAM) the way ``options.engine`` does."""
    ram = options.ram_bytes
    apple = [d for d in devices if d.unified]
    if apple:
        ram = apple[0].memory_bytes  # the Mac's RAM is the system RAM
    rule = ENGINE_PROFILES[options.engine].layer_placement
    # the layer placers are imported on first use: the page's worker starts without them
    # (~5 ms of its start-up), and most estimates never place layers
    if rule != "shards" and layout is not None:
        if rule == "ollama-estimate":
            from .ollama import place_ollama

            return place_ollama(spec, layout, est, devices, ram, options)
        from .llama import place_llama

        return place_llama(spec, layout, est, devices, ram, options)
    return place_shards(est, devices, options)


def round_context(context: int) -> int:
    """A reduced context as llama.cpp's fit writes it: a multiple of 256, at least 256."""
    return (
        max(CONTEXT_ALIGN, context - context % CONTEXT_ALIGN)
        if context >= CONTEXT_ALIGN
        else context
    )
