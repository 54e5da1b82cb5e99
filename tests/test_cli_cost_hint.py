"""The one-time hint of a long CPU job with the default model (wildvsr.cli.cost_hint), on a fake clock."""

from __future__ import annotations

from wildvsr.cli.cost_hint import CostHint, cost_hint_for
from wildvsr.defaults import DEFAULT_UPSCALE_MODEL, FAST_CPU_MODEL


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """An ``advance`` with ``set_total``, as the CLI's progress gives."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.total: int | None = None

    def __call__(self, n: int) -> None:
        self.calls.append(n)

    def set_total(self, total: int) -> None:
        self.total = total


def _hint(clock: Clock) -> tuple[CostHint, Recorder]:
    inner = Recorder()
    return CostHint(inner, DEFAULT_UPSCALE_MODEL, after=60, threshold=1200, clock=clock), inner


def test_a_long_job_prints_one_hint_with_the_projected_time_left(capsys):
    clock = Clock()
    hint, inner = _hint(clock)
    hint.set_total(1000)
    clock.now = 240.0  # 24 frames in 240 s: 976 frames left at 10 s each
    hint(24)
    clock.now = 480.0
    hint(24)
    err = capsys.readouterr().err
    assert err.count("hint:") == 1, err
    assert f"--model {FAST_CPU_MODEL}" in err and DEFAULT_UPSCALE_MODEL in err
    assert "2 h 43 min" in err  # 9,760 s
    assert inner.calls == [24, 24] and inner.total == 1000  # the wrapped progress still sees everything


def test_no_hint_before_the_speed_is_measured_or_for_a_short_job(capsys):
    clock = Clock()
    hint, _ = _hint(clock)
    hint.set_total(1000)
    clock.now = 30.0  # slow, but too early to trust the speed
    hint(1)
    clock.now = 120.0  # now 1000 frames in 120 s: done
    hint(999)
    short, _ = _hint(clock := Clock())
    short.set_total(100)
    clock.now = 100.0  # 90 frames left at 1 s each: 90 s
    short(10)
    assert "hint:" not in capsys.readouterr().err


def test_no_hint_without_a_total(capsys):
    clock = Clock()
    hint, _ = _hint(clock)
    clock.now = 1e4
    hint(1)
    assert capsys.readouterr().err == ""


def test_only_the_default_model_on_a_cpu_gets_the_hint():
    advance = Recorder()
    assert isinstance(cost_hint_for(advance, DEFAULT_UPSCALE_MODEL, "cpu"), CostHint)
    assert cost_hint_for(advance, FAST_CPU_MODEL, "cpu") is advance
    assert cost_hint_for(advance, DEFAULT_UPSCALE_MODEL, "cuda") is advance
    assert cost_hint_for(None, DEFAULT_UPSCALE_MODEL, "cpu") is None  # --quiet: nothing printed


def test_a_bad_device_name_is_left_to_the_job_to_report():
    advance = Recorder()
    assert cost_hint_for(advance, DEFAULT_UPSCALE_MODEL, "gpu0") is advance
