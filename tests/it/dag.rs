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
            ("boxes", Some("--boxes")),
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
fn demo_drawing_fits_80_columns_one_stage_per_line() {
    let drawing = demo_dag(&[]);
    assert!(widest(&drawing) <= 80, "{drawing}");
    assert_eq!(drawing.lines().count(), 34, "{drawing}");
    for stage in ["generate@housing", "train@churn-forest", "train_tuned@credit", "compare"] {
        let lines =
            drawing.lines().filter(|l| l.contains('○') && l.ends_with(&format!("  {stage}")));
        assert_eq!(lines.count(), 1, "{stage}:\n{drawing}");
    }
    let boxes = demo_dag(&["--boxes"]);
    assert!(widest(&boxes) <= 80, "{boxes}");
}

#[test]
fn fan_out_drawing_fits_80_columns() {
    for flag in [None, Some("--boxes")] {
        let drawing = dag(FAN_OUT, "", &flag.into_iter().collect::<Vec<_>>());
        assert!(widest(&drawing) <= 80, "{drawing}");
    }
}

/// A pipeline of 1,021 stages: 20 data sets, 8 feature sets and 20 models each.
fn thousand_stages() -> String {
    let list = |prefix: &str, count: usize| {
        (0..count).map(|i| format!("{prefix}{i:02}")).collect::<Vec<_>>().join(", ")
    };
    let (d, f, m) = (list("d", 20), list("f", 8), list("m", 20));
    format!(
        r#"stages:
  generate:
    foreach: [{d}]
    do:
      cmd: echo
      outs: ["data/${{item}}/raw.csv"]
  prepare:
    foreach: [{d}]
    do:
      cmd: echo
      deps: ["data/${{item}}/raw.csv"]
      outs: ["data/${{item}}/prepared"]
  features:
    matrix: {{d: [{d}], f: [{f}]}}
    cmd: echo
    deps: ["data/${{item.d}}/prepared"]
    outs: ["features/${{item.d}}/${{item.f}}.csv"]
  train:
    matrix: {{d: [{d}], m: [{m}]}}
    cmd: echo
    deps: ["features/${{item.d}}"]
    outs: ["models/${{item.d}}/${{item.m}}.model"]
  evaluate:
    matrix: {{d: [{d}], m: [{m}]}}
    cmd: echo
    deps: ["models/${{item.d}}/${{item.m}}.model", "data/${{item.d}}/prepared"]
    outs: ["metrics/${{item.d}}/${{item.m}}.json"]
  register:
    foreach: [{d}]
    do:
      cmd: echo
      deps: ["metrics/${{item}}"]
      outs: ["registry/${{item}}.json"]
  report:
    cmd: echo
    deps: [registry]
    outs: [report.md]
"#
    )
}

#[test]
fn a_thousand_stage_drawing_fits_and_names_every_stage_once() {
    let drawing = dag(&thousand_stages(), "", &[]);
    assert!(widest(&drawing) <= 80, "{drawing}");
    assert_eq!(drawing.lines().filter(|l| l.contains('○')).count(), 1021, "a line per stage");
    assert!(drawing.ends_with("  report\n"), "the last stage comes last");
    // Past the lanes that fit, a stage's inputs are named under it.
    assert!(drawing.contains("← "), "some inputs drawn without a lane");
    let collapsed = dag(&thousand_stages(), "", &["--collapse"]);
    assert!(collapsed.starts_with("○  generate ×20\n○  prepare ×20\n"), "{collapsed}");
}

#[test]
fn target_drawing_shows_only_upstream() {
    let drawing = demo_dag(&["train@credit-gbm"]);
    assert_eq!(drawing, "○  generate@credit\n○  prepare@credit\n○  train@credit-gbm\n");
    let boxes = demo_dag(&["--boxes", "train@credit-gbm"]);
    assert_eq!(boxes.matches("╭─").count(), 3, "{boxes}");
    insta::assert_snapshot!(boxes);
}
