"""Memory: the out-of-memory error training raises, recognising the libraries' own, and
letting the host allocator keep freed blocks for reuse."""

from __future__ import annotations

import ctypes
import os


class DeviceMemoryError(MemoryError):
    """A batch did not fit in device memory. The weights are unchanged: training can go on
    with a smaller ``batch_size`` (or streamed chunks)."""

    def __init__(self, batch_size: int, needed: int, device, limit: int | None = None):
        self.batch_size, self.needed, self.limit = batch_size, needed, limit
        room = "" if limit is None else f" of the {limit:,} allowed"
        smaller = max(1, batch_size // 2)
        super().__init__(
            f"batch_size={batch_size}: training needs about {needed:,} bytes on {device}{room}; "
            f"try batch_size={smaller}, or stream the data with fit(..., chunk_rows=...)"
        )


def out_of_memory(err: BaseException) -> bool:
    """True when ``err`` is a backend's out-of-memory error."""
    if isinstance(err, MemoryError):
        return True
    if type(err).__name__ == "OutOfMemoryError":  # cupy's and torch's
        return True
    text = str(err)  # JAX's RESOURCE_EXHAUSTED; torch's CPU allocator raises a RuntimeError
    return type(err).__name__.endswith("RuntimeError") and (
        "RESOURCE_EXHAUSTED" in text or "DefaultCPUAllocator: can't allocate memory" in text
    )


ALLOCATOR = {"tuned": False}
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
KEEP_FREED_BYTES = 1 << 30


def reuse_freed_host_memory() -> bool:
    """Let glibc keep freed blocks up to 1 GiB for reuse; True once it is set in this process.

    Pure steps make new weight arrays at every update. glibc gives a freed block over
    32 MiB back to the OS, so the next one page-faults in freshly zeroed pages: 8-15 % of
    an update of a 4096-wide layer on the CPU. Raising its mmap and trim thresholds to
    ``KEEP_FREED_BYTES`` lets freed blocks be reused, as the GPU libraries' caching
    allocators do; up to that much freed memory may stay with the process. Nothing is done
    off glibc, or where ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` is set
    (the user's choice stands).
    """
    if ALLOCATOR["tuned"]:
        return True
    if {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"} & set(os.environ):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    tuned = mallopt(_M_MMAP_THRESHOLD, KEEP_FREED_BYTES) == 1
    tuned = tuned and mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES) == 1
    ALLOCATOR["tuned"] = tuned
    return tuned
