"""The device resolver with 2 fake GPUs, under a fake torchrun rank and in one process (issue 26, findings 3, 4, 7)."""

from __future__ import annotations

import pytest
import torch

from wildvsr.errors import ConfigError, DeviceError
from wildvsr.inference.acceleration import resolve_precision
from wildvsr.inference.device import check_precision
from wildvsr.train.distributed import init_distributed
from wildvsr.utils.device import resolve_device


@pytest.mark.parametrize("name", ["auto", "cuda", "cuda:0"])
def test_torchrun_ranks_never_share_a_gpu(fake_cuda, name):
    """Finding 4: ``cuda:N`` under torchrun ignored the local rank, so both ranks took the same GPU (NCCL refuses)."""
    fake_cuda.gpus = 2
    devices = {resolve_device(name, local_rank) for local_rank in (0, 1)}
    assert devices == {torch.device("cuda", 0), torch.device("cuda", 1)}


def test_cuda_n_under_torchrun_is_the_nodes_first_gpu(fake_cuda):
    fake_cuda.gpus = 2
    assert resolve_device("cuda:1", 0) == torch.device("cuda", 1)
    with pytest.raises(DeviceError, match="cuda:2 for local rank 1"):
        resolve_device("cuda:1", 1)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)  # one process: GPU N


def test_init_distributed_under_a_torchrun_rank(fake_cuda, monkeypatch):
    fake_cuda.gpus = 2
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "1")  # one process of a torchrun launch: no process group to join here
    info = init_distributed("cuda:0")
    assert info.device == torch.device("cuda", 1) and info.local_rank == 1
    assert fake_cuda.calls == ["set_device:1"]


def test_one_process_on_cuda_1_makes_it_the_current_device(fake_cuda, monkeypatch):
    """Finding 7: without set_device, the DataLoader's pin-memory thread made a context on GPU 0."""
    fake_cuda.gpus = 2
    for var in ("LOCAL_RANK", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    assert init_distributed("cuda:1").device == torch.device("cuda", 1)
    assert fake_cuda.calls == ["set_device:1"] and torch.cuda.current_device() == 1


def test_bf16_is_judged_on_the_chosen_gpu(fake_cuda):
    """Finding 3: inference ``auto`` and an explicit bf16 check the compute capability of the chosen cuda:N."""
    fake_cuda.gpus, fake_cuda.capability = 2, [(8, 6), (7, 0)]  # an A10 and a V100; the current device is 0
    assert resolve_precision("auto", torch.device("cuda", 0)) == "bf16"
    assert resolve_precision("auto", torch.device("cuda", 1)) == "fp32"
    with pytest.raises(ConfigError, match="native bf16"):
        check_precision("bf16", torch.device("cuda", 1))
