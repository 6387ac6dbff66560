"""A cap on the record batches TFX's Evaluator feeds the model, for both Evaluators (SavedModel and TFLite).

Why: TFX's Evaluator reads the eval split through a TFXIO Beam source that
asks for no batch size, so tfx_bsl lets Beam's ``BatchElements`` tune it
towards one second of work per batch, up to 1,000 records.  With a small,
fast model (the 32-px ResNet runs ~2,300 images a second) the batches climb
to that cap on a large eval split, and TensorFlow's working memory grows with
the batch and with each new batch shape it meets.  The Evaluator's peak
therefore grew with the eval split although nothing per example is kept.
Measured on this machine, TFMA alone on the same model and the same 25,564
eval images: tuned batches 1,056-1,112 MB peak, batches capped at 64
809-810 MB, in the same 20-21 s (6,391 images: fixed 128 -> 820 MB, 512 ->
1,058, 1,000 -> 1,240; the peak follows the batch size).

A cap, not a fixed size: a large model on large images never reaches 64 in
one second, and there Beam's tuning keeps its batches as small as before.

TFX's Evaluator executor takes no batch size (``tfxio.BeamSource()``), so
the cap is applied where tfx_bsl computes ``BatchElements``' arguments, for
the length of one executor run only.
"""

from __future__ import annotations

import contextlib
from typing import Any, Dict, Iterator

from tfx_bsl.coders import batch_util

#: The most records per batch.  64 ran as fast as tuned batches of up to 1,000 (see above).
MAX_RECORDS_PER_BATCH = 64


@contextlib.contextmanager
def capped_record_batches(cap: int = MAX_RECORDS_PER_BATCH) -> Iterator[None]:
    """Within: TFXIO Beam sources that ask for no batch size tune it below ``cap`` records.

    A source that asks for a size gets that size; with tfx_bsl's byte-size batching flag on, its byte
    target stands.  Pipelines built inside keep the cap when they run later, on any runner: it is in
    the ``BatchElements`` transform they were built with.
    """
    if cap < 1:
        raise ValueError(f"the record batch cap must be at least 1, got {cap}")
    original = batch_util.GetBatchElementsKwargs

    def capped(batch_size, *args, **kwargs) -> Dict[str, Any]:
        arguments = original(batch_size, *args, **kwargs)
        if batch_size is None and "element_size_fn" not in arguments:
            arguments["max_batch_size"] = min(arguments["max_batch_size"], cap)
            arguments["min_batch_size"] = min(arguments["min_batch_size"], arguments["max_batch_size"])
        return arguments

    batch_util.GetBatchElementsKwargs = capped
    try:
        yield
    finally:
        batch_util.GetBatchElementsKwargs = original
