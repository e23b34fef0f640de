"""Models of the study: Mask R-CNN (Yang et al. 2022, Experiments I-IV), U-Net and PSPNet (V-VIII).

Use :func:`build_model` (the registry); it lists the valid names when given an unknown one.
"""

from .registry import MODEL_NAMES, build_model, first_conv, load_pretrained, model_task, spec_for

__all__ = ["MODEL_NAMES", "build_model", "first_conv", "load_pretrained", "model_task", "spec_for"]
