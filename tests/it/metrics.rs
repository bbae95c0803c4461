//! `pipit metrics show`: the metrics files the stages declare, in any shape a
//! script writes, flattened to dotted keys.

use crate::harness::Repo;

/// Two stages whose scripts write metrics: nested JSON and YAML.
fn repo() -> Repo {
    let pipeline = r#"stages:
  evaluate:
    cmd: >-
      printf '{"accuracy": 0.912345678, "loss": {"train": 0.25, "test": 0.31}, "epochs": 12}' > eval.json
    metrics:
      - eval.json:
          cache: false
  speed:
    cmd: >-
      printf 'rows_per_second: 15000.5\nnote: warm cache\n' > speed.yaml
    metrics:
      - speed.yaml:
          cache: false
"#;
    let repo = Repo::with_pipeline(pipeline, "");
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 0, "{run}");
    repo
}

#[test]
fn metrics_show_tabulates_every_declared_file_in_each_format() {
    let repo = repo();
    insta::assert_snapshot!("metrics-show", repo.pipit(["metrics", "show"]));
    insta::assert_snapshot!("metrics-show-md", repo.pipit(["metrics", "show", "--md"]));
    insta::assert_snapshot!(
        "metrics-show-csv",
        repo.pipit(["metrics", "show", "--csv", "--precision", "2"])
    );
    let json = repo.pipit(["metrics", "show", "--json"]);
    assert_eq!(json.code, 0, "{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(parsed["eval.json"]["loss.test"], 0.31);
    assert_eq!(parsed["speed.yaml"]["note"], "warm cache");
}

#[test]
fn a_table_wider_than_the_terminal_becomes_a_line_per_metric() {
    let repo = repo();
    let keys: Vec<String> = (0..12).map(|i| format!("\"metric_number_{i}\": {i}.5")).collect();
    repo.write("wide.json", &format!("{{{}}}", keys.join(", ")));
    repo.write("one.csv", "auc,model\n0.93,gbm\n");
    insta::assert_snapshot!(
        "metrics-show-long",
        repo.pipit(["metrics", "show", "wide.json", "one.csv"])
    );
}

#[test]
fn metrics_show_explains_what_it_cannot_read() {
    let repo = repo();
    repo.write("bad.json", "{\"f1\": ");
    repo.write("series.csv", "step,loss\n1,0.5\n2,0.4\n");
    let run = repo.pipit(["metrics", "show", "bad.json", "series.csv", "missing.json"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("`bad.json` is not valid JSON"), "{run}");
    assert!(run.stderr.contains("`series.csv` has 2 rows; a metrics file has one"), "{run}");
    assert!(run.stderr.contains("`missing.json`: "), "{run}");
    // A declared file its stage has not written yet is noted, not an error.
    fs_err::remove_file(repo.path().join("speed.yaml")).unwrap();
    let run = repo.pipit(["metrics", "show"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("`speed.yaml` is not there yet"), "{run}");
    assert!(run.stdout.contains("eval.json"), "{run}");
    // No metrics at all.
    let empty = Repo::with_pipeline("stages:\n  s:\n    cmd: echo hi\n", "");
    let run = empty.pipit(["metrics", "show"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("no stage lists `metrics:` outs"), "{run}");
}
