"""Figure settings shared by the notebooks: inline figures as compact JPEG (the committed reports and their HTML
exports stay small), saved figures as PNG at 100 dpi by each plot function."""

from __future__ import annotations

import warnings

import matplotlib as mpl

__all__ = ["use_notebook_style"]


def use_notebook_style(*, inline_dpi: int = 72, jpeg_quality: int = 75) -> None:
    """Show inline figures as JPEG at ``inline_dpi`` (call once at the top of a notebook)."""
    mpl.rcParams["figure.dpi"] = inline_dpi
    # tqdm.auto (imported by the model libraries) warns when ipywidgets is absent; plain bars are intended
    warnings.filterwarnings("ignore", message="IProgress not found")
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats  # noqa: PLC0415 - present only in a Jupyter kernel
    except ImportError:  # not in a Jupyter kernel
        return
    set_matplotlib_formats("jpeg", pil_kwargs={"quality": jpeg_quality})
