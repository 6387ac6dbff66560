"""Pusher executor that publishes a model version atomically and exactly once.

TFX's Pusher copies the SavedModel file by file into ``<base>/<version>`` (the
``saved_model.pb`` last).  A process killed half-way leaves a half-written
version that TF Serving tries to load, and a rerun pushes the same model again
under a new version.  This executor:

* copies into ``<base>/.staging-<version>`` and renames it to ``<base>/<version>``
  (one atomic rename on a local or POSIX file system), so TF Serving never
  sees a partial model;
* records the pushed model's URI in ``<version>/PUSHED_FROM``; a model already
  published under some version is not copied again — the Pusher records that
  version, so a rerun after a crash pushes exactly once;
* removes staging folders of interrupted pushes;
* puts the model card (``model_card.md`` / ``.html``, an optional input) into the
  version directory, so the documentation travels with the model it describes.

Object stores (``gs://``, ``s3://``) have no atomic rename; there the version is
copied in place with ``saved_model.pb`` last (as TFX does, so TF Serving waits
for it), and the exactly-once check still holds.
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Optional

from absl import logging
from tfx.components.pusher import executor as tfx_pusher
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

from components.atomic_pusher.spec import MODEL_CARD_KEY
from components.model_card.spec import CARD_FILENAMES

PUSHED_FROM = "PUSHED_FROM"
STAGING_PREFIX = ".staging-"
#: Test hook (fault injection): seconds to wait between the staged copy and the rename.
PAUSE_ENV = "IMAGE_TFX_PUSH_PAUSE_SECONDS"


def _is_object_store(path: str) -> bool:
    return "://" in path


def published_version(base_directory: str, model_uri: str) -> Optional[str]:
    """The version directory that already holds the model from ``model_uri``, if any (any file system)."""
    if not fileio.isdir(base_directory):
        return None
    for name in sorted(n.rstrip("/") for n in fileio.listdir(base_directory)):
        marker = os.path.join(base_directory, name, PUSHED_FROM)
        if name.isdigit() and fileio.exists(marker):
            with fileio.open(marker, "r") as handle:
                if handle.read().strip() == model_uri:
                    return name
    return None


def card_files(input_dict) -> list:
    """Paths of the model card's files (none when the Pusher has no model card input)."""
    cards = input_dict.get(MODEL_CARD_KEY) or []
    if not cards:
        return []
    paths = [os.path.join(cards[0].uri, name) for name in CARD_FILENAMES]
    missing = [p for p in paths if not fileio.exists(p)]
    if missing:
        raise FileNotFoundError(f"the model card artifact lacks {missing}; rerun the ModelCard component")
    return paths


def remove_interrupted_pushes(base_directory: str) -> None:
    for name in os.listdir(base_directory):
        if name.startswith(STAGING_PREFIX):
            logging.warning("removing %s, left by an interrupted push", os.path.join(base_directory, name))
            shutil.rmtree(os.path.join(base_directory, name), ignore_errors=True)


class Executor(tfx_pusher.Executor):
    """See the module docstring."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        base = destination.filesystem.base_directory if destination.WhichOneof("destination") == "filesystem" else ""
        if not base:
            return super().Do(input_dict, output_dict, exec_properties)
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        model_path = self.GetModelPath(input_dict)
        cards = card_files(input_dict)
        model_uri = artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY]).uri
        fileio.makedirs(base)
        if not _is_object_store(base):
            remove_interrupted_pushes(base)
        version = published_version(base, model_uri)
        if version is not None:
            logging.info("model %s is already published as version %s; not pushing it again", model_uri, version)
        elif _is_object_store(base):
            version = self._publish_in_place(model_path, model_uri, base, cards)
        else:
            version = self._publish(model_path, model_uri, base, cards)
        io_utils.copy_dir(model_path, model_push.uri)
        self._MarkPushed(model_push, pushed_destination=os.path.join(base, version), pushed_version=version)

    @staticmethod
    def _new_version(base: str) -> str:
        version = str(int(time.time()))
        while fileio.exists(os.path.join(base, version)):  # two pushes in one second get distinct versions
            version = str(int(version) + 1)
        return version

    @classmethod
    def _publish_in_place(cls, model_path: str, model_uri: str, base: str, cards: list) -> str:
        """Object stores: files first, ``saved_model.pb`` last (what TF Serving waits for), then the origin."""
        version = cls._new_version(base)
        target = os.path.join(base, version)
        io_utils.copy_dir(model_path, target, deny_regex_patterns=[r"saved_model\.pb"])
        for card in cards:
            io_utils.copy_file(card, os.path.join(target, os.path.basename(card)))
        io_utils.copy_file(os.path.join(model_path, "saved_model.pb"), os.path.join(target, "saved_model.pb"))
        with fileio.open(os.path.join(target, PUSHED_FROM), "w") as handle:
            handle.write(model_uri + "\n")
        return version

    @classmethod
    def _publish(cls, model_path: str, model_uri: str, base: str, cards: list) -> str:
        version = cls._new_version(base)
        staging = os.path.join(base, STAGING_PREFIX + version)
        shutil.copytree(model_path, staging)
        for card in cards:
            shutil.copy(card, os.path.join(staging, os.path.basename(card)))
        with open(os.path.join(staging, PUSHED_FROM), "w", encoding="utf-8") as handle:
            handle.write(model_uri + "\n")
        pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
        if pause:
            logging.info("pausing %.1f s before publishing (%s)", pause, PAUSE_ENV)
            time.sleep(pause)
        os.rename(staging, os.path.join(base, version))
        logging.info("model published atomically as %s", os.path.join(base, version))
        return version
