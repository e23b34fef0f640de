"""Learning-rate schedules: pure functions of the step (property tests)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from landslide_utils.training.schedule import ONECYCLE_END, ONECYCLE_START, lr_factor


@given(total=st.integers(1, 400), warm=st.integers(0, 50), schedule=st.sampled_from(["constant", "cosine", "onecycle"]))
def test_factors_stay_in_zero_one(total: int, warm: int, schedule: str) -> None:
    fs = [lr_factor(schedule, step=s, total_steps=total, warmup_steps=warm) for s in range(total)]
    assert all(0 < f <= 1 for f in fs)


@given(total=st.integers(2, 300), warm=st.integers(0, 40))
def test_warmup_rises_then_cosine_falls(total: int, warm: int) -> None:
    fs = [lr_factor("cosine", step=s, total_steps=total, warmup_steps=warm) for s in range(total)]
    w = min(warm, total - 1)
    assert all(a < b for a, b in zip(fs[:w], fs[1:w + 1]))              # linear warm-up rises
    assert fs[w] == 1.0                                                  # the peak right after it
    assert all(a >= b for a, b in zip(fs[w:], fs[w + 1:]))              # then never rises again


def test_constant_is_the_paper_and_onecycle_matches_its_ends() -> None:
    assert [lr_factor("constant", step=s, total_steps=10) for s in range(10)] == [1.0] * 10
    assert [lr_factor("constant", step=s, total_steps=10, warmup_steps=3) for s in range(4)] == [0.25, 0.5, 0.75, 1]
    fs = [lr_factor("onecycle", step=s, total_steps=100) for s in range(100)]
    assert fs[0] == pytest.approx(ONECYCLE_START) and fs[-1] == pytest.approx(ONECYCLE_END)
    assert max(fs) == 1.0 and fs.index(1.0) == 30                      # 30 % of the steps rise
    assert lr_factor("cosine", step=50, total_steps=101) == pytest.approx(0.5 * (1 + math.cos(math.pi * 50 / 101)))


def test_bad_schedule_and_step_are_named() -> None:
    with pytest.raises(ValueError, match="training.schedule: 'linear'"):
        lr_factor("linear", step=0, total_steps=3)
    with pytest.raises(ValueError, match="outside the budget"):
        lr_factor("cosine", step=3, total_steps=3)
