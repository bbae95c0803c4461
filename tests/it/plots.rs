//! `pipit plots show` and `pipit plots diff`: the plots files the stages
//! declare, drawn into one self-contained HTML page, revisions overlaid.

use crate::harness::{Repo, prepare_churn, train_churn};

/// A pipeline whose stages write a loss series (CSV), a ROC curve (JSON
/// inside an object), one record per prediction (DVC's confusion input) and
/// a PNG; the top-level `plots:` gives the JSON files their properties.
const SHAPES: &str = r#"stages:
  evaluate:
    cmd:
      - printf 'epoch,loss,acc\n1,0.9,0.5\n2,0.6,0.7\n3,0.4,0.8\n' > loss.csv
      - >-
        printf '{"roc": [{"fpr": 0, "tpr": 0}, {"fpr": 0.1, "tpr": 0.8}, {"fpr": 1, "tpr": 1}]}' > roc.json
      - >-
        printf '[{"actual": "cat", "predicted": "cat"}, {"actual": "cat", "predicted": "dog"},
        {"actual": "dog", "predicted": "dog"}, {"actual": "dog", "predicted": "dog"}]' > classes.json
      - printf '\211PNG\r\n\032\n' > picture.png
    plots:
      - loss.csv:
          cache: false
          x: epoch
          y: [loss, acc]
          title: Training curve
      - roc.json:
          cache: false
      - classes.json:
          cache: false
      - picture.png:
          cache: false
plots:
  - "*.json": {x: fpr, y: tpr, template: simple}
  - classes.json: {template: confusion, x: actual, y: predicted}
"#;

