//! Parsing and expansion of whole pipeline files, without the binary.

use std::path::Path;

use super::{ErrorKind, OutKind, Stage, parse, source::SourceFile};

/// Parses `pipeline` in a temporary repository that also holds `params`.
fn load(pipeline: &str, params: &str) -> Result<Vec<Stage>, Vec<ErrorKind>> {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("params.yaml"), params).unwrap();
    let file = SourceFile::new("pipeline.yaml", dir.path().join("pipeline.yaml"), pipeline.into());
    parse(dir.path(), &file).map_err(|errors| errors.into_iter().map(|e| e.kind).collect())
}

fn names(stages: &[Stage]) -> Vec<&str> {
    stages.iter().map(|s| s.name.as_str()).collect()
}

#[test]
fn foreach_over_scalars_names_by_value() {
    let stages =
        load("stages:\n  gen:\n    foreach: [a, 2, true]\n    do:\n      cmd: echo ${item}\n", "")
            .unwrap();
    assert_eq!(names(&stages), ["gen@a", "gen@2", "gen@true"]);
    assert_eq!(stages[1].cmd, ["echo 2"]);
    assert_eq!(stages[0].family.as_deref(), Some("gen"));
}

#[test]
fn foreach_over_dicts_names_by_index() {
    let yaml = "stages:\n  fit:\n    foreach:\n      - {lr: 1}\n      - {lr: 2}\n    do:\n      cmd: fit --lr ${item.lr}\n";
    let stages = load(yaml, "").unwrap();
    assert_eq!(names(&stages), ["fit@0", "fit@1"]);
    assert_eq!(stages[1].cmd, ["fit --lr 2"]);
}

#[test]
fn foreach_over_a_map_names_by_key_and_sets_key() {
    let yaml = "stages:\n  fit:\n    foreach:\n      small: {n: 1}\n      big: {n: 9}\n    do:\n      cmd: fit ${key} ${item.n}\n";
    let stages = load(yaml, "").unwrap();
    assert_eq!(names(&stages), ["fit@small", "fit@big"]);
    assert_eq!(stages[1].cmd, ["fit big 9"]);
}

#[test]
fn foreach_can_iterate_a_params_list() {
    let yaml = "stages:\n  gen:\n    foreach: ${datasets}\n    do:\n      cmd: gen ${item}\n";
    let stages = load(yaml, "datasets: [x, y]\n").unwrap();
    assert_eq!(names(&stages), ["gen@x", "gen@y"]);
}

#[test]
fn matrix_is_the_cartesian_product_in_order() {
    let yaml = "stages:\n  train:\n    matrix:\n      data: [a, b]\n      model: [lin, tree]\n      cfg: [{d: 1}]\n    cmd: t ${item.data} ${item.model} ${item.cfg.d} ${key}\n    outs:\n      - m/${item.data}-${item.model}\n";
    let stages = load(yaml, "").unwrap();
    assert_eq!(
        names(&stages),
        ["train@a-lin-cfg0", "train@a-tree-cfg0", "train@b-lin-cfg0", "train@b-tree-cfg0"]
    );
    assert_eq!(stages[3].cmd, ["t b tree 1 b-tree-cfg0"]);
    assert_eq!(stages[2].outs[0].path.as_str(), "m/b-lin");
}

#[test]
fn nested_interpolation_and_escapes() {
    let yaml = "stages:\n  gen:\n    foreach: [housing]\n    do:\n      cmd: gen --rows ${generate.${item}.rows} \\${literal} $$HOME\n";
    let stages = load(yaml, "generate: {housing: {rows: 20640}}\n").unwrap();
    assert_eq!(stages[0].cmd, ["gen --rows 20640 ${literal} $$HOME"]);
}

#[test]
fn a_dict_in_cmd_becomes_flags() {
    let yaml = "stages:\n  fit:\n    cmd: fit ${opts}\n";
    let stages = load(yaml, "opts: {lr: 0.01, verbose: true, dry: false, tag: a b}\n").unwrap();
    assert_eq!(stages[0].cmd, ["fit --lr 0.01 --verbose --tag 'a b'"]);
}

#[test]
fn a_cmd_list_and_options_are_read() {
    let yaml = "stages:\n  s:\n    cmd:\n      - one\n      - two\n    wdir: sub\n    deps: [in.csv]\n    outs:\n      - out.csv:\n          cache: false\n          persist: true\n    metrics:\n      - m.json\n    frozen: true\n    always_changed: true\n    desc: d\n";
    let stages = load(yaml, "").unwrap();
    let stage = &stages[0];
    assert_eq!(stage.cmd, ["one", "two"]);
    assert_eq!(stage.wdir.as_str(), "sub");
    assert_eq!(stage.deps[0].path.to_string(), "sub/in.csv");
    assert_eq!((stage.outs[0].cache, stage.outs[0].persist), (false, true));
    assert_eq!(stage.outs[1].kind, OutKind::Metric);
    assert!(stage.frozen && stage.always_changed);
}

#[test]
fn params_take_keys_sections_and_other_files() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("params.yaml"), "train: {lr: 0.1, depth: 3}\nseed: 1\n").unwrap();
    fs_err::write(dir.path().join("other.yaml"), "a: {b: 2}\n").unwrap();
    let yaml = "stages:\n  s:\n    cmd: x\n    params:\n      - seed\n      - train\n      - other.yaml:\n          - a.b\n";
    let file = SourceFile::new("pipeline.yaml", Path::new("pipeline.yaml"), yaml.into());
    let stages = parse(dir.path(), &file).unwrap();
    let params = &stages[0].params;
    assert_eq!(params[0].file.as_str(), "params.yaml");
    assert_eq!(params[0].values["seed"], serde_json::json!(1));
    assert_eq!(params[0].values["train"], serde_json::json!({"lr": 0.1, "depth": 3}));
    assert_eq!(params[1].file.as_str(), "other.yaml");
    assert_eq!(params[1].values["a.b"], serde_json::json!(2));
}

#[test]
fn a_missing_key_is_named_with_its_stage() {
    let errors = load("stages:\n  s:\n    cmd: x ${nope.deeper}\n", "a: 1\n").unwrap_err();
    assert_eq!(
        errors,
        [ErrorKind::MissingVariable {
            key: "nope.deeper".into(),
            place: "stage `s`".into(),
            suggestion: None
        }]
    );
}

#[test]
fn vars_files_and_inline_maps_are_merged() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("extra.yaml"), "size: 5\nunused: 1\n").unwrap();
    let yaml =
        "vars:\n  - extra.yaml:size\n  - {name: n}\nstages:\n  s:\n    cmd: x ${size} ${name}\n";
    let file = SourceFile::new("pipeline.yaml", Path::new("pipeline.yaml"), yaml.into());
    let stages = parse(dir.path(), &file).unwrap();
    assert_eq!(stages[0].cmd, ["x 5 n"]);
    let yaml = "vars:\n  - extra.yaml:size\n  - {size: 6}\nstages: {}\n";
    let file = SourceFile::new("pipeline.yaml", Path::new("pipeline.yaml"), yaml.into());
    let errors = parse(dir.path(), &file).unwrap_err();
    assert!(matches!(&errors[0].kind, ErrorKind::VarsConflict { key, .. } if key == "size"));
}
