//! Rare classes: class weights, sample weights, a decision threshold chosen on
//! out-of-fold predictions, and a comparison that never crowns a model that
//! finds nothing.

use serde_json::Value;

use crate::harness::{Repo, Run};

/// Generates credit data with `rate` fraud and prepares it into `prepared/`.
fn credit(repo: &Repo, rows: &str, rate: &str) {
    let generate = ["--rows", rows, "--positive-rate", rate, "--seed", "3"];
    crate::harness::prepare_generated(repo, ("credit", "is_fraud"), &generate);
}

fn train(repo: &Repo, model: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "stage",
        "train",
        "--train",
        "prepared/train.csv",
        "--test",
        "prepared/test.csv",
        "--target",
        "is_fraud",
        "--task",
        "classification",
        "--model",
        model,
        "--gate-metric",
        "f1",
        "--model-out",
        "m.model",
        "--metrics-out",
        "m.json",
    ];
    args.extend_from_slice(extra);
    repo.pipit(args)
}

fn metrics(repo: &Repo) -> Value {
    serde_json::from_str(&repo.read("m.json")).unwrap()
}

#[test]
fn balanced_weights_and_an_automatic_threshold_catch_fraud() {
    let repo = Repo::new();
    credit(&repo, "6000", "0.02");
    let params = ["--param", "class_weight=balanced", "--param", "threshold=auto", "--param"];
    let run = train(&repo, "gbm", &[&params[..], &["n_trees=40"]].concat());
    assert_eq!(run.code, 0, "{run}");
    let report = metrics(&repo);
    let threshold = report["threshold"]["value"].as_f64().unwrap();
    assert!(threshold > 0.0 && threshold < 1.0, "{report}");
    assert!(report["threshold"]["chosen_by"].as_str().unwrap().contains("out-of-fold"));
    assert!(report["threshold"]["out_of_fold"]["f1"].as_f64().unwrap() > 0.0, "{report}");
    let (recall, precision) =
        (report["recall"].as_f64().unwrap(), report["precision"].as_f64().unwrap());
    assert!(recall >= 0.5 && precision >= 0.5, "fraud caught: {report}");
    for metric in ["log_loss", "brier", "pr_auc"] {
        assert!(report[metric].as_f64().is_some(), "{metric}: {report}");
    }
    // The saved model predicts with its threshold: as many flagged rows as the
    // confusion matrix's predicted-positive column.
    let predict = repo.pipit([
        "stage",
        "predict",
        "--model",
        "m.model",
        "--data",
        "prepared/test.csv",
        "--out",
        "predictions.csv",
    ]);
    assert_eq!(predict.code, 0, "{predict}");
    let flagged = repo.read("predictions.csv").lines().filter(|l| l.starts_with("1,")).count();
    let matrix = &report["confusion_matrix"];
    let predicted_positive = matrix[0][1].as_u64().unwrap() + matrix[1][1].as_u64().unwrap();
    assert_eq!(flagged as u64, predicted_positive, "{}", repo.read("predictions.csv"));
}

