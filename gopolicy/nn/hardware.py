"""What the machine offers the networks: native bf16 on this CPU."""
from __future__ import annotations

from functools import lru_cache


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
