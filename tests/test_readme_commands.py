"""The README and the pages under docs/ claim only what runs: every command they show is run here, or named
with the test that runs it, or marked as needing what this machine lacks (a cluster, object storage, Docker,
a benchmark's hours).

Commands run here as a user types them (from the repository root, ``.venv/bin/python`` and ``make``
included), with the documents' placeholders filled by small data made in the test and flags added only to
keep a run small.  Each must exit as documented and keep the console quiet: no third-party start-up
noise (TensorFlow's C++ lines, Python-version warnings) on stdout or stderr.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import List, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PREFIXES = ("make ", ".venv/bin/python ", "python ", "docker ")

#: Console lines a user can do nothing about; none may reach the console of a README command.
NOISE = re.compile(r"cuFFT|cuDNN|cuBLAS|TensorRT|rebuild TensorFlow|FutureWarning|DeprecationWarning|"
                   r"Python 3\.11|^[EWI]\d{4} \d|^WARNING:absl|oneDNN custom operations")

#: How each command of the README and docs/*.md is proven.  (pattern, kind, where): kind "here" = run by a test of this file;
#: "test" = run by the named test file; "needs" = cannot run on a machine without what it names.
COVERAGE: List[Tuple[str, str, str]] = [
    (r"^\.venv/bin/python local_runner\.py --help$", "here", "test_local_runner_help"),
    (r"^(\.venv/bin/)?python -m ingest\.data_prep\b", "here", "test_data_prep_command"),
    (r"^\.venv/bin/python -m ingest\.segmentation_prep\b", "here", "test_segmentation_prep_command"),
    (r"^\.venv/bin/python -m ingest\.detection_prep\b", "here", "test_detection_prep_command"),
    (r"^\.venv/bin/python kubeflow_runner\.py --data gs://", "here", "test_kubeflow_compile_command"),
    (r"^make run ARGS=\"--data path/to/photos\"", "here", "test_make_run_on_split_folders_then_the_report_tools"),
    (r"^\.venv/bin/python -m reporting\.html_report\b", "here", "test_make_run_on_split_folders_then_the_report_tools"),
    (r"^\.venv/bin/python -m reporting\.schema_tool\b", "here", "test_make_run_on_split_folders_then_the_report_tools"),
    (r"^\.venv/bin/python local_runner\.py --predict\b", "here", "test_make_run_on_split_folders_then_the_report_tools"),
    (r"^make run$", "test", "tests/test_pipeline_e2e.py"),
    (r"^make run ARGS=\"--data path/to/images\"", "test", "tests/test_runner_cli.py"),
    # The layouts differ only in their preparation; the pipeline after ImportExampleGen is the one above.
    (r"^make run ARGS=\"--data manifest\.csv\"", "test", "ingest/layouts_test.py"),
    (r"^make run ARGS=\"--data path/to/tfrecords\"", "test", "ingest/source_test.py"),
    (r"^make run ARGS=\"--task segmentation( --data DIR.*)?\"", "test", "tests/test_segmentation_e2e.py"),
    (r"^make run ARGS=\"--task detection( --data path/to/voc| --data boxes\.csv)?\"", "test",
     "tests/test_detection_e2e.py"),
    # The contributors' lanes: CI runs make lint, then make test, of which make test-fast runs a part.
    (r"^make (test-fast|lint)( PYTEST_ARGS=.*)?$", "test", ".ci/run"),
    (r"^make test\b", "test", ".ci/run"),
    (r"^python -m runners\.kubeflow_entrypoint$", "test", "tests/test_kubeflow_contract.py"),
    (r"^make benchmark\b", "needs", "hours of benchmark runs (make benchmark writes benchmarks/results.json)"),
    (r"^python kubeflow_runner\.py .*--upload-embedded-data", "needs", "object storage (gs:// or s3://)"),
    (r"^python -c \"import kfp; kfp\.Client", "needs", "a Kubeflow Pipelines cluster"),
    (r"^python -c \"from google\.cloud import aiplatform", "needs", "a Google Cloud project"),
    (r"^docker build", "needs", "a Docker engine and a registry"),
]


def documents() -> List[Path]:
    """The README and every page under docs/: the user's guide and what it links to."""
    return [README] + sorted(DOCS.glob("*.md"))


def readme_commands() -> List[str]:
    """Every command line the README and docs/*.md show: in bash blocks (continuations joined) and in inline
    code."""
    found = set()
    for document in documents():
        found.update(_commands_in(document.read_text(encoding="utf-8")))
    return sorted(found)


