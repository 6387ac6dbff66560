"""LatestBlessedBaselineStrategy on real TFX artifacts."""

from tfx.types import standard_artifacts

from components.baseline_resolver import LatestBlessedBaselineStrategy


def _model(artifact_id):
    model = standard_artifacts.Model()
    model.id = artifact_id
    return model


def _blessing(model_id, blessed):
    blessing = standard_artifacts.ModelBlessing()
    blessing.set_int_custom_property("current_model_id", model_id)
    blessing.set_int_custom_property("blessed", int(blessed))
    return blessing


def _resolve(models, blessings, candidate):
    return LatestBlessedBaselineStrategy().resolve_artifacts(
        None, {"model": models, "model_blessing": blessings, "candidate": candidate}
    )


def test_latest_blessed_model_other_than_candidate():
    models = [_model(1), _model(2), _model(3)]
    blessings = [_blessing(1, True), _blessing(2, True), _blessing(3, False)]
    result = _resolve(models, blessings, [models[2]])
    assert [m.id for m in result["model"]] == [2]
    assert result["model_blessing"][0].get_int_custom_property("current_model_id") == 2
    assert [m.id for m in result["candidate"]] == [3]


def test_cached_candidate_that_is_the_latest_blessed_model_is_not_its_own_baseline():
    models = [_model(1), _model(2)]
    blessings = [_blessing(1, True), _blessing(2, True)]
    result = _resolve(models, blessings, [models[1]])
    assert [m.id for m in result["model"]] == [1]
    only = _resolve([models[1]], [blessings[1]], [models[1]])
    assert only["model"] == [] and only["model_blessing"] == []


def test_no_blessings_yet_gives_no_baseline():
    result = _resolve([_model(1)], [], [_model(1)])
    assert result["model"] == [] and result["model_blessing"] == []


def _store_with_trainers(tmp_path, lineages):
    """A real MLMD store where model i (id i+1) was produced by a Trainer run with lineages[i]."""
    import json

    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "m.sqlite")
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    store = metadata_store.MetadataStore(config)
    model_type = store.put_artifact_type(metadata_store_pb2.ArtifactType(name="Model"))
    trainer_type = store.put_execution_type(metadata_store_pb2.ExecutionType(name="Trainer"))
    ids = []
    for value in lineages:
        execution = metadata_store_pb2.Execution(type_id=trainer_type)
        execution.custom_properties["custom_config"].string_value = json.dumps({"lineage": value})
        event = metadata_store_pb2.Event(type=metadata_store_pb2.Event.OUTPUT)
        _, [artifact_id], _ = store.put_execution(
            execution, [(metadata_store_pb2.Artifact(type_id=model_type, uri=f"/m/{value}"), event)], [])
        ids.append(artifact_id)
    return store, ids


def test_only_a_model_of_the_same_task_classes_and_data_is_a_baseline(tmp_path):
    store, ids = _store_with_trainers(tmp_path, ["digits", "digits", "photos", "digits-other-labels"])
    models = [_model(i) for i in ids]
    blessings = [_blessing(i, True) for i in ids]
    candidate = [_model(99)]
    strategy = LatestBlessedBaselineStrategy(lineage="digits")
    result = strategy.resolve_artifacts(store, {"model": models, "model_blessing": blessings, "candidate": candidate})
    assert [m.id for m in result["model"]] == [ids[1]]  # the newest *comparable* blessed model
    first_photos = LatestBlessedBaselineStrategy(lineage="cats-vs-dogs").resolve_artifacts(
        store, {"model": models, "model_blessing": blessings, "candidate": candidate})
    assert first_photos["model"] == [] and first_photos["model_blessing"] == []  # absolute thresholds only
