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
