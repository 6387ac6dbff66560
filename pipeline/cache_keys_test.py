"""What invalidates what: each source edit changes the code version of exactly the components it affects."""

import shutil

import pytest

from pipeline import cache_keys

PACKAGES = ("common", "ingest", "pipeline", "components", "trainer")


@pytest.fixture()
def tree(tmp_path):
    for package in PACKAGES:
        shutil.copytree(cache_keys.ROOT_DIR / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*_test.py"))
    return tmp_path


def _changed_after_editing(tree, relative_path):
    before = cache_keys.code_versions(tree)
    path = tree / relative_path
    path.write_text(path.read_text() + "\n# edited\n")
    after = cache_keys.code_versions(tree)
    return {component for component in before if before[component] != after[component]}


@pytest.mark.parametrize("edited, expected", [
    ("components/image_validator/checks.py", {"ImageValidator"}),
    ("components/anomaly_gate/executor.py", {"AnomalyGate"}),
    ("trainer/image_ops.py", {"Transform", "Trainer", "TfliteEvaluator"}),
    ("trainer/run.py", {"Trainer"}),
    ("trainer/inputs.py", {"Trainer"}),
    ("components/iou_metric.py", {"Evaluator"}),
    ("components/accuracy_metric.py", {"Evaluator"}),
    ("components/label_inspector/executor.py", {"LabelInspector"}),
    ("components/facets_pages/pages.py", {"FacetsPages"}),
    ("ingest/embedded.py", {"embedded data"}),
    ("common/names.py", {"ImageValidator", "Transform", "Trainer", "Evaluator", "LabelInspector", "FacetsPages",
                         "TfliteEvaluator", "ModelCardGen"}),
    ("common/__init__.py", set(cache_keys.ENTRY_MODULES)),
])
def test_an_edit_changes_the_version_of_exactly_the_components_that_run_it(tree, edited, expected):
    assert _changed_after_editing(tree, edited) == expected


def test_closures_follow_imports_not_lists():
    closure = cache_keys.source_closure("trainer.preprocessing")
    assert {"trainer.image_ops", "trainer.config", "trainer.tasks.registry", "common.names", "trainer"} <= set(closure)
    assert "trainer.run" not in closure and "trainer.inputs" not in closure


def test_schema_copy_path_changes_exactly_when_its_content_does(tmp_path):
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "image" }\n')
    first = cache_keys.content_addressed_copy(str(schema), str(tmp_path / "store"))
    assert cache_keys.content_addressed_copy(str(schema), str(tmp_path / "store")) == first
    schema.write_text('feature { name: "image" }\nfeature { name: "label" }\n')
    second = cache_keys.content_addressed_copy(str(schema), str(tmp_path / "store"))
    assert second != first and open(second).read() == schema.read_text()
    assert open(first).read() == 'feature { name: "image" }\n'  # the earlier version stays for earlier runs