#[test]
fn plots_show_draws_every_declared_file_by_its_template_into_one_offline_page() {
    let repo = Repo::with_pipeline(SHAPES, "");
    assert_eq!(repo.pipit(["repro"]).code, 0);
    let run = repo.pipit(["plots", "show"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout, "wrote pipit_plots/index.html: 4 plots at workspace\n", "{run}");
    let page = repo.read("pipit_plots/index.html");
    assert!(
        repo.read(".gitignore").lines().any(|l| l == "/pipit_plots"),
        "the page is not for git"
    );
    // Two lines for the CSV's two y columns, one for the ROC curve.
    assert_eq!(page.matches("<path d=\"M").count(), 3, "{page}");
    assert!(page.contains("<h2>Training curve</h2>"), "{page}");
    assert!(page.contains("</i>loss</span>") && page.contains("</i>acc</span>"), "{page}");
    assert!(page.contains("tpr against fpr"), "the glob's properties apply to roc.json");
    // classes.json: the entry naming it wins over the glob.
    assert!(page.contains("actual: dog, predicted: dog: 2"), "{page}");
    assert!(page.contains("data:image/png;base64,iVBORw0K"), "the PNG is embedded");
    // Self-contained: no script, nothing fetched.
    assert!(!page.contains("<script"), "{page}");
    for reference in ["src=\"http", "href=\"http", "url(http"] {
        assert!(!page.contains(reference), "{reference} in {page}");
    }
    // Named targets, written elsewhere.
    let run = repo.pipit(["plots", "show", "loss.csv", "-o", "out/one.html"]);
    assert_eq!(run.code, 0, "{run}");
    let one = repo.read("out/one.html");
    assert!(one.contains("Training curve") && !one.contains("roc.json"), "{one}");
}

#[test]
fn a_confusion_template_counts_the_records_of_each_pair() {
    let pipeline = r#"stages:
  evaluate:
    cmd: >-
      printf 'actual,predicted\ncat,cat\ncat,dog\ndog,dog\ndog,dog\ndog,dog\n' > classes.csv
    plots:
      - classes.csv:
          cache: false
          template: confusion
          x: actual
          y: predicted
"#;
    let repo = Repo::with_pipeline(pipeline, "");
    assert_eq!(repo.pipit(["repro"]).code, 0);
    let run = repo.pipit(["plots", "show"]);
    assert_eq!(run.code, 0, "{run}");
    let page = repo.read("pipit_plots/index.html");
    for cell in ["actual: cat, predicted: cat: 1", "actual: cat, predicted: dog: 1"] {
        assert!(page.contains(cell), "{cell} in {page}");
    }
    assert!(page.contains("actual: dog, predicted: dog: 3"), "{page}");
    assert!(page.contains("actual: dog, predicted: cat: 0"), "{page}");
}

/// A stage that writes a cached (git-ignored) plots folder from `value.txt`.
const CACHED_FOLDER: &str = r#"stages:
  evaluate:
    cmd: >-
      mkdir -p curves &&
      printf 'step,loss\n0,1\n1,%s\n' "$(cat value.txt)" > curves/loss.csv
    deps: [value.txt]
    plots:
      - curves
"#;

#[test]
fn plots_diff_overlays_revisions_even_from_a_cached_folder() {
    let repo = Repo::with_pipeline(CACHED_FOLDER, "");
    repo.write("value.txt", "0.5");
    assert_eq!(repo.pipit(["repro"]).code, 0);
    repo.commit("first");
    repo.write("value.txt", "0.25");
    assert_eq!(repo.pipit(["repro"]).code, 0);
    let run = repo.pipit(["plots", "diff"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(run.stdout, "wrote pipit_plots/index.html: 1 plot at HEAD, workspace\n");
    let page = repo.read("pipit_plots/index.html");
    assert_eq!(page.matches("<path d=\"M").count(), 2, "one line per revision: {page}");
    assert!(page.contains("</i>HEAD</span>") && page.contains("</i>workspace</span>"), "{page}");
    repo.commit("second");
    // Both sides from the cache: `curves` is git-ignored.
    let run = repo.pipit(["plots", "diff", "HEAD~1", "HEAD", "--targets", "curves"]);
    assert_eq!(run.code, 0, "{run}");
    let page = repo.read("pipit_plots/index.html");
    assert!(page.contains("</i>HEAD~1</span>") && page.contains("</i>HEAD</span>"), "{page}");
    assert!(!page.contains("</i>workspace</span>"), "{page}");
    let bad = repo.pipit(["plots", "diff", "no-such-rev"]);
    assert_eq!(bad.code, 2, "{bad}");
    assert!(bad.stderr.contains("`no-such-rev` is not a revision"), "{bad}");
}

#[test]
fn plots_say_what_they_cannot_draw() {
    let pipeline = r#"stages:
  evaluate:
    cmd: printf 'step,loss\n0,1\n' > loss.csv && printf 'not a plot' > notes.txt
    plots:
      - loss.csv:
          cache: false
          y: accuracy
      - notes.txt:
          cache: false
      - later.csv:
          cache: false
"#;
    let repo = Repo::with_pipeline(pipeline, "");
    // later.csv is declared but never written: repro fails on it, so write
    // the other two by hand.
    repo.write("loss.csv", "step,loss\n0,1\n");
    repo.write("notes.txt", "not a plot");
    let run = repo.pipit(["plots", "show"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains(
            "`loss.csv` at workspace has no column `accuracy` (its columns: `step`, `loss`)"
        ),
        "{run}"
    );
    assert!(run.stderr.contains("`notes.txt`: plots files are CSV, TSV, JSON or YAML"), "{run}");
    assert!(run.stderr.contains("`later.csv` is not there at workspace"), "{run}");
    // The page still says so.
    let page = repo.read("pipit_plots/index.html");
    assert!(page.contains("has no column `accuracy`"), "{page}");
}

#[test]
fn an_unknown_template_is_a_pipeline_error_that_names_the_templates() {
    let pipeline =
        "stages:\n  s:\n    cmd: echo\n    plots:\n      - p.csv:\n          template: scater\n";
    let repo = Repo::with_pipeline(pipeline, "");
    let run = repo.pipit(["plots", "show"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("unknown plot template `scater`"), "{run}");
    assert!(run.stderr.contains("did you mean `scatter`?"), "{run}");
    let top = "stages:\n  s:\n    cmd: echo\nplots:\n  - p.csv: {tempalte: linear}\n";
    let repo = Repo::with_pipeline(top, "");
    let run = repo.pipit(["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("unknown key `tempalte` in plot properties"), "{run}");
}

#[test]
fn train_writes_a_classifiers_curves_and_confusion_matrix_for_plots() {
    let repo = Repo::with_pipeline("stages: {}\n", "");
    prepare_churn(&repo, "400", "3");
    let run = train_churn(
        &repo,
        "forest",
        &["--model-out", "m.model", "--metrics-out", "m.json", "--plots-dir", "plots/forest"],
    );
    assert_eq!(run.code, 0, "{run}");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&repo.read(&format!("plots/forest/{name}"))).unwrap()
    };
    let roc = read("roc.json");
    let points = roc["roc"].as_array().unwrap();
    assert_eq!((points[0]["fpr"].as_f64(), points[0]["tpr"].as_f64()), (Some(0.0), Some(0.0)));
    let last = points.last().unwrap();
    assert_eq!((last["fpr"].as_f64(), last["tpr"].as_f64()), (Some(1.0), Some(1.0)));
    assert!(!read("precision_recall.json")["precision_recall"].as_array().unwrap().is_empty());
    // The confusion records add up to the metrics' matrix.
    let metrics: serde_json::Value = serde_json::from_str(&repo.read("m.json")).unwrap();
    let matrix: f64 = metrics["confusion_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|c| c.as_f64().unwrap())
        .sum();
    let records: f64 = read("confusion.json")["confusion"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_f64().unwrap())
        .sum();
    assert_eq!(records, matrix);
}
