//! `pipit stage train` and `tune` say what the user did and what to do, in
//! place of a library's words: a constant column for a least-squares model, a
//! target that does not fit the task, a gate metric with no value.

use crate::harness::{Repo, Run};

/// Returns CSV text `c,x,colour,y,label` with `rows` rows from row `offset`:
/// `c` constant, `y` about 2x, `colour` always `red` when `one_colour`.
fn data(rows: usize, offset: usize, one_colour: bool) -> String {
    let mut text = "c,x,colour,y,label\n".to_owned();
    for i in offset..offset + rows {
        let x = (i * 37 % 101) as f64 / 10.0;
        let colour = if one_colour || i % 2 == 0 { "red" } else { "blue" };
        let label = if i % 3 == 0 { "yes" } else { "no" };
        text.push_str(&format!("1,{x},{colour},{},{label}\n", 2.0 * x + (i % 5) as f64 / 10.0));
    }
    text
}

fn train(repo: &Repo, target: &str, task: &str, model: &str, extra: &[&str]) -> Run {
    let mut args = vec!["stage", "train", "--train", "train.csv", "--test", "test.csv"];
    args.extend(["--target", target, "--task", task, "--model", model]);
    args.extend(["--model-out", "m.model", "--metrics-out", "m.json"]);
    args.extend_from_slice(extra);
    repo.pipit(args)
}

#[track_caller]
fn assert_fails_with(run: &Run, texts: &[&str]) {
    assert_eq!(run.code, 1, "{run}");
    for text in texts {
        assert!(run.stderr.contains(text), "`{text}` not in:\n{}", run.stderr);
    }
}

#[test]
fn a_constant_column_is_named_instead_of_cannot_rescale_constant_column_0() {
    let repo = Repo::new();
    repo.write("train.csv", &data(80, 0, true));
    repo.write("test.csv", &data(20, 80, true));
    for model in ["ridge", "linear"] {
        let run = train(&repo, "y", "regression", model, &[]);
        assert_fails_with(
            &run,
            &[&format!(
                "columns `c` (always `1`), `colour` (always `red`) of `train.csv` are constant: \
                 `{model}` standardises its inputs and cannot scale a column that never varies; \
                 drop them (they tell the model nothing), or use `tree`, `forest` or `gbm`"
            )],
        );
        assert!(!run.stderr.contains("rescale") && !run.stderr.contains("non-invertible"));
    }
    // Trees do not mind.
    assert_eq!(train(&repo, "y", "regression", "tree", &[]).code, 0);

    repo.write("space.yaml", "ridge:\n  alpha: {float: [0.1, 10.0]}\n");
    let run = repo.pipit([
        "stage",
        "tune",
        "--train",
        "train.csv",
        "--target",
        "y",
        "--task",
        "regression",
        "--model",
        "ridge",
        "--trials",
        "2",
        "--folds",
        "2",
        "--out",
        "best.json",
        "--space",
        "space.yaml:ridge",
    ]);
    assert_fails_with(
        &run,
        &["columns `c` (always `1`), `colour` (always `red`) of `train.csv` are constant"],
    );
}

#[test]
fn a_regression_target_that_does_not_fit_the_task_is_named_not_needs_two_classes() {
    let repo = Repo::new();
    repo.write("train.csv", &data(80, 0, false));
    // `inf` as a target made every metric NaN: "the gate's metric `r2` is not defined here
    // (it needs two classes)".
    let test = data(20, 80, false);
    let mut lines: Vec<String> = test.lines().map(str::to_owned).collect();
    let mut cells: Vec<String> = lines[3].split(',').map(str::to_owned).collect();
    cells[3] = "inf".to_owned();
    lines[3] = cells.join(",");
    repo.write("test.csv", &(lines.join("\n") + "\n"));
    let run = train(&repo, "y", "regression", "tree", &[]);
    assert_fails_with(
        &run,
        &[
            "`test.csv` row 3: the target `y` holds `inf`, which is not a finite number; replace it \
           or drop the row",
        ],
    );
    assert!(!run.stderr.contains("two classes"), "{run}");

    // A class name as a regression target: the task and the target do not match.
    repo.write("test.csv", &data(20, 80, false));
    let run = train(&repo, "label", "regression", "tree", &[]);
    assert_fails_with(
        &run,
        &["`train.csv` row 1: the target `label` holds `yes`, which is not a number, but --task \
           is regression; if `label` holds classes, use --task classification"],
    );

    // An infinite feature would make the predictions, and so the metrics, no numbers.
    repo.write("test.csv", &data(20, 80, false).replacen("\n1,", "\n1e400,", 1));
    let run = train(&repo, "y", "regression", "ridge", &[]);
    assert_fails_with(&run, &["`test.csv` row 1: `c` holds `1e400`, which is not a finite number"]);
}

#[test]
fn a_classification_gate_metric_without_a_value_says_which_classes_are_missing() {
    let repo = Repo::new();
    repo.write("train.csv", &data(80, 0, false));
    let only_no: String = data(30, 80, false)
        .lines()
        .filter(|l| !l.ends_with(",yes"))
        .map(|l| format!("{l}\n"))
        .collect();
    repo.write("test.csv", &only_no);
    let run = train(
        &repo,
        "label",
        "classification",
        "tree",
        &["--gate-metric", "roc_auc", "--gate-threshold", "0.5"],
    );
    assert_fails_with(
        &run,
        &["the gate's metric `roc_auc` is not defined on `test.csv`: it needs test rows of every \
           class of the target `label`"],
    );
    // A quantity trained as classes is named before its test values are
    // found missing from training.
    repo.write("test.csv", &data(20, 80, false));
    let run = train(&repo, "y", "classification", "tree", &[]);
    assert_fails_with(
        &run,
        &["the target `y` in `train.csv` looks continuous", "use --task regression"],
    );
}

#[test]
fn a_continuous_target_under_classification_suggests_regression() {
    let repo = Repo::new();
    repo.write("train.csv", &data(80, 0, false));
    repo.write("test.csv", &data(20, 80, false));
    let run = train(&repo, "y", "classification", "forest", &[]);
    assert_fails_with(
        &run,
        &["the target `y` in `train.csv` looks continuous", "use --task regression"],
    );
    // Whole-numbered classes (ratings, codes) are still classes.
    let ok = train(&repo, "label", "classification", "forest", &[]);
    assert_eq!(ok.code, 0, "{ok}");
}

#[test]
fn a_column_in_another_case_or_with_a_typo_is_suggested() {
    let repo = Repo::new();
    repo.write("train.csv", &data(80, 0, false));
    repo.write("test.csv", &data(20, 80, false));
    let run = train(&repo, "Label", "classification", "forest", &[]);
    assert_fails_with(&run, &["`train.csv` has no column `Label` (did you mean `label`?)"]);
    let run = train(&repo, "colur", "classification", "forest", &[]);
    assert_fails_with(&run, &["(did you mean `colour`?)"]);
    let run = train(&repo, "price", "regression", "forest", &[]);
    assert_fails_with(&run, &["`train.csv` has no column `price`"]);
    assert!(!run.stderr.contains("did you mean"), "no unrelated suggestion: {run}");
    let run = repo.pipit([
        "stage",
        "prepare",
        "--data",
        "train.csv",
        "--target",
        "LABEL",
        "--task",
        "classification",
        "--out-dir",
        "prepared",
    ]);
    assert_fails_with(&run, &["missing column `LABEL` (did you mean `label`?)"]);
}
