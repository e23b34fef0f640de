"""The batch plan: uniform epochs as before, balanced batches with their landslide share (property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from landslide_utils.config.model_schema import TrainingSpec
from landslide_utils.training.sampling import batch_plan, landslide_slots, step_samples


def test_uniform_plan_is_epochs_of_every_sample() -> None:
    t = TrainingSpec(steps=10, batch_size=3, augment=False)
    seen = [i for s in range(4) for i in step_samples(t, seed=5, step=s, n=6, total_steps=10)[0]]
    assert sorted(seen[:6]) == list(range(6)) and sorted(seen[6:12]) == list(range(6))
    assert step_samples(t, seed=5, step=2, n=6, total_steps=10) == batch_plan(5, 2, 6, 3, False)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 40), share=st.floats(0.05, 0.95), batch=st.integers(1, 8), seed=st.integers(0, 99),
       frozen=st.sampled_from([0.0, 0.5]))
def test_balanced_batches_hold_their_landslide_share(n: int, share: float, batch: int, seed: int,
                                                     frozen: float) -> None:
    landslide = list(range(0, n, 3))  # every third sample holds a landslide
    t = TrainingSpec(steps=12, batch_size=batch, sampling="balanced", landslide_share=share, frozen_share=frozen,
                     frozen_batch_size=max(1, batch // 2) if frozen else None)
    plans = [step_samples(t, seed=seed, step=s, n=n, total_steps=12, landslide=landslide) for s in range(12)]
    for s, (idx, augs) in enumerate(plans):
        b = len(idx)
        assert len(augs) == b and all(0 <= i < n for i in idx)
        assert sum(i in landslide for i in idx) >= landslide_slots(b, share)
    again = [step_samples(t, seed=seed, step=s, n=n, total_steps=12, landslide=landslide) for s in (7, 3)]
    assert again == [plans[7], plans[3]]  # a pure function of (seed, step): resumable


def test_balanced_draws_every_landslide_sample_once_per_epoch_of_them() -> None:
    t = TrainingSpec(steps=8, batch_size=4, sampling="balanced", landslide_share=0.5, augment=False)
    landslide = [1, 4, 7, 9]
    drawn = [i for s in range(4) for i in step_samples(t, seed=0, step=s, n=10, total_steps=8,
                                                        landslide=landslide)[0][:2]]
    assert sorted(drawn[:4]) == landslide and sorted(drawn[4:]) == landslide
    counts = np.bincount(drawn, minlength=10)
    assert counts[landslide].tolist() == [2, 2, 2, 2]


def test_balanced_without_landslides_is_named() -> None:
    t = TrainingSpec(steps=2, batch_size=2, sampling="balanced")
    with pytest.raises(ValueError, match="sampling: balanced.*none of the training tiles"):
        step_samples(t, seed=0, step=0, n=4, total_steps=2, landslide=[])
