"""Handing the memory a finished component freed back to the system before the next one starts.

Why: LocalDagRunner runs every component in this one process.  glibc keeps
freed heap pages for reuse, so after a component that held a lot (TFMA's
batches, the LabelInspector's embeddings) the process stays that large
through the components after it: at 128,000 images the Pusher, which holds
nothing, ran at 1,918 MB.  ``malloc_trim(0)`` returns the free pages;
``gc.collect()`` first frees what only reference cycles still held.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from typing import Optional


@functools.lru_cache(maxsize=None)
def _malloc_trim() -> Optional[ctypes._CFuncPtr]:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS); looked up once."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return getattr(libc, "malloc_trim", None)


def release_freed_memory() -> None:
    """Collects cyclic garbage and returns free heap pages to the system (a no-op without glibc)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


#: A component that ran at least this long gets its memory released after it.  One served from the cache
#: (or a bookkeeping one) freed nothing, and a full collection of this process's heap costs a few tenths of
#: a second, which an unchanged rerun of every component would pay 15 times.
MIN_SECONDS = 1.0


def release_after(node: str, wall_seconds: float, min_seconds: float = MIN_SECONDS) -> None:
    """:func:`release_freed_memory` after a component that ran ``min_seconds`` or more
    (``runners.progress.ProgressReporter``'s ``on_finished``)."""
    if wall_seconds >= min_seconds:
        release_freed_memory()
