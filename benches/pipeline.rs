//! Parsing, expanding and validating a generated 1,000-stage pipeline, building
//! its DAG, and drawing it (terminal text and DOT).
//!
//! Run with `cargo bench --bench pipeline`.

use std::fmt::Write;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use pipit::dag::Dag;
use pipit::dag::render::{self, Graph};
use pipit::pipeline::{Pipeline, SourceFile, parse};

const ITEMS: usize = 100;
const STEPS: usize = 9;

/// Returns a pipeline of `ITEMS` strands, each a foreach source and `STEPS`
/// foreach steps (1,000 stages), and its params.
fn generated() -> (String, String) {
    let mut params = String::from("seed: 7\nitems:\n");
    for item in 0..ITEMS {
        let _ = writeln!(params, "  - item{item}");
    }
    params.push_str("step:\n");
    for step in 0..STEPS {
        let _ = writeln!(params, "  s{step}: {{threshold: 0.{step}, depth: {step}}}");
    }
    let mut pipeline = String::from(
        "stages:\n  source:\n    foreach: ${items}\n    do:\n      cmd: make-data --seed ${seed} --out data/${item}/s.csv\n      params:\n        - seed\n      outs:\n        - data/${item}/s.csv\n",
    );
    for step in 0..STEPS {
        let input = if step == 0 { "s.csv".to_owned() } else { format!("out{}.csv", step - 1) };
        let _ = write!(
            pipeline,
            "  step{step}:\n    foreach: ${{items}}\n    do:\n      cmd: process ${{step.s{step}}} --in data/${{item}}/{input} --out data/${{item}}/out{step}.csv\n      deps:\n        - data/${{item}}/{input}\n      params:\n        - step.s{step}\n      outs:\n        - data/${{item}}/out{step}.csv\n"
        );
    }
    (pipeline, params)
}

fn benchmarks(c: &mut Criterion) {
    let (text, params) = generated();
    let dir = tempfile::tempdir().expect("tempdir");
    fs_err::write(dir.path().join("params.yaml"), &params).expect("params");
    let file = SourceFile::new("pipeline.yaml", dir.path().join("pipeline.yaml"), text);
    let stages = parse(dir.path(), &file).expect("the generated pipeline is valid");
    assert_eq!(stages.len(), 1000);
    c.bench_function("parse, expand and validate 1,000 stages", |b| {
        b.iter(|| parse(black_box(dir.path()), black_box(&file)).map(|s| s.len()))
    });
    let pipeline = Pipeline {
        root: dir.path().to_path_buf(),
        file: file.clone(),
        stages,
        metrics: Vec::new(),
        plots: Vec::new(),
    };
    c.bench_function("build the DAG of 1,000 stages", |b| {
        b.iter(|| Dag::build(black_box(&pipeline)).map(|d| d.len()))
    });
    let dag = Dag::build(&pipeline).expect("acyclic");
    let all = (0..pipeline.stages.len()).collect();
    let graph = Graph::stages(&pipeline, &dag, &all);
    c.bench_function("draw 1,000 stages for the terminal", |b| {
        b.iter(|| render::lanes(black_box(&graph), 80).len())
    });
    c.bench_function("draw 1,000 stages as DOT", |b| {
        b.iter(|| render::dot(black_box(&graph)).len())
    });
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