def _commands_in(text: str) -> List[str]:
    found = set()
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#\s.*$", "", line.strip())  # the comment that explains the command
            if line.startswith(PREFIXES):
                found.add(" ".join(line.split()))
    for span in re.findall(r"`([^`\n]+)`", text):
        if span.startswith(PREFIXES):
            found.add(" ".join(span.split()))
    return sorted(found)


def _coverage(command: str) -> Tuple[str, str]:
    for pattern, kind, where in COVERAGE:
        if re.search(pattern, command):
            return kind, where
    raise AssertionError(f"documented command not run by any test: {command!r}; run it here or name its test")


def test_every_readme_command_is_run_or_accounted_for():
    commands = readme_commands()
    assert len(commands) >= 20, "the README's commands were not found"
    assert len(documents()) > 1, "no docs/*.md found"
    this_file = Path(__file__).read_text(encoding="utf-8")
    for command in commands:
        kind, where = _coverage(command)
        if kind == "here":
            assert f"def {where}(" in this_file, (command, where)
        elif kind == "test":
            assert (ROOT / where).is_file(), (command, where)
    # No example may point where a user's own clone has nothing (../shared is ours, not theirs).
    assert not [c for c in commands if "../shared" in c and not c.startswith("make benchmark")]


def run_command(command: str, timeout: int = 300, temp_dir: Optional[Path] = None,
                **fill: str) -> subprocess.CompletedProcess:
    """Runs a documented command from the repository root, with placeholders replaced by ``fill``; asserts that
    the README or a docs/ page shows it and that the console stays quiet.  ``temp_dir``: its TMPDIR (the system's by default)."""
    assert command in readme_commands(), f"not (or no longer) in the README or docs/: {command}"
    for placeholder, value in fill.items():
        command = command.replace(placeholder, value)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "PYTEST"))}
    if temp_dir is not None:
        env["TMPDIR"] = str(temp_dir)
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    noise = [line for line in (done.stdout + done.stderr).splitlines() if NOISE.search(line)]
    assert not noise, f"{command}: noise on the console:\n" + "\n".join(noise[:10])
    return done


def _split_folders(root: Path) -> Path:
    from tests.image_fixtures import write_class_folders

    write_class_folders(root / "train", per_class=12)
    write_class_folders(root / "val", per_class=4, first=12)
    return root


def test_local_runner_help():
    done = run_command(".venv/bin/python local_runner.py --help")
    assert done.returncode == 0, done.stderr
    for flag in ("--data", "--task", "--backbone", "--weights", "--train-steps", "--min-accuracy", "--output-dir",
                 "--predict", "--beam-workers", "--verbose"):
        assert flag in done.stdout, flag


def test_data_prep_command(tmp_path):
    photos = _split_folders(tmp_path / "photos")
    (photos / "val" / "cat" / "notes.txt").write_text("not an image")
    done = run_command(".venv/bin/python -m ingest.data_prep path/to/images prepared/ --eval-fraction 0.2 --seed 0 "
                       "[--eval-split val]", **{"path/to/images": str(photos), "prepared/": str(tmp_path / "prep"),
                                               "[--eval-split val]": "--eval-split val"})
    assert done.returncode == 0, done.stderr
    assert "splits: train/ -> train, val/ -> eval" in done.stdout
    assert "left out: val/cat/notes.txt (not an image file)" in done.stdout
    assert sorted(p.name for p in (tmp_path / "prep").iterdir()) == [
        "_SUCCESS", "eval", "labels.txt", "manifest.json", "train"]


def test_segmentation_prep_command(tmp_path):
    import numpy as np
    from PIL import Image

    for folder in ("images", "masks"):
        (tmp_path / "seg" / folder).mkdir(parents=True)
    for index in range(6):
        Image.fromarray(np.full((8, 8, 3), 40 * index, np.uint8)).save(tmp_path / "seg" / "images" / f"{index}.png")
        mask = np.zeros((8, 8), np.uint8)
        mask[:4] = 255
        Image.fromarray(mask).save(tmp_path / "seg" / "masks" / f"{index}.png")
    done = run_command(".venv/bin/python -m ingest.segmentation_prep DIR OUT --class-names a,b [--mask-values ...]",
                       DIR=str(tmp_path / "seg"), OUT=str(tmp_path / "out"),
                       **{"[--mask-values ...]": "--mask-values 0:0,255:1"})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "labels.txt").read_text().split() == ["a", "b"]
    assert list((tmp_path / "out" / "train").glob("*.tfrecord.gz"))


