"""The fake-CUDA lane: the library's CUDA paths run on the CPU with CUDA faked (:mod:`helpers.fakecuda`), in every CI run."""

from __future__ import annotations

import pytest
from helpers.fakecuda import FakeCuda


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "cuda_fake" in str(item.path):
            item.add_marker(pytest.mark.cuda_fake)


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> FakeCuda:
    """One fake A100-class GPU (compute capability 8.0, 70 of 80 GiB free, nothing cached); change the fields to
    model another card. Tensors are fake only inside ``with fake_cuda.running():``."""
    fake = FakeCuda()
    fake.install(monkeypatch)
    return fake
