"""The module map holds: one-way imports between packages, no import cycle, one home for shared names.

ARCHITECTURE.md explains the boundaries; these checks keep them from eroding.
"""

import re
from pathlib import Path

import pytest

from pipeline.cache_keys import project_imports

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("common", "ingest", "pipeline", "components", "trainer", "reporting", "runners")
#: What each package may import from the project (besides itself).  Data flows one way:
#: ingest -> pipeline -> components/trainer at run time -> reporting after the run; runners drive all.
ALLOWED = {
    "common": set(),
    "ingest": {"common"},
    "trainer": {"common"},
    "components": {"common"},
    "pipeline": {"common", "ingest", "trainer", "components"},
    "reporting": {"common", "components", "pipeline"},
    "runners": {"common", "ingest", "pipeline", "reporting", "trainer", "components"},
}


def _product_modules():
    """{module name: path} for every non-test module of the project packages and the top-level runners."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name.endswith("_test.py") or path.name == "conftest.py":
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


@pytest.fixture(scope="module")
def graph():
    modules = _product_modules()
    return {name: {m for m in project_imports(path, name) if m in modules and m != name}
            for name, path in modules.items()}


def test_packages_import_only_downstream_of_their_layer(graph):
    wrong = sorted(f"{module} imports {target}" for module, targets in graph.items() for target in targets
                   if target.split(".")[0] != module.split(".")[0]
                   and target.split(".")[0] not in ALLOWED[module.split(".")[0]])
    assert not wrong, "imports against the data flow:\n" + "\n".join(wrong)


def test_no_import_cycle(graph):
    # Package __init__ modules are imported implicitly by their children; an edge child -> own package
    # __init__ is not a cycle in Python's sense, so leave those out.
    def edges(module):
        return {t for t in graph[module] if not module.startswith(t + ".")}

    state, stack, cycles = {}, [], []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(edges(module)):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_orchestration_code_does_not_import_keras():
    """The DAG, the evaluation config and the runners use names, not the model code."""
    for path in [*(ROOT / "pipeline").glob("*.py"), *(ROOT / "runners").glob("*.py")]:
        if path.name.endswith("_test.py"):
            continue
        text = path.read_text()
        assert "keras" not in text.replace("TF_USE_LEGACY_KERAS", ""), path
        assert "trainer.signatures" not in text and "trainer.keras_lib" not in text, path


def test_shared_names_and_the_ignore_value_are_defined_once():
    """255 as a label value, and the feature/signature names, live in common/names.py only."""
    definitions = re.compile(r"^\s*[A-Z_]+\s*(:\s*\w+)?\s*=\s*(255|\"(image|label|mask|filename|image_pixels|"
                             r"mask_pixels|serving_default|serving_examples|evaluation|train|eval)\")\s*$", re.M)
    defaults = re.compile(r"(ignore_label|pad_value)\w*\s*(:\s*[\w\[\]]+)?\s*=\s*255\b")
    offenders = []
    for name, path in _product_modules().items():
        if name == "common.names":
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0).strip()}" for m in definitions.finditer(text)]
        offenders += [f"{path.relative_to(ROOT)}: {m.group(0).strip()}" for m in defaults.finditer(text)]
    assert not offenders, "define these in common/names.py:\n" + "\n".join(offenders)


def test_no_package_holds_most_of_the_code():
    def code_lines(path):
        return sum(1 for line in path.read_text().splitlines() if line.strip() and not line.strip().startswith("#"))

    sizes = {package: sum(code_lines(p) for name, p in _product_modules().items() if name.split(".")[0] == package)
             for package in PACKAGES}
    total = sum(sizes.values())
    largest = max(sizes, key=sizes.get)
    assert sizes[largest] / total <= 0.40, f"{largest} holds {sizes[largest] / total:.0%} of {total} lines: {sizes}"


def test_every_package_imports_common_first_so_keras_2_and_a_quiet_console_hold_everywhere():
    """docs/design.md says common/__init__.py pins Keras 2 (and keeps TensorFlow's start-up lines off the console)
    for every process that runs project code: that holds only if each package imports it before anything."""
    import ast

    for package in PACKAGES:
        if package == "common":
            continue
        tree = ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8"))
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                   and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")]
        assert imports, f"{package}/__init__.py imports nothing"
        first = imports[0]
        names = [alias.name for alias in first.names] if isinstance(first, ast.Import) else [first.module]
        assert names == ["common"], f"{package}/__init__.py imports {names} before common"
    common_init = (ROOT / "common" / "__init__.py").read_text(encoding="utf-8")
    assert 'os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")' in common_init


def test_setup_py_installs_every_product_package():
    """Beam workers (--setup_file) and the container image run the installed packages: one missed by setup.py's
    list (a new sub-package such as common.tasks) works here, from the checkout, and fails there."""
    import ast

    from setuptools import find_packages

    tree = ast.parse((ROOT / "setup.py").read_text())
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "find_packages")
    include = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "include"))
    installed = set(find_packages(where=str(ROOT), include=include))
    packages = {".".join(path.parent.relative_to(ROOT).parts) for package in PACKAGES
                for path in (ROOT / package).rglob("__init__.py")}
    assert packages <= installed, f"setup.py leaves out {sorted(packages - installed)}"
