"""Releasing freed memory between components: the pages really go back to the system."""

import numpy as np
import psutil
import pytest

from runners import memory


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2 ** 20


@pytest.mark.skipif(memory._malloc_trim() is None, reason="no glibc malloc_trim here (musl or macOS)")
def test_freed_heap_pages_are_returned():
    # 200,000 small heap blocks (~1 KB each), one in 100 kept: a fragmented heap glibc does not shrink alone.
    blocks = [np.ones(1000, np.uint8) for _ in range(200_000)]
    kept = blocks[::100]
    held = _rss_mb()
    del blocks
    after_free = _rss_mb()
    memory.release_freed_memory()
    released = _rss_mb()
    assert len(kept) == 2000
    assert held - after_free < 50, "glibc returned the pages by itself: this test would prove nothing"
    assert after_free - released > 100, (held, after_free, released)


def test_released_after_components_that_ran_not_after_cached_ones(monkeypatch):
    """A full collection costs ~0.3 s here: an unchanged rerun (15 cached components) must not pay it each."""
    import io
    import logging
    import time

    from runners.progress import ProgressReporter

    released = []
    monkeypatch.setattr(memory, "release_freed_memory", lambda: released.append(True))
    handler = ProgressReporter(["Cached", "Worked"], stream=io.StringIO(),
                               on_finished=lambda node, seconds: memory.release_after(node, seconds, min_seconds=0.05))

    def log(message):
        handler.emit(logging.LogRecord("absl", logging.INFO, __file__, 0, message, None, None))

    log("Component Cached is running.")
    log("Component Cached is finished.")
    log("Component Worked is running.")
    time.sleep(0.06)
    log("Component Worked is finished.")
    log("Component Unknown is finished.")
    assert released == [True]
