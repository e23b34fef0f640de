"""The baselines of Gao et al. (2021): FC-DenseNet, SegNet and ResUNet (shapes, gradients, parameter counts)."""

from __future__ import annotations

import pytest
import torch

from landslide_utils.models import fcdensenet, resunet, segnet
from landslide_utils.models.fcdensenet import FCDenseNet
from landslide_utils.models.resunet import ResUNet
from landslide_utils.models.segnet import SegNet

#: small variants for the forward / backward checks (the defaults are counted, not run)
SMALL = {
    "fcdensenet": lambda c: FCDenseNet(in_channels=c, growth_rate=4, down_blocks=(2, 2, 2, 2, 2),
                                       bottleneck_layers=2, first_filters=8),
    "segnet": lambda c: SegNet(in_channels=c, width=16),
    "resunet": lambda c: ResUNet(in_channels=c, filters=(8, 16, 32, 64, 128)),
    "resunet_nearest": lambda c: ResUNet(in_channels=c, filters=(8, 16, 32, 64), upsample="nearest"),
}


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize(("n", "c"), [(1, 3), (2, 12)])
def test_forward_shape_and_finite_gradients(name: str, n: int, c: int) -> None:
    torch.manual_seed(0)
    model = SMALL[name](c)
    x = torch.randn(n, c, 64, 64)
    out = model(x)
    assert out.shape == (n, 1, 64, 64)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(out, (x[:, :1] > 0).float())
    loss.backward()
    for pname, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, pname
            assert torch.isfinite(p.grad).all(), pname


def test_default_models_run_at_their_output_stride() -> None:
    torch.manual_seed(0)
    for model in (FCDenseNet(in_channels=3), SegNet(in_channels=3, width=8), ResUNet(in_channels=3)):
        model.eval()
        with torch.no_grad():
            assert model(torch.randn(1, 3, 32, 64)).shape == (1, 1, 32, 64)
    assert FCDenseNet(in_channels=3).output_stride == 32
    assert SegNet(in_channels=3).output_stride == 32
    assert ResUNet(in_channels=3).output_stride == 8


def test_classes_gives_that_many_logits() -> None:
    model = SegNet(in_channels=4, classes=3, width=8).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 4, 32, 32)).shape == (1, 3, 32, 32)


@pytest.mark.parametrize(("module", "build", "exact", "tolerance"), [
    (fcdensenet, lambda: FCDenseNet(in_channels=16), 2_944_817, 0.01),
    (segnet, lambda: SegNet(in_channels=16), 29_443_137, 0.001),
    (resunet, lambda: ResUNet(in_channels=16), 9_605_057, 0.03),
    (resunet, lambda: ResUNet(in_channels=16, upsample="nearest"), 8_227_905, 0.17),
])
def test_default_parameter_counts_match_gao_table_ix(module, build, exact: int, tolerance: float) -> None:  # noqa: ANN001
    """The counts the modules' docstrings state, and how near Gao et al.'s Table IX they are (16 input bands,
    one logit): FC-DenseNet within 1 %, SegNet 0.1 %, ResU-Net 3 % (Zhang et al.'s nearest upsampling: 17 %)."""
    count = _count(build())
    assert count == exact
    assert abs(count / module.PAPER_PARAMETERS - 1) <= tolerance, count


@pytest.mark.parametrize("name", sorted(SMALL))
def test_input_size_not_a_multiple_of_the_output_stride_is_refused(name: str) -> None:
    model = SMALL[name](3)
    s = model.output_stride
    with pytest.raises(ValueError, match=f"multiple of {s}"):
        model(torch.randn(1, 3, 2 * s + s // 2, 2 * s))
    with pytest.raises(ValueError, match=f"multiple of {s}"):
        model(torch.randn(1, 3, 2 * s, 2 * s - s // 4))


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="up_blocks"):
        FCDenseNet(in_channels=3, down_blocks=(2, 2), up_blocks=(2,))
    with pytest.raises(ValueError, match="compression"):
        FCDenseNet(in_channels=3, compression=0.0)
    with pytest.raises(ValueError, match="upsample"):
        ResUNet(in_channels=3, upsample="bilinear")  # type: ignore[arg-type]
