"""A training step and a distillation step on a fake GPU (no backward: fake CUDA autograd would need a device
guard), with the precision and determinism ``auto`` resolves to there (issue 26, findings 3, 5 and 7)."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers.fakecuda import freeze
from helpers.train import tiny_config, write_clips

from wildvsr.data.dataset import collate
from wildvsr.models import create_model
from wildvsr.train.callbacks import MetricsLog, StepRecord
from wildvsr.train.config import load_config
from wildvsr.train.distill import DistillTrainer, teacher_dtype
from wildvsr.train.distributed import DistInfo
from wildvsr.train.parts import build_generator
from wildvsr.train.trainer import Trainer

CUDA = torch.device("cuda", 0)


def fake_batch(fake, batch: dict) -> dict:
    """A collated CPU batch as fake CPU tensors (the step moves them to the device itself)."""
    return {k: fake.mode.from_tensor(v) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def run_step(fake, trainer: Trainer, batch: dict) -> dict:
    """prepare_batch, the generator pass under the trainer's autocast and every loss term, on the fake device."""
    freeze(trainer.net_g)
    with fake.running(), torch.no_grad():
        generator, rng = trainer._step_generators()
        assert generator.device.type == "cuda"
        data = trainer.prepare_batch(batch, generator)
        with trainer._autocast():
            p = trainer.generator_pass(data, generator, rng)
            terms = {term.name: term.fn(p) for term in trainer.objective.terms}
    assert all(v.device == CUDA for v in data.values() if isinstance(v, torch.Tensor))
    return terms


@pytest.mark.parametrize("preset", ["bicubic", "realbasicvsr"])
def test_a_trainer_step_runs_on_the_gpu(fake_cuda, tmp_path: Path, preset):
    cfg = tiny_config(write_clips(tmp_path / "clips"), "train.device=cuda", "train.amp=auto",
                      f"degradation.preset={preset}")
    with fake_cuda.running():
        trainer = Trainer(cfg, tmp_path / "run", dist_info=DistInfo(0, 1, 0, CUDA),
                          net_g=fake_cuda.fake_module(build_generator(cfg.model)[0], frozen=False))
    assert trainer.amp_dtype == torch.bfloat16  # compute capability 8.0
    batch = fake_batch(fake_cuda, getattr(trainer.dataset, "collate", collate)([trainer.dataset[i] for i in range(2)]))
    assert run_step(fake_cuda, trainer, batch)


def test_a_distillation_step_runs_on_the_gpu(fake_cuda, tmp_path: Path, monkeypatch):
    import wildvsr.train.distill as distill

    cfg = load_config(Path(__file__).parents[1] / "train" / "distill_tiny.yaml",
                      [f"data.roots=[{write_clips(tmp_path / 'clips')}]", "train.device=cuda", "train.amp=auto",
                       "distill.teacher.amp=auto", f"distill.real_roots=[{write_clips(tmp_path / 'real', 2, 12, 32, 32)}]",
                       "distill.real_fraction=0.5"])
    teacher = fake_cuda.fake_module(create_model("rrdbnet", num_feat=8, num_block=1, num_grow_ch=4))
    monkeypatch.setattr(distill, "create_model", lambda *_args, **_kwargs: teacher)
    with fake_cuda.running():
        trainer = DistillTrainer(cfg, tmp_path / "run", dist_info=DistInfo(0, 1, 0, CUDA),
                                 net_g=fake_cuda.fake_module(build_generator(cfg.model)[0], frozen=False))
    assert trainer.teacher.dtype == torch.bfloat16
    batch = trainer.dataset.collate([trainer.dataset[i] for i in range(4)])
    batch = {k: None if v is None else fake_batch(fake_cuda, v) for k, v in batch.items()}
    assert run_step(fake_cuda, trainer, batch)


def test_auto_precision_is_not_bf16_on_a_gpu_without_native_bf16(fake_cuda, tmp_path: Path):
    """Finding 3: a T4 (7.5) reports bf16 "supported" through emulation; cuDNN has no bf16 convolution there. Training
    amp auto is fp32 and the teacher's auto falls back to fp16, judged on the chosen GPU, not the current one."""
    fake_cuda.gpus, fake_cuda.capability = 2, [(8, 0), (7, 5)]  # the current device (0) has bf16, cuda:1 has not
    cuda1 = torch.device("cuda", 1)
    assert teacher_dtype("auto", cuda1) == torch.float16 and teacher_dtype("auto", CUDA) == torch.bfloat16
    cfg = tiny_config(write_clips(tmp_path / "clips"), "train.device=cuda:1", "train.amp=auto")
    with fake_cuda.running():
        trainer = Trainer(cfg, tmp_path / "run", dist_info=DistInfo(0, 1, 0, cuda1),
                          net_g=fake_cuda.fake_module(build_generator(cfg.model)[0], frozen=False))
    assert trainer.amp_dtype is None


def test_deterministic_training_on_cuda_says_it_is_not_exact(fake_cuda, tmp_path: Path, caplog):
    """Finding 5: the backward of grid_sample / bilinear interpolation has no deterministic CUDA kernel."""
    cfg = tiny_config(write_clips(tmp_path / "clips"), "train.device=cuda", "train.deterministic=true")
    with fake_cuda.running(), caplog.at_level(logging.WARNING):
        Trainer(cfg, tmp_path / "run", dist_info=DistInfo(0, 1, 0, CUDA),
                net_g=fake_cuda.fake_module(build_generator(cfg.model)[0], frozen=False))
    assert "grid_sample" in caplog.text and "not bit-exact" in caplog.text


def test_peak_memory_is_per_log_window(fake_cuda):
    """Finding 7: without a reset every record repeats the largest peak of the run so far."""
    written: list[dict] = []
    trainer = SimpleNamespace(device=CUDA, dist=SimpleNamespace(is_main=True),
                              optim=SimpleNamespace(optim_g=SimpleNamespace(param_groups=[{"lr": 1e-4}])),
                              logbook=SimpleNamespace(write=lambda _step, record: written.append(record)))
    log = MetricsLog(every=1)
    for step in (1, 2):
        log.on_step_end(trainer, StepRecord(step, 2, {"loss/pix": 1.0}, 0.0, 1.0))
    assert len(written) == 2 and all("peak_mem_gib" in r for r in written)
    assert fake_cuda.calls.count("reset_peak") == 2


def test_numpy_of_a_device_tensor_fails_in_the_lane(fake_cuda):
    """The lane's own check: ``.numpy()`` of a device tensor fails as it does on a GPU."""
    with fake_cuda.running(), pytest.raises(TypeError, match="cuda:0"):
        torch.zeros(2, device="cuda").numpy()
    assert np.zeros(2).shape == (2,)
