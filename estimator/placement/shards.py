"""The placement of engines with tensor parallelism (vLLM, SGLang, TGI, transformers):
equal shards, so the smallest device bounds every rank; nothing is offloaded."""

from __future__ import annotations

from ..devices import Device
from ..options import EstimateOptions
from ..result import Estimate
from .records import DevicePlacement, Placement, gib

__all__ = ["place_shards"]


def place_shards(
    est: Estimate, devices: tuple[Device, ...], options: EstimateOptions
) -> Placement:
    """Equal shards: every rank holds the same bytes, so the smallest GPU bounds them all."""
    par = est.parallel
    smallest = min(devices, key=lambda d: d.usable_bytes)
    reserve = options.gpu_memory_utilization if est.engine_reserved_bytes is not None else 1.0
    rows = tuple(
        DevicePlacement(
            name=d.name,
            key=d.key,
            memory_bytes=d.usable_bytes,
            weights_bytes=par.weights_per_gpu_bytes,
            kv_bytes=par.kv_per_gpu_bytes,
            buffers_bytes=par.per_gpu_bytes - par.weights_per_gpu_bytes - par.kv_per_gpu_bytes,
            layers=est.model.layers // max(par.pipeline_parallel, 1),
            output=True,
            margin_bytes=int(d.usable_bytes * (1 - reserve)),
        )
        for d in devices
    )
    need = par.per_gpu_bytes
    bound = int(smallest.usable_bytes * reserve)
    fits = need <= bound
    mixed = len({d.key for d in devices}) > 1
    notes = []
    if mixed:
        notes.append(
            f"{est.options.engine} splits every matrix into equal tensor-parallel shards, so "
            f"the smallest GPU ({smallest.name}, {gib(smallest.usable_bytes)}) bounds each "
            "rank; the memory the larger GPUs have beyond it stays unused"
        )
    verdict = (
        f"fits: {gib(need)} per GPU of {gib(bound)} usable on the smallest"
        if fits
        else f"does not fit: {gib(need)} per GPU, the smallest offers {gib(bound)}"
    )
    return Placement(
        engine=est.options.engine,
        strategy="equal-shards",
        devices=rows,
        cpu=None,
        flags=_flags(est, options),
        fits=fits,
        on_gpus=True,
        verdict=verdict,
        context=est.context,
        gpu_layers=est.model.layers + 1,
        total_layers=est.model.layers + 1,
        notes=tuple(notes),
    )


def _flags(est: Estimate, options: EstimateOptions) -> tuple[str, ...]:
    par = est.parallel
    flags = [f"--tensor-parallel-size {par.tensor_parallel}"]
    if par.pipeline_parallel > 1:
        flags.append(f"--pipeline-parallel-size {par.pipeline_parallel}")
    if est.engine_reserved_bytes is not None:
        flags.append(f"--gpu-memory-utilization {options.gpu_memory_utilization:g}")
    flags.append(f"--max-model-len {est.context}")
    return tuple(flags)
