//! Experiments: `pipit exp run -S` in a workspace of its own, the queue run
//! in parallel, `exp apply` and `exp remove`.

use std::process::Command;

use serde_json::Value;

use crate::harness::Repo;

/// A stage whose metric is twice `train.lr`, and that waits `train.wait`
/// seconds; params.yaml has comments, which `-S` and `apply` keep.
const PIPELINE: &str = r#"stages:
  train:
    cmd: >-
      sleep "$(awk '/wait:/ {print $2}' params.yaml)" &&
      printf '{"acc": %s}' "$(awk '/lr:/ {print $2 * 2}' params.yaml)" > metrics.json &&
      printf 'model %s' "$(awk '/lr:/ {print $2}' params.yaml)" > model.txt
    params:
      - train
    outs:
      - model.txt
    metrics:
      - metrics.json:
          cache: false
"#;
const PARAMS: &str = "# how the model learns\ntrain:\n  lr: 0.1  # the learning rate\n  wait: 0\n";

fn git_status(repo: &Repo) -> String {
    let output = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap()
}

/// A committed repository whose pipeline has run.
fn committed() -> Repo {
    let repo = Repo::with_pipeline(PIPELINE, PARAMS);
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 0, "{run}");
    repo.commit("first");
    repo
}

fn experiments(repo: &Repo) -> Vec<Value> {
    let run = repo.pipit(["exp", "list", "--json"]);
    assert_eq!(run.code, 0, "{run}");
    serde_json::from_str(&run.stdout).unwrap()
}

