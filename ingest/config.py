"""What data to read and how to split it: the ingest concern's part of the configuration."""

from __future__ import annotations

import dataclasses
from typing import Optional

from common.options import option


@dataclasses.dataclass
class DataConfig:
    """The user's ``--data`` and how data preparation treats it."""

    #: Class-per-folder image dir, CSV manifest, image/mask folders or TFRecord dir; None = embedded data.
    path: Optional[str] = option(None, flag="--data", group="data",
                                 help="class-per-folder image directory, CSV manifest (path,label) or directory "
                                      "of TFRecords (optionally with train/ and eval|test|val/ sub-folders); "
                                      "segmentation: a folder with images/ and masks/; default: the embedded dataset")
    eval_fraction: float = option(0.2, group="data",
                                  help="share of each class held out for evaluation when the data has no split "
                                       "(default: %(default)s)")
    eval_split: Optional[str] = option(None, group="data",
                                       help="with split folders (train/ + val/, test/, ...) or a CSV split column: "
                                            "which held-out split the model is evaluated and blessed on (default: "
                                            "the first present of val, valid, validation, eval, evaluation, dev, "
                                            "test, testing)")
    split_seed: int = 0
    #: Segmentation: stored mask value -> class id, e.g. "0:0,255:1" (None: values are ids).
    mask_values: Optional[str] = option(None, group="data",
                                        help="segmentation: stored mask value -> class id, e.g. 0:0,255:1 "
                                             "(default: values are class ids)")
