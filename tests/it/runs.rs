//! The runs history: every `repro` that runs a stage appends a record, stage
//! commands add their own (a tuner's trials), and `pipit exp show` tabulates
//! them.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Repo, prepare_churn};

/// A stage whose metric follows the param `train.lr`.
const PIPELINE: &str = r#"stages:
  train:
    cmd: >-
      printf '{"acc": %s, "loss": {"test": 0.3}, "by": {"a": {"b": 1}}, "matrix": [[1, 2], [3, 4]]}'
      "$(awk '/lr:/ {print $2 * 2}' params.yaml)" > metrics.json
    params:
      - train
    metrics:
      - metrics.json:
          cache: false
"#;

/// The records of the runs history, oldest first, as `exp show --json` has them.
fn logged(repo: &Repo) -> Vec<Value> {
    let run = repo.pipit(["exp", "show", "--json", "--trials"]);
    assert_eq!(run.code, 0, "{run}");
    let mut records: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    records.reverse();
    records
}

/// Runs `repro` with each learning rate, committing after the first.
fn three_runs() -> Repo {
    let repo = Repo::with_pipeline(PIPELINE, "train:\n  lr: 0.1\n  depth: 3\n");
    for (i, lr) in ["0.1", "0.4", "0.2"].iter().enumerate() {
        repo.write("params.yaml", &format!("train:\n  lr: {lr}\n  depth: 3\n"));
        let run = repo.pipit(["repro"]);
        assert_eq!(run.code, 0, "{run}");
        if i == 0 {
            repo.commit("first");
        }
    }
    repo
}

#[test]
fn each_repro_that_runs_a_stage_appends_a_record_and_no_other_does() {
    let repo = three_runs();
    let again = repo.pipit(["repro"]);
    assert!(again.stdout.contains("everything is up to date"), "{again}");
    let records = logged(&repo);
    assert_eq!(records.len(), 3, "an up-to-date repro records nothing");
    let first = &records[0];
    assert_eq!(first["kind"], "repro");
    assert_eq!(first["params"]["train.lr"], 0.1);
    assert_eq!(first["metrics"]["metrics.json:acc"], 0.2);
    assert_eq!(first["metrics"]["metrics.json:loss.test"], 0.3);
    assert!(
        first["metrics"].get("metrics.json:matrix.0.1").is_none(),
        "lists are series, not metrics"
    );
    assert_eq!(first["stages"][0]["name"], "train");
    assert_eq!(first["stages"][0]["outcome"], "ran");
    assert!(first.get("rev").is_none(), "before the first commit there is no revision");
    let second = &records[1];
    assert_eq!(second["rev"].as_str().map(str::len), Some(40));
    assert_eq!(second["dirty"], true, "params.yaml differs from the commit");
    assert_eq!(second["outcome"], "success");
    // A failing run is recorded as one.
    repo.write("pipeline.yaml", &PIPELINE.replace("> metrics.json", "> metrics.json && exit 3"));
    assert_eq!(repo.pipit(["repro"]).code, 1);
    let failed = logged(&repo).pop().unwrap();
    assert_eq!(
        (failed["outcome"].as_str(), failed["stages"][0]["outcome"].as_str()),
        (Some("failure"), Some("failed"))
    );
}

