//! `pipit stage drift` never drops a column without a word: a column one side
//! lacks is a finding named with that side.

use serde_json::{Value, json};

use crate::harness::Repo;

/// Returns CSV text with the given columns, `rows` rows of `value(column, row)`.
fn table(columns: &[&str], rows: usize, value: impl Fn(&str, usize) -> String) -> String {
    let mut text = columns.join(",") + "\n";
    for row in 0..rows {
        let cells: Vec<String> = columns.iter().map(|c| value(c, row)).collect();
        text.push_str(&(cells.join(",") + "\n"));
    }
    text
}

fn value(column: &str, row: usize) -> String {
    match column {
        "colour" => ["red", "green", "blue"][row % 3].to_owned(),
        "blank" => String::new(),
        _ => format!("{}", (row * 7) % 50),
    }
}

/// Runs `pipit stage drift` of `current.csv` against `reference.csv`, leaving
/// out `label`, with `extra` arguments.
fn run_drift(repo: &Repo, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec!["stage", "drift", "--reference", "reference.csv", "--current"];
    args.extend(["current.csv", "--ignore", "label", "--out", "drift.json"]);
    args.extend_from_slice(extra);
    repo.pipit(args)
}

#[test]
fn a_column_missing_from_one_side_is_reported_with_its_side() {
    let repo = Repo::new();
    repo.write("reference.csv", &table(&["x", "colour", "size", "label"], 300, value));
    repo.write("current.csv", &table(&["x", "colour", "new", "label"], 200, value));
    let run = run_drift(&repo, &["--html", "drift.html"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains(
            "1 of 3 columns drifted (33 %): size; no data set drift; warning: `size` is not in \
             the current data (counted as drifted); `new` is not in the reference data (not \
             compared)"
        ),
        "{run}"
    );
    let text = fs_err::read_to_string(repo.path().join("drift.json")).unwrap();
    let drift: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(drift["missing_columns"], json!({"reference": ["new"], "current": ["size"]}));
    assert_eq!(drift["columns"]["size"]["test"], "missing");
    assert_eq!(drift["columns"]["size"]["drifted"], true);
    assert_eq!(drift["columns"]["size"]["reference_rows"], 300);
    assert_eq!(drift["columns"]["x"]["drifted"], false, "{drift}");
    assert!(drift["columns"].get("new").is_none(), "nothing to compare it with");
    let html = fs_err::read_to_string(repo.path().join("drift.html")).unwrap();
    assert!(html.contains("<li><code>size</code> is not in the current data"), "{html}");

    // A column present but without a single value is missing too, from the side that is empty.
    repo.write(
        "current.csv",
        &table(&["x", "colour", "size", "label"], 200, |c, r| {
            if c == "size" { value("blank", r) } else { value(c, r) }
        }),
    );
    let run = run_drift(&repo, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout
            .contains("warning: `size` has no values in the current data (counted as drifted)"),
        "{run}"
    );
}
