//! The registry cannot be fooled: metrics must belong to the model they come
//! with and hold the verdict the gate gave, and a damaged stored model never
//! becomes current.

use serde_json::Value;

use crate::harness::{Repo, Run, prepare_churn, train_churn};

/// A repository with prepared churn data (small) and pipeline.yaml at its root.
fn prepared() -> Repo {
    let repo = Repo::with_pipeline("stages: {}\n", "");
    prepare_churn(&repo, "400", "3");
    repo
}

/// Trains a tree as `name` with `extra` arguments; returns (model, metrics) paths.
fn train_tree(repo: &Repo, name: &str, extra: &[&str]) -> (String, String) {
    let (model, metrics) = (format!("models/{name}.model"), format!("metrics/{name}.json"));
    let mut args = vec!["--model-out", &model, "--metrics-out", &metrics];
    args.extend_from_slice(extra);
    let run = train_churn(repo, "tree", &args);
    assert_eq!(run.code, 0, "{run}");
    (model, metrics)
}

fn register(repo: &Repo, model: &str, metrics: &str) -> Run {
    repo.pipit(["model", "register", "--dataset", "churn", "--model", model, "--metrics", metrics])
}

fn read_json(repo: &Repo, path: &str) -> Value {
    serde_json::from_str(&fs_err::read_to_string(repo.path().join(path)).unwrap()).unwrap()
}

fn write_json(repo: &Repo, path: &str, value: &Value) {
    repo.write(path, &serde_json::to_string_pretty(value).unwrap());
}

#[test]
fn train_names_the_model_its_metrics_measured() {
    let repo = prepared();
    let (model, metrics) = train_tree(&repo, "tree", &[]);
    let bytes = fs_err::read(repo.path().join(&model)).unwrap();
    let written = read_json(&repo, &metrics);
    assert_eq!(written["model"]["kind"], "tree");
    assert_eq!(written["model"]["blake3"], blake3::hash(&bytes).to_hex().to_string());
}

#[test]
fn register_refuses_a_gate_verdict_edited_in_the_metrics_file() {
    let repo = prepared();
    let (model, metrics) = train_tree(&repo, "strict", &["--gate-threshold", "0.99"]);
    let mut forged = read_json(&repo, &metrics);
    assert_eq!(forged["gate"]["accepted"], false, "{forged}");
    forged["gate"]["accepted"] = Value::Bool(true);
    write_json(&repo, "forged.json", &forged);
    let run = register(&repo, &model, "forged.json");
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("`forged.json` does not hold a verdict the gate gave"), "{run}");
    assert!(run.stderr.contains("it says the model was accepted, but its numbers reject it: f1 "));
    assert!(run.stderr.contains("< threshold 0.9900"), "{run}");
    assert!(run.stderr.contains("train the model again with `pipit stage train`"), "{run}");

    // Raising the key metric past the threshold in the gate alone does not help either.
    let mut raised = read_json(&repo, &metrics);
    raised["gate"]["value"] = 0.995.into();
    raised["gate"]["accepted"] = Value::Bool(true);
    write_json(&repo, "raised.json", &raised);
    let run = register(&repo, &model, "raised.json");
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("the gate's f1 is 0.995, but the metrics' is "), "{run}");
    assert!(!repo.path().join("registry/entries").exists(), "nothing was registered");

    // The file train wrote registers, rejected.
    let run = register(&repo, &model, &metrics);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("registered churn tree as v1: rejected"), "{run}");
}

#[test]
fn register_refuses_metrics_that_belong_to_another_model() {
    let repo = prepared();
    let (model, _) = train_tree(&repo, "deep", &["--gate-threshold", "0.0"]);
    let (_, other) = train_tree(&repo, "shallow", &["--param", "max_depth=2"]);
    let run = register(&repo, &model, &other);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("`metrics/shallow.json` holds the metrics of another model"),
        "{run}"
    );
    assert!(run.stderr.contains("but `models/deep.model` has `"), "{run}");

    // Metrics that name no model (as pipit before this check wrote them) vouch for none.
    let mut unnamed = read_json(&repo, "metrics/deep.json");
    unnamed["model"].as_object_mut().unwrap().remove("blake3");
    write_json(&repo, "unnamed.json", &unnamed);
    let run = register(&repo, &model, "unnamed.json");
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("`unnamed.json` does not say which model it measured"), "{run}");
    assert!(!repo.path().join("registry/entries").exists(), "nothing was registered");

    // Once registered, the same checks hold for the already-registered shortcut.
    let run = register(&repo, &model, "metrics/deep.json");
    assert_eq!(run.code, 0, "{run}");
    let run = register(&repo, &model, &other);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("holds the metrics of another model"), "{run}");
}

fn current(repo: &Repo) -> String {
    fs_err::read_to_string(repo.path().join("registry/current")).unwrap()
}

#[test]
fn promote_and_rollback_refuse_a_missing_or_damaged_model_file() {
    let repo = prepared();
    let (first, first_metrics) = train_tree(&repo, "first", &["--gate-threshold", "0.0"]);
    let (second, second_metrics) =
        train_tree(&repo, "second", &["--gate-threshold", "0.0", "--param", "max_depth=2"]);
    assert_eq!(register(&repo, &first, &first_metrics).code, 0);
    let run = repo.pipit([
        "model",
        "register",
        "--dataset",
        "churn",
        "--model",
        &second,
        "--metrics",
        &second_metrics,
        "--promote",
        "never",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let before = current(&repo);
    let stored = repo.path().join("registry/models/2.model");
    let bytes = fs_err::read(&stored).unwrap();

    // Truncated: promote refuses it, naming the version and the file.
    fs_err::write(&stored, &bytes[..bytes.len() / 2]).unwrap();
    let run = repo.pipit(["model", "promote", "2"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains(
            "v2 cannot become current: its model file `registry/models/2.model` does not match \
             the BLAKE3 recorded when it was registered (it is truncated or was changed)"
        ),
        "{run}"
    );
    assert!(run.stderr.contains("register the model it came from (`models/second.model`)"));
    // Same length, one byte changed: the checksum still tells.
    let mut changed = bytes.clone();
    *changed.last_mut().unwrap() ^= 1;
    fs_err::write(&stored, &changed).unwrap();
    let run = repo.pipit(["model", "rollback", "--to", "2"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("v2 cannot become current"), "{run}");
    // Missing.
    fs_err::remove_file(&stored).unwrap();
    let run = repo.pipit(["model", "promote", "v2"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("`registry/models/2.model` is missing"), "{run}");
    assert_eq!(current(&repo), before, "current is unchanged");

    // Registering the same model again restores the file; then it may become current.
    let run = register(&repo, &second, &second_metrics);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("restored its model file `registry/models/2.model`, which was missing"),
        "{run}"
    );
    assert_eq!(fs_err::read(&stored).unwrap(), bytes);
    let run = repo.pipit(["model", "promote", "2"]);
    assert_eq!(run.code, 0, "{run}");

    // A plain rollback that picks a damaged version refuses it too.
    repo.write("registry/models/1.model", "");
    let before = current(&repo);
    let run = repo.pipit(["model", "rollback"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("v1 cannot become current: its model file"), "{run}");
    assert_eq!(current(&repo), before, "current is unchanged");
    let history = fs_err::read_to_string(repo.path().join("registry/history.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 2, "only the two real moves: {history}");
}
