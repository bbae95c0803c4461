//! `repro --executor slurm` on a real one-node SLURM cluster (Debian's
//! slurm-wlm, started by `.ci/test` from `.ci/slurm/`; its config in
//! `PIPIT_TEST_SLURM_CONF`). The repository lives on the one node's disk,
//! which is every node's here.

use crate::harness::{Repo, Run};

/// The cluster's config, or `None` (the test is skipped) without one, unless
/// `PIPIT_TEST_SERVERS_REQUIRED` says there must be one.
fn cluster() -> Option<String> {
    let Ok(conf) = std::env::var("PIPIT_TEST_SLURM_CONF") else {
        assert!(
            std::env::var_os("PIPIT_TEST_SERVERS_REQUIRED").is_none(),
            "PIPIT_TEST_SLURM_CONF is not set: run the tests with `.ci/test`"
        );
        skipped("no SLURM cluster: run the tests with `.ci/test`");
        return None;
    };
    Some(conf)
}

#[expect(clippy::print_stderr, reason = "a skipped test must say so in the test output")]
fn skipped(why: &str) {
    eprintln!("skipped: {why}");
}

fn on_cluster(repo: &Repo, conf: &str, args: &[&str]) -> Run {
    let mut all = vec!["repro", "--executor", "slurm"];
    all.extend_from_slice(args);
    repo.pipit_env(&[("SLURM_CONF", conf)], &all)
}

/// Starts `pipit repro --executor slurm` without waiting, its stdout to
/// `stdout`, its stderr dropped.
fn spawn_on_cluster(repo: &Repo, conf: &str, stdout: std::process::Stdio) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin!("pipit"))
        .args(["repro", "--executor", "slurm"])
        .env("SLURM_CONF", conf)
        .current_dir(repo.path())
        .stdout(stdout)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// The job id a stage's command saw, as it wrote it to `.jobs/NAME`.
fn job_of(repo: &Repo, stage: &str) -> String {
    repo.read(&format!(".jobs/{stage}")).trim().to_owned()
}

/// What `scontrol` says of job `id`.
fn job_line(conf: &str, id: &str) -> String {
    let shown = std::process::Command::new("scontrol")
        .args(["show", "job", "-o", id])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    String::from_utf8_lossy(&shown.stdout).into_owned()
}

const CHAIN: &str = "stages:
  prepare:
    cmd: echo \"$SLURM_JOB_ID\" > .jobs/prepare && echo prepared > prepared.txt && echo on the cluster
    outs:
      - prepared.txt
  train:
    cmd:
      - echo \"$SLURM_JOB_ID\" > .jobs/train
      - cat prepared.txt settings.txt > model.txt
    deps:
      - prepared.txt
      - settings.txt
    outs:
      - model.txt
    resources:
      cpus: 1
      mem: 64M
      time: 5m
  report:
    cmd: echo \"$SLURM_JOB_ID\" > .jobs/report && wc -l < model.txt > report.txt
    deps:
      - model.txt
    outs:
      - report.txt
    resources:
      local: true
";

