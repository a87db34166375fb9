import json

from propensity.cli import main
from propensity.registry import Registry


def test_benchmark_prints_the_contract_json(events, tmp_path, capsys):
    path = tmp_path / "log.csv"
    events.to_csv(path, index=False)
    rc = main(["benchmark", "--transactions", str(path), "--test-cutoff", "2024-09-07",
               "--train-cutoffs", "2024-05-30,2024-06-29,2024-07-29", "--json",
               "--report", str(tmp_path / "report")])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"rows", "positive_rate", "models", "seconds"}
    assert set(out["rows"]) == {"train", "test"} and out["rows"]["test"] > 0
    for name in ("mlp", "logreg", "gbm"):
        assert {"roc_auc", "pr_auc", "brier"} <= set(out["models"][name])
    assert {"features", "train"} <= set(out["seconds"])
    assert (tmp_path / "report" / "report.md").exists()
    assert (tmp_path / "report" / "reliability.png").stat().st_size > 1000


def test_train_registers_promotes_and_rolls_back(events, tmp_path, capsys):
    path = tmp_path / "log.csv"
    events.to_csv(path, index=False)
    reg = tmp_path / "registry"
    assert main(["--registry", str(reg), "train", "--transactions", str(path)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["promoted"] and Registry(reg).current() == first["version"]
    meta = Registry(reg).meta(first["version"])
    assert meta["data_fingerprint"].startswith("sha256:") and meta["train_cutoffs"]
    assert (reg / first["version"] / "report.md").exists()
    # Same data, same seed: the second model is as good, so promotion goes through.
    assert main(["--registry", str(reg), "train", "--transactions", str(path)]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["promoted"] and second["previous"] == first["version"]
    assert main(["--registry", str(reg), "rollback"]) == 0
    assert Registry(reg).current() == first["version"]


def test_malformed_file_is_a_clear_error_not_a_traceback(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,timestamp,amount\n1,2024-01-01,5\n2,2024-13-45,5\n")
    assert main(["benchmark", "--transactions", str(path), "--test-cutoff", "2024-03-01"]) == 2
    err = capsys.readouterr().err
    assert "line 3" in err and "timestamp" in err and "Traceback" not in err


def test_benchmark_runs_on_a_log_with_only_the_required_columns(events, tmp_path, capsys):
    # Another shop's export may have no quantities, products or event types: the features that
    # need them are constant, the MLP leaves them out and still ranks buyers above non-buyers.
    path = tmp_path / "log.csv"
    purchases = events[events["event_type"] == "purchase"]
    purchases[["customer_id", "timestamp", "amount"]].to_csv(path, index=False)
    rc = main(["benchmark", "--transactions", str(path), "--test-cutoff", "2024-09-07",
               "--train-cutoffs", "2024-05-30,2024-06-29,2024-07-29", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"]["test"] > 0
    assert out["models"]["mlp"]["roc_auc"] > 0.6
    assert out["models"]["mlp"]["roc_auc"] > out["models"]["recency"]["roc_auc"]
