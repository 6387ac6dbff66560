"""The runners' command lines: help, clear errors, and that both scripts import."""

import subprocess
import sys
from pathlib import Path

import pytest

from runners import local as local_run

ROOT = Path(__file__).resolve().parents[1]


def test_local_runner_help_lists_the_documented_flags():
    out = subprocess.run([sys.executable, str(ROOT / "local_runner.py"), "--help"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    for flag in ("--data", "--image-size", "--backbone", "--weights", "--train-steps",
                 "--min-accuracy", "--max-accuracy-drop", "--output-dir", "--serving-dir", "--no-cache"):
        assert flag in out


def test_bad_data_path_exits_2_with_the_path_in_the_message(tmp_path, capsys):
    code = local_run.main(["--data", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "out")])
    assert code == 2
    assert f"{tmp_path / 'missing'}: no such file or directory" in capsys.readouterr().err


def test_bad_csv_manifest_exits_2_naming_the_rows(tmp_path, capsys):
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\nghost.png,cat\n")
    assert local_run.main(["--data", str(manifest), "--output-dir", str(tmp_path / "out")]) == 2
    assert "line 2: ghost.png does not exist" in capsys.readouterr().err


def test_kubeflow_runner_imports_and_shows_help():
    out = subprocess.run([sys.executable, str(ROOT / "kubeflow_runner.py"), "--help"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "--pipeline-root" in out and "--image" in out


def test_output_dir_that_is_or_is_inside_the_data_is_refused_and_nothing_is_lost(tmp_path, capsys):
    from tests.image_fixtures import write_class_folders

    photos = write_class_folders(tmp_path / "photos", per_class=3)
    before = sorted((p.relative_to(tmp_path), p.read_bytes()) for p in photos.rglob("*") if p.is_file())
    for output in (photos, photos / "outputs"):
        assert local_run.main(["--data", str(photos), "--output-dir", str(output)]) == local_run.EXIT_BAD_INPUT
        assert "could overwrite your data" in capsys.readouterr().err
    after = sorted((p.relative_to(tmp_path), p.read_bytes()) for p in photos.rglob("*") if p.is_file())
    assert after == before


def test_data_prep_help_answers_without_importing_tensorflow():
    code = ("import runpy, sys\n"
            "sys.argv = ['data_prep', '--help']\n"
            "try:\n    runpy.run_module('ingest.data_prep', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('TF' if 'tensorflow' in sys.modules else 'no TF')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "usage: python -m ingest.data_prep" in out and out.strip().endswith("no TF")


@pytest.mark.pipeline
def test_a_failed_component_ends_in_one_line_and_still_writes_the_data_reports(tmp_path, capsys):
    """A Trainer failure (weights file that is not HDF5): exit 1, one line of cause, the reports of the data
    components that ran, and the traceback in the run log only."""
    from tests.image_fixtures import write_class_folders

    from PIL import Image

    photos = write_class_folders(tmp_path / "photos", per_class=8)
    Image.new("RGB", (40, 40), "red").save(photos / "cat" / "scan.tiff")  # a format TensorFlow cannot decode
    (photos / "dog" / "notes.txt").write_text("shot on a Tuesday")  # not an image at all
    weights = tmp_path / "not_weights.h5"
    weights.write_bytes(b"this is not an HDF5 file")
    code = local_run.main(["--data", str(photos), "--output-dir", str(tmp_path / "out"), "--backbone", "squeezenet",
                           "--weights", str(weights), "--image-size", "32", "--train-steps", "2"])
    err = capsys.readouterr().err
    assert code == local_run.EXIT_FAILED
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ") and "Traceback" not in err
    reports = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    for name in ("Data report (HTML, offline)", "Anomalies", "Schema"):
        assert Path(reports[name]).is_file(), name
    # Nothing dropped silently: the TIFF is quarantined with its reason, the note listed as left out.
    page = Path(reports["Data report (HTML, offline)"]).read_text()
    assert "cat/scan.tiff" in page and "format not readable by the TensorFlow decoder" in page
    left_out = page.split("id=left-out", 1)[1]
    assert "dog/notes.txt" in left_out and "not an image file" in left_out
    log = Path(reports["full traceback"]).read_text()
    assert "Traceback (most recent call last)" in log
