//! The command line itself: version, help, completions, `stages`.

use crate::harness::{Repo, demo};

#[test]
fn version_and_help() {
    let repo = Repo::new();
    let run = repo.pipit(["--version"]);
    assert_eq!((run.code, run.stdout.trim()), (0, concat!("pipit ", env!("CARGO_PKG_VERSION"))));
    let run = repo.pipit(["help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Draw the pipeline's DAG"), "{run}");
    let run = repo.pipit(["--no-such-flag"]);
    assert_eq!(run.code, 2, "{run}");
}

/// On Linux the binary is linked at a fixed address (see `build.rs`): an
/// ELF executable, not a position-independent one the loader would move,
/// rewriting its pointers, at every start.
#[cfg(target_os = "linux")]
#[test]
fn the_binary_is_linked_at_a_fixed_address() {
    use std::io::Read;
    let mut header = [0u8; 18];
    fs_err::File::open(env!("CARGO_BIN_EXE_pipit")).unwrap().read_exact(&mut header).unwrap();
    assert_eq!(&header[..4], b"\x7fELF");
    // `e_type`, in the byte order `EI_DATA` names (1: little-endian).
    let kind = match header[5] {
        1 => u16::from_le_bytes([header[16], header[17]]),
        _ => u16::from_be_bytes([header[16], header[17]]),
    };
    const ET_EXEC: u16 = 2;
    assert_eq!(kind, ET_EXEC, "3 is ET_DYN: a position-independent executable");
}

#[test]
fn completions_for_each_shell() {
    let repo = Repo::new();
    for (shell, marker) in
        [("bash", "complete -F"), ("zsh", "#compdef pipit"), ("fish", "complete -c pipit")]
    {
        let run = repo.pipit(["completions", shell]);
        assert_eq!(run.code, 0, "{run}");
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
    }
}

