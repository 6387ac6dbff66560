"""``--predict`` on a folder of new images plus one broken file, as the e2e tests of each task run it."""

import csv
from pathlib import Path
from typing import Dict, Tuple

BROKEN = "broken.png"


def predict_folder(config, folder: Path, files: Dict[str, bytes]) -> Tuple[dict, Dict[str, dict]]:
    """Writes ``files`` (names may hold sub-folders) and a truncated PNG under ``folder``, runs the real
    inference pipeline on it and returns its result and the CSV rows by file; every file has a row and the
    broken one its quarantine reason."""
    from runners.predict import predict

    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / BROKEN).write_bytes(b"\x89PNG\r\n")
    result = predict(config, str(folder), log=lambda *_: None)
    with open(result["predictions"], encoding="utf-8") as handle:
        rows = {row["file"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(files) | {BROKEN} and rows[BROKEN]["quarantine_reason"]
    assert (result["predicted"], result["quarantined"]) == (len(files), 1)
    return result, rows