#[test]
fn stages_run_as_jobs_then_nothing_runs_and_a_changed_dep_reruns_its_downstream() {
    let Some(conf) = cluster() else { return };
    let repo = Repo::with_pipeline(CHAIN, "");
    repo.write(".jobs/.keep", "");
    repo.write("settings.txt", "trained\n");
    let run = on_cluster(&repo, &conf, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("ran 3"), "{run}");
    assert!(run.stdout.contains("on the cluster"), "what a job printed is shown: {run}");
    assert_eq!(repo.read("model.txt"), "prepared\ntrained\n");
    assert_eq!(repo.read("report.txt").trim(), "2");
    // Each stage a job of its own, but the local one.
    let (prepare, train) = (job_of(&repo, "prepare"), job_of(&repo, "train"));
    assert!(prepare.parse::<u64>().is_ok() && train.parse::<u64>().is_ok(), "{prepare} {train}");
    assert_ne!(prepare, train);
    assert_eq!(job_of(&repo, "report"), "", "a `local: true` stage runs here");
    let line = job_line(&conf, &train);
    assert!(line.contains("JobName=pipit:train"), "{line}");
    assert!(line.contains("JobState=COMPLETED"), "{line}");
    assert!(line.contains("TimeLimit=00:05:00"), "its resources reach SLURM: {line}");
    assert!(repo.read(".cache/logs/prepare.out").contains("on the cluster"));

    let run = on_cluster(&repo, &conf, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("everything is up to date"), "{run}");
    assert_eq!(job_of(&repo, "train"), train, "no job was submitted");

    // A changed dep: the stage reading it and the one after run again.
    repo.write("settings.txt", "retrained\n");
    let run = on_cluster(&repo, &conf, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("ran 2, up to date 1"), "{run}");
    assert_ne!(job_of(&repo, "train"), train);
    assert_eq!(job_of(&repo, "prepare"), prepare);
    assert_eq!(repo.read("model.txt"), "prepared\nretrained\n");
}

#[test]
fn a_failing_job_fails_its_stage_with_its_stderr_and_the_run_cache_needs_no_job() {
    let Some(conf) = cluster() else { return };
    let pipeline = "stages:
  ok:
    cmd: echo \"$SLURM_JOB_ID\" > .jobs/ok && echo fine > ok.txt
    outs:
      - ok.txt
  broken:
    cmd: echo about to fail && echo the reason >&2 && exit 3
    outs:
      - never.txt
";
    let repo = Repo::with_pipeline(pipeline, "");
    repo.write(".jobs/.keep", "");
    let run = on_cluster(&repo, &conf, &["--keep-going"]);
    assert_eq!(run.code, 1, "{run}");
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("failed: exit code 3"), "{run}");
    assert!(all.contains("the reason"), "its stderr's tail: {run}");
    assert!(!repo.path().join("never.txt").exists());
    // Back to an earlier ok.txt: restored from the run cache, no job.
    let first = job_of(&repo, "ok");
    repo.write("pipeline.yaml", &pipeline.replace("echo fine", "echo other"));
    let run = on_cluster(&repo, &conf, &["ok"]);
    assert_eq!(run.code, 0, "{run}");
    let second = job_of(&repo, "ok");
    assert_ne!(second, first);
    repo.write("pipeline.yaml", pipeline);
    let run = on_cluster(&repo, &conf, &["ok"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("restored"), "{run}");
    assert_eq!(job_of(&repo, "ok"), second, "restoring submitted no job");
    assert_eq!(repo.read("ok.txt"), "fine\n");
}

