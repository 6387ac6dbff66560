"""The console summary's wording for missing per-class values and for the steps trained."""

from reporting.run_summary import _undefined, format_training_steps

NAN = float("nan")


def test_a_class_the_model_never_predicted_is_not_called_absent():
    metrics = {"precision/cat": NAN, "recall/cat": 0.0, "precision/dog": NAN, "recall/dog": NAN}
    assert _undefined("precision/cat", metrics) == "n/a (the model never predicted this class)"
    assert _undefined("precision/dog", metrics) == "n/a (no eval examples of this class)"
    assert _undefined("recall/dog", metrics) == "n/a (no eval examples of this class)"


def test_training_steps_line_names_each_phase_early_stops_and_stored_features():
    exact = {"head": {"steps": 120, "planned_steps": 120, "stored_features": True},
             "fine_tune": {"steps": 40, "planned_steps": 40, "stored_features": False}}
    assert format_training_steps(exact) == \
        "Training: 160 steps (head 120 on backbone features computed once, fine_tune 40)"
    stopped = {"train": {"steps": 150, "planned_steps": 500, "stored_features": False}}
    assert format_training_steps(stopped).startswith("Training: 150 of 500 steps (train 150 of 500 (early stopping")


def test_files_left_out_by_the_preparation_are_counted_by_reason_and_named():
    from reporting.run_summary import format_left_out

    left_out = [{"files": ["cat/notes.txt"], "reason": "not an image file"},
                {"files": ["images/a.png"], "reason": "no mask with this name stem"}] + \
               [{"files": [f"dog/{i}.json"], "reason": "not an image file"} for i in range(11)]
    lines = format_left_out(left_out)
    assert lines[0] == ("Left out by data preparation: 13 file(s), never examples: 12 not an image file; "
                        "1 no mask with this name stem")
    assert lines[1] == "  cat/notes.txt: not an image file" and lines[-1] == "  ... 3 more in the data report"
    assert format_left_out([]) == []


def test_held_out_splits_not_chosen_are_read_from_the_manifest():
    from reporting.run_summary import unused_sources

    assert unused_sources({"layout": {"unused": {"test/": 127}}, "rejected": []}) == {"test/": 127}
    assert unused_sources({"rejected": []}) == {} and unused_sources({}) == {}


def test_the_tuning_line_sets_the_best_trial_beside_the_defaults():
    from reporting.run_summary import format_tuning

    trials = [{"trial_id": "2", "score": 0.9, "learning_rate": 0.004}, {"trial_id": "0", "score": 0.8, "learning_rate": 0.002}]
    line = format_tuning({"trials": trials, "trainer_values": {"learning_rate": 0.004}})
    assert "best 0.9000 (trial 2: learning_rate 0.004) against 0.8000 for the defaults (trial 0)" in line
    assert line.endswith("the Trainer trained with learning_rate 0.004")
    assert "the defaults scored best (0.8000" in format_tuning({"trials": trials[1:]})
