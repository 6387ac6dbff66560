"""FacetsPages component: the offline Facets pages as ``system.HTML`` artifacts (shown by the Kubeflow UI)."""

from __future__ import annotations

import json
from typing import Optional, Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec

from common import names
from components.facets_pages.executor import Executor
from components.facets_pages.spec import (CONFIG_KEY, DIVE_KEY, EXAMPLES_KEY, LABEL_ISSUES_KEY, OVERVIEW_KEY,
                                          QUARANTINE_KEY, STATISTICS_KEY, VALIDATION_REPORT_KEY, FacetsPagesSpec,
                                          HTMLPage)


class FacetsPages(base_component.BaseComponent):
    """Facets Overview (train vs eval) and Facets Dive (every example, with predictions when available)."""

    SPEC_CLASS = FacetsPagesSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, statistics: types.BaseChannel, examples: types.BaseChannel, quarantine: types.BaseChannel,
                 validation_report: types.BaseChannel, label_issues: Optional[types.BaseChannel] = None,
                 image_key: str = names.DEFAULT_IMAGE_KEY, class_names: Sequence[str] = (), code_version: str = ""):
        super().__init__(spec=FacetsPagesSpec(**{
            STATISTICS_KEY: statistics,
            EXAMPLES_KEY: examples,
            QUARANTINE_KEY: quarantine,
            VALIDATION_REPORT_KEY: validation_report,
            LABEL_ISSUES_KEY: label_issues,
            CONFIG_KEY: json.dumps({"image_key": image_key, "filename_key": names.FILENAME_KEY,
                                    "class_names": list(class_names), "code_version": code_version},
                                   sort_keys=True),
            OVERVIEW_KEY: types.Channel(type=HTMLPage),
            DIVE_KEY: types.Channel(type=HTMLPage),
        }))
