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

/// A stage that writes two metrics files from `value.txt`: `eval.json`
/// (`cache: false`, so git tracks it) and `hidden.json` (cached, so git
/// ignores it and only the lock's hash and the cache know it).
const TWO_SIDES: &str = r#"stages:
  evaluate:
    cmd: >-
      printf '{"acc": %s, "model": "gbm", "rows": 100}' "$(cat value.txt)" > eval.json &&
      printf '{"loss": %s}' "$(cat value.txt)" > hidden.json
    deps: [value.txt]
    metrics:
      - eval.json:
          cache: false
      - hidden.json
"#;

#[test]
fn metrics_diff_compares_revisions_and_the_workspace_even_for_ignored_files() {
    let repo = Repo::with_pipeline(TWO_SIDES, "");
    repo.write("value.txt", "0.5");
    assert_eq!(repo.pipit(["repro"]).code, 0);
    repo.commit("first");
    // The workspace against HEAD: nothing changed yet.
    let same = repo.pipit(["metrics", "diff"]);
    assert_eq!(same.code, 0, "{same}");
    assert!(same.stderr.contains("no metric changed between HEAD and workspace"), "{same}");
    repo.write("value.txt", "0.75");
    assert_eq!(repo.pipit(["repro"]).code, 0);
    insta::assert_snapshot!("metrics-diff-workspace", repo.pipit(["metrics", "diff"]));
    repo.commit("second");
    // hidden.json is git-ignored: HEAD~1's value comes from the cache.
    let ignored = std::process::Command::new("git")
        .args(["check-ignore", "-q", "hidden.json"])
        .current_dir(repo.path())
        .status()
        .unwrap();
    assert!(ignored.success(), "hidden.json should be ignored by git");
    let run = repo.pipit(["metrics", "diff", "HEAD~1", "HEAD", "--all", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let changes: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let find = |path: &str, metric: &str| {
        changes
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["path"] == path && c["metric"] == metric)
            .cloned()
            .unwrap()
    };
    let loss = find("hidden.json", "loss");
    assert_eq!((loss["old"].as_f64(), loss["new"].as_f64()), (Some(0.5), Some(0.75)), "{run}");
    assert_eq!(loss["percent"].as_f64(), Some(50.0));
    assert_eq!(
        find("eval.json", "rows")["change"].as_f64(),
        Some(0.0),
        "--all keeps the unchanged"
    );
    insta::assert_snapshot!(
        "metrics-diff-md",
        repo.pipit(["metrics", "diff", "HEAD~1", "HEAD", "--md"])
    );
    let bad = repo.pipit(["metrics", "diff", "no-such-rev"]);
    assert_eq!(bad.code, 2, "{bad}");
    assert!(bad.stderr.contains("`no-such-rev` is not a revision"), "{bad}");
}

#[test]
fn params_diff_shows_the_params_the_stages_read_that_changed() {
    let pipeline =
        "stages:\n  train:\n    cmd: echo train\n    params:\n      - train\n      - seed\n";
    let repo = Repo::with_pipeline(pipeline, "seed: 1\ntrain:\n  lr: 0.1\n  depth: 3\nunused: 1\n");
    repo.commit("first");
    repo.write("params.yaml", "seed: 1\ntrain:\n  lr: 0.2\n  depth: 3\nunused: 2\n");
    insta::assert_snapshot!("params-diff", repo.pipit(["params", "diff"]));
    let all = repo.pipit(["params", "diff", "--all", "--json"]);
    assert_eq!(all.code, 0, "{all}");
    let changes: serde_json::Value = serde_json::from_str(&all.stdout).unwrap();
    let names: Vec<&str> =
        changes.as_array().unwrap().iter().map(|c| c["param"].as_str().unwrap()).collect();
    assert_eq!(names, ["seed", "train.lr", "train.depth"], "`unused` is read by no stage");
    repo.commit("second");
    let same = repo.pipit(["params", "diff"]);
    assert!(same.stderr.contains("no param changed between HEAD and workspace"), "{same}");
    let back = repo.pipit(["params", "diff", "HEAD", "HEAD~1", "--md"]);
    assert!(
        back.stdout.contains("| params.yaml | train.lr | 0.2 | 0.1 | -0.1 (-50.0 %) |"),
        "{back}"
    );
}

#[test]
fn metrics_diff_reads_the_files_each_revision_declares() {
    let old = "stages:\n  evaluate:\n    cmd: >-\n      printf '{\"acc\": 0.5}' > old.json\n    metrics:\n      - old.json:\n          cache: false\n";
    let repo = Repo::with_pipeline(old, "");
    assert_eq!(repo.pipit(["repro"]).code, 0);
    repo.commit("first");
    // The metrics file is renamed: HEAD declares `old.json`, the workspace `new.json`.
    repo.write("pipeline.yaml", &old.replace("old.json", "new.json").replace("0.5", "0.75"));
    fs_err::remove_file(repo.path().join("old.json")).unwrap();
    assert_eq!(repo.pipit(["repro"]).code, 0);
    let run = repo.pipit(["metrics", "diff", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let changes: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let sides: Vec<(String, String)> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["path"].as_str().unwrap().to_owned(), format!("{} -> {}", c["old"], c["new"])))
        .collect();
    assert_eq!(
        sides,
        [
            ("new.json".to_owned(), "null -> 0.75".to_owned()),
            ("old.json".to_owned(), "0.5 -> null".to_owned())
        ],
        "{run}"
    );
}
