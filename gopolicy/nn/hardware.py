"""What the machine offers the networks: native bf16 on this CPU or GPU."""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from gopolicy.util.args import PRECISIONS  # the --precision choices: see use_bf16

if TYPE_CHECKING:
    import torch


@lru_cache(maxsize=None)
def cpu_has_bf16() -> bool:
    """Whether this CPU has native bf16 arithmetic (AVX512-BF16 or AMX-BF16), where bf16 pays off
    (measured here: 2.5-5x faster than fp32 for these convnets); False where it cannot tell."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = {word for line in f if line.startswith("flags") for word in line.split()}
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def native_bf16(device: "torch.device | str") -> bool:
    """Whether ``device`` computes in bf16 natively (a CUDA GPU that supports it, or such a CPU):
    where ``precision="auto"`` picks bf16. (torch is imported here, not above: the GTP engine
    imports this module and answers its first commands before torch has loaded.)"""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def use_bf16(precision: str, device: "torch.device | str") -> bool:
    """Resolves a ``--precision`` choice: "auto" (native bf16 only), "bf16" or "fp32"."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return native_bf16(device) if precision == "auto" else precision == "bf16"