#[test]
fn stages_lists_the_expanded_demo() {
    let (pipeline, params) = demo();
    let repo = Repo::with_pipeline(&pipeline, &params);
    let run = repo.pipit(["stages", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    let stages: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let stages = stages.as_array().unwrap();
    assert_eq!(stages.len(), 34);
    let forest = stages.iter().find(|s| s["name"] == "train@churn-forest").unwrap();
    assert_eq!(forest["family"], "train");
    assert_eq!(forest["outs"][0]["path"], "models/churn/forest.model");
    assert!(forest["cmd"][0].as_str().unwrap().contains("--model forest"));
    let linear = stages.iter().find(|s| s["name"] == "train@credit-linear").unwrap();
    assert!(linear["cmd"][0].as_str().unwrap().contains("--model logistic"));
    let run = repo.pipit(["stages"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains(
            "generate@housing\n  cmd     pipit stage generate --dataset housing --rows 20640"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn stages_show_what_each_stage_needs_from_params_too() {
    let pipeline = "stages:\n  train:\n    cmd: echo\n    resources:\n      cpus: ${train.cpus}\n      mem: 1536M\n      time: 90m\n      partition: gpu\n  plain:\n    cmd: echo\n";
    let repo = Repo::with_pipeline(pipeline, "train:\n  cpus: 4\n");
    let run = repo.pipit(["stages"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains(
            "train\n  cmd     echo\n  needs   cpus 4, mem 1536M, time 1h30m, partition gpu\n"
        ),
        "{run}"
    );
    assert!(
        run.stdout.contains("plain\n  cmd     echo\n\n")
            || run.stdout.ends_with("plain\n  cmd     echo\n"),
        "{run}"
    );
    let run = repo.pipit(["stages", "--json"]);
    let stages: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let resources = &stages[0]["resources"];
    assert_eq!(resources["cpus"], 4, "{resources}");
    assert_eq!(resources["mem_mib"], 1536, "{resources}");
    assert_eq!(resources["time_seconds"], 5400, "{resources}");
    assert_eq!(resources["partition"], "gpu", "{resources}");
    assert!(stages[1].get("resources").is_none(), "{}", stages[1]);
}

#[test]
fn runs_from_a_subdirectory() {
    let repo = Repo::with_pipeline("stages:\n  a:\n    cmd: echo\n    outs: [out/a.txt]\n", "");
    fs_err::create_dir_all(repo.path().join("sub")).unwrap();
    let run = repo.pipit_in("sub", ["dag", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("\"name\": \"a\""), "{run}");
}

#[test]
fn an_unknown_command_gets_a_typo_fix_or_dvcs_word_never_an_unrelated_command() {
    let repo = Repo::new();
    let run = repo.pipit(["reprp"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("pipit has no command `reprp`; did you mean `repro`?"), "{run}");
    let run = repo.pipit(["commit"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("DVC's `commit`"), "{run}");
    assert!(!run.stderr.contains("completions"), "{run}");
    let run = repo.pipit(["frobnicate"]);
    assert!(!run.stderr.contains("did you mean"), "{run}");
}

#[test]
fn without_a_pipeline_pipit_says_how_to_start() {
    let repo = Repo::new();
    let run = repo.pipit(["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("no `pipeline.yaml` (nor DVC's `dvc.yaml`) in"), "{run}");
    assert!(run.stderr.contains("write one to start"), "{run}");
}

/// A project as DVC's documentation writes one: top-level metrics and plots,
/// a foreach stage, params, and DVC's own lock beside it.
const DVC_PROJECT: &str = r#"stages:
  prepare:
    foreach: [a, b]
    do:
      cmd: mkdir -p data && echo ${item} ${prepare.split} > data/${item}.txt
      params:
        - prepare.split
      outs:
        - data/${item}.txt
  train:
    cmd: cat data/a.txt data/b.txt > model.txt && echo '{"acc":0.9}' > metrics.json
    deps:
      - data
    outs:
      - model.txt
    metrics:
      - metrics.json:
          cache: false
metrics:
  - metrics.json
  - extra.yaml
plots:
  - metrics.json
"#;

#[test]
fn a_dvc_project_runs_as_it_is_and_dvc_files_are_left_alone() {
    let repo = Repo::new();
    repo.write("dvc.yaml", DVC_PROJECT);
    repo.write("params.yaml", "prepare:\n  split: 0.2\n");
    repo.write("dvc.lock", "schema: '2.0'\nstages: {}\n");
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("ran 3"), "{run}");
    assert_eq!(repo.read("model.txt"), "a 0.2\nb 0.2\n");
    assert_eq!(repo.read("dvc.lock"), "schema: '2.0'\nstages: {}\n", "DVC's lock is DVC's");
    assert!(repo.path().join("pipeline.lock").is_file());
    assert_eq!(repo.pipit(["status"]).code, 0);
    let dag = repo.pipit(["dag"]);
    assert!(dag.stdout.contains("prepare@a") && dag.stdout.contains("train"), "{dag}");
    // `metrics show` reads the stages' metrics and those listed at the top level.
    repo.write("extra.yaml", "auc: 0.8\n");
    let metrics = repo.pipit(["metrics", "show", "--csv"]);
    assert_eq!(metrics.stdout, "path,acc,auc\nmetrics.json,0.9,-\nextra.yaml,-,0.8\n", "{metrics}");
    // `plots show` draws what the top-level `plots` lists.
    let plots = repo.pipit(["plots", "show"]);
    assert_eq!(plots.code, 1, "metrics.json holds no list of records: {plots}");
    assert!(plots.stderr.contains("`metrics.json` holds no list of records"), "{plots}");
    // Diagnostics point into dvc.yaml.
    repo.write("dvc.yaml", &DVC_PROJECT.replace("${prepare.split}", "${prepare.splitt}"));
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("dvc.yaml:5:"), "{run}");
    assert!(run.stderr.contains("did you mean `${prepare.split}`"), "{run}");
    // pipeline.yaml, when there is one, is what pipit reads.
    repo.write("pipeline.yaml", "stages:\n  hello:\n    cmd: echo hi\n");
    let stages = repo.pipit(["stages"]);
    assert!(stages.stdout.contains("hello") && !stages.stdout.contains("prepare"), "{stages}");
}

#[test]
fn logs_shows_what_a_stage_printed_and_a_failure_says_where() {
    let repo = Repo::with_pipeline(
        "stages:\n  talk:\n    cmd: echo said && echo warned >&2\n  fail:\n    cmd: echo why >&2 && exit 3\n",
        "",
    );
    let run = repo.pipit(["repro", "--keep-going"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("all it printed: `pipit logs fail`"), "{run}");
    let logs = repo.pipit(["logs", "talk"]);
    assert_eq!(logs.code, 0, "{logs}");
    assert_eq!(logs.stdout, "said\nwarned\n", "{logs}");
    assert!(logs.stderr.contains("standard output (.cache/logs/talk.out)"), "{logs}");
    let err = repo.pipit(["logs", "fail", "--stderr"]);
    assert_eq!(err.stdout, "why\n", "{err}");
    let typo = repo.pipit(["logs", "tlak"]);
    assert_eq!(typo.code, 2, "{typo}");
    assert!(typo.stderr.contains("no stage `tlak` (did you mean `talk`?)"), "{typo}");
}
