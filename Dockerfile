# Container image for Kubeflow Pipelines / Vertex AI: every component runs this image.
#
# Based on the official TFX image of the pinned version, so TFX, Beam, TFMA and TFDV match the local
# environment; the project is installed through setup.py, so module paths such as
# trainer.run.run_fn resolve in the container exactly as they do locally.
FROM tensorflow/tfx:1.16.0

# Keras 2 (tf_keras) everywhere, as locally: TFX 1.16's Transform/Trainer/TFMA exchange Keras-2 SavedModels.
ENV TF_USE_LEGACY_KERAS=1 \
    PYTHONUNBUFFERED=1

# The TFLite metadata writer (tflite-support) loads libusb-1.0 when imported.
RUN apt-get update && apt-get install -y --no-install-recommends libusb-1.0-0 && rm -rf /var/lib/apt/lists/*

WORKDIR /pipeline
COPY requirements/lock.txt requirements/lock.txt
# The base image already holds TFX 1.16.0; the lock pins the rest to what was tested.
RUN python -m pip install --no-cache-dir -r requirements/lock.txt && python -m pip check
COPY setup.py README.md ./
COPY common common
COPY ingest ingest
COPY pipeline pipeline
COPY components components
COPY trainer trainer
COPY reporting reporting
COPY runners runners
COPY schema schema
RUN python -m pip install --no-cache-dir --no-deps . \
    && python -c "import trainer.run, trainer.preprocessing, components.iou_metric, components.image_validator.component, runners.kubeflow_entrypoint, tensorflow_lite_support.metadata.python.metadata"
