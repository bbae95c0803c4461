//! `pipit stage tune` through the real binary.

use serde_json::Value;

use crate::harness::{Repo, Run, prepare_churn, train_churn};

fn prepared() -> Repo {
    let repo = Repo::with_pipeline(
        "stages: {}\n",
        "tune:\n  space:\n    gbm:\n      learning_rate: {float: [0.02, 0.3], log: true}\n      \
         n_trees: {int: [10, 40], step: 10}\n      max_depth: {int: [1, 4]}\n",
    );
    prepare_churn(&repo, "500", "4");
    repo
}

fn tune(repo: &Repo, jobs: &str, out: &str, extra: &[&str]) -> Run {
    let trials = format!("{out}.jsonl");
    let mut args = vec![
        "stage",
        "tune",
        "--train",
        "prepared/train.csv",
        "--target",
        "Churn",
        "--task",
        "classification",
        "--model",
        "gbm",
        "--trials",
        "16",
        "--folds",
        "3",
        "--seed",
        "9",
        "-j",
        jobs,
        "--out",
        out,
        "--trials-out",
        &trials,
    ];
    args.extend_from_slice(extra);
    repo.pipit(args)
}

/// The trial log without its durations, which vary from run to run.
fn trials_without_durations(repo: &Repo, path: &str) -> Vec<Value> {
    let text = fs_err::read_to_string(repo.path().join(path)).unwrap();
    text.lines()
        .map(|line| {
            let mut trial: Value = serde_json::from_str(line).unwrap();
            assert!(trial["duration_seconds"].as_f64().unwrap() >= 0.0);
            trial.as_object_mut().unwrap().remove("duration_seconds");
            trial
        })
        .collect()
}

#[test]
fn tuning_logs_every_trial_and_does_not_depend_on_the_job_count() {
    let repo = prepared();
    let one = tune(&repo, "1", "one.json", &[]);
    assert_eq!(one.code, 0, "{one}");
    assert!(one.stdout.contains("tuned gbm on prepared/train.csv: best f1 "), "{one}");
    let three = tune(&repo, "3", "three.json", &[]);
    assert_eq!(three.code, 0, "{three}");
    let read = |name: &str| fs_err::read_to_string(repo.path().join(name)).unwrap();
    assert_eq!(read("one.json"), read("three.json"), "-j changed the best params");
    let trials = trials_without_durations(&repo, "one.json.jsonl");
    assert_eq!(trials, trials_without_durations(&repo, "three.json.jsonl"));
    assert_eq!(trials.len(), 16);
    for (number, trial) in trials.iter().enumerate() {
        assert_eq!(trial["number"], number);
        let state = trial["state"].as_str().unwrap();
        let folds = trial["fold_scores"].as_array().unwrap().len();
        match state {
            "complete" => assert_eq!(folds, 3, "{trial}"),
            "pruned" => assert!(folds < 3 || number >= 5, "{trial}"),
            other => panic!("state {other}"),
        }
        let n_trees = trial["params"]["n_trees"].as_i64().unwrap();
        assert!((10..=40).contains(&n_trees) && n_trees % 10 == 0, "{trial}");
    }
    // The best params are what `train --params-file` reads.
    let best: Value = serde_json::from_str(&read("one.json")).unwrap();
    assert_eq!(best.as_object().unwrap().len(), 3, "{best}");
    let run = train_churn(
        &repo,
        "gbm",
        &["--params-file", "one.json", "--model-out", "tuned.model", "--metrics-out", "tuned.json"],
    );
    assert_eq!(run.code, 0, "{run}");
    // Random search is there for comparison, and gives other trials.
    let random = tune(&repo, "2", "random.json", &["--sampler", "random"]);
    assert_eq!(random.code, 0, "{random}");
    assert_ne!(trials, trials_without_durations(&repo, "random.json.jsonl"));
}

#[test]
fn tuning_explains_a_bad_space_or_metric() {
    let repo = prepared();
    repo.write("space.yaml", "gbm:\n  depth: {int: [1, 4]}\n");
    let run = tune(&repo, "1", "x.json", &["--space", "space.yaml:gbm"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("has `depth`, which `gbm` does not take"), "{run}");
    let run = tune(&repo, "1", "x.json", &["--space", "space.yaml:forest"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("has no key `forest`"), "{run}");
    repo.write("values.yaml", "gbm:\n  subsample: {float: [0.5, 1.5]}\n");
    let run = tune(&repo, "1", "x.json", &["--space", "values.yaml:gbm"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("in the search space `values.yaml:gbm`"), "{run}");
    assert!(run.stderr.contains("`subsample` must be a share in (0, 1], not `1.5`"), "{run}");
    // A loss is for regression; churn is a classification.
    repo.write("loss.yaml", "gbm:\n  loss: {choice: [squared, absolute]}\n");
    let run = tune(&repo, "1", "x.json", &["--space", "loss.yaml:gbm"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("`loss` is for regression"), "{run}");
    // How missing values are encoded is fixed for the study, not tuned.
    repo.write("missing.yaml", "gbm:\n  missing: {choice: [impute, learn]}\n");
    let run = tune(&repo, "1", "x.json", &["--space", "missing.yaml:gbm"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains("fix it for the whole study with `--param missing=learn`"),
        "{run}"
    );
    let run = tune(&repo, "1", "x.json", &["--metric", "r2"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("--metric `r2` is not a classification metric"), "{run}");
    assert!(!repo.path().join("x.json").exists());
}
