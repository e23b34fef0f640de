"""Models of the study: Mask R-CNN (Yang et al. 2022, Experiments I-IV; with the bottom-up path and edge loss of
Liu et al. 2021 as options), U-Net and PSPNet (V-VIII), and the FCN of Chen et al. (2022).

Use :func:`build_model` (the registry); it lists the valid names when given an unknown one.
"""

from landslide_utils.models.registry import (
           build_model,
           first_conv,
           load_pretrained,
           model_option_problem,
           model_task,
           spec_for,
)

__all__ = ["build_model", "first_conv", "load_pretrained", "model_option_problem", "model_task",
           "spec_for"]
