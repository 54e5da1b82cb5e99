"""CUDA faked on the CPU, for the fake-CUDA lane (``tests/cuda_fake``; its ``fake_cuda`` fixture installs it): the
library's real code runs its CUDA paths here, so a CPU tensor where a device tensor belongs, a generator on the wrong
device, a ``.numpy()`` of a device tensor or a model call planned beyond the memory budget fails in CI, on a machine
without a GPU.

How: inside :meth:`FakeCuda.running`, tensors on ``cuda:N`` are PyTorch FakeTensors (shapes, dtypes and devices, no
data), so PyTorch's own device-mismatch checks stay on; ``torch.Generator(device="cuda")`` reports device cuda, and
every random op checks its generator's device type against its target's, as PyTorch does on a real GPU. Values that
need data (``bool``, ``item``) are placeholders, so only device placement and call sizes are checked, never numbers,
and there is no backward (fake CUDA autograd would need a device guard). ``torch.cuda`` answers from the settings of
:class:`FakeCuda` (GPU count, compute capability, free and cached memory). Every patch goes through a
``pytest.MonkeyPatch`` and is undone after the test: the rest of the suite sees the real torch.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torch._subclasses.fake_tensor as fake_tensor_module
from torch import nn
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode, unset_fake_temporarily
from torch.overrides import TorchFunctionMode

GIB = 2**30
_RealGenerator = torch.Generator
_RANDOM_OPS = {torch.randn, torch.rand, torch.randint, torch.randperm, torch.normal, torch.bernoulli, torch.multinomial,
               torch.randn_like, torch.rand_like, torch.randint_like}


class FakeCudaGenerator(_RealGenerator):
    """A CPU generator that reports the device it was asked for (``cuda`` -> ``cuda:0``)."""

    def __new__(cls, device: str | torch.device = "cpu"):  # noqa: ARG004  (the signature of torch.Generator)
        return _RealGenerator.__new__(cls, device="cpu")

    def __init__(self, device: str | torch.device = "cpu") -> None:
        dev = torch.device(device)
        self._device = torch.device("cuda", 0) if dev.type == "cuda" and dev.index is None else dev

    @property
    def device(self) -> torch.device:
        return self._device


def check_generator(generator: torch.Generator, target: torch.device, op: str) -> None:
    """PyTorch's rule for random ops: the generator's device type is the target's (a CUDA op needs a CUDA generator)."""
    have = getattr(generator, "device", torch.device("cpu"))
    if have.type != target.type:
        raise RuntimeError(f"Expected a '{target.type}' device type for generator but found '{have.type}' ({op})")


