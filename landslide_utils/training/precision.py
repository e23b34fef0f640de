"""Numerical precision of training and prediction: ``fp32``, ``bf16`` or ``auto``.

``bf16`` runs the forward pass (and the loss) under ``torch.autocast`` with bfloat16 while the weights, the
optimiser state and the gradients' update stay float32 ("fp32 master weights"). ``auto`` picks ``bf16`` only
where the hardware computes it natively -- a CUDA GPU that supports bfloat16, or a CPU whose oneDNN reports
bf16 support (AVX512-BF16 or AMX) -- and ``fp32`` everywhere else: on a CPU without it, bfloat16 is emulated and
far slower than float32 (measured by ``make bench``; see reports/README.md, "Performance").

CPU runs stay repeatable in either precision (same threads, same seeds, same numbers); the effect of bf16 on
accuracy is measured by the precision sweep (``params/sweeps/precision.yaml``), not assumed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Literal

import torch

__all__ = ["PRECISIONS", "Precision", "bf16_native", "resolve_precision", "autocast"]

Precision = Literal["fp32", "bf16", "auto"]
PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "auto")


@lru_cache(maxsize=None)
def _cpu_bf16() -> bool:
    try:
        if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return True
    except (AttributeError, RuntimeError):
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = next((line for line in fh if line.startswith("flags")), "")
    except OSError:
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def bf16_native(device: str | torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively (see the module docstring)."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if dev.type == "cpu":
        return _cpu_bf16()
    return False


def resolve_precision(precision: str, device: str | torch.device) -> Literal["fp32", "bf16"]:
    """``fp32`` or ``bf16`` for a precision setting on a device.

    Raises:
        ValueError: an unknown precision.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return "bf16" if bf16_native(device) else "fp32"
    return precision  # type: ignore[return-value]


@contextlib.contextmanager
def autocast(precision: str, device: str | torch.device) -> Iterator[None]:
    """``torch.autocast`` with bfloat16 when ``precision`` resolves to ``bf16`` on ``device``, else nothing."""
    dev = torch.device(device)
    if resolve_precision(precision, dev) == "bf16":
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16):
            yield
    else:
        yield