#[test]
fn exp_run_changes_params_in_its_own_workspace_and_records_the_run() {
    let repo = committed();
    let status = git_status(&repo);
    let run = repo.pipit(["exp", "run", "-S", "train.lr=0.3", "--name", "faster"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("experiment `faster` succeeded"), "{run}");
    // The user's files and git state are as they were.
    assert_eq!(repo.read("params.yaml"), PARAMS);
    assert_eq!(repo.read("metrics.json"), "{\"acc\": 0.2}");
    assert_eq!(git_status(&repo), status);
    // The run is in the history under its name, with the changed param.
    let show = repo.pipit(["exp", "show", "--json"]);
    let runs: Vec<Value> = serde_json::from_str(&show.stdout).unwrap();
    let faster = runs.iter().find(|r| r["name"] == "faster").expect("the experiment's run");
    assert_eq!(faster["params"]["train.lr"], 0.3);
    assert_eq!(faster["metrics"]["metrics.json:acc"], 0.6);
    assert_eq!(experiments(&repo)[0]["status"], "succeeded");
    // Bad input says why.
    let missing = repo.pipit(["exp", "run", "-S", "train.depth=3"]);
    assert_eq!(missing.code, 2, "{missing}");
    assert!(missing.stderr.contains("`params.yaml` has no `train.depth`"), "{missing}");
    let again = repo.pipit(["exp", "run", "-S", "train.lr=0.4", "--name", "faster"]);
    assert!(again.stderr.contains("there is already an experiment `faster`"), "{again}");
    assert_eq!(experiments(&repo).len(), 1, "a refused experiment leaves nothing behind");
}

#[test]
fn queued_experiments_run_in_parallel_with_run_all() {
    let repo = committed();
    for (name, lr) in [("a", "0.2"), ("b", "0.4")] {
        let run = repo.pipit([
            "exp",
            "run",
            "--queue",
            "--name",
            name,
            "-S",
            &format!("train.lr={lr}"),
            "-S",
            "train.wait=1.5",
        ]);
        assert_eq!(run.code, 0, "{run}");
        assert!(run.stdout.contains(&format!("queued experiment `{name}`")), "{run}");
    }
    let queued = experiments(&repo);
    assert!(queued.iter().all(|e| e["status"] == "queued"), "{queued:?}");
    let run = repo.pipit(["exp", "run", "--run-all", "-j", "2"]);
    assert_eq!(run.code, 0, "{run}");
    let ran = experiments(&repo);
    let time = |e: &Value, key: &str| e[key].as_str().unwrap().to_owned();
    let (a, b) = (&ran[0], &ran[1]);
    assert!(ran.iter().all(|e| e["status"] == "succeeded"), "{ran:?}");
    // Each ran while the other did: the intervals overlap.
    assert!(
        time(a, "started") < time(b, "finished") && time(b, "started") < time(a, "finished"),
        "{ran:?}"
    );
    let show = repo.pipit(["exp", "show", "--csv", "--columns", "train.lr"]);
    for (name, lr) in [("a", "0.2"), ("b", "0.4")] {
        assert!(
            show.stdout
                .lines()
                .any(|l| l.contains(&format!(",{name},")) && l.contains(&format!(",{lr},"))),
            "{show}"
        );
    }
    let nothing = repo.pipit(["exp", "run", "--run-all"]);
    assert!(nothing.stderr.contains("no experiment is queued"), "{nothing}");
}

#[test]
fn exp_apply_brings_params_and_outputs_and_remove_forgets_the_experiment() {
    let repo = committed();
    assert_eq!(repo.pipit(["exp", "run", "-S", "train.lr=0.3", "--name", "best"]).code, 0);
    // gc keeps what an experiment made, even with no run-cache entry for it.
    let gc = repo.pipit(["gc", "--keep-runs", "0"]);
    assert_eq!(gc.code, 0, "{gc}");
    let run = repo.pipit(["exp", "apply", "best"]);
    assert_eq!(run.code, 0, "{run}");
    // The param changed in place, comments kept; the outputs are the experiment's.
    assert_eq!(repo.read("params.yaml"), PARAMS.replace("lr: 0.1 ", "lr: 0.3 "));
    assert_eq!(repo.read("metrics.json"), "{\"acc\": 0.6}");
    assert_eq!(repo.read("model.txt"), "model 0.3");
    let status = repo.pipit(["status"]);
    assert_eq!(status.code, 0, "the workspace is up to date: {status}");
    let removed = repo.pipit(["exp", "remove", "best"]);
    assert_eq!(removed.code, 0, "{removed}");
    assert!(experiments(&repo).is_empty());
    let unknown = repo.pipit(["exp", "apply", "best"]);
    assert!(unknown.stderr.contains("there is no experiment `best`"), "{unknown}");
}

#[test]
fn exp_apply_leaves_a_persistent_out_to_this_workspace_and_repro_runs_its_stage() {
    // A registry the `register` stage adds each model to: git-ignored state
    // the experiment begins without.
    let pipeline = format!(
        "{PIPELINE}  register:
    cmd: mkdir -p registry && (cat model.txt; echo) >> registry/log.txt
    deps:
      - model.txt
    outs:
      - registry/log.txt:
          cache: false
          persist: true
"
    );
    let repo = Repo::with_pipeline(&pipeline, PARAMS);
    repo.write(".gitignore", "/registry\n");
    assert_eq!(repo.pipit(["repro"]).code, 0);
    repo.commit("first");
    assert_eq!(repo.read("registry/log.txt"), "model 0.1\n");
    assert_eq!(repo.pipit(["exp", "run", "-S", "train.lr=0.3", "--name", "best"]).code, 0);
    let run = repo.pipit(["exp", "apply", "best"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stderr.contains("kept this workspace's `register`"), "{run}");
    // The registry is this workspace's, not the experiment's own.
    assert_eq!(repo.read("registry/log.txt"), "model 0.1\n");
    assert_eq!(repo.read("model.txt"), "model 0.3");
    let status = repo.pipit(["status"]);
    assert!(status.stdout.contains("register"), "register is to run: {status}");
    assert!(!status.stdout.contains("train"), "train is the experiment's: {status}");
    let repro = repo.pipit(["repro"]);
    assert_eq!(repro.code, 0, "{repro}");
    assert_eq!(repo.read("registry/log.txt"), "model 0.1\nmodel 0.3\n");
    assert_eq!(repo.pipit(["status"]).code, 0);
}

#[test]
fn two_queue_runners_run_each_experiment_once() {
    let repo = committed();
    for name in ["a", "b"] {
        let queued = repo.pipit(["exp", "run", "--queue", "--name", name, "-S", "train.wait=0.5"]);
        assert_eq!(queued.code, 0, "{queued}");
    }
    let runner = || {
        Command::new(assert_cmd::cargo::cargo_bin!("pipit"))
            .args(["exp", "run", "--run-all", "-j", "2"])
            .current_dir(repo.path())
            .output()
            .unwrap()
    };
    let (first, second) = std::thread::scope(|scope| {
        let one = scope.spawn(runner);
        let two = scope.spawn(runner);
        (one.join().unwrap(), two.join().unwrap())
    });
    assert!(first.status.success() && second.status.success());
    let show = repo.pipit(["exp", "show", "--json"]);
    let runs: Vec<Value> = serde_json::from_str(&show.stdout).unwrap();
    let mut names: Vec<&str> = runs.iter().filter_map(|r| r["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["a", "b"], "each experiment ran once: {show}");
}