class GeneratorDeviceCheck(TorchFunctionMode):
    """Checks every random op's ``generator`` against its target device, then draws from a plain CPU generator (a
    FakeTensor op cannot take the fake CUDA one)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        generator = kwargs.get("generator")
        if generator is not None and func in _RANDOM_OPS:
            if kwargs.get("device") is not None:
                target = torch.device(kwargs["device"])
            elif args and isinstance(args[0], torch.Tensor):
                target = args[0].device
            else:
                target = torch.device("cpu")
            check_generator(generator, target, func.__name__)
            kwargs = dict(kwargs, generator=_RealGenerator().manual_seed(0))
        return func(*args, **kwargs)


@dataclass
class FakeCuda:
    """The fake's settings and what the code under test asked of it.

    Attributes:
        gpus: ``torch.cuda.device_count()``.
        capability: compute capability of every GPU (``(7, 5)`` is a T4, ``(8, 0)`` an A100), or a list, one per
            GPU.
        free_gib / total_gib: ``mem_get_info`` (the driver's view: PyTorch's cached blocks count as used).
        reserved_gib / allocated_gib: PyTorch's caching allocator (reserved - allocated is cached but free).
        calls: ``empty_cache``, ``set_device:N``, ``reset_peak``, in order.
        exc_at_empty_cache: ``sys.exc_info()[0]`` at each ``empty_cache`` (an exception being handled then still
            holds the failed call's tensors).
    """

    gpus: int = 1
    capability: tuple[int, int] | list[tuple[int, int]] = (8, 0)
    free_gib: float = 70.0
    total_gib: float = 80.0
    reserved_gib: float = 0.0
    allocated_gib: float = 0.0
    calls: list[str] = field(default_factory=list)
    exc_at_empty_cache: list[type | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.mode = FakeTensorMode(allow_non_fake_inputs=True)

    def capability_of(self, index: int) -> tuple[int, int]:
        return self.capability[index] if isinstance(self.capability, list) else self.capability

    # ------------------------------------------------------------------------------------------------ conversions
    def fake(self, tensor: torch.Tensor, device: str | torch.device = "cuda:0") -> torch.Tensor:
        """A real CPU tensor as a FakeTensor on ``device``."""
        with self.mode:
            return self.mode.from_tensor(tensor).to(device)

    def fake_module(self, module: nn.Module, frozen: bool = True) -> nn.Module:
        """``module`` with its parameters and buffers as CPU FakeTensors (``.to("cuda")`` then moves them), frozen
        unless asked (an optimizer wants trainable ones: freeze them before a step, :func:`freeze`): autocast's
        weight cache would want an autograd device guard for a fake CUDA leaf that requires grad."""
        with self.mode:
            for m in module.modules():
                for k, p in list(m._parameters.items()):
                    if p is not None:
                        m._parameters[k] = nn.Parameter(self.mode.from_tensor(p.detach()),
                                                                requires_grad=p.requires_grad and not frozen)
                for k, b in list(m._buffers.items()):
                    if b is not None:
                        m._buffers[k] = self.mode.from_tensor(b)
        return module

    # ---------------------------------------------------------------------------------------------------- running
    @contextlib.contextmanager
    def running(self) -> Iterator[FakeCuda]:
        """Fake tensors and generator checks on, for the block (the torch patches are on for the whole test)."""
        with self.mode, GeneratorDeviceCheck():
            yield self

    def install(self, mp: pytest.MonkeyPatch) -> None:
        """Patch torch for this test (undone by ``mp``)."""
        self._patch_cuda_module(mp)
        self._patch_tensor_methods(mp)
        self._patch_module_conversion(mp)
        mp.setattr(torch, "Generator", FakeCudaGenerator)
        mp.setattr(fake_tensor_module, "CONSTANT_NUMEL_LIMIT", 0)  # no real constants inside fake graphs
        mp.setattr(torch, "poisson", _fake_aware_poisson(torch.poisson))
        mp.setattr(torch, "tensor", _fake_aware_tensor(torch.tensor, self.mode))

    def _patch_cuda_module(self, mp: pytest.MonkeyPatch) -> None:
        cuda = torch.cuda
        current = {"index": 0}

        def index_of(device=None) -> int:
            if device is None:
                return current["index"]
            index = device if isinstance(device, int) else torch.device(device).index
            index = current["index"] if index is None else index
            if index >= self.gpus:
                raise RuntimeError(f"CUDA error: invalid device ordinal {index}")
            return index

        def set_device(device) -> None:
            current["index"] = index_of(device)
            self.calls.append(f"set_device:{current['index']}")

        def empty_cache() -> None:
            self.calls.append("empty_cache")
            self.exc_at_empty_cache.append(sys.exc_info()[0])

        def reserved(device=None) -> int:
            index_of(device)
            return int(self.reserved_gib * GIB)

        def allocated(device=None) -> int:
            index_of(device)
            return int(self.allocated_gib * GIB)

        patches = {
            "is_available": lambda: True, "is_initialized": lambda: True, "device_count": lambda: self.gpus,
            "current_device": lambda: current["index"], "set_device": set_device,
            "get_device_capability": lambda device=None: self.capability_of(index_of(device)),
            # the real default counts emulation: True on a T4 too (the trap the library must not fall into); and it
            # asks about the current device only
            "is_bf16_supported": lambda including_emulation=True: including_emulation or
            self.capability_of(current["index"]) >= (8, 0),
            "mem_get_info": lambda device=None: (index_of(device), (int(self.free_gib * GIB),
                                                                   int(self.total_gib * GIB)))[1],
            "memory_reserved": reserved, "memory_allocated": allocated, "max_memory_allocated": allocated,
            "reset_peak_memory_stats": lambda _device=None: self.calls.append("reset_peak"),
            "empty_cache": empty_cache, "synchronize": lambda _device=None: None,
            "get_rng_state_all": lambda: [torch.zeros(16, dtype=torch.uint8)] * self.gpus,
            "set_rng_state_all": lambda _states: None,
        }
        for name, fn in patches.items():
            mp.setattr(cuda, name, fn)

    @staticmethod
    def _patch_tensor_methods(mp: pytest.MonkeyPatch) -> None:
        """Data-dependent calls on FakeTensors give placeholders; ``.numpy()`` of a device tensor fails as on a GPU."""
        for name, value in (("__bool__", True), ("item", 0.5), ("__float__", 0.5), ("__int__", 1), ("__index__", 1)):
            mp.setattr(torch.Tensor, name, _placeholder(getattr(torch.Tensor, name), value))
        real_numpy, real_tolist = torch.Tensor.numpy, torch.Tensor.tolist

        def numpy(self, *args, **kwargs):
            if not isinstance(self, FakeTensor):
                return real_numpy(self, *args, **kwargs)
            if self.device.type != "cpu":
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy "
                                "the tensor to host memory first.")
            with unset_fake_temporarily():
                return real_numpy(torch.zeros(tuple(self.shape), dtype=self.dtype))

        mp.setattr(torch.Tensor, "numpy", numpy)
        mp.setattr(torch.Tensor, "tolist",
                   lambda self: np.ones(tuple(self.shape)).tolist() if isinstance(self, FakeTensor) else real_tolist(self))
        real_equal = torch.equal

        def equal(a, b):  # data: "not equal" (the mirror-symmetry shortcut of recurrent models is skipped)
            if not (isinstance(a, FakeTensor) or isinstance(b, FakeTensor)):
                return real_equal(a, b)
            if a.device != b.device:
                raise RuntimeError(f"equal: {a.device} vs {b.device}")
            return False

        mp.setattr(torch, "equal", equal)
        real_getitem, real_setitem = torch.Tensor.__getitem__, torch.Tensor.__setitem__
        mp.setattr(torch.Tensor, "__getitem__",
                   lambda self, idx: fake_getitem(self, idx) if isinstance(self, FakeTensor) else real_getitem(self, idx))
        mp.setattr(torch.Tensor, "__setitem__", lambda self, idx, value: _setitem(real_setitem, self, idx, value))
        real_invert = torch.Tensor.__invert__
        mp.setattr(torch.Tensor, "__invert__",
                   lambda self: torch.bitwise_not(self) if isinstance(self, FakeTensor) else real_invert(self))

    @staticmethod
    def _patch_module_conversion(mp: pytest.MonkeyPatch) -> None:
        """``Module.to`` on FakeTensor parameters: new Parameter objects instead of PyTorch's in-place swap, which a
        FakeTensor cannot do."""

        def apply(self, fn, recurse=True):
            if recurse:
                for child in self.children():
                    child._apply(fn)
            for k, p in self._parameters.items():
                if p is not None:
                    with torch.no_grad():
                        moved = fn(p)
                    if moved is not p:
                        self._parameters[k] = nn.Parameter(moved, requires_grad=p.requires_grad)
            for k, b in self._buffers.items():
                if b is not None:
                    self._buffers[k] = fn(b)
            return self

        mp.setattr(nn.Module, "_apply", apply)


def freeze(module: nn.Module) -> nn.Module:
    """No gradients for ``module`` (the lane runs no backward)."""
    return module.requires_grad_(False)


def _placeholder(real, value):
    def method(self, *args):
        return value if isinstance(self, FakeTensor) else real(self, *args)
    return method


def _fake_aware_poisson(real):
    """``torch.poisson`` has no FakeTensor kernel: check the generator as PyTorch does, return an empty result."""
    def poisson(x, generator=None):
        if not isinstance(x, FakeTensor):
            return real(x, generator=generator)
        if generator is not None:
            check_generator(generator, x.device, "poisson")
        return torch.empty_like(x)
    return poisson


def _fake_aware_tensor(real, mode: FakeTensorMode):
    """``torch.tensor(data, device="cuda")``: built on the CPU from real data, then made a fake device tensor."""
    def tensor(data, *args, device=None, **kwargs):
        if device is None or torch.device(device).type != "cuda":
            return real(data, *args, device=device, **kwargs)
        with unset_fake_temporarily():
            cpu = real(data, *args, **kwargs)
        return mode.from_tensor(cpu).to(device)
    return tensor


# Python indexing of a FakeTensor on 'cuda' goes through a device guard that a CPU-only PyTorch lacks, so it is
# rebuilt here from aten ops that only compute shapes: ints select, slices slice, None adds a dim, index tensors
# (which must be on the CPU or the tensor's device, as on a GPU) become one advanced-index block.
def fake_getitem(t: torch.Tensor, idx) -> torch.Tensor:
    idx = idx if isinstance(idx, tuple) else (idx,)
    idx = tuple(torch.as_tensor(i) if isinstance(i, list) else i for i in idx)
    idx = _expand_ellipsis(t, idx)
    dim, advanced = 0, []  # advanced: (dim, index shape)
    for i in idx:
        if i is None:
            t = t.unsqueeze(dim)
            dim += 1
        elif isinstance(i, (int, np.integer)):
            t = t.select(dim, int(i))
        elif isinstance(i, slice):
            start, stop, step = i.indices(t.shape[dim])
            t = torch.ops.aten.slice.Tensor(t, dim, start, stop, step)
            dim += 1
        elif isinstance(i, torch.Tensor):
            if i.dim() > 0 and i.device.type != "cpu" and i.device != t.device:
                raise RuntimeError(f"indices on {i.device}, tensor on {t.device}")
            shapes = [(i.numel(),)] * i.dim() if i.dtype == torch.bool else [tuple(i.shape)]
            for shape in shapes:  # a mask is assumed all True: its count is data
                advanced.append((dim, shape))
                dim += 1
        else:
            raise TypeError(f"fake getitem: unsupported index {type(i).__name__}")
    return _advanced_result(t, advanced) if advanced else t


def _expand_ellipsis(t: torch.Tensor, idx: tuple) -> tuple:
    used = sum(i.dim() if isinstance(i, torch.Tensor) and i.dtype == torch.bool else 1
               for i in idx if i is not None and i is not Ellipsis)
    where = [k for k, i in enumerate(idx) if i is Ellipsis]
    if not where:
        return idx
    return idx[:where[0]] + (slice(None),) * (t.dim() - used) + idx[where[0] + 1:]


def _advanced_result(t: torch.Tensor, advanced: list[tuple[int, tuple]]) -> torch.Tensor:
    """NumPy's rule: adjacent index dims are replaced in place by the broadcast index shape, else moved to the front."""
    shape = tuple(torch.broadcast_shapes(*[s for _, s in advanced]))
    dims = [d for d, _ in advanced]
    first = dims[0] if dims == list(range(dims[0], dims[0] + len(dims))) else 0
    rest = [t.shape[d] for d in range(t.dim()) if d not in dims]
    before = [t.shape[d] for d in range(first) if d not in dims]
    return t.new_empty(before + list(shape) + rest[len(before):])


def _setitem(real_setitem, t: torch.Tensor, idx, value) -> None:
    if not (isinstance(t, FakeTensor) or isinstance(value, FakeTensor)):
        return real_setitem(t, idx, value)
    if isinstance(value, torch.Tensor) and value.dim() > 0 and value.device != t.device:
        raise RuntimeError(f"setitem: value on {value.device}, tensor on {t.device}")
    if isinstance(t, FakeTensor):
        fake_getitem(t, idx)  # the index must be valid for the tensor
    return None
