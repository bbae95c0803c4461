//! `missing: learn`: tree models leave missing values missing and each split
//! learns which side they go, instead of the training median standing in.

use serde_json::Value;

use crate::harness::{Repo, Run};

/// Rows of `income,region,label`: the label is 1 above an income of 60, and
/// also when the income is missing (a quarter of the rows), which the
/// median (about 50) hides; `region` is sometimes missing and tells nothing.
fn rows(count: u64, seed: u64) -> String {
    let mut state = seed;
    let mut next = move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut csv = String::from("income,region,label\n");
    for _ in 0..count {
        let income = next() * 100.0;
        let missing = next() < 0.25;
        let region = ["north", "south", ""][(next() * 3.0) as usize % 3];
        let label = u8::from(missing || income > 60.0);
        let shown = if missing { String::new() } else { format!("{income:.2}") };
        csv.push_str(&format!("{shown},{region},{label}\n"));
    }
    csv
}

fn train_run(repo: &Repo, model: &str, missing: &str, extra: &[&str]) -> Run {
    repo.pipit(
        [
            "stage",
            "train",
            "--train",
            "train.csv",
            "--test",
            "test.csv",
            "--target",
            "label",
            "--task",
            "classification",
            "--model",
            model,
            "--param",
            &format!("missing={missing}"),
            "--model-out",
            &format!("{model}-{missing}.model"),
            "--metrics-out",
            "m.json",
        ]
        .into_iter()
        .chain(extra.iter().copied()),
    )
}

fn train(repo: &Repo, model: &str, missing: &str, extra: &[&str]) -> Value {
    let run = train_run(repo, model, missing, extra);
    assert_eq!(run.code, 0, "{run}");
    serde_json::from_str(&repo.read("m.json")).unwrap()
}

#[test]
fn learning_where_missing_values_go_beats_imputing_them() {
    let repo = Repo::new();
    repo.write("train.csv", &rows(3000, 1));
    repo.write("test.csv", &rows(1000, 2));
    // With one split, the median (about 50) puts the missing rows among the
    // low incomes, and the best a stump can do is to split below it, taking
    // the incomes from 50 to 60 for ones; a learnt direction sends the missing
    // rows with the high incomes. (Deeper trees can also cut the median's
    // spike out of an imputed column.)
    let stump = ["--param", "max_depth=1"];
    let imputed = train(&repo, "tree", "impute", &stump)["accuracy"].as_f64().unwrap();
    let learnt = train(&repo, "tree", "learn", &stump)["accuracy"].as_f64().unwrap();
    assert!(imputed < 0.95 && learnt > 0.99, "a stump: {imputed} → {learnt}");
    for model in ["gbm", "forest"] {
        let learnt = train(&repo, model, "learn", &[])["accuracy"].as_f64().unwrap();
        assert!(learnt > 0.97, "{model}: {learnt}");
    }
    // The saved model keeps missing values missing when it predicts.
    repo.write("new.csv", "income,region\n,north\n30,\n90,south\n");
    let run = repo.pipit([
        "stage",
        "predict",
        "--model",
        "gbm-learn.model",
        "--data",
        "new.csv",
        "--out",
        "predicted.csv",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let predicted: Vec<String> = repo
        .read("predicted.csv")
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap().to_owned())
        .collect();
    assert_eq!(predicted, ["1", "0", "1"], "{}", repo.read("predicted.csv"));
}

#[test]
fn missing_learn_is_for_tree_models_and_takes_two_values() {
    let repo = Repo::new();
    repo.write("train.csv", &rows(200, 1));
    repo.write("test.csv", &rows(100, 2));
    let wrong = train_run(&repo, "gbm", "drop", &[]);
    assert_eq!(wrong.code, 1, "{wrong}");
    assert!(wrong.stderr.contains("`missing` must be `impute`"), "{wrong}");
    let linear = train_run(&repo, "logistic", "learn", &[]);
    assert_eq!(linear.code, 1, "{linear}");
    assert!(linear.stderr.contains("`logistic` has no hyperparameter `missing`"), "{linear}");
}
