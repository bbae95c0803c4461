//! `pipit stage prepare` on bad inputs: a clear error naming the file, the
//! column or the line and what to do, never a silently wrong result.

use crate::harness::{Repo, Run};

/// Runs `pipit stage prepare` on `data.csv` into `prepared/`, with `extra` flags.
fn prepare(repo: &Repo, target: &str, task: &str, extra: &[&str]) -> Run {
    let mut args = vec!["stage", "prepare", "--data", "data.csv", "--target", target];
    args.extend(["--task", task, "--out-dir", "prepared"]);
    args.extend_from_slice(extra);
    repo.pipit(args)
}

/// Returns CSV text: the header, then `rows` rows made by `row`.
fn csv(header: &str, rows: usize, row: impl Fn(usize) -> String) -> String {
    let mut text = format!("{header}\n");
    for i in 0..rows {
        text.push_str(&row(i));
        text.push('\n');
    }
    text
}

/// A clean row of `x,y,label`: two numbers and a class.
fn clean_row(i: usize) -> String {
    format!("{}.5,{},{}", i % 17, (i * 7) % 23, if i.is_multiple_of(3) { "yes" } else { "no" })
}

#[track_caller]
fn assert_fails_with(run: &Run, texts: &[&str]) {
    assert_eq!(run.code, 1, "{run}");
    for text in texts {
        assert!(run.stderr.contains(text), "`{text}` not in:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("panicked"), "{run}");
}

#[test]
fn a_ragged_csv_row_is_named_by_its_line_not_by_a_polars_option() {
    let repo = Repo::new();
    let mut text = csv("x,y,label", 30, clean_row);
    text.insert_str(text.find("\n3.5").unwrap() + 1, "1,\"2,5\",yes\n1,2,no,oops\n");
    repo.write("data.csv", &text);
    let run = prepare(&repo, "label", "classification", &[]);
    assert_fails_with(
        &run,
        &["`data.csv` line 6 has 4 fields, but its header has 3: a value holding a `,` needs \
           double quotes around it"],
    );
    assert!(!run.stderr.contains("truncate_ragged_lines"), "{run}");
    assert!(!repo.path().join("prepared").exists());

    // A short row is no better: polars would fill it with missing values without a word.
    repo.write(
        "data.csv",
        &csv("x,y,label", 30, clean_row).replacen("\n5.5,12,no\n", "\n5.5,no\n", 1),
    );
    let run = prepare(&repo, "label", "classification", &[]);
    assert_fails_with(&run, &["`data.csv` line 7 has 2 fields, but its header has 3"]);

    // Every stage reads CSV the same way: train names the line too.
    repo.write("test.csv", "x,y,label\n1,2,yes,\n");
    let run = repo.pipit([
        "stage",
        "train",
        "--train",
        "test.csv",
        "--test",
        "test.csv",
        "--target",
        "label",
        "--task",
        "classification",
        "--model",
        "tree",
        "--model-out",
        "m",
        "--metrics-out",
        "j",
    ]);
    assert_fails_with(
        &run,
        &["`test.csv` line 2 has 4 fields", "remove the `,` after its last field"],
    );
}

#[test]
fn duplicate_column_names_are_an_error_naming_them() {
    let repo = Repo::new();
    repo.write("data.csv", &csv("x,y,x,label", 30, |i| format!("{i},{i},{i},a{}", i % 2)));
    let run = prepare(&repo, "label", "classification", &[]);
    assert_fails_with(
        &run,
        &["`data.csv` has more than one column named `x` (columns 1, 3): rename them so that \
           every column has its own name"],
    );
    assert!(!repo.path().join("prepared").exists());
}

#[test]
fn nan_na_and_empty_cells_count_as_missing() {
    let repo = Repo::new();
    let markers = ["NaN", "nan", "NA", ""];
    let text = csv("x,y,label", 40, |i| {
        let x = if i < 4 { markers[i].to_owned() } else { format!("{i}.5") };
        format!("{x},{i},{}", if i.is_multiple_of(2) { "yes" } else { "no" })
    });
    repo.write("data.csv", &text);
    let run = prepare(&repo, "label", "classification", &[]);
    assert_eq!(run.code, 0, "{run}");
    let stats: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(repo.path().join("prepared/stats.json")).unwrap(),
    )
    .unwrap();
    let x = &stats["columns"]["x"];
    assert_eq!(x["type"], "numeric", "{x}");
    let train = fs_err::read_to_string(repo.path().join("prepared/train.csv")).unwrap();
    let test = fs_err::read_to_string(repo.path().join("prepared/test.csv")).unwrap();
    assert!(!train.contains("NaN") && !test.contains("NaN") && !train.contains("nan"));
    let missing = |text: &str| text.lines().filter(|l| l.starts_with(',')).count();
    assert_eq!(missing(&train) + missing(&test), 4, "{train}\n{test}");

    // Counted as missing, they meet the missing-value limit, not the wrong-type one.
    repo.write("rules.yaml", "missing: {x: 0.05}\n");
    let run = prepare(&repo, "label", "classification", &["--rules", "rules.yaml"]);
    assert_fails_with(&run, &["column `x`: missing values 10.0% > limit 5.0% (4 rows)"]);
    assert!(!run.stderr.contains("not numbers"), "{run}");

    // A missing target is one too: `NA` is no class.
    repo.write("data.csv", &text.replacen(",yes\n", ",NA\n", 1));
    let run = prepare(&repo, "label", "classification", &[]);
    assert_eq!(run.code, 0, "{run}");
    let stats = fs_err::read_to_string(repo.path().join("prepared/stats.json")).unwrap();
    assert!(stats.contains("\"missing_target\": 1"), "{stats}");
}

#[test]
fn a_numeric_column_with_inf_1e400_or_stray_text_is_reported_not_made_categorical() {
    let repo = Repo::new();
    for (bad, rule) in [
        ("inf", "values that are not finite numbers (`inf`, or beyond ±1.8e308) (1 rows)"),
        ("1e400", "values that are not finite numbers (`inf`, or beyond ±1.8e308) (1 rows)"),
        ("-Infinity", "values that are not finite numbers"),
    ] {
        let text = csv("x,y,label", 200, clean_row).replacen(
            "\n5.5,12,no\n",
            &format!("\n{bad},12,no\n"),
            1,
        );
        repo.write("data.csv", &text);
        let run = prepare(&repo, "label", "classification", &[]);
        assert_fails_with(
            &run,
            &[&format!("column `x`: {rule}"), &format!("e.g. \"{bad}\" (row 6)"), "help: "],
        );
        assert!(!repo.path().join("prepared").exists());
    }

    // In a small file one stray word is a large share: the column was silently made a
    // category of 10 values before. It stays numeric, and the word is reported.
    let text = csv("x,y,label", 10, clean_row).replacen("\n2.5,", "\nabc,", 1);
    repo.write("data.csv", &text);
    let run = prepare(&repo, "label", "classification", &[]);
    assert_fails_with(
        &run,
        &[
            "column `x`: values that are not numbers > limit 1.0% (1 rows), e.g. \"abc\" (row 3)",
            "(`types: {column: categorical}`)",
        ],
    );
    // A column that is a category says so in the rules.
    repo.write("rules.yaml", "types: {x: categorical}\n");
    let run = prepare(&repo, "label", "classification", &["--rules", "rules.yaml"]);
    assert_eq!(run.code, 0, "{run}");
    let stats = fs_err::read_to_string(repo.path().join("prepared/stats.json")).unwrap();
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["columns"]["x"]["type"], "categorical");

    // Within the wrong-type limit a stray word becomes a missing value, and says so.
    let text = csv("x,y,label", 200, clean_row).replacen("\n2.5,", "\nabc,", 1);
    repo.write("data.csv", &text);
    let run = prepare(&repo, "label", "classification", &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("; made cells that were not numbers missing: 1 in `x` (e.g. `abc`)"),
        "{run}"
    );
    let stats = fs_err::read_to_string(repo.path().join("prepared/stats.json")).unwrap();
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["columns"]["x"]["type"], "numeric");
    assert_eq!(stats["not_numbers"]["x"], 1);
}