#[test]
fn exp_show_tabulates_runs_with_the_columns_that_differ_and_marks_the_best() {
    let repo = three_runs();
    let show = repo.pipit(["exp", "show", "--csv"]);
    assert_eq!(show.code, 0, "{show}");
    let lines: Vec<&str> = show.stdout.lines().collect();
    assert_eq!(lines[0], "best,run,time,rev,train.lr,metrics.json:acc,duration", "{show}");
    // Newest first; `depth` and `loss.test` never change and are left out.
    let column = |line: &str, i: usize| line.split(',').nth(i).unwrap().to_owned();
    let lrs: Vec<String> = lines[1..].iter().map(|l| column(l, 4)).collect();
    assert_eq!(lrs, ["0.2", "0.4", "0.1"], "{show}");
    let best = repo.pipit(["exp", "show", "--csv", "--sort-by", "acc"]);
    let lines: Vec<&str> = best.stdout.lines().collect();
    assert!(lines[1].starts_with("best,") && lines[1].contains(",0.8,"), "{best}");
    assert!(!lines[2].starts_with("best,"), "{best}");
    let lowest =
        repo.pipit(["exp", "show", "--csv", "--sort-by", "acc", "--sort-order", "asc", "-n", "1"]);
    assert_eq!(lowest.stdout.lines().count(), 2, "{lowest}");
    assert!(lowest.stdout.lines().nth(1).unwrap().contains(",0.2,"), "{lowest}");
    let json = repo.pipit(["exp", "show", "--json", "--columns", "train.*"]);
    let runs: Vec<Value> = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(runs.len(), 3);
    let unknown = repo.pipit(["exp", "show", "--sort-by", "f1"]);
    assert_eq!(unknown.code, 2, "{unknown}");
    assert!(unknown.stderr.contains("no run has a param or metric `f1`"), "{unknown}");
}

#[test]
fn a_stage_command_adds_trials_and_tune_records_one_per_trial() {
    let pipeline = r#"stages:
  tune:
    cmd: >-
      pipit stage tune --train prepared/train.csv --target Churn --task classification
      --model tree --trials 6 --folds 2 --seed 1 --space params.yaml:space --out best.json
    deps:
      - prepared/train.csv
    outs:
      - best.json
"#;
    let repo = Repo::with_pipeline(pipeline, "space:\n  max_depth: {int: [1, 6]}\n");
    prepare_churn(&repo, "300", "2");
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 0, "{run}");
    let records = logged(&repo);
    assert_eq!(records.len(), 7, "the run and its six trials");
    let parent = records[0]["id"].as_str().unwrap();
    for trial in &records[1..] {
        assert_eq!(
            (trial["kind"].as_str(), trial["parent"].as_str()),
            (Some("trial"), Some(parent))
        );
        assert_eq!(trial["stage"], "tune");
        assert!(trial["params"]["max_depth"].is_i64(), "{trial}");
        assert!(trial["metrics"]["f1"].is_f64() || trial["outcome"] == "pruned", "{trial}");
    }
    let hidden = repo.pipit(["exp", "show", "--csv"]);
    assert_eq!(hidden.stdout.lines().count(), 2, "trials only with --trials: {hidden}");
    let shown = repo.pipit(["exp", "show", "--csv", "--trials", "--sort-by", "f1"]);
    assert_eq!(shown.stdout.lines().count(), 8, "{shown}");
    assert!(shown.stdout.lines().nth(1).unwrap().starts_with("best,tune trial "), "{shown}");
}

