//! One test per kind of mistake in pipeline.yaml: the message, the file and the
//! line:column, exit code 2, and nothing panics.

use crate::harness::Repo;

/// Runs `pipit dag` on `pipeline` and returns its stderr after checking exit code 2.
fn invalid(pipeline: &str, params: &str) -> String {
    let repo = Repo::with_pipeline(pipeline, params);
    let run = repo.pipit(["dag"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    run.stderr
}

fn assert_has(stderr: &str, expected: &[&str]) {
    for text in expected {
        assert!(stderr.contains(text), "`{text}` not in:\n{stderr}");
    }
}

#[test]
fn yaml_syntax_error() {
    let stderr = invalid("stages:\n  a:\n    cmd: [echo\n", "");
    assert_has(&stderr, &["invalid YAML: unclosed bracket", "[pipeline.yaml:3:10]"]);
    insta::assert_snapshot!(stderr);
}

#[test]
fn unknown_key_suggests_the_closest() {
    let stderr = invalid("stages:\n  train:\n    cmd: echo\n    dep:\n      - a.csv\n", "");
    assert_has(
        &stderr,
        &["unknown key `dep` in stage `train`", "[pipeline.yaml:4:5]", "did you mean `deps`?"],
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn unknown_top_level_key() {
    let stderr = invalid("stage:\n  a:\n    cmd: echo\n", "");
    assert_has(
        &stderr,
        &["unknown key `stage` in `pipeline.yaml`", "[pipeline.yaml:1:1]", "`stages`"],
    );
}

#[test]
fn missing_cmd() {
    let stderr = invalid("stages:\n  a:\n    deps:\n      - x\n", "");
    assert_has(&stderr, &["stage `a` has no `cmd`", "[pipeline.yaml:2:3]"]);
    insta::assert_snapshot!(stderr);
}

#[test]
fn wrong_type() {
    let stderr = invalid("stages:\n  a:\n    cmd: echo\n    deps: 3\n", "");
    assert_has(
        &stderr,
        &["`deps` of stage `a` must be a list, not an integer", "[pipeline.yaml:4:11]"],
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn output_claimed_by_two_stages() {
    let pipeline = "stages:\n  a:\n    cmd: echo\n    outs:\n      - x.csv\n  b:\n    cmd: echo\n    outs:\n      - x.csv\n";
    let stderr = invalid(pipeline, "");
    assert_has(
        &stderr,
        &["output `x.csv` of stage `b` is also an output of stage `a`", "[pipeline.yaml:9:9]"],
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn output_listed_twice_in_one_stage() {
    let stderr = invalid(
        "stages:\n  a:\n    cmd: echo\n    outs:\n      - x\n    metrics:\n      - ./x\n",
        "",
    );
    assert_has(&stderr, &["`x` is listed twice in stage `a`", "[pipeline.yaml:7:9]"]);
}

#[test]
fn output_nested_inside_another_output() {
    let pipeline = "stages:\n  a:\n    cmd: echo\n    outs:\n      - data\n  b:\n    cmd: echo\n    outs:\n      - data/x.csv\n";
    let stderr = invalid(pipeline, "");
    assert_has(
        &stderr,
        &[
            "output `data/x.csv` of stage `b` lies inside output `data` of stage `a`",
            "[pipeline.yaml:9:9]",
        ],
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn output_outside_the_repository() {
    let stderr = invalid("stages:\n  a:\n    cmd: echo\n    outs:\n      - ../x.csv\n", "");
    assert_has(
        &stderr,
        &["output `../x.csv` of stage `a` is outside the repository", "[pipeline.yaml:5:9]"],
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn absolute_output_outside_the_repository() {
    let stderr = invalid("stages:\n  a:\n    cmd: echo\n    outs:\n      - /tmp/x.csv\n", "");
    assert_has(
        &stderr,
        &["output `/tmp/x.csv` of stage `a` is outside the repository", "[pipeline.yaml:5:9]"],
    );
}

#[test]
fn wdir_outside_the_repository() {
    let stderr = invalid("stages:\n  a:\n    cmd: echo\n    wdir: ../..\n", "");
    assert_has(
        &stderr,
        &["wdir `../..` of stage `a` is outside the repository", "[pipeline.yaml:4:11]"],
    );
}

#[test]
fn missing_interpolation_key_names_key_and_stage() {
    let pipeline = "stages:\n  gen:\n    foreach: [a]\n    do:\n      cmd: gen --rows ${generate.${item}.rows}\n";
    let stderr = invalid(pipeline, "generate: {b: {rows: 1}}\n");
    assert_has(
        &stderr,
        &["`generate.a.rows` is not defined (used in stage `gen@a`)", "[pipeline.yaml:5:23]"],
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn param_key_missing_from_params_file() {
    let pipeline = "stages:\n  a:\n    cmd: echo\n    params:\n      - train.lr\n";
    let stderr = invalid(pipeline, "train: {depth: 3}\n");
    assert_has(
        &stderr,
        &["param `train.lr` of stage `a` is not in `params.yaml`", "[pipeline.yaml:5:9]"],
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn params_file_missing() {
    let stderr = invalid(
        "stages:\n  a:\n    cmd: echo\n    params:\n      - other.yaml:\n          - k\n",
        "",
    );
    assert_has(&stderr, &["params file `other.yaml` of stage `a` does not exist"]);
}

#[test]
fn cycle_is_printed() {
    let pipeline = "stages:\n  a:\n    cmd: echo\n    deps: [c.out]\n    outs: [a.out]\n  b:\n    cmd: echo\n    deps: [a.out]\n    outs: [b.out]\n  c:\n    cmd: echo\n    deps: [b.out]\n    outs: [c.out]\n";
    let stderr = invalid(pipeline, "");
    assert_has(&stderr, &["the pipeline has a cycle: a -> b -> c -> a", "[pipeline.yaml:2:3]"]);
    insta::assert_snapshot!(stderr);
}

#[test]
fn missing_dependency_is_a_warning_for_dag() {
    let repo =
        Repo::with_pipeline("stages:\n  a:\n    cmd: echo\n    deps:\n      - nowhere.csv\n", "");
    let run = repo.pipit(["dag", "--dot"]);
    assert_eq!(run.code, 0, "{run}");
    assert_has(
        &run.stderr,
        &["dependency `nowhere.csv` of stage `a` does not exist", "[pipeline.yaml:5:9]"],
    );
    insta::assert_snapshot!(run.stderr);
}

#[test]
fn several_mistakes_are_reported_together() {
    let pipeline = "stages:\n  a:\n    cmd: echo ${nope}\n    outz: [x]\n  b:\n    deps: [y]\n";
    let stderr = invalid(pipeline, "");
    assert_has(
        &stderr,
        &["`nope` is not defined", "unknown key `outz`", "stage `b` has no `cmd`", "has 3 errors"],
    );
}

#[test]
fn foreach_over_a_scalar() {
    let stderr = invalid("stages:\n  a:\n    foreach: 3\n    do:\n      cmd: echo\n", "");
    assert_has(
        &stderr,
        &[
            "`foreach` of stage `a` must be a list or a mapping, not an integer",
            "[pipeline.yaml:3:14]",
        ],
    );
}

#[test]
fn duplicate_stage_names_after_expansion() {
    let stderr =
        invalid("stages:\n  a:\n    foreach: [x, x]\n    do:\n      cmd: echo ${item}\n", "");
    assert_has(&stderr, &["stage `a@x` is defined twice"]);
}

#[test]
fn an_unknown_target_suggests_a_stage() {
    let repo = Repo::with_pipeline("stages:\n  train:\n    cmd: echo\n", "");
    let run = repo.pipit(["dag", "trian"]);
    assert_eq!(run.code, 2, "{run}");
    assert_has(&run.stderr, &["no stage matches `trian`", "did you mean `train`?"]);
}

#[test]
fn no_pipeline_file() {
    let repo = Repo::new();
    let run = repo.pipit(["dag"]);
    assert_eq!(run.code, 2, "{run}");
    assert_has(
        &run.stderr,
        &["error: no `pipeline.yaml` (nor DVC's `dvc.yaml`) in `[REPO]` or any parent directory"],
    );
}

#[test]
fn a_very_long_line_is_reported_without_a_snippet_and_without_panicking() {
    let long = "x".repeat(70_000);
    let stderr = invalid(&format!("stages:\n  a:\n    cmd: echo {long} ${{nope}}\n"), "");
    assert_has(&stderr, &["`nope` is not defined", "at pipeline.yaml:3:"]);
}

#[test]
fn templates_inside_foreach_values_are_interpolated() {
    let pipeline =
        "stages:\n  u:\n    foreach:\n      - ${pfx}/a\n    do:\n      cmd: echo ${item}\n";
    let repo = Repo::with_pipeline(pipeline, "pfx: data\n");
    let run = repo.pipit(["stages"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.starts_with("u@data/a\n  cmd     echo data/a\n"), "{run}");
}

#[test]
fn the_repository_itself_is_no_output_and_an_empty_cmd_is_no_cmd() {
    let stderr =
        invalid("stages:\n  s:\n    cmd: echo\n    outs:\n      - ./\n  t:\n    cmd: '  '\n", "");
    assert_has(
        &stderr,
        &["output `./` of stage `s` is the whole repository", "stage `t` has no `cmd`"],
    );
}

#[test]
fn a_template_in_a_flow_list_gets_a_hint() {
    let stderr = invalid("stages:\n  s:\n    cmd: echo\n    outs: [out/${x}.csv]\n", "x: 1\n");
    assert_has(&stderr, &["invalid YAML", "reads as a YAML mapping"]);
}

#[test]
fn errors_inside_do_are_reported_once() {
    let stderr = invalid(
        "stages:\n  s:\n    foreach: [a, b, c]\n    do:\n      cmd: echo\n      dpes: [x]\n",
        "",
    );
    assert_eq!(stderr.matches("unknown key `dpes`").count(), 1, "{stderr}");
}

#[test]
fn one_typo_in_a_matrix_is_one_error_naming_its_stages_with_the_key_meant() {
    let repo = Repo::with_pipeline(
        "stages:\n  train:\n    matrix:\n      ds: [a, b, c]\n      m: [x, y, z]\n    cmd: echo ${item.dss} ${item.m} ${rowz}\n",
        "rows: 10\n",
    );
    let run = repo.pipit(["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(run.stderr.matches("is not defined").count(), 1, "one error, not nine: {run}");
    assert_has(
        &run.stderr,
        &["`item.dss` is not defined", "`train@a-x`", "and 5 more", "did you mean `${item.ds}`?"],
    );
    assert!(run.stderr.contains("holds this stage's foreach or matrix"), "{run}");
    assert!(!run.stderr.contains("define it in `params.yaml`"), "not for `item.`: {run}");
    repo.write("pipeline.yaml", "stages:\n  train:\n    cmd: echo ${rowz}\n");
    let run = repo.pipit(["status"]);
    assert_has(&run.stderr, &["did you mean `${rows}`?", "define it in `params.yaml`"]);
}

#[test]
fn resources_name_their_keys_and_the_values_they_take() {
    let pipeline = "stages:\n  train:\n    cmd: echo\n    resources:\n      cpu: 4\n      mem: 8X\n      time: 90\n      cpus: 0\n      gpus: -1\n      partition: two words\n      local: maybe\n";
    let stderr = invalid(pipeline, "");
    assert_has(
        &stderr,
        &[
            "unknown key `cpu` in `resources` of stage `train`",
            "did you mean `cpus`?",
            "`resources.mem` of stage `train` must be a size with its unit",
            "not `8X`",
            "[pipeline.yaml:6:12]",
            "`resources.time` of stage `train` must be a duration such as 30m, 2h,",
            "not `90`",
            "`resources.cpus` of stage `train` must be a whole number, 1 or more",
            "`resources.gpus` of stage `train` must be a whole number, not `-1`",
            "`resources.partition` of stage `train` must be a partition's name",
            "`resources.local` of stage `train` must be true or false, not `maybe`",
            "has 7 errors",
        ],
    );
    insta::assert_snapshot!(stderr);
    let stderr = invalid("stages:\n  a:\n    cmd: echo\n    resources: 4\n", "");
    assert_has(&stderr, &["`resources` of stage `a` must be a mapping, not an integer"]);
}
