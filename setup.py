"""Installs the project's packages (common, ingest, pipeline, components, trainer, reporting, runners).

Why: TFX refers to the training code by module path (``trainer.run.run_fn``,
``trainer.preprocessing.preprocessing_fn``).  Installing the project makes
those paths resolve identically on this machine, on Beam workers
(``--setup_file=./setup.py``) and inside the Kubeflow container image.
The exact dependency versions are pinned in requirements/lock.txt.
"""

from setuptools import find_packages, setup

setup(
    name="image-tfx-pipeline",
    version="0.1.0",
    description="Production TFX pipeline for image classification, semantic segmentation and object detection",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=[
        "common", "common.*", "ingest", "pipeline", "components", "components.*", "trainer", "trainer.*", "reporting", "runners",
    ]),
    package_data={"": ["*.pbtxt", "*.txt"]},
    install_requires=[
        "tfx==1.16.0",
        "apache-beam[gcp]==2.61.0",
        "tf-keras==2.16.0",
        "pillow",
        "scikit-learn",
        "witwidget==1.8.1",
        "cleanlab==2.9.0",
        "imagehash==4.3.2",
        "tflite-support==0.4.4",
    ],
)
