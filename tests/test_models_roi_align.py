"""RoIAlign with the sparse backward pass (landslide_utils.models.roi_align) against torchvision's own."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops import roi_align as tv_roi_align

from landslide_utils.models.roi_align import FastMultiScaleRoIAlign, roi_align


def _rois(k: int, seed: int, extent: float) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(k, 2, generator=g) * extent * 1.1 - 0.1 * extent  # some start outside the map
    wh = torch.rand(k, 2, generator=g) * extent * 0.6 + 0.2
    batch = torch.randint(0, 2, (k, 1), generator=g).float()
    return torch.cat([batch, xy, xy + wh], 1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.sampled_from([(7, 7), (14, 14), (3, 5)]),
       scale=st.sampled_from([1.0, 0.5, 0.25, 0.125]), ratio=st.integers(1, 3),
       hw=st.sampled_from([(8, 8), (13, 9), (32, 32)]))
def test_forward_and_input_gradient_equal_torchvisions(seed: int, size: tuple[int, int], scale: float, ratio: int,
                                                       hw: tuple[int, int]) -> None:
    g = torch.Generator().manual_seed(seed)
    feat = torch.randn(2, 5, *hw, generator=g, dtype=torch.float64, requires_grad=True)
    rois = _rois(11, seed, extent=max(hw) / scale).double()
    rois[0, 1:] = torch.tensor([-20.0, -20.0, 1e4, 1e4], dtype=torch.float64)  # larger than the map
    rois[1, 3:] = rois[1, 1:3]  # zero width and height (clamped to one pixel)
    ref = tv_roi_align(feat, rois, size, scale, ratio)
    out = roi_align(feat, rois, size, scale, ratio)
    assert torch.equal(out, ref)  # the forward pass is torchvision's
    grad_out = torch.randn(out.shape, generator=g, dtype=torch.float64)
    (want,) = torch.autograd.grad(ref, feat, grad_out)
    (got,) = torch.autograd.grad(out, feat, grad_out)
    torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-10)


def test_the_fast_path_can_be_told_apart_and_falls_back() -> None:
    feat = torch.randn(1, 3, 16, 16, requires_grad=True)
    rois = torch.tensor([[0.0, 1.0, 2.0, 9.0, 12.0]])
    assert roi_align(feat, rois, 4, 1.0, 2).grad_fn.name().endswith("_RoIAlignBackward")
    assert "_RoIAlign" not in roi_align(feat, rois, 4, 1.0, -1).grad_fn.name()  # adaptive sampling: torchvision
    with torch.no_grad():
        assert torch.equal(roi_align(feat, rois, 4, 1.0, 2), tv_roi_align(feat, rois, 4, 1.0, 2))


def test_a_gradient_that_differs_from_torchvisions_is_caught() -> None:
    """The comparison above can fail: a gradient missing one neighbour weight does not pass it."""
    feat = torch.randn(1, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[0.0, 0.5, 0.5, 6.3, 5.2]], dtype=torch.float64)
    (want,) = torch.autograd.grad(tv_roi_align(feat, rois, 3, 1.0, 2), feat, torch.ones(1, 2, 3, 3,
                                                                                      dtype=torch.float64))
    wrong = want.clone()
    wrong[0, 0, 1, 1] *= 0.9
    with pytest.raises(AssertionError):
        torch.testing.assert_close(wrong, want, rtol=1e-10, atol=1e-10)


def test_multiscale_pooling_gives_torchvisions_outputs_and_gradients() -> None:
    torch.manual_seed(0)
    feats = {"0": torch.randn(2, 4, 32, 32, requires_grad=True), "1": torch.randn(2, 4, 16, 16, requires_grad=True)}
    boxes = [torch.tensor([[3.0, 4.0, 60.0, 70.0], [10.0, 10.0, 20.0, 30.0]]),
             torch.tensor([[0.0, 0.0, 127.0, 127.0]])]
    shapes = [(128, 128), (128, 128)]
    fast = FastMultiScaleRoIAlign(["0", "1"], 7, 2)
    ref = fast.__class__.__bases__[0](["0", "1"], 7, 2)
    a, b = fast(feats, boxes, shapes), ref(feats, boxes, shapes)
    assert torch.equal(a, b)
    ga = torch.autograd.grad(a.sum(), list(feats.values()))
    gb = torch.autograd.grad(b.sum(), list(feats.values()))
    for x, y in zip(ga, gb):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6)
