"""Set-up shared by every package's tests."""

import common  # noqa: F401  (first: it pins Keras 2 before TensorFlow loads)
import pytest
from tfx.utils import dependency_utils

#: TFX's own function, kept so that runners/run_log_test.py can check the runner's switch around it.
TFX_MAKE_BEAM_DEPENDENCY_FLAGS = dependency_utils.make_beam_dependency_flags


@pytest.fixture(scope="session", autouse=True)
def _no_tfx_sdist_per_beam_executor():
    """Beam executors called in tests run on the DirectRunner, here, as ``make run`` runs them.

    Without this, TFX builds a ~49 MB sdist of itself under the system temp folder for every Beam
    executor a test calls, and never removes it (about 50 per test session).
    """
    from runners.scratch import local_beam_dependencies

    with local_beam_dependencies([]):
        yield
