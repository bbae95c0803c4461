//! `pipit stage drift` through the real binary.

use serde_json::Value;

use crate::harness::{Repo, Run};

fn generate(repo: &Repo, out: &str, seed: &str, drift: bool) {
    let mut args = vec![
        "stage",
        "generate",
        "--dataset",
        "credit",
        "--rows",
        "3000",
        "--seed",
        seed,
        "--out",
        out,
    ];
    if drift {
        args.push("--drift");
    }
    let run = repo.pipit(args);
    assert_eq!(run.code, 0, "{run}");
}

/// Runs `pipit stage drift` of `current` against `reference.csv`, with `extra` flags.
fn drift_from_reference(repo: &Repo, current: &str, extra: &[&str]) -> Run {
    let mut args = vec!["stage", "drift", "--reference", "reference.csv", "--current", current];
    args.extend_from_slice(extra);
    repo.pipit(args)
}

#[test]
fn drift_finds_the_documented_shifts_and_writes_json_and_html() {
    let repo = Repo::new();
    generate(&repo, "reference.csv", "1", false);
    generate(&repo, "same.csv", "2", false);
    generate(&repo, "production.csv", "3", true);
    let drift = |current: &str, rule: &str| {
        let run = drift_from_reference(
            &repo,
            current,
            &[
                "--rule",
                rule,
                "--ignore",
                "is_fraud",
                "--out",
                "drift.json",
                "--html",
                "drift.html",
            ],
        );
        assert_eq!(run.code, 0, "{run}");
        let text = fs_err::read_to_string(repo.path().join("drift.json")).unwrap();
        (run.stdout, serde_json::from_str::<Value>(&text).unwrap())
    };
    let (_, stable) = drift("same.csv", "evidently");
    assert_eq!(stable["drifted_columns"], serde_json::json!([]), "{stable}");
    assert_eq!(stable["dataset_drift"], false);
    let (summary, moved) = drift("production.csv", "evidently");
    // The credit generator documents: amounts up 50 %, more online shopping, more night use.
    for column in ["amount", "hour", "merchant_category"] {
        assert_eq!(moved["columns"][column]["drifted"], true, "{column}: {moved}");
    }
    assert_eq!(moved["columns"]["customer_age"]["drifted"], false, "{moved}");
    assert!(summary.contains("3 of 9 columns drifted"), "{summary}");
    let amount = &moved["columns"]["amount"];
    for key in ["ks_stat", "ks_pvalue", "psi", "wasserstein", "jensen_shannon", "test", "drifted"] {
        assert!(!amount[key].is_null(), "{key}: {amount}");
    }
    let category = &moved["columns"]["merchant_category"];
    for key in ["chi2_stat", "chi2_pvalue", "psi", "jensen_shannon"] {
        assert!(!category[key].is_null(), "{key}: {category}");
    }
    let (_, by_pvalue) = drift("production.csv", "pvalue");
    assert_eq!(by_pvalue["columns"]["amount"]["test"], "ks");
    let html = fs_err::read_to_string(repo.path().join("drift.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    let external = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!external.contains("http") && !external.contains("<script"), "self-contained");
    assert_eq!(html.matches("<svg").count(), 9, "a picture per column");
    // Drifted columns come first.
    let first = html.find("<h2>").unwrap();
    assert!(html[first..].starts_with("<h2>amount") || html[first..].starts_with("<h2>hour"));
}

#[test]
fn drift_refuses_mismatched_files() {
    let repo = Repo::new();
    generate(&repo, "reference.csv", "1", false);
    repo.write("other.csv", "a,b\n1,2\n");
    let run = drift_from_reference(&repo, "other.csv", &["--out", "d.json"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("`other.csv` has no column amount, hour"), "{run}");
    assert!(!repo.path().join("d.json").exists());
}

#[test]
fn drift_reads_the_last_records_of_a_prediction_log() {
    let repo = Repo::new();
    repo.write(
        "reference.csv",
        &format!("x,colour\n{}", (0..200).map(|i| format!("{},red\n", i % 50)).collect::<String>()),
    );
    // 300 logged predictions: the first 200 look like the reference, the last 100 do not.
    let mut log = String::new();
    for i in 0..300 {
        let (x, colour) = if i < 200 { (i % 50, "red") } else { (500 + i, "blue") };
        log.push_str(&format!(
            "{{\"request_id\":\"r{i}\",\"input\":{{\"x\":{x},\"colour\":\"{colour}\"}},\"output\":1,\"model_version\":3,\"time\":\"2026-11-25T00:00:00Z\"}}\n"
        ));
    }
    repo.write("logs/predictions.jsonl", &log);
    let drift = |last: &str| {
        let run = drift_from_reference(
            &repo,
            "logs/predictions.jsonl",
            &["--last", last, "--rule", "pvalue", "--out", "d.json"],
        );
        assert_eq!(run.code, 0, "{run}");
        let text = fs_err::read_to_string(repo.path().join("d.json")).unwrap();
        serde_json::from_str::<Value>(&text).unwrap()
    };
    let recent = drift("100");
    assert_eq!(recent["columns"]["x"]["current_rows"], 100);
    assert_eq!(recent["dataset_drift"], true, "{recent}");
    let older = drift("300");
    assert_eq!(older["columns"]["x"]["current_rows"], 300);
    let run = drift_from_reference(&repo, "reference.csv", &["--last", "5", "--out", "d.json"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("--last needs a prediction log"), "{run}");
}

#[test]
fn an_identifier_column_is_left_out_of_the_verdict_and_said_so() {
    let repo = Repo::new();
    let rows = |from: usize, shift: f64| {
        let mut text = String::from("customer,row,hour,spend\n");
        for i in from..from + 300 {
            let spend = (i % 50) as f64 + shift;
            text.push_str(&format!("C{i:05}-X,{i},{},{spend}\n", i % 24));
        }
        text
    };
    repo.write("reference.csv", &rows(0, 0.0));
    repo.write("current.csv", &rows(10_000, 0.0));
    let run = drift_from_reference(
        &repo,
        "current.csv",
        &["--out", "drift.json", "--html", "drift.html"],
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("0 of 2 columns drifted")
            && run.stdout.contains("left out `customer`, `row`, which identify rows"),
        "{run}"
    );
    let json: Value = serde_json::from_str(&repo.read("drift.json")).unwrap();
    assert_eq!(json["identifier_columns"], serde_json::json!(["customer", "row"]), "{json}");
    assert!(json["columns"].get("customer").is_none(), "{json}");
    let html = repo.read("drift.html");
    assert!(html.contains("Left out as identifiers"), "the report says so");
    // Hours are whole numbers: a bar each, in order, none left out.
    let hours: Vec<usize> =
        (0..24).map(|h| html.find(&format!("</title>{h}</text>")).unwrap()).collect();
    assert!(hours.windows(2).all(|w| w[0] < w[1]), "hours in order");
}
