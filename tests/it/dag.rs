//! `pipit dag` on the demo pipeline, a diamond, a wide fan-out and a collapsed
//! matrix, in every format.

use crate::harness::{Repo, demo};

const DIAMOND: &str = "stages:
  a:
    cmd: echo
    outs: [a.out]
  b:
    cmd: echo
    deps: [a.out]
    outs: [b.out]
  c:
    cmd: echo
    deps: [a.out]
    outs: [c.out]
  d:
    cmd: echo
    deps: [b.out, c.out]
    outs: [d.out]
";

const FAN_OUT: &str = "stages:
  root:
    cmd: echo
    outs:
      - data
  leaf:
    foreach: [a, b, c, d, e, f, g, h, i, j]
    do:
      cmd: echo ${item}
      deps:
        - data/${item}.csv
      outs:
        - out/${item}.txt
";

const MATRIX: &str = "stages:
  prepare:
    cmd: echo
    outs: [data]
  train:
    matrix:
      data: [x, y]
      model: [lin, tree, forest]
    cmd: echo ${item.data} ${item.model}
    deps:
      - data
    outs:
      - models/${item.data}-${item.model}
  report:
    cmd: echo
    deps: [models]
    outs: [report.md]
";

fn dag(pipeline: &str, params: &str, args: &[&str]) -> String {
    let repo = Repo::with_pipeline(pipeline, params);
    let mut all = vec!["dag"];
    all.extend_from_slice(args);
    let run = repo.pipit(&all);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.is_empty(), "{run}");
    run.stdout
}

fn demo_dag(args: &[&str]) -> String {
    let (pipeline, params) = demo();
    dag(&pipeline, &params, args)
}

/// Every format of every example graph, one snapshot each.
#[test]
fn every_format_of_every_example() {
    let (demo_pipeline, demo_params) = demo();
    let examples: [(&str, &str, &str, &[&str]); 5] = [
        ("demo", &demo_pipeline, &demo_params, &[]),
        ("demo-collapsed", &demo_pipeline, &demo_params, &["--collapse"]),
        ("diamond", DIAMOND, "", &[]),
        ("fan-out", FAN_OUT, "", &[]),
        ("matrix-collapsed", MATRIX, "", &["--collapse"]),
    ];
    for (name, pipeline, params, options) in examples {
        for (format, flag) in [
            ("text", None),
            ("dot", Some("--dot")),
            ("mermaid", Some("--mermaid")),
            ("json", Some("--json")),
        ] {
            let mut args = options.to_vec();
            args.extend(flag);
            let output = dag(pipeline, params, &args);
            if format == "json" {
                let graph: serde_json::Value = serde_json::from_str(&output).unwrap();
                assert!(!graph["nodes"].as_array().unwrap().is_empty(), "{name}");
            }
            insta::assert_snapshot!(format!("{name}-{format}"), output);
        }
    }
}

#[test]
fn demo_json_has_every_stage() {
    let graph: serde_json::Value = serde_json::from_str(&demo_dag(&["--json"])).unwrap();
    assert_eq!(graph["nodes"].as_array().unwrap().len(), 34);
    assert_eq!(graph["edges"].as_array().unwrap().len(), 63);
}

#[test]
fn demo_outs_dot() {
    insta::assert_snapshot!(demo_dag(&["--outs", "--dot", "train@churn-*"]));
}

#[test]
fn target_selects_upstream_and_downstream() {
    let up = demo_dag(&["--json", "train_tuned@credit"]);
    let names: Vec<String> = serde_json::from_str::<serde_json::Value>(&up).unwrap()["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["generate@credit", "prepare@credit", "tune@credit", "train_tuned@credit"]);
    let down = demo_dag(&["--json", "--downstream", "data/churn/raw.csv"]);
    let graph: serde_json::Value = serde_json::from_str(&down).unwrap();
    let names: Vec<&str> =
        graph["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"compare") && names.contains(&"register@churn"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("housing")), "{names:?}");
}

#[test]
fn fan_out_json() {
    let text = dag(FAN_OUT, "", &["--json"]);
    let graph: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(graph["edges"].as_array().unwrap().len(), 10);
}

/// Returns the widest line of a drawing, in characters.
fn widest(drawing: &str) -> usize {
    drawing.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn demo_drawing_fits_80_columns() {
    let drawing = demo_dag(&[]);
    assert!(widest(&drawing) <= 80, "{drawing}");
    for stage in ["generate@housing", "train@churn-forest", "train_tuned@credit", "compare"] {
        assert!(drawing.contains(&format!("│ {stage} │")), "{stage} missing:\n{drawing}");
    }
}

#[test]
fn fan_out_drawing_wraps_within_80_columns() {
    let drawing = dag(FAN_OUT, "", &[]);
    assert!(widest(&drawing) <= 80, "{drawing}");
}

#[test]
fn target_drawing_shows_only_upstream() {
    let drawing = demo_dag(&["train@credit-gbm"]);
    assert_eq!(drawing.matches("╭─").count(), 3, "{drawing}");
    insta::assert_snapshot!(drawing);
}