#[test]
fn a_split_that_leaves_a_side_empty_or_a_class_out_is_an_error_with_a_hint() {
    let repo = Repo::new();
    // One `maybe`: it can be in the train set or the test set, not both.
    let text = csv("x,y,label", 30, clean_row).replacen(",no\n", ",maybe\n", 1);
    repo.write("data.csv", &text);
    let run = prepare(&repo, "label", "classification", &[]);
    assert_fails_with(
        &run,
        &["the split cannot put every class of `label` in both the train and the test set: \
           `maybe` (1 row) has too few rows; give each class at least 2 rows"],
    );
    assert!(!repo.path().join("prepared").exists());

    repo.write("data.csv", "x,y\n1,2\n");
    let run = prepare(&repo, "y", "regression", &[]);
    assert_fails_with(
        &run,
        &["the split leaves the test set empty: 1 row with a target, --test-size 0.2; give it \
           more rows, or a larger --test-size"],
    );
    let run = prepare(&repo, "y", "regression", &["--test-size", "0.9"]);
    assert_fails_with(&run, &["the split leaves the train set empty", "a smaller --test-size"]);
}

#[test]
fn rules_that_drop_the_target_are_an_error_not_a_panic() {
    let repo = Repo::new();
    repo.write("data.csv", &csv("x,y,label", 30, clean_row));
    repo.write("rules.yaml", "drop: [y, label]\n");
    let run = prepare(&repo, "label", "classification", &["--rules", "rules.yaml"]);
    assert_fails_with(
        &run,
        &["the rules in `rules.yaml` drop the target `label` (in `drop`): nothing would be left \
           to predict; remove it from `drop`, or choose another --target"],
    );
}
