"""Process layout of a training run: one process (CPU or one GPU), or DistributedDataParallel
when launched by torchrun (SageMaker's ``torch_distributed``), which sets WORLD_SIZE/RANK/LOCAL_RANK."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"


def setup_runtime(device: str = "auto") -> Runtime:
    """Join the process group when torchrun started us; pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if device not in ("auto", "cuda", "cpu"):
        use_cuda = device.startswith("cuda") and torch.cuda.is_available()
    if use_cuda:
        if world_size > 1:
            index = local_rank
        else:
            index = torch.device(device).index or 0 if device.startswith("cuda:") else 0
        torch.cuda.set_device(index)
        chosen = torch.device("cuda", index)
    else:
        chosen = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    runtime = Runtime(chosen, rank, local_rank, world_size)
    _warn_about_unused_hardware(runtime)
    return runtime


def _warn_about_unused_hardware(runtime: Runtime) -> None:
    if not runtime.is_main or runtime.distributed:
        return
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus > 1:
        log.warning("%d GPUs visible but one process runs: launch with torchrun "
                    "(SageMaker distribution torch_distributed) to use them all", gpus)
    hosts = json.loads(os.environ.get("SM_HOSTS", "[]") or "[]")
    if len(hosts) > 1:
        log.warning("%d SageMaker hosts but not launched with torchrun: each trains alone and only %s saves "
                    "the model", len(hosts), hosts[0])


def is_model_writer(runtime: Runtime) -> bool:
    """Rank 0, and on a multi-host job without torchrun only the first SageMaker host."""
    if not runtime.is_main:
        return False
    hosts = json.loads(os.environ.get("SM_HOSTS", "[]") or "[]")
    current = os.environ.get("SM_CURRENT_HOST")
    return runtime.distributed or not hosts or not current or current == hosts[0]


def all_reduce_sum(values: list[float], runtime: Runtime) -> list[float]:
    """Sum per-process numbers (loss sums, confusion counts) over all processes."""
    if not runtime.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=runtime.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def broadcast_flag(flag: bool, runtime: Runtime) -> bool:
    if not runtime.distributed:
        return flag
    tensor = torch.tensor([1 if flag else 0], device=runtime.device)
    dist.broadcast(tensor, src=0)
    return bool(tensor.item())


def broadcast_value(value: float, runtime: Runtime) -> float:
    """Rank 0's number on every process (e.g. a time budget's progress, which each clock reads differently)."""
    if not runtime.distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=runtime.device)
    dist.broadcast(tensor, src=0)
    return float(tensor.item())


def barrier(runtime: Runtime) -> None:
    if runtime.distributed:
        dist.barrier()


def shutdown(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()