#[test]
fn a_job_is_cancelled_when_pipit_is_killed_and_the_next_run_converges() {
    use std::time::{Duration, Instant};
    let Some(conf) = cluster() else { return };
    let pipeline = "stages:
  slow:
    cmd: echo \"$SLURM_JOB_ID\" > .jobs/slow && sleep 60 && echo done > slow.txt
    outs:
      - slow.txt
";
    let repo = Repo::with_pipeline(pipeline, "");
    repo.write(".jobs/.keep", "");
    let mut pipit = spawn_on_cluster(&repo, &conf, std::process::Stdio::null());
    let started = Instant::now();
    while job_of(&repo, "slow").is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "the job never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    let job = job_of(&repo, "slow");
    pipit.kill().unwrap();
    pipit.wait().unwrap();
    let killed = Instant::now();
    loop {
        let line = job_line(&conf, &job);
        if line.contains("JobState=CANCELLED") {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(20), "the job outlived pipit: {line}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!repo.path().join("slow.txt").exists());
    repo.write("pipeline.yaml", &pipeline.replace("sleep 60", "sleep 0"));
    let run = on_cluster(&repo, &conf, &[]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("ran 1"), "{run}");
    assert_ne!(job_of(&repo, "slow"), job);
    assert_eq!(repo.read("slow.txt"), "done\n");
}

#[test]
fn independent_stages_overlap_on_the_cluster_and_dry_run_says_where_each_would_run() {
    let Some(conf) = cluster() else { return };
    let stage = |name: &str, local: &str| {
        format!(
            "  {name}:\n    cmd: date +%s.%N > .times/{name}.start && sleep 2 && date +%s.%N > .times/{name}.end && echo {name} > {name}.out\n    outs:\n      - {name}.out\n{local}"
        )
    };
    let pipeline = format!(
        "stages:\n{}{}{}",
        // Two cores of the node: still one job of `-j 2` in flight.
        stage("a", "    resources:\n      cpus: 2\n"),
        stage("b", ""),
        stage("here", "    resources:\n      local: true\n")
    );
    let repo = Repo::with_pipeline(&pipeline, "");
    repo.write(".times/.keep", "");
    let run = on_cluster(&repo, &conf, &["--dry-run"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("would run  a as a SLURM job (new stage)"), "{run}");
    assert!(run.stdout.contains("would run  here here (new stage)"), "{run}");
    let run = on_cluster(&repo, &conf, &["-j", "2"]);
    assert_eq!(run.code, 0, "{run}");
    let time = |file: &str| repo.read(&format!(".times/{file}")).trim().parse::<f64>().unwrap();
    let ran = |name: &str| (time(&format!("{name}.start")), time(&format!("{name}.end")));
    let (a, b) = (ran("a"), ran("b"));
    assert!(a.0 < b.1 && b.0 < a.1, "a ran {a:?}, b ran {b:?}: the jobs did not overlap");
}

#[test]
fn a_job_past_its_time_limit_is_a_timeout() {
    let Some(conf) = cluster() else { return };
    let repo = Repo::with_pipeline(
        "stages:\n  long:\n    cmd: echo started && sleep 300\n    outs:\n      - never.txt\n    resources:\n      time: 1m\n",
        "",
    );
    let run = on_cluster(&repo, &conf, &[]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("ran past its time limit (TIMEOUT)"), "{run}");
}

#[test]
fn a_job_left_running_by_a_run_killed_with_its_guard_is_cancelled_by_the_next() {
    let Some(conf) = cluster() else { return };
    let repo =
        Repo::with_pipeline("stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n", "");
    // As a run killed with its guard leaves it: a job, its id in `.cache/slurm`.
    let submitted = std::process::Command::new("sbatch")
        .args(["--parsable", "--output=/dev/null", "--job-name=pipit:left", "--wrap", "sleep 300"])
        .env("SLURM_CONF", &conf)
        .output()
        .unwrap();
    let job = String::from_utf8_lossy(&submitted.stdout).trim().to_owned();
    assert!(job.parse::<u64>().is_ok(), "{submitted:?}");
    repo.write(".cache/slurm/left.sh.job", &job);
    let run = on_cluster(&repo, &conf, &[]);
    assert_eq!(run.code, 0, "{run}");
    let line = job_line(&conf, &job);
    assert!(line.contains("JobState=CANCELLED"), "{line}");
    assert!(!repo.path().join(".cache/slurm/left.sh.job").exists());
}

#[test]
fn the_project_config_chooses_the_executor_and_the_flag_overrides_it() {
    let Some(conf) = cluster() else { return };
    let pipeline = "stages:\n  a:\n    cmd: echo \"$SLURM_JOB_ID\" > .jobs/a && echo a > a.txt\n    outs: [a.txt]\n    always_changed: true\n";
    let repo = Repo::with_pipeline(pipeline, "");
    repo.write(".jobs/.keep", "");
    repo.write(".pipit/config.local.toml", "[core]\nexecutor = \"slurm\"\n");
    let run = repo.pipit(["status"]);
    assert!(run.stdout.contains("a (runs as a SLURM job):"), "{run}");
    let run = repo.pipit_env(&[("SLURM_CONF", &conf)], ["repro"]);
    assert_eq!(run.code, 0, "{run}");
    assert!(job_of(&repo, "a").parse::<u64>().is_ok(), "ran as a job: {run}");
    let run = repo.pipit_env(&[("SLURM_CONF", &conf)], ["repro", "--executor", "local"]);
    assert_eq!(run.code, 0, "{run}");
    assert_eq!(job_of(&repo, "a"), "", "ran here: {run}");
}

#[test]
fn an_unknown_executor_in_the_config_is_an_error() {
    let repo =
        Repo::with_pipeline("stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n", "");
    repo.write(".pipit/config.toml", "[core]\nexecutor = \"kubernetes\"\n");
    let run = repo.pipit(["repro"]);
    assert_ne!(run.code, 0, "{run}");
    assert!(
        run.stderr.contains("`core.executor` must be \"local\" or \"slurm\", not \"kubernetes\""),
        "{run}"
    );
    assert!(!repo.path().join("a.txt").exists());
}

#[test]
fn what_a_job_prints_is_shown_while_it_runs() {
    use std::io::BufRead;
    use std::time::{Duration, Instant};
    let Some(conf) = cluster() else { return };
    let repo = Repo::with_pipeline(
        "stages:\n  talk:\n    cmd: echo first line && sleep 3 && echo second line\n    outs: [never.txt]\n",
        "",
    );
    let mut pipit = spawn_on_cluster(&repo, &conf, std::process::Stdio::piped());
    let started = Instant::now();
    let mut seen: Vec<(Duration, String)> = Vec::new();
    for line in std::io::BufReader::new(pipit.stdout.take().unwrap()).lines() {
        seen.push((started.elapsed(), line.unwrap()));
    }
    pipit.wait().unwrap();
    let at = |text: &str| seen.iter().find(|(_, line)| line.contains(text)).map(|(at, _)| *at);
    let (first, second) = (at("first line"), at("second line"));
    let (Some(first), Some(second)) = (first, second) else { panic!("{seen:?}") };
    assert!(second - first > Duration::from_secs(2), "shown only at the end: {seen:?}");
}

#[test]
fn a_job_whose_files_do_not_reach_pipit_fails_its_stage_and_says_why() {
    let Some(conf) = cluster() else { return };
    // As on a node that does not share the repository's file system: what
    // the job writes (here, its id) is not found where pipit looks.
    let repo = Repo::with_pipeline(
        "stages:\n  elsewhere:\n    cmd: rm .cache/slurm/elsewhere.sh.started && echo a > a.txt\n    outs: [a.txt]\n",
        "",
    );
    let run = on_cluster(&repo, &conf, &[]);
    assert_eq!(run.code, 1, "{run}");
    let all = format!("{}{}", run.stdout, run.stderr).replace("\n           │ ", " ");
    assert!(all.contains("completed, but what it wrote is not here"), "{run}");
    assert!(all.contains("on a file system every node sees"), "{run}");
    assert!(!repo.read("pipeline.lock").contains("elsewhere"), "{run}");
}

#[test]
fn each_command_of_a_job_runs_in_a_shell_of_its_own_as_here() {
    let Some(conf) = cluster() else { return };
    let pipeline = "stages:
  moves:
    cmd:
      - cd /tmp
      - pwd > where.txt
    outs: [where.txt]
  stops:
    cmd:
      - false && echo never
      - echo ran > after.txt
    outs: [after.txt]
";
    let repo = Repo::with_pipeline(pipeline, "");
    let run = on_cluster(&repo, &conf, &["--keep-going"]);
    assert_eq!(run.code, 1, "{run}");
    let root = fs_err::canonicalize(repo.path()).unwrap();
    assert_eq!(repo.read("where.txt").trim(), root.to_string_lossy(), "a `cd` does not carry");
    assert!(run.stdout.contains("failed: exit code 1"), "{run}");
    assert!(!repo.path().join("after.txt").exists(), "the job went on after a failure");
}
