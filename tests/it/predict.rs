//! `pipit stage predict`: batch predictions of a model file or of a data
//! set's current model, through the real binary.

use crate::harness::registered_churn as trained;

fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines().map(|l| l.split(',').map(str::to_owned).collect()).collect()
}

#[test]
fn predicts_every_row_with_a_probability_per_class() {
    let repo = trained();
    let with_id: String = repo
        .read("prepared/test.csv")
        .lines()
        .enumerate()
        .map(
            |(i, line)| {
                if i == 0 { format!("customerID,{line}\n") } else { format!("C{i},{line}\n") }
            },
        )
        .collect();
    repo.write("with_id.csv", &with_id);
    let run = repo.pipit([
        "stage",
        "predict",
        "--model",
        "models/forest.model",
        "--data",
        "with_id.csv",
        "--out",
        "predictions.csv",
        "--id",
        "customerID",
    ]);
    assert_eq!(run.code, 0, "{run}");
    let table = rows(&repo.read("predictions.csv"));
    assert_eq!(table[0], ["customerID", "prediction", "probability_No", "probability_Yes"]);
    let test = rows(&with_id);
    assert_eq!(table.len(), test.len(), "one line per test row, and the header");
    let id = test[0].iter().position(|c| c == "customerID").unwrap();
    for (out, input) in table.iter().zip(&test).skip(1) {
        assert_eq!(out[0], input[id], "the id column is copied in order");
        assert!(out[1] == "No" || out[1] == "Yes", "{out:?}");
        let (no, yes): (f64, f64) = (out[2].parse().unwrap(), out[3].parse().unwrap());
        assert!((no + yes - 1.0).abs() < 1e-9, "{out:?}");
        assert_eq!(out[1] == "Yes", yes > no, "the prediction is the likelier class: {out:?}");
    }
}

#[test]
fn the_current_model_of_a_data_set_predicts_the_same_as_its_file() {
    let repo = trained();
    let by_file = repo.pipit([
        "stage",
        "predict",
        "--model",
        "models/forest.model",
        "--data",
        "prepared/test.csv",
        "--out",
        "a.csv",
    ]);
    assert_eq!(by_file.code, 0, "{by_file}");
    let by_dataset = repo.pipit([
        "stage",
        "predict",
        "--dataset",
        "churn",
        "--data",
        "prepared/test.csv",
        "--out",
        "b.parquet",
    ]);
    assert_eq!(by_dataset.code, 0, "{by_dataset}");
    assert!(by_dataset.stdout.contains("with model v1 of `churn`"), "{by_dataset}");
    let magic = fs_err::read(repo.path().join("b.parquet")).unwrap();
    assert_eq!(&magic[..4], b"PAR1", "`.parquet` is written as Parquet");
    let none = repo.pipit([
        "stage",
        "predict",
        "--dataset",
        "housing",
        "--data",
        "prepared/test.csv",
        "--out",
        "c.csv",
    ]);
    assert_eq!(none.code, 1, "{none}");
    assert!(none.stderr.contains("no current model for `housing`"), "{none}");
    assert!(none.stderr.contains("pipit model register --dataset housing"), "{none}");
}

#[test]
fn bad_rows_are_all_named_and_nothing_is_written() {
    let repo = trained();
    let test = repo.read("prepared/test.csv");
    let header: Vec<&str> = test.lines().next().unwrap().split(',').collect();
    let contract = header.iter().position(|c| *c == "Contract").unwrap();
    let tenure = header.iter().position(|c| *c == "tenure").unwrap();
    let mut lines: Vec<String> = test.lines().take(4).map(str::to_owned).collect();
    let mut bad: Vec<String> = lines[1].split(',').map(str::to_owned).collect();
    bad[contract] = "Lifetime".into();
    lines[1] = bad.join(",");
    let mut bad: Vec<String> = lines[3].split(',').map(str::to_owned).collect();
    bad[tenure] = "long".into();
    lines[3] = bad.join(",");
    repo.write("bad.csv", &(lines.join("\n") + "\n"));
    repo.write("out.csv", "earlier\n");
    let run = repo.pipit([
        "stage",
        "predict",
        "--model",
        "models/forest.model",
        "--data",
        "bad.csv",
        "--out",
        "out.csv",
    ]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("2 rows of `bad.csv` cannot be predicted"), "{run}");
    assert!(run.stderr.contains("row 2: `Contract`: `Lifetime` is not a category"), "{run}");
    assert!(run.stderr.contains("row 4: `tenure`: `long` is not a number"), "{run}");
    assert_eq!(repo.read("out.csv"), "earlier\n", "a failed stage leaves the old output whole");

    repo.write("short.csv", "customerID,tenure\nA,3\n");
    let run = repo.pipit([
        "stage",
        "predict",
        "--model",
        "models/forest.model",
        "--data",
        "short.csv",
        "--out",
        "o.csv",
    ]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("`short.csv` lacks the model's columns"), "{run}");
    assert!(run.stderr.contains("`Contract`"), "{run}");
}

#[test]
fn predict_runs_as_a_pipeline_stage() {
    let repo = trained();
    repo.write(
        "pipeline.yaml",
        "stages:\n  predict:\n    cmd: pipit stage predict --model models/forest.model --data prepared/test.csv --out predictions.csv\n    deps:\n      - models/forest.model\n      - prepared/test.csv\n    outs:\n      - predictions.csv\n",
    );
    let first = repo.pipit(["repro"]);
    assert_eq!(first.code, 0, "{first}");
    assert!(first.stdout.contains("ran        predict"), "{first}");
    let lines = repo.read("predictions.csv").lines().count();
    assert_eq!(lines, repo.read("prepared/test.csv").lines().count());
    let second = repo.pipit(["repro"]);
    assert!(second.stdout.contains("everything is up to date"), "{second}");
}