def test_detection_prep_command(tmp_path):
    from PIL import Image

    source = tmp_path / "voc"
    for folder in ("images", "annotations"):
        (source / folder).mkdir(parents=True)
    for index in range(5):
        Image.new("RGB", (40, 30), (30 * index, 0, 0)).save(source / "images" / f"{index}.jpg")
        (source / "annotations" / f"{index}.xml").write_text(
            f"<annotation><filename>{index}.jpg</filename><size><width>40</width><height>30</height><depth>3"
            "</depth></size><object><name>cell</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>20</xmax>"
            "<ymax>25</ymax></bndbox></object></annotation>")
    done = run_command(".venv/bin/python -m ingest.detection_prep SRC OUT", SRC=str(source), OUT=str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "classes cell" in done.stdout
    assert list((tmp_path / "out" / "eval").glob("*.tfrecord.gz"))


def test_kubeflow_compile_command(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n")
    spec = tmp_path / "spec.json"
    done = run_command(".venv/bin/python kubeflow_runner.py --data gs://BUCKET/prepared --labels labels.txt "
                       "--pipeline-root gs://BUCKET/tfx --image REGISTRY/image-tfx:TAG",
                       **{"BUCKET": "example-bucket", "labels.txt": str(labels),
                          # --spec-file added: the default (outputs/kubeflow/) would write into the checkout
                          "REGISTRY/image-tfx:TAG": f"gcr.io/example/image-tfx:1.0 --spec-file {spec}"})
    assert done.returncode == 0, done.stderr
    assert spec.is_file() and "gcr.io/example/image-tfx:1.0" in spec.read_text()
    assert "gs://example-bucket/prepared" in spec.read_text()


@pytest.mark.e2e
def test_make_run_on_split_folders_then_the_report_tools(tmp_path):
    """`make run` on split folders (small and short), then the report, schema and predict commands on its
    output folder, each as the README shows it."""
    photos = _split_folders(tmp_path / "photos")
    out = tmp_path / "out"
    done = run_command('make run ARGS="--data path/to/photos"', timeout=900, **{
        "path/to/photos": f"{photos} --output-dir {out} --train-steps 4 --image-size 32 --tflite none "
                          "--min-accuracy 0"})
    assert done.returncode in (0, 3), done.stdout[-3000:] + done.stderr[-3000:]
    assert "splits: train/ -> train, val/ -> eval" in done.stdout
    assert (out / "reports" / "latest" / "run_summary.json").is_file()

    page = tmp_path / "report.html"
    done = run_command(".venv/bin/python -m reporting.html_report [--output-dir outputs] [--task classification] "
                       "[--run RUN_ID] [--out FILE]", **{"[--output-dir outputs]": f"--output-dir {out}",
                                                        "[--task classification]": "--task classification",
                                                        "[--run RUN_ID]": "", "[--out FILE]": f"--out {page}"})
    assert done.returncode == 0, done.stderr
    assert "Splits and classes" in page.read_text(encoding="utf-8")

    schema = tmp_path / "schema.pbtxt"
    done = run_command(".venv/bin/python -m reporting.schema_tool --task classification [--mode update|regenerate] "
                       "[--schema FILE] [--yes]", **{"[--mode update|regenerate]": "--mode regenerate",
                                                    "[--schema FILE]": f"--schema {schema} --output-dir {out}",
                                                    "[--yes]": "--yes"})
    assert done.returncode == 0, done.stderr
    assert 'name: "image"' in schema.read_text()

    new_images = tmp_path / "new"
    new_images.mkdir()
    for path in sorted((photos / "val" / "cat").iterdir())[:2]:
        (new_images / path.name).write_bytes(path.read_bytes())
    (new_images / "broken.png").write_bytes(b"not a png")
    temp = tmp_path / "tmp"
    temp.mkdir()
    done = run_command(".venv/bin/python local_runner.py --predict DIR [--output-dir outputs] "
                       "[--task classification|segmentation|detection]", timeout=600, temp_dir=temp,
                       **{"DIR": str(new_images), "[--output-dir outputs]": f"--output-dir {out}",
                          "[--task classification|segmentation|detection]": "--task classification"})
    if "no blessed model" in done.stderr:
        pytest.fail("the small run was not blessed, so --predict had no model: " + done.stderr)
    assert done.returncode == 0, done.stderr
    assert "3 file(s): 2 predicted, 1 quarantined" in done.stdout
    assert not list(temp.iterdir()), "--predict left temp files behind"
    csv_path = next(line.split(": ", 1)[1] for line in done.stdout.splitlines() if line.startswith("Predictions: "))
    rows = Path(csv_path).read_text().splitlines()
    assert len(rows) == 4 and any("broken.png" in row and "cannot be decoded" in row for row in rows)
