"""What data to read and how to split it: the ingest concern's part of the configuration."""

from __future__ import annotations

import dataclasses
from typing import Optional

from common import tasks
from common.options import option


#: Share of each class held out for evaluation when the data has no split of its own.
DEFAULT_EVAL_FRACTION = 0.2


@dataclasses.dataclass
class DataConfig:
    """The user's ``--data`` and how data preparation treats it."""

    #: Class-per-folder image dir, CSV manifest, image/mask folders or TFRecord dir; None = embedded data.
    path: Optional[str] = option(None, flag="--data", group="data",
                                 help=lambda: "your data; default: the task's embedded dataset. "
                                 + "; ".join(f"{c.name}: {c.data_help}" for c in tasks.contracts())
                                 + " (TFRecords: flat, or train/ plus a held-out folder such as val/)")
    #: None: DEFAULT_EVAL_FRACTION where the data has no split; refused where the data names its own split.
    eval_fraction: Optional[float] = option(None, parse=float, group="data", minimum=0, maximum=1,
                                            help="share of each class held out for evaluation when the data has "
                                                 "no split of its own (default: 0.2); refused when it has one "
                                                 "(split folders, a CSV split column)")
    eval_split: Optional[str] = option(None, group="data",
                                       help="with split folders (train/ + val/, test/, ...) or a CSV split column: "
                                            "which held-out split the model is evaluated and blessed on (default: "
                                            "the first present of val, valid, validation, eval, evaluation, dev, "
                                            "test, testing)")
    split_seed: int = 0

    @property
    def held_out_fraction(self) -> float:
        """The share held out where the data has no split: ``--eval-fraction``, else the default."""
        return DEFAULT_EVAL_FRACTION if self.eval_fraction is None else self.eval_fraction
    #: Segmentation: stored mask value -> class id, e.g. "0:0,255:1" (None: values are ids).
    mask_values: Optional[str] = option(None, group="data",
                                        help="segmentation: stored mask value -> class id, e.g. 0:0,255:1 "
                                             "(default: values are class ids)")
