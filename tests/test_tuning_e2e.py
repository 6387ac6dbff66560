"""--tune end to end: TFX's Tuner runs before the Trainer, the Trainer trains with its best values, the summary
says so, and an unchanged rerun does not tune again."""

import json
import os

import pytest

from ingest import embedded
from runners import local as local_run

pytestmark = pytest.mark.e2e


def test_the_trainer_trains_with_the_tuners_best_values_and_a_rerun_is_cached(tmp_path, capsys):
    digits = embedded.write_digits_pngs(tmp_path / "digits", limit_per_class=15)
    argv = ["--data", str(digits), "--output-dir", str(tmp_path / "out"), "--image-size", "16",
            "--train-steps", "30", "--tune", "--tune-trials", "3", "--tune-steps", "10", "--min-accuracy", "0"]
    assert local_run.main(argv) == 0
    console = capsys.readouterr().out
    summary_path = os.path.join(tmp_path, "out", "reports", "latest", "run_summary.json")
    summary = json.load(open(summary_path))
    order = [c["node_id"] for c in summary["components"]]
    assert order.index("Transform") < order.index("Tuner") < order.index("Trainer")
    trials = summary["tuning"]["trials"]
    assert len(trials) == 3 and min(int(t["trial_id"]) for t in trials) == 0
    best = {k: v for k, v in trials[0].items() if k not in ("trial_id", "score")}
    # The Trainer received the best values and its configuration really held them while it trained.
    trainer = next(c for c in summary["components"] if c["node_id"] == "Trainer")
    recorded = json.load(open(os.path.join(trainer["outputs"]["model_run"][0], "hyperparameters.json")))
    assert recorded["tuned"] and recorded["values"] == best
    assert recorded["applied"]["learning_rate"] == best["learning_rate"]
    assert "Tuning: 3 trials scored on the validation split; " in console
    assert ("for the defaults (trial 0)" in console or "the defaults scored best" in console)
    assert "Search: Running Trial" not in console

    report = open(os.path.join(tmp_path, "out", "reports", "latest", "data_report.html"), encoding="utf-8").read()
    assert "<h2 id=training>" in report and report.count("<tr><td>", report.index('class="trials"')) >= 3
    samples = report[report.index("Training images as the model saw them"):report.index('class="trials"')]
    assert samples.count('<img src="data:image/png;base64,') == 8  # augmented, as the model saw them

    assert local_run.main(argv) == 0  # nothing changed: the Tuner is served from the cache too
    rerun = json.load(open(summary_path))
    assert {c["node_id"]: c["state"] for c in rerun["components"]}["Tuner"] == "CACHED"

    # The best values saved, then imported: no Tuner, the Trainer trains with them and says where they came from.
    tuner = next(c for c in summary["components"] if c["node_id"] == "Tuner")
    saved = os.path.join(tuner["outputs"]["best_hyperparameters"][0], "best_hyperparameters.txt")
    imported = [a for a in argv if a not in ("--tune",)]
    imported = imported[:imported.index("--tune-trials")] + ["--min-accuracy", "0", "--hyperparameters", saved]
    capsys.readouterr()
    assert local_run.main(imported) == 0
    third = json.load(open(summary_path))
    assert "Tuner" not in [c["node_id"] for c in third["components"]]
    assert third["hyperparameters"]["applied"] == recorded["applied"]
    assert f"Hyperparameters from --hyperparameters {saved}" in capsys.readouterr().out
