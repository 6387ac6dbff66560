"""AtomicPusher executor: Do() on real Model / ModelBlessing artifacts in a temp dir."""

import json
import os

from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

import pytest

from components.atomic_pusher.executor import PUSHED_FROM, STAGING_PREFIX, Executor
from components.atomic_pusher.spec import MODEL_CARD_KEY
from components.model_card.spec import HTML_FILENAME, MARKDOWN_FILENAME, ModelCard


def _artifacts(tmp_path, blessed=True, name="model"):
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / name)
    serving = tmp_path / name / "Format-Serving"
    (serving / "variables").mkdir(parents=True)
    (serving / "saved_model.pb").write_bytes(b"graph")
    (serving / "variables" / "variables.index").write_bytes(b"weights")
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / f"{name}_blessing")
    blessing.set_int_custom_property("blessed", int(blessed))
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / f"{name}_pushed")
    return model, blessing, pushed


def _push(tmp_path, model, blessing, pushed, card=None):
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=str(tmp_path / "serving")))
    inputs = {"model": [model], "model_blessing": [blessing]}
    if card is not None:
        inputs[MODEL_CARD_KEY] = [card]
    Executor().Do(inputs, {"pushed_model": [pushed]},
                  {"push_destination": proto_utils.proto_to_json(destination), "custom_config": json.dumps({})})
    return pushed


def test_a_blessed_model_appears_complete_with_its_origin(tmp_path):
    model, blessing, pushed = _artifacts(tmp_path)
    _push(tmp_path, model, blessing, pushed)
    (version,) = os.listdir(tmp_path / "serving")
    target = tmp_path / "serving" / version
    assert version.isdigit() and (target / "saved_model.pb").read_bytes() == b"graph"
    assert (target / "variables" / "variables.index").read_bytes() == b"weights"
    assert (target / PUSHED_FROM).read_text().strip() == model.uri
    assert pushed.get_int_custom_property("pushed") == 1
    assert pushed.get_string_custom_property("pushed_destination") == str(target)


def test_the_same_model_is_pushed_once_and_interrupted_pushes_are_cleaned(tmp_path):
    model, blessing, pushed = _artifacts(tmp_path)
    _push(tmp_path, model, blessing, pushed)
    (tmp_path / "serving" / f"{STAGING_PREFIX}123").mkdir()  # a push killed before its rename
    again = _push(tmp_path, model, blessing, _artifacts(tmp_path, name="other")[2])
    assert len(os.listdir(tmp_path / "serving")) == 1  # no second copy, no staging left
    assert again.get_string_custom_property("pushed_destination") == \
        pushed.get_string_custom_property("pushed_destination")


def test_a_model_that_is_not_blessed_is_not_pushed(tmp_path):
    model, blessing, pushed = _artifacts(tmp_path, blessed=False)
    _push(tmp_path, model, blessing, pushed)
    assert not (tmp_path / "serving").exists() or os.listdir(tmp_path / "serving") == []
    assert pushed.get_int_custom_property("pushed") == 0


def test_object_store_path_publishes_in_place_once(tmp_path, monkeypatch):
    """gs:// and s3:// have no atomic rename: saved_model.pb is written last, and a model is published once."""
    from components.atomic_pusher import executor as atomic

    monkeypatch.setattr(atomic, "_is_object_store", lambda path: True)
    model, blessing, pushed = _artifacts(tmp_path)
    _push(tmp_path, model, blessing, pushed)
    _push(tmp_path, model, blessing, _artifacts(tmp_path, name="again")[2])
    (version,) = os.listdir(tmp_path / "serving")
    assert (tmp_path / "serving" / version / "saved_model.pb").read_bytes() == b"graph"
    assert (tmp_path / "serving" / version / PUSHED_FROM).read_text().strip() == model.uri


def _card(tmp_path, files):
    card = ModelCard()
    card.uri = str(tmp_path / "card")
    os.makedirs(card.uri)
    for name in files:
        (tmp_path / "card" / name).write_text(f"card {name}")
    return card


def test_the_model_card_lands_inside_the_version_directory(tmp_path):
    model, blessing, pushed = _artifacts(tmp_path)
    _push(tmp_path, model, blessing, pushed, _card(tmp_path, [MARKDOWN_FILENAME, HTML_FILENAME]))
    (version,) = os.listdir(tmp_path / "serving")
    for name in (MARKDOWN_FILENAME, HTML_FILENAME):
        assert (tmp_path / "serving" / version / name).read_text() == f"card {name}"


def test_an_incomplete_card_is_refused_and_nothing_is_published(tmp_path):
    model, blessing, pushed = _artifacts(tmp_path)
    with pytest.raises(FileNotFoundError, match=HTML_FILENAME):
        _push(tmp_path, model, blessing, pushed, _card(tmp_path, [MARKDOWN_FILENAME]))
    assert not (tmp_path / "serving").exists() or not os.listdir(tmp_path / "serving")
