//! `pipit model …`: the registry and the deployment gate through the real binary.

use serde_json::Value;

use crate::harness::{Repo, Run, prepare_churn, train_churn};

/// A repository with prepared churn data (small) and pipeline.yaml at its root.
fn prepared() -> Repo {
    let repo = Repo::with_pipeline("stages: {}\n", "");
    prepare_churn(&repo, "400", "3");
    repo
}

/// Trains `model` with a gate `threshold` on F1; returns (model, metrics) paths.
fn train(repo: &Repo, name: &str, model: &str, threshold: &str) -> (String, String) {
    let (model_out, metrics_out) = (format!("models/{name}.model"), format!("metrics/{name}.json"));
    let run = train_churn(
        repo,
        model,
        &["--gate-threshold", threshold, "--model-out", &model_out, "--metrics-out", &metrics_out],
    );
    assert_eq!(run.code, 0, "{run}");
    (model_out, metrics_out)
}

fn register(repo: &Repo, model: &str, metrics: &str, extra: &[&str]) -> Run {
    let mut args = vec!["model", "register", "--dataset", "churn", "--model", model];
    args.extend(["--metrics", metrics]);
    args.extend_from_slice(extra);
    repo.pipit(args)
}

fn current(repo: &Repo) -> Value {
    let text = fs_err::read_to_string(repo.path().join("registry/current")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_gate_promotion_and_rollback_flow() {
    let repo = prepared();
    let logistic = train(&repo, "logistic", "logistic", "0.0");
    let rejected = train(&repo, "tree", "tree", "0.99");
    let gbm = train(&repo, "gbm", "gbm", "0.0");

    let run = register(&repo, &logistic.0, &logistic.1, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("registered churn logistic as v1: accepted"), "{run}");
    assert!(run.stdout.contains("now current for churn"), "{run}");
    assert_eq!(current(&repo)["churn"], 1);

    let run = register(&repo, &rejected.0, &rejected.1, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("as v2: rejected (f1 "), "{run}");
    assert!(run.stdout.contains("< threshold 0.9900"), "{run}");
    assert_eq!(current(&repo)["churn"], 1, "a rejected model never becomes current");

    // The same model registers once: no new version.
    let again = register(&repo, &logistic.0, &logistic.1, &[]);
    assert_eq!(again.code, 0, "{again}");
    assert!(again.stdout.contains("is already registered as v1 (accepted)"), "{again}");

    let run = register(&repo, &gbm.0, &gbm.1, &["--promote", "never"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("as v3: accepted"), "{run}");
    assert!(run.stdout.contains("pipit model promote 3"), "{run}");
    assert_eq!(current(&repo)["churn"], 1);

    let list = repo.pipit(["model", "list", "--json"]);
    assert_eq!(list.code, 0, "{list}");
    let entries: Vec<Value> = serde_json::from_str(&list.stdout).unwrap();
    let versions: Vec<_> = entries.iter().map(|e| e["version"].as_u64().unwrap()).collect();
    assert_eq!(versions, [1, 2, 3]);
    let statuses: Vec<_> = entries.iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["accepted", "rejected", "accepted"]);
    assert_eq!(entries[0]["current"], true);
    for entry in &entries {
        for key in ["time", "dataset", "model", "params", "metrics", "baseline", "gate"] {
            assert!(!entry[key].is_null(), "{key} in {entry}");
        }
        assert_eq!(entry["model_blake3"].as_str().unwrap().len(), 64);
        assert_eq!(entry["data"]["train"].as_str().unwrap().len(), 64);
    }
    let table = repo.pipit(["model", "list"]);
    assert!(table.stdout.starts_with("VERSION  DATASET  MODEL"), "{table}");
    assert_eq!(table.stdout.lines().count(), 4, "{table}");
    assert!(table.stdout.lines().all(|l| l.chars().count() <= 80), "fits 80 columns: {table}");

    let show = repo.pipit(["model", "show", "v2"]);
    assert_eq!(show.code, 0, "{show}");
    assert!(show.stdout.contains("v2 · churn · tree (classification)"), "{show}");
    assert!(show.stdout.contains("status      rejected (f1 "), "{show}");

    let refused = repo.pipit(["model", "promote", "2"]);
    assert_eq!(refused.code, 1, "{refused}");
    assert!(refused.stderr.contains("v2 (churn tree) was rejected by the gate"), "{refused}");
    assert!(refused.stderr.contains("only an accepted model can become current"), "{refused}");
    let unknown = repo.pipit(["model", "promote", "v7"]);
    assert_eq!(unknown.code, 1, "{unknown}");
    assert!(unknown.stderr.contains("has no model v7: it has v1 to v3"), "{unknown}");
    let garbage = repo.pipit(["model", "show", "latest"]);
    assert_eq!(garbage.code, 1, "{garbage}");
    assert!(garbage.stderr.contains("`latest` is not a model version"), "{garbage}");
    assert_eq!(current(&repo)["churn"], 1, "failed promotions change nothing");

    let promote = repo.pipit(["model", "promote", "3"]);
    assert_eq!(promote.code, 0, "{promote}");
    assert!(promote.stdout.contains("v3 (gbm) is now current for churn (was v1)"), "{promote}");
    assert_eq!(current(&repo)["churn"], 3);

    // Back to the newest accepted model older than the current one: v1, not the rejected v2.
    let rollback = repo.pipit(["model", "rollback"]);
    assert_eq!(rollback.code, 0, "{rollback}");
    assert!(
        rollback.stdout.contains("v1 (logistic) is now current for churn (was v3)"),
        "{rollback}"
    );
    let none = repo.pipit(["model", "rollback"]);
    assert_eq!(none.code, 1, "{none}");
    assert!(none.stderr.contains("churn has no accepted model older than v1"), "{none}");
    let to = repo.pipit(["model", "rollback", "--to", "3"]);
    assert_eq!(to.code, 0, "{to}");
    assert_eq!(current(&repo)["churn"], 3);
    let to_rejected = repo.pipit(["model", "rollback", "--to", "2"]);
    assert_eq!(to_rejected.code, 1, "{to_rejected}");

    let history = fs_err::read_to_string(repo.path().join("registry/history.jsonl")).unwrap();
    let moves: Vec<(Value, Value)> = history
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["from"].clone(), v["to"].clone()))
        .collect();
    let expected: Vec<(Value, Value)> = [(None, 1), (Some(1), 3), (Some(3), 1), (Some(1), 3)]
        .into_iter()
        .map(|(from, to): (Option<u64>, u64)| (from.into(), to.into()))
        .collect();
    assert_eq!(moves, expected);
    // The registry keeps each model file, so a rolled-back model can still be served.
    assert!(repo.path().join("registry/models/2.model").is_file());
}

