"""LabelInspector component: runs after the Trainer; the Pusher waits for it (``add_upstream_node``)."""

from __future__ import annotations

from typing import Optional

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec

from components.label_inspector.executor import Executor, InspectionConfig
from components.label_inspector.spec import (CONFIG_KEY, EXAMPLES_KEY, LABEL_ISSUES_KEY, MODEL_KEY, LabelInspectorSpec,
                                             LabelIssues)


class LabelInspector(base_component.BaseComponent):
    """Ranks examples whose given label the data itself contradicts; warns, or stops the run."""

    SPEC_CLASS = LabelInspectorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(self, examples: types.BaseChannel, model: types.BaseChannel,
                 config: Optional[InspectionConfig] = None):
        super().__init__(spec=LabelInspectorSpec(**{
            EXAMPLES_KEY: examples,
            MODEL_KEY: model,
            CONFIG_KEY: (config or InspectionConfig()).to_json(),
            LABEL_ISSUES_KEY: types.Channel(type=LabelIssues),
        }))
