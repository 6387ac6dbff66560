"""Progress lines while LocalDagRunner works, and each component's wall time.

LocalDagRunner logs "Component X is running." / "is finished." through absl;
this handler turns those lines into numbered progress lines on the console.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Callable, Dict, List, Optional

_RUNNING = re.compile(r"Component (\S+) is running\.")
_FINISHED = re.compile(r"Component (\S+) is finished\.")


class ProgressReporter(logging.Handler):
    """Turns LocalDagRunner's per-component log lines into progress lines and timings."""

    def __init__(self, component_ids: List[str], stream=None,
                 on_finished: Optional[Callable[[str, float], None]] = None):
        """``on_finished(node, wall_seconds)`` is called after each component's "done" line."""
        super().__init__(level=logging.INFO)
        self.component_ids = component_ids
        self.stream = stream or sys.stdout
        self.on_finished = on_finished
        self.started: Dict[str, float] = {}
        self.wall_seconds: Dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        match = _RUNNING.search(message)
        if match:
            node = match.group(1)
            self.started[node] = time.monotonic()
            index = self.component_ids.index(node) + 1 if node in self.component_ids else 0
            print(f"[{index}/{len(self.component_ids)}] {node} ...", file=self.stream, flush=True)
            return
        match = _FINISHED.search(message)
        if match:
            node = match.group(1)
            self.wall_seconds[node] = time.monotonic() - self.started.get(node, time.monotonic())
            print(f"      {node} done in {self.wall_seconds[node]:.1f} s", file=self.stream, flush=True)
            if self.on_finished is not None:
                self.on_finished(node, self.wall_seconds[node])
