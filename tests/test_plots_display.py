"""Image display keeps colours: 8-bit values shown as they are, other data with one stretch for all bands."""

import numpy as np

from landslide_utils.plots.display import INVALID_GREY, rgb_display


def test_eight_bit_values_are_true_colour_and_invalid_grey():
    img = np.zeros((3, 2, 2), np.float32)
    img[:, 0, 0] = (255, 0, 51)
    valid = np.array([[True, True], [True, False]])
    out = rgb_display(img, valid)
    assert out.shape == (2, 2, 3)
    np.testing.assert_allclose(out[0, 0], (1.0, 0.0, 0.2))
    np.testing.assert_allclose(out[1, 1], INVALID_GREY)


def test_sixteen_bit_stretch_is_shared_by_the_bands():
    rng = np.random.default_rng(0)
    img = rng.uniform(1000, 3000, (3, 20, 20))
    img[0] *= 2  # a redder scene must stay redder after the stretch
    out = rgb_display(img)
    assert out[..., 0].mean() > out[..., 1].mean() + 0.2
    assert out.min() >= 0 and out.max() <= 1
    out2 = rgb_display(img, value_range=(0, 10000))
    np.testing.assert_allclose(out2[..., 1], img[1] / 10000)
