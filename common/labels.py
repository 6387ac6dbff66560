"""The label vocabulary file: one class name per line, line number = class id."""

from __future__ import annotations

from typing import List


def read_labels_file(path: str) -> List[str]:
    """Class names in id order; an empty or missing file is an error that names the file."""
    try:
        with open(path, encoding="utf-8") as handle:
            names = [line.strip() for line in handle if line.strip()]
    except FileNotFoundError:
        raise FileNotFoundError(f"labels file {path}: no such file; expected one class name per line.") from None
    if not names:
        raise ValueError(f"{path}: labels file is empty; expected one class name per line.")
    return names
