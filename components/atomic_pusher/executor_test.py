"""AtomicPusher executor: Do() on real Model / ModelBlessing artifacts in a temp dir."""

import json
import os

from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import proto_utils

from components.atomic_pusher.executor import PUSHED_FROM, STAGING_PREFIX, Executor


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


def _push(tmp_path, model, blessing, pushed):
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=str(tmp_path / "serving")))
    Executor().Do({"model": [model], "model_blessing": [blessing]}, {"pushed_model": [pushed]},
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
