//! `pipit stage compare` on fixed metrics files (snapshots of its outputs).

use crate::harness::Repo;

fn with_fixtures() -> Repo {
    let repo = Repo::new();
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/compare");
    for item in fs_err::read_dir(&fixtures).unwrap() {
        let path = item.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        repo.write(&format!("metrics/{name}"), &fs_err::read_to_string(&path).unwrap());
    }
    repo
}

#[test]
fn compare_writes_json_markdown_and_html() {
    let repo = with_fixtures();
    let run = repo.pipit([
        "stage",
        "compare",
        "--metrics",
        "metrics/*.json",
        "--out",
        "out/compare.json",
        "--md",
        "out/compare.md",
        "--html",
        "out/compare.html",
    ]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(
        run.stdout.trim(),
        "compared 9 models; best per data set: churn: linear (f1 0.5621), housing: tuned (r2 0.8441)"
    );
    let read = |name: &str| fs_err::read_to_string(repo.path().join("out").join(name)).unwrap();
    let markdown = read("compare.md");
    assert!(
        markdown
            .contains("Gradient Boosting (Tuned): R² = 0.8441 (+4.07 %) against 0.8111 untuned"),
        "{markdown}"
    );
    insta::assert_snapshot!("compare-markdown", markdown);
    insta::assert_snapshot!("compare-json", read("compare.json"));
    let html = read("compare.html");
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg").count(), 2, "one bar chart per data set");
    let external = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!external.contains("http") && !external.contains("<script"), "self-contained");
}

#[test]
fn compare_explains_what_it_cannot_read() {
    let repo = with_fixtures();
    let none = repo.pipit(["stage", "compare", "--metrics", "nothing/*.json", "--out", "c.json"]);
    assert_eq!(none.code, 1, "{none}");
    assert!(none.stderr.contains("no metrics files match `nothing/*.json`"), "{none}");
    repo.write("other/housing-x.json", "{\"r2\": 0.5}");
    let bare = repo.pipit(["stage", "compare", "--metrics", "other/*.json", "--out", "c.json"]);
    assert_eq!(bare.code, 1, "{bare}");
    assert!(bare.stderr.contains("has no gate verdict"), "{bare}");
    assert!(!repo.path().join("c.json").exists());
}

#[test]
fn compare_ranks_any_metrics_file_by_the_metric_named() {
    let repo = Repo::with_pipeline("stages: {}\n", "");
    repo.write("runs/a/metrics.json", r#"{"acc": 0.7, "loss": {"test": 0.3}}"#);
    repo.write("runs/b/metrics.yaml", "acc: 0.8\nloss:\n  test: 0.2\n");
    repo.write("runs/c/metrics.csv", "acc,note\n0,no signal\n");
    repo.write("runs/d/metrics.json", r#"{"loss": {"test": 0.1}}"#);
    // A hyphen names a data set only in a file `stage train` wrote.
    repo.write("runs/e/eval-metrics.json", r#"{"acc": 0.1}"#);
    fn args(metric: &str) -> Vec<&str> {
        let mut args =
            vec!["stage", "compare", "--metrics", "runs/*/*metrics.*", "--out", "c.json"];
        args.extend(["--metric", metric, "--md", "c.md"]);
        args
    }
    let run = repo.pipit(args("acc"));
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("best per data set: all: runs/b/metrics (acc 0.8000)"), "{run}");
    let json: serde_json::Value = serde_json::from_str(&repo.read("c.json")).unwrap();
    let models = json["datasets"]["all"]["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "runs/b/metrics",
            "runs/a/metrics",
            "runs/e/eval-metrics",
            "runs/c/metrics",
            "runs/d/metrics"
        ]
    );
    assert_eq!(models[0]["metrics"]["loss.test"], 0.2, "nested keys are flattened");
    assert!(repo.read("c.md").contains("| – |"), "no gate verdict: {}", repo.read("c.md"));
    // A zero or missing key metric is never the best.
    repo.write("runs/b/metrics.yaml", "acc: 0\n");
    repo.write("runs/a/metrics.json", r#"{"acc": 0}"#);
    repo.write("runs/e/eval-metrics.json", r#"{"acc": 0}"#);
    let none = repo.pipit(args("acc"));
    assert!(none.stdout.contains("all: none (no model has a usable acc)"), "{none}");
    // An error metric: the lowest wins.
    let mut lowest = args("loss.test");
    lowest.push("--lower-is-better");
    let run = repo.pipit(lowest);
    assert!(run.stdout.contains("all: runs/d/metrics (loss.test 0.1000)"), "{run}");
}