#[test]
fn the_runs_log_survives_a_kill_mid_run_and_a_torn_line() {
    let repo = three_runs();
    let slow = PIPELINE
        .replace("printf", "touch started && printf")
        .replace("> metrics.json", "> metrics.json && sleep 30");
    repo.write("pipeline.yaml", &slow);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pipit"))
        .arg("repro")
        .current_dir(repo.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the stage has started.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !repo.path().join("started").exists() {
        assert!(Instant::now() < deadline, "the stage did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(logged(&repo).len(), 3, "a killed run leaves no record, and no torn one");
    // A torn last line, as a crash mid-write would leave.
    let log = repo.path().join(".cache/history/log.jsonl");
    let mut text = fs_err::read_to_string(&log).unwrap();
    text.push_str("{\"id\": \"torn\", \"kind\": \"rep");
    fs_err::write(&log, text).unwrap();
    repo.write("pipeline.yaml", PIPELINE);
    repo.write("params.yaml", "train:\n  lr: 0.3\n  depth: 3\n");
    assert_eq!(repo.pipit(["repro"]).code, 0);
    let show = repo.pipit(["exp", "show", "--csv"]);
    assert_eq!(show.code, 0, "{show}");
    assert!(
        show.stderr.contains("1 line(s) of `.cache/history/log.jsonl` are not run records"),
        "{show}"
    );
    assert_eq!(show.stdout.lines().count(), 5, "the four runs: {show}");
    assert!(
        show.stdout.lines().nth(1).unwrap().contains(",0.3,"),
        "the newest run after the torn line: {show}"
    );
}

/// Four runs as the log holds them: one failed, one with a long name, and
/// more params and metrics than 80 columns hold.
const LOG: &str = r#"{"schema":"a","params":["train.lr","train.depth","train.n_trees","seed"],"metrics":["metrics/train/churn-gbm.json:f1","metrics/train/churn-gbm.json:roc_auc","metrics/train/credit-gbm.json:f1","metrics/drift/churn.json:dataset_drift"]}
{"id":"0a1b2c3d4e5f6071","kind":"repro","time":"2026-11-30T09:15:02Z","seconds":74.2,"rev":"5d0f1e2a3b4c5d6e7f8091a2b3c4d5e6f7081920","dirty":false,"outcome":"success","schema":"a","params":[0.1,6,100,42],"metrics":[0.6012,0.8411,0.7233,true]}
{"schema":"b","params":["train.lr","train.depth","train.n_trees","seed"],"metrics":["metrics/train/churn-gbm.json:f1","metrics/train/churn-gbm.json:roc_auc","metrics/drift/churn.json:dataset_drift"]}
{"id":"1a1b2c3d4e5f6071","kind":"repro","time":"2026-12-01T14:40:51Z","seconds":12.04,"rev":"6d0f1e2a3b4c5d6e7f8091a2b3c4d5e6f7081920","dirty":true,"outcome":"failure","schema":"b","params":[0.05,6,300,42],"metrics":[0.6205,0.8502,true]}
{"id":"2a1b2c3d4e5f6071","kind":"repro","name":"deeper trees","time":"2026-12-02T08:01:13Z","seconds":3725.5,"rev":"7d0f1e2a3b4c5d6e7f8091a2b3c4d5e6f7081920","dirty":false,"outcome":"success","schema":"a","params":[0.05,10,300,42],"metrics":[0.6318,0.8475,0.7512,false]}
{"schema":"c","params":["max_depth"],"metrics":["f1"]}
{"id":"3a1b2c3d4e5f6071","kind":"trial","parent":"2a1b2c3d4e5f6071","stage":"tune@churn","name":"trial 0","time":"2026-12-02T08:01:13Z","seconds":0.8,"rev":"7d0f1e2a3b4c5d6e7f8091a2b3c4d5e6f7081920","outcome":"success","schema":"c","params":[4],"metrics":[0.59]}
{"id":"4a1b2c3d4e5f6071","kind":"repro","time":"2026-12-02T09:00:00Z","seconds":1,"outcome":"success","schema":"missing","params":[],"metrics":[]}
"#;

#[test]
fn exp_show_fits_80_columns_and_keeps_the_sorted_column() {
    let repo = Repo::with_pipeline("stages: {}\n", "");
    repo.write(".cache/history/log.jsonl", LOG);
    insta::assert_snapshot!("exp-show", repo.pipit(["exp", "show"]));
    // The record whose schema is missing is left out, and said to be.
    assert!(
        repo.pipit(["exp", "show"])
            .stderr
            .contains("1 line(s) of `.cache/history/log.jsonl` are not run records")
    );
    insta::assert_snapshot!(
        "exp-show-sorted",
        repo.pipit(["exp", "show", "--sort-by", "churn-gbm.json:f1"])
    );
    insta::assert_snapshot!(
        "exp-show-md",
        repo.pipit(["exp", "show", "--md", "--trials", "--columns", "*:f1"])
    );
    let ambiguous = repo.pipit(["exp", "show", "--sort-by", "f1"]);
    assert!(ambiguous.stderr.contains("`f1` names 2 columns; say which: `metrics/train/churn-gbm.json:f1`, `metrics/train/credit-gbm.json:f1`"), "{ambiguous}");
    let empty = Repo::with_pipeline("stages: {}\n", "");
    let none = empty.pipit(["exp", "show"]);
    assert_eq!(none.code, 0, "{none}");
    assert!(none.stderr.contains("no runs yet"), "{none}");
}