#[test]
fn auto_promotion_keeps_the_better_champion_and_registration_is_safe_in_parallel() {
    let repo = prepared();
    let models = ["logistic", "tree", "forest", "gbm"].map(|m| train(&repo, m, m, "0.0"));
    let f1 = |(_, metrics): &(String, String)| {
        let text = fs_err::read_to_string(repo.path().join(metrics)).unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["f1"].as_f64().unwrap()
    };
    // Four registrations at once: each gets its own version, none is lost.
    std::thread::scope(|scope| {
        for model in &models {
            scope.spawn(|| {
                let run = register(&repo, &model.0, &model.1, &[]);
                assert_eq!(run.code, 0, "{run}");
            });
        }
    });
    let list = repo.pipit(["model", "list", "--json", "--dataset", "churn"]);
    let entries: Vec<Value> = serde_json::from_str(&list.stdout).unwrap();
    let mut versions: Vec<_> = entries.iter().map(|e| e["version"].as_u64().unwrap()).collect();
    versions.sort_unstable();
    assert_eq!(versions, [1, 2, 3, 4]);
    // Whatever the order, the current model is one with the best F1.
    let best = models.iter().map(f1).fold(f64::NEG_INFINITY, f64::max);
    let current_version = current(&repo)["churn"].as_u64().unwrap();
    let champion = entries.iter().find(|e| e["version"] == current_version).unwrap();
    assert_eq!(champion["gate"]["value"].as_f64().unwrap(), best, "{champion}");
    let other = repo.pipit(["model", "list", "--dataset", "housing"]);
    assert!(other.stdout.contains("no housing models in"), "{other}");
}

#[test]
fn register_refuses_what_is_not_a_model_or_its_metrics() {
    let repo = prepared();
    let (model, metrics) = train(&repo, "tree", "tree", "0.0");
    repo.write("broken.model", "{\"format\":\"pipit-model\",\"version\":2,\"blake3\":\"00\"}\n{}");
    let run = register(&repo, "broken.model", &metrics, &[]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("is corrupted"), "{run}");
    repo.write("plain.json", "{\"f1\": 0.9}");
    let run = register(&repo, &model, "plain.json", &[]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("has no gate verdict"), "{run}");
    let (_, gbm_metrics) = train(&repo, "gbm", "gbm", "0.0");
    let run = register(&repo, &model, &gbm_metrics, &[]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("holds the metrics of a gbm model"), "{run}");
    assert!(!repo.path().join("registry/entries").exists(), "nothing was registered");
}