#[test]
fn class_weights_change_the_model_and_threshold_moves_its_decisions() {
    let repo = Repo::new();
    credit(&repo, "3000", "0.03");
    let confusion = |extra: &[&str]| {
        let run = train(&repo, "logistic", extra);
        assert_eq!(run.code, 0, "{run}");
        metrics(&repo)["confusion_matrix"].clone()
    };
    let plain = confusion(&[]);
    let weighted = confusion(&["--param", "class_weight=balanced"]);
    let predicted_positive = |m: &Value| m[0][1].as_u64().unwrap() + m[1][1].as_u64().unwrap();
    assert!(
        predicted_positive(&weighted) > predicted_positive(&plain),
        "weighting the rare class flags more: {plain} against {weighted}"
    );
    let strict = confusion(&["--param", "threshold=0.99"]);
    assert!(predicted_positive(&strict) <= predicted_positive(&plain), "{strict}");
    let mapped = confusion(&["--param", r#"class_weight={"1": 20}"#]);
    assert!(predicted_positive(&mapped) > predicted_positive(&plain), "{mapped}");
}

#[test]
fn weights_and_thresholds_refuse_what_cannot_be() {
    let repo = Repo::new();
    credit(&repo, "1500", "0.05");
    let run = train(&repo, "forest", &["--param", r#"class_weight={"fraud": 3}"#]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("class `fraud`") && run.stderr.contains("0, 1"), "{run}");
    let run = train(&repo, "forest", &["--param", "threshold=1.5"]);
    assert!(run.stderr.contains("`auto`") && run.stderr.contains("(0, 1)"), "{run}");
    let run = train(&repo, "forest", &["--weight-column", "amout"]);
    assert!(run.stderr.contains("no weight column `amout`"), "{run}");
    assert!(run.stderr.contains("did you mean `amount`"), "{run}");
    // A weight column is a feature no more.
    let run = train(&repo, "forest", &["--weight-column", "customer_age"]);
    assert_eq!(run.code, 0, "{run}");
    let test = repo.read("prepared/test.csv");
    let column = test.lines().next().unwrap().split(',').position(|c| c == "customer_age").unwrap();
    let without: String = test
        .lines()
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let kept: Vec<&str> =
                cells.iter().enumerate().filter(|(i, _)| *i != column).map(|(_, c)| *c).collect();
            kept.join(",") + "\n"
        })
        .collect();
    repo.write("without.csv", &without);
    let args =
        ["stage", "predict", "--model", "m.model", "--data", "without.csv", "--out", "p.csv"];
    let predicted = repo.pipit(args);
    assert_eq!(predicted.code, 0, "the model needs no customer_age: {predicted}");
}

#[test]
fn tune_uses_fixed_hyperparameters_and_writes_them_with_the_best() {
    let repo = Repo::new();
    credit(&repo, "1500", "0.05");
    repo.write("space.yaml", "n_trees: {int: [5, 15]}\n");
    repo.write("fixed.yaml", "imbalance: {class_weight: balanced, threshold: auto}\n");
    let run = repo.pipit([
        "stage",
        "tune",
        "--train",
        "prepared/train.csv",
        "--target",
        "is_fraud",
        "--task",
        "classification",
        "--model",
        "forest",
        "--metric",
        "pr_auc",
        "--trials",
        "3",
        "--folds",
        "2",
        "--space",
        "space.yaml",
        "--params-file",
        "fixed.yaml:imbalance",
        "--out",
        "best.json",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let best: Value = serde_json::from_str(&repo.read("best.json")).unwrap();
    assert_eq!(best["class_weight"], "balanced", "{best}");
    assert_eq!(best["threshold"], "auto", "{best}");
    assert!(best["n_trees"].as_u64().is_some(), "{best}");
}

#[test]
fn compare_never_calls_a_model_best_that_finds_nothing() {
    let repo = Repo::new();
    let write = |name: &str, f1: f64| {
        let report = serde_json::json!({
            "f1": f1, "roc_auc": 0.95,
            "gate": {"metric": "f1", "value": f1, "accepted": false, "lower_is_better": false},
            "baseline": {"kind": "majority class", "metrics": {"f1": 0.0}},
            "model": {"kind": name},
        });
        repo.write(&format!("metrics/credit-{name}.json"), &report.to_string());
    };
    write("forest", 0.0);
    write("gbm", 0.0);
    let run = repo.pipit([
        "stage",
        "compare",
        "--metrics",
        "metrics/*.json",
        "--out",
        "c.json",
        "--md",
        "c.md",
    ]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("credit: none (no model has a usable f1)"), "{run}");
    let compared: Value = serde_json::from_str(&repo.read("c.json")).unwrap();
    assert_eq!(compared["datasets"]["credit"]["best"], Value::Null);
    assert!(repo.read("c.md").contains("Best: none: every model's F1 is 0 or undefined"));
    write("gbm", 0.4);
    repo.pipit(["stage", "compare", "--metrics", "metrics/*.json", "--out", "c.json"]);
    let compared: Value = serde_json::from_str(&repo.read("c.json")).unwrap();
    assert_eq!(compared["datasets"]["credit"]["best"], "gbm");
}

#[test]
fn importances_are_in_the_metrics_and_in_model_show() {
    let repo = Repo::with_pipeline("stages: {}\n", "");
    credit(&repo, "3000", "0.05");
    for model in ["gbm", "logistic"] {
        let run = train(&repo, model, &[]);
        assert_eq!(run.code, 0, "{run}");
        let report = metrics(&repo);
        let list = report["importances"].as_array().unwrap();
        assert_eq!(list.len(), 9, "one per input column: {report}");
        let total: f64 = list.iter().map(|i| i["importance"].as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-9, "{model}: shares sum to 1: {total}");
        let shares: Vec<f64> = list.iter().map(|i| i["importance"].as_f64().unwrap()).collect();
        assert!(shares.windows(2).all(|w| w[0] >= w[1]), "largest first: {shares:?}");
        let top: Vec<&str> = list.iter().take(4).map(|i| i["feature"].as_str().unwrap()).collect();
        assert!(top.contains(&"amount"), "{model}: fraud is about amounts: {top:?}");
    }
    let register = repo.pipit([
        "model",
        "register",
        "--dataset",
        "credit",
        "--model",
        "m.model",
        "--metrics",
        "m.json",
    ]);
    assert_eq!(register.code, 0, "{register}");
    let show = repo.pipit(["model", "show", "1"]);
    assert!(show.stdout.contains("importances\n  "), "{show}");
    assert!(show.stdout.contains("amount"), "{show}");
}

/// Returns `csv` with a column `w` appended: `weight(row)` per data row.
fn with_weights(csv: &str, weight: impl Fn(usize) -> f64) -> String {
    let mut lines = csv.lines();
    let mut out = format!("{},w\n", lines.next().unwrap());
    for (row, line) in lines.enumerate() {
        out.push_str(&format!("{line},{}\n", weight(row)));
    }
    out
}

#[test]
fn test_metrics_count_sample_weights_as_rows() {
    let repo = Repo::new();
    credit(&repo, "2000", "0.05");
    let (train_csv, test_csv) = (repo.read("prepared/train.csv"), repo.read("prepared/test.csv"));
    repo.write("train-w.csv", &with_weights(&train_csv, |_| 1.0));
    // Weighing the first test rows 2 is counting them twice.
    repo.write("test-w.csv", &with_weights(&test_csv, |row| if row < 40 { 2.0 } else { 1.0 }));
    let mut lines: Vec<&str> = test_csv.lines().collect();
    let doubled: Vec<&str> = lines[1..41].to_vec();
    lines.extend(doubled);
    repo.write("test-twice.csv", &with_weights(&(lines.join("\n") + "\n"), |_| 1.0));
    let run = |test: &str| {
        let args = [
            "stage",
            "train",
            "--train",
            "train-w.csv",
            "--test",
            test,
            "--target",
            "is_fraud",
            "--task",
            "classification",
            "--model",
            "gbm",
            "--param",
            "n_trees=20",
            "--weight-column",
            "w",
            "--model-out",
            "m.model",
            "--metrics-out",
            "m.json",
        ];
        let done = repo.pipit(args);
        assert_eq!(done.code, 0, "{done}");
        metrics(&repo)
    };
    let (weighted, twice) = (run("test-w.csv"), run("test-twice.csv"));
    for metric in
        ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier"]
    {
        let (a, b) = (weighted[metric].as_f64().unwrap(), twice[metric].as_f64().unwrap());
        assert!((a - b).abs() < 1e-9, "{metric}: {a} weighted against {b} repeated");
    }
    let total = |m: &Value| -> f64 {
        m["confusion_matrix"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|c| c.as_f64().unwrap()))
            .sum()
    };
    assert_eq!(total(&weighted), total(&twice), "the matrix sums the weights");
}
