//! `repro`, `status`, `checkout`, `gc` and `cache verify` on real repositories:
//! what runs is asserted with counter files that the stages append to, never
//! with log text.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::Repo;

const PIPELINE: &str = "stages:
  prepare:
    cmd: echo run >> .counts/prepare && cp input.txt prepared.txt
    deps:
      - input.txt
    outs:
      - prepared.txt
  train:
    cmd: echo run >> .counts/train && test ${model.depth} -lt 10 && (cat prepared.txt; echo depth=${model.depth}) > model.txt
    deps:
      - prepared.txt
    params:
      - model.depth
    outs:
      - model.txt
  report:
    cmd: echo run >> .counts/report && (echo report; cat model.txt) > report.txt
    deps:
      - model.txt
    outs:
      - report.txt
  side:
    cmd: echo run >> .counts/side && cp other.txt side.txt
    deps:
      - other.txt
    outs:
      - side.txt
";

fn repo() -> Repo {
    repo_with(PIPELINE)
}

/// A repository as [`repo`] makes it, with `pipeline` in place of [`PIPELINE`].
fn repo_with(pipeline: &str) -> Repo {
    let repo = Repo::with_pipeline(pipeline, "model:\n  depth: 3\n");
    repo.write("input.txt", "rows\n");
    repo.write("other.txt", "other\n");
    repo.write(".counts/.keep", "");
    repo
}

/// Returns how many times each of the four stages ran, in pipeline order.
fn counts(repo: &Repo) -> [usize; 4] {
    ["prepare", "train", "report", "side"].map(|stage| {
        fs_err::read_to_string(repo.path().join(".counts").join(stage))
            .map_or(0, |t| t.lines().count())
    })
}

/// Starts `pipit ARGS` in `repo` without waiting, its output dropped.
fn spawn_quiet(repo: &Repo, args: &[&str]) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin!("pipit"))
        .args(args)
        .current_dir(repo.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn read(repo: &Repo, path: &str) -> String {
    fs_err::read_to_string(repo.path().join(path)).unwrap_or_default()
}

fn repro_ok(repo: &Repo, args: &[&str]) -> String {
    let mut all = vec!["repro"];
    all.extend_from_slice(args);
    let run = repo.pipit(&all);
    assert_eq!(run.code, 0, "{run}");
    run.stdout
}

#[test]
fn first_run_runs_everything_and_second_run_nothing() {
    let repo = repo();
    repro_ok(&repo, &[]);
    assert_eq!(counts(&repo), [1, 1, 1, 1]);
    assert_eq!(read(&repo, "report.txt"), "report\nrows\ndepth=3\n");
    let lock = read(&repo, "pipeline.lock");
    let second = repro_ok(&repo, &[]);
    assert_eq!(counts(&repo), [1, 1, 1, 1]);
    assert!(second.contains("everything is up to date (4 stages) in"), "{second}");
    assert_eq!(read(&repo, "pipeline.lock"), lock, "a no-op run must not rewrite the lock");
    let status = repo.pipit(["status"]);
    assert_eq!(
        (status.code, status.stdout.as_str()),
        (0, "everything is up to date\n"),
        "{status}"
    );
    let ignored = read(&repo, ".gitignore");
    for line in ["/.cache/", "/prepared.txt", "/model.txt", "/report.txt", "/side.txt"] {
        assert!(ignored.lines().any(|l| l == line), "{line} not in .gitignore:\n{ignored}");
    }
}

#[test]
fn a_changed_dep_reruns_exactly_its_downstream() {
    let repo = repo();
    repro_ok(&repo, &[]);
    repo.write("other.txt", "changed\n");
    let status = repo.pipit(["status"]);
    assert_eq!(status.code, 1, "{status}");
    assert_eq!(status.stdout, "side:\n    dep changed: other.txt\n");
    repro_ok(&repo, &[]);
    assert_eq!(counts(&repo), [1, 1, 1, 2]);
    repo.write("input.txt", "more rows\n");
    repro_ok(&repo, &[]);
    assert_eq!(counts(&repo), [2, 2, 2, 2]);
    assert_eq!(read(&repo, "report.txt"), "report\nmore rows\ndepth=3\n");
}

#[test]
fn a_changed_param_reruns_its_downstream_and_status_names_it() {
    let repo = repo();
    repro_ok(&repo, &[]);
    repo.write("params.yaml", "model:\n  depth: 5\n");
    let status = repo.pipit(["status"]);
    assert_eq!(status.code, 1, "{status}");
    assert!(status.stdout.contains("train:\n"), "{status}");
    assert!(status.stdout.contains("param changed: model.depth 3 → 5"), "{status}");
    let json = repo.pipit(["status", "--json"]);
    let reasons: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(
        reasons["train"].as_array().unwrap().iter().any(|r| r["reason"] == "param_changed"
            && r["key"] == "model.depth"
            && r["old"] == 3
            && r["new"] == 5),
        "{reasons}"
    );
    repro_ok(&repo, &[]);
    assert_eq!(counts(&repo), [1, 2, 2, 1]);
}

#[test]
fn a_deleted_out_is_restored_from_the_cache_without_running() {
    let repo = repo();
    repro_ok(&repo, &[]);
    fs_err::remove_file(repo.path().join("model.txt")).unwrap();
    let output = repro_ok(&repo, &[]);
    assert!(output.contains("restored from run cache"), "{output}");
    assert_eq!(counts(&repo), [1, 1, 1, 1]);
    assert_eq!(read(&repo, "model.txt"), "rows\ndepth=3\n");
}

#[test]
fn a_first_run_records_what_a_later_run_finds() {
    // On a first run the stages after one start before its outs are hashed
    // (they run whatever their deps hash to): the lock and the run cache
    // must still hold what hashing everything first finds.
    let repo = repo();
    repro_ok(&repo, &[]);
    let lock = read(&repo, "pipeline.lock");
    for out in ["pipeline.lock", "prepared.txt", "model.txt", "report.txt", "side.txt"] {
        fs_err::remove_file(repo.path().join(out)).unwrap();
    }
    let output = repro_ok(&repo, &[]);
    assert!(output.contains("restored from run cache 4"), "{output}");
    assert_eq!(counts(&repo), [1, 1, 1, 1]);
    assert_eq!(read(&repo, "pipeline.lock"), lock);
    assert_eq!(read(&repo, "report.txt"), "report\nrows\ndepth=3\n");
}

#[test]
fn a_stage_whose_dep_failed_to_be_stored_after_it_started_is_not_recorded() {
    // `train` starts once `prepare`'s command ended; storing `prepare`'s
    // outs then fails (the failpoint waits for `train` to have started).
    let repo = repo();
    let failpoint = [("PIPIT_TEST_PANIC_STORING", "prepare .counts/train")];
    let run = repo.pipit_env(&failpoint, ["repro", "-j", "1"]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(counts(&repo)[..2], [1, 1], "{run}");
    assert!(run.stdout.contains("storing the outs of `prepare` panics"), "{run}");
    assert!(run.stdout.contains("skipped    train (`prepare` failed)"), "{run}");
    assert!(run.stdout.contains("skipped    report (`prepare` failed)"), "{run}");
    let lock = read(&repo, "pipeline.lock");
    for stage in ["prepare:", "train:", "report:"] {
        assert!(!lock.contains(stage), "{stage} recorded:\n{lock}");
    }
    let status = repo.pipit(["status"]);
    assert!(status.stdout.contains("train:\n    new stage"), "{status}");
    repro_ok(&repo, &[]);
    assert_eq!(read(&repo, "report.txt"), "report\nrows\ndepth=3\n");
    assert_eq!(repo.pipit(["status"]).code, 0);
}

#[test]
fn the_stages_after_one_skipped_for_a_failed_dep_say_so_once_the_run_stopped() {
    // Storing `prepare`'s outs fails while `train` still runs: the run
    // stops before `report` could start, and `report` is skipped for the
    // same failure as `train` (it would not have run after it).
    let pipeline = PIPELINE
        .replace("echo run >> .counts/train &&", "echo run >> .counts/train && sleep 0.5 &&");
    let repo = repo_with(&pipeline);
    let failpoint = [("PIPIT_TEST_PANIC_STORING", "prepare .counts/train")];
    let run = repo.pipit_env(&failpoint, ["repro", "-j", "1"]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(counts(&repo)[..3], [1, 1, 0], "{run}");
    assert!(run.stdout.contains("skipped    train (`prepare` failed)"), "{run}");
    assert!(run.stdout.contains("skipped    report (`prepare` failed)"), "{run}");
}

#[test]
fn a_first_run_whose_stage_writes_into_its_dep_folder_records_one_consistent_lock() {
    // `use` starts before `make`'s folder is hashed, and writes into it as
    // Python writes a `__pycache__` (a temporary file renamed into place).
    let pipeline = "stages:
  make:
    cmd: mkdir -p pkg && echo a > pkg/a
    outs:
      - pkg
  use:
    cmd: for i in 1 2 3 4 5; do echo $i > pkg/.c.tmp && mv pkg/.c.tmp pkg/c$i; done; cat pkg/a > used
    deps:
      - pkg
    outs:
      - used
";
    let repo = Repo::with_pipeline(pipeline, "");
    let run = repo.pipit(["repro", "-j", "1"]);
    assert_eq!(run.code, 0, "{run}");
    // `make`'s out and `use`'s dep: the hash after each `path: pkg`.
    let lock = read(&repo, "pipeline.lock");
    let lines: Vec<&str> = lock.lines().collect();
    let hashes: Vec<&str> = lines
        .windows(2)
        .filter(|pair| pair[0].trim() == "- path: pkg")
        .map(|pair| pair[1].trim().trim_start_matches("hash: "))
        .collect();
    assert_eq!(hashes.len(), 2, "{lock}");
    assert_eq!(hashes[0], hashes[1], "what `use` read is what `make` made:\n{lock}");
}

#[test]
fn the_outs_a_run_replaces_are_deleted_by_its_end_or_swept_by_the_next_run() {
    // Replaced outs are moved into `.cache/` under a temporary name and
    // deleted while the stages run.
    let repo = repo();
    repro_ok(&repo, &[]);
    repo.write("input.txt", "more rows\n");
    repro_ok(&repo, &[]);
    assert_eq!(counts(&repo), [2, 2, 2, 1]);
    let names = || -> Vec<String> {
        fs_err::read_dir(repo.path().join(".cache"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".tmp"))
            .collect()
    };
    assert_eq!(names(), Vec::<String>::new());
    // One a pipit killed meanwhile left is swept by the next run.
    let left = repo.write(".cache/.model.2147483646-4.tmp/weights", "old");
    let run = repo.pipit(["repro"]);
    assert!(run.stderr.contains("removed 1 temporary files"), "{run}");
    assert!(!left.parent().unwrap().exists() && names().is_empty());
}

#[test]
fn a_param_changed_and_changed_back_is_restored_from_the_run_cache() {
    let repo = repo();
    repro_ok(&repo, &[]);
    repo.write("params.yaml", "model:\n  depth: 5\n");
    repro_ok(&repo, &[]);
    repo.write("params.yaml", "model:\n  depth: 3\n");
    let dry = repro_ok(&repo, &["--dry-run"]);
    assert!(dry.contains("would restore train from the run cache"), "{dry}");
    let output = repro_ok(&repo, &[]);
    assert_eq!(counts(&repo), [1, 2, 2, 1], "{output}");
    assert_eq!(read(&repo, "report.txt"), "report\nrows\ndepth=3\n");
    assert!(output.contains("restored from run cache 2"), "{output}");
}

#[test]
fn a_stage_with_a_persist_out_is_never_restored_from_the_run_cache() {
    let pipeline = "stages:
  log:
    cmd: echo run >> .counts/log && echo ${model.depth} >> log.txt
    params:
      - model.depth
    outs:
      - log.txt:
          persist: true
          cache: false
";
    let repo = Repo::with_pipeline(pipeline, "model:\n  depth: 3\n");
    repo.write(".counts/.keep", "");
    repro_ok(&repo, &[]);
    repo.write("params.yaml", "model:\n  depth: 5\n");
    repro_ok(&repo, &[]);
    repo.write("params.yaml", "model:\n  depth: 3\n");
    let dry = repro_ok(&repo, &["--dry-run"]);
    assert!(dry.contains("would run  log"), "{dry}");
    let output = repro_ok(&repo, &[]);
    assert_eq!(read(&repo, ".counts/log"), "run\nrun\nrun\n", "{output}");
    assert_eq!(read(&repo, "log.txt"), "3\n5\n3\n", "what it keeps adding to is never rolled back");
    // Deleted, it is made again by running, not restored.
    fs_err::remove_file(repo.path().join("log.txt")).unwrap();
    repro_ok(&repo, &[]);
    assert_eq!(read(&repo, "log.txt"), "3\n");
    assert_eq!(repo.pipit(["status"]).code, 0);
}

#[test]
fn a_failing_stage_keeps_its_lock_entry_and_stops_its_dependents() {
    let repo = repo();
    repro_ok(&repo, &[]);
    let lock = read(&repo, "pipeline.lock");
    repo.write("params.yaml", "model:\n  depth: 50\n");
    repo.write("other.txt", "changed\n");
    let run = repo.pipit(["repro", "--keep-going", "-j", "1"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("failed     train: "), "{run}");
    assert!(run.stdout.contains("skipped    report (`train` failed)"), "{run}");
    assert_eq!(counts(&repo), [1, 2, 1, 2], "report must not run, side must");
    let after = read(&repo, "pipeline.lock");
    let entry = |text: &str, stage: &str| {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("pipeline.lock"), text).unwrap();
        let lock = pipit::lockfile::LockFile::read(dir.path(), &dir.path().join(".cache")).unwrap();
        lock.stages[stage].clone()
    };
    assert_eq!(entry(&after, "train"), entry(&lock, "train"));
    assert_eq!(entry(&after, "report"), entry(&lock, "report"));
    assert_ne!(entry(&after, "side"), entry(&lock, "side"));
}

#[test]
fn without_keep_going_a_failure_stops_the_run() {
    let repo = repo();
    repo.write("params.yaml", "model:\n  depth: 50\n");
    let run = repo.pipit(["repro", "-j", "1", "train"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(
        !repo.path().join("pipeline.lock").exists()
            || !read(&repo, "pipeline.lock").contains("train:")
    );
}

#[test]
fn a_stage_that_does_not_produce_its_out_fails() {
    let repo =
        Repo::with_pipeline("stages:\n  a:\n    cmd: 'true'\n    outs:\n      - a.txt\n", "");
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("the command did not produce output `a.txt`"), "{run}");
}

#[test]
fn reordering_deps_or_editing_desc_changes_nothing() {
    let two_deps = "stages:\n  a:\n    desc: first\n    cmd: cat x y > out\n    deps:\n      - x\n      - y\n    outs:\n      - out\n";
    let repo = Repo::with_pipeline(two_deps, "");
    repo.write("x", "1");
    repo.write("y", "2");
    repro_ok(&repo, &[]);
    let lock = read(&repo, "pipeline.lock");
    repo.write(
        "pipeline.yaml",
        &two_deps
            .replace("      - x\n      - y\n", "      - y\n      - x\n")
            .replace("first", "second"),
    );
    let output = repro_ok(&repo, &[]);
    assert!(output.contains("everything is up to date (1 stage) in"), "{output}");
    assert_eq!(read(&repo, "pipeline.lock"), lock);
}

#[test]
fn stages_run_in_parallel() {
    let stage = |name: &str| {
        format!(
            "  {name}:\n    cmd: date +%s.%N > .times/{name}.start && sleep 1 && date +%s.%N > .times/{name}.end && echo {name} > {name}.out\n    outs:\n      - {name}.out\n"
        )
    };
    let repo = Repo::with_pipeline(&format!("stages:\n{}{}", stage("a"), stage("b")), "");
    repo.write(".times/.keep", "");
    repro_ok(&repo, &["-j", "2"]);
    let time = |file: &str| read(&repo, &format!(".times/{file}")).trim().parse::<f64>().unwrap();
    let (a, b) = ((time("a.start"), time("a.end")), (time("b.start"), time("b.end")));
    assert!(a.0 < b.1 && b.0 < a.1, "a ran {a:?}, b ran {b:?}: they did not overlap");
}

#[test]
fn a_stage_takes_as_many_of_the_jobs_as_it_asks_cpus() {
    let stage = |name: &str, resources: &str| {
        format!(
            "  {name}:\n    cmd: date +%s.%N > .times/{name}.start && sleep 0.5 && date +%s.%N > .times/{name}.end && echo {name} > {name}.out\n    outs:\n      - {name}.out\n{resources}"
        )
    };
    let pipeline = format!(
        "stages:\n{}{}{}{}",
        stage("wide", "    resources:\n      cpus: 2\n"),
        stage("b", ""),
        stage("c", "    resources:\n      cpus: 1\n"),
        // More than `-j` allows: runs, alone.
        stage("huge", "    resources:\n      cpus: 64\n"),
    );
    let repo = Repo::with_pipeline(&pipeline, "");
    repo.write(".times/.keep", "");
    let output = repro_ok(&repo, &["-j", "2"]);
    assert!(output.contains("ran 4"), "{output}");
    let time = |file: &str| read(&repo, &format!(".times/{file}")).trim().parse::<f64>().unwrap();
    let ran = |name: &str| (time(&format!("{name}.start")), time(&format!("{name}.end")));
    let overlap = |a: (f64, f64), b: (f64, f64)| a.0 < b.1 && b.0 < a.1;
    let (wide, b, c, huge) = (ran("wide"), ran("b"), ran("c"), ran("huge"));
    assert!(overlap(b, c), "b ran {b:?}, c ran {c:?}: one slot each, they did not overlap");
    for (name, other) in [("b", b), ("c", c), ("huge", huge)] {
        assert!(!overlap(wide, other), "wide ran {wide:?} beside {name} {other:?}");
    }
    for (name, other) in [("b", b), ("c", c)] {
        assert!(!overlap(huge, other), "huge ran {huge:?} beside {name} {other:?}");
    }
}

#[test]
fn a_corrupted_object_is_found_refused_and_rebuilt() {
    let repo = repo();
    repro_ok(&repo, &[]);
    let hash = blake3::hash(b"rows\ndepth=3\n").to_hex().to_string();
    let object = repo.path().join(".cache/objects").join(&hash[..2]).join(&hash[2..]);
    let mut permissions = fs_err::metadata(&object).unwrap().permissions();
    #[expect(
        clippy::permissions_set_readonly_false,
        reason = "the test corrupts the object on purpose"
    )]
    permissions.set_readonly(false);
    fs_err::set_permissions(&object, permissions).unwrap();
    fs_err::write(&object, "corrupted").unwrap();
    let verify = repo.pipit(["cache", "verify"]);
    assert_eq!(verify.code, 1, "{verify}");
    assert!(verify.stdout.contains(&format!("corrupted: object {hash}")), "{verify}");
    fs_err::remove_file(repo.path().join("model.txt")).unwrap();
    let checkout = repo.pipit(["checkout"]);
    assert_eq!(checkout.code, 1, "{checkout}");
    assert!(checkout.stderr.contains("corrupted"), "{checkout}");
    assert!(!repo.path().join("model.txt").exists());
    repro_ok(&repo, &[]);
    assert_eq!(counts(&repo)[1], 2, "the stage must run again instead of restoring");
    assert_eq!(read(&repo, "model.txt"), "rows\ndepth=3\n");
}

#[test]
fn checkout_restores_outs_but_not_over_user_edits() {
    let repo = repo();
    repro_ok(&repo, &[]);
    fs_err::remove_file(repo.path().join("report.txt")).unwrap();
    repo.write("side.txt", "edited by hand\n");
    let run = repo.pipit(["checkout"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stderr.contains("not overwriting `side.txt`"), "{run}");
    assert_eq!(read(&repo, "report.txt"), "report\nrows\ndepth=3\n");
    let forced = repo.pipit(["checkout", "--force", "side"]);
    assert_eq!(forced.code, 0, "{forced}");
    assert_eq!(read(&repo, "side.txt"), "other\n");
    assert_eq!(counts(&repo), [1, 1, 1, 1]);
}

#[test]
fn checkout_restores_folder_outs_nested_empty_and_executable() {
    let repo = Repo::new();
    repo.write(
        "pipeline.yaml",
        "stages:\n  make:\n    cmd: mkdir -p empty tree/x/y && echo top > tree/top && \
         echo deep > tree/x/y/deep && chmod +x tree/top\n    outs: [empty, tree]\n",
    );
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 0, "{run}");
    fs_err::remove_dir_all(repo.path().join("empty")).unwrap();
    fs_err::remove_dir_all(repo.path().join("tree")).unwrap();
    let checkout = repo.pipit(["checkout"]);
    assert_eq!(checkout.code, 0, "{checkout}");
    assert!(repo.path().join("empty").is_dir());
    assert_eq!(fs_err::read_dir(repo.path().join("empty")).unwrap().count(), 0);
    assert_eq!(read(&repo, "tree/top"), "top\n");
    assert_eq!(read(&repo, "tree/x/y/deep"), "deep\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: &str| fs_err::metadata(repo.path().join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("tree/top"), 0o755);
        assert_eq!(mode("tree/x/y/deep"), 0o644);
    }
    let status = repo.pipit(["status"]);
    assert_eq!(status.code, 0, "{status}");
}

#[test]
fn gc_keeps_what_the_lock_needs() {
    let repo = repo();
    repro_ok(&repo, &[]);
    repo.write("params.yaml", "model:\n  depth: 5\n");
    repro_ok(&repo, &[]);
    let dry = repo.pipit(["gc", "--dry-run", "--keep-runs", "1"]);
    assert!(dry.stdout.contains("would remove 2 objects"), "{dry}");
    let run = repo.pipit(["gc", "--keep-runs", "1"]);
    assert!(run.stdout.contains("removed 2 objects"), "{run}");
    let verify = repo.pipit(["cache", "verify"]);
    assert_eq!(verify.code, 0, "{verify}");
    fs_err::remove_file(repo.path().join("model.txt")).unwrap();
    let checkout = repo.pipit(["checkout"]);
    assert_eq!(checkout.code, 0, "{checkout}");
    assert_eq!(read(&repo, "model.txt"), "rows\ndepth=5\n");
}

#[test]
fn two_concurrent_runs_leave_a_correct_state() {
    let repo = repo();
    let spawn = || {
        Command::new(assert_cmd::cargo::cargo_bin!("pipit"))
            .arg("repro")
            .current_dir(repo.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (first, second) = (spawn(), spawn());
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert_eq!(counts(&repo), [1, 1, 1, 1]);
    assert_eq!(repo.pipit(["status"]).code, 0);
}

#[test]
fn a_second_run_with_no_wait_fails_at_once() {
    let repo = Repo::with_pipeline(
        "stages:\n  slow:\n    cmd: sleep 2 && echo x > x\n    outs:\n      - x\n",
        "",
    );
    let mut first = spawn_quiet(&repo, &["repro"]);
    std::thread::sleep(Duration::from_millis(700));
    let second = repo.pipit(["repro", "--no-wait"]);
    assert_eq!(second.code, 1, "{second}");
    assert!(second.stderr.contains("another pipit (pid"), "{second}");
    assert!(first.wait().unwrap().success());
}

/// A small deterministic generator for kill delays (no `rand` needed).
fn delays(seed: u64, count: usize) -> Vec<u64> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % 250
        })
        .collect()
}

#[test]
fn kill_9_at_any_moment_converges() {
    let slow = PIPELINE
        .replace("echo run >> .counts/prepare &&", "sleep 0.05 && echo run >> .counts/prepare &&")
        .replace("echo run >> .counts/report &&", "sleep 0.05 && echo run >> .counts/report &&");
    let repo = Repo::with_pipeline(&slow, "model:\n  depth: 3\n");
    repo.write("other.txt", "other\n");
    repo.write(".counts/.keep", "");
    for (round, delay) in delays(7, 24).into_iter().enumerate() {
        repo.write("input.txt", &format!("round {round}\n"));
        let mut child = spawn_quiet(&repo, &["repro", "-j", "2"]);
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        let run = repo.pipit(["repro"]);
        assert_eq!(run.code, 0, "round {round} (killed after {delay} ms): {run}");
        assert_eq!(
            read(&repo, "report.txt"),
            format!("report\nround {round}\ndepth=3\n"),
            "round {round}"
        );
        let status = repo.pipit(["status"]);
        assert_eq!(status.code, 0, "round {round}: {status}");
        let verify = repo.pipit(["cache", "verify"]);
        assert_eq!(verify.code, 0, "round {round}: {verify}");
    }
}

#[test]
fn persist_outs_survive_and_frozen_and_always_changed_stages_behave() {
    let pipeline = "stages:
  grow:
    cmd: echo line >> log.txt
    outs:
      - log.txt:
          persist: true
    always_changed: true
  still:
    cmd: echo run >> .counts/still && echo x > still.txt
    outs:
      - still.txt
";
    let repo = Repo::with_pipeline(pipeline, "");
    repo.write(".counts/.keep", "");
    repro_ok(&repo, &[]);
    repro_ok(&repo, &[]);
    assert_eq!(
        read(&repo, "log.txt"),
        "line\nline\n",
        "a persist out is kept and the stage always runs"
    );
    let status = repo.pipit(["status"]);
    assert_eq!(status.code, 1, "{status}");
    assert_eq!(status.stdout, "grow:\n    always changed\n");
    repo.write(
        "pipeline.yaml",
        &pipeline.replace("echo x > still.txt", "echo y > still.txt\n    frozen: true"),
    );
    repro_ok(&repo, &[]);
    assert_eq!(read(&repo, "still.txt"), "x\n", "a frozen stage never runs");
    assert!(!repo.pipit(["status"]).stdout.contains("still"));
}

#[test]
fn force_and_single_item_select_what_runs() {
    let repo = repo();
    repro_ok(&repo, &[]);
    repro_ok(&repo, &["--force", "train"]);
    assert_eq!(counts(&repo), [2, 2, 1, 1], "--force runs the target and its upstream");
    repo.write("input.txt", "new\n");
    repro_ok(&repo, &["--single-item", "report"]);
    assert_eq!(counts(&repo), [2, 2, 1, 1], "report's own inputs did not change");
    repro_ok(&repo, &["--downstream", "train"]);
    assert_eq!(counts(&repo), [2, 2, 1, 1], "train is up to date: prepare upstream is never run");
    repro_ok(&repo, &["--downstream", "prepare"]);
    assert_eq!(counts(&repo), [3, 3, 2, 1]);
}

#[test]
fn hardlink_mode_links_read_only_outs_to_the_cache() {
    use std::os::unix::fs::MetadataExt;
    let repo = repo();
    repro_ok(&repo, &[]);
    fs_err::remove_file(repo.path().join("model.txt")).unwrap();
    let output = Command::new(assert_cmd::cargo::cargo_bin!("pipit"))
        .arg("checkout")
        .env("PIPIT_CACHE_LINK", "hardlink")
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let hash = blake3::hash(b"rows\ndepth=3\n").to_hex().to_string();
    let object = repo.path().join(".cache/objects").join(&hash[..2]).join(&hash[2..]);
    let placed = fs_err::metadata(repo.path().join("model.txt")).unwrap();
    assert_eq!(placed.ino(), fs_err::metadata(&object).unwrap().ino());
    assert!(placed.permissions().readonly(), "a hard-linked out must be read-only");
}

#[test]
fn a_stage_two_steps_below_a_failure_names_the_stage_that_failed() {
    let pipeline = "stages:
  a:
    cmd: exit 3
    outs: [a.txt]
  b:
    cmd: cp a.txt b.txt
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: cp b.txt c.txt
    deps: [b.txt]
    outs: [c.txt]
";
    let repo = Repo::with_pipeline(pipeline, "");
    let run = repo.pipit(["repro", "--keep-going"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("failed     a: `exit 3` exited with code 3"), "{run}");
    assert!(run.stdout.contains("skipped    b (`a` failed)"), "{run}");
    assert!(run.stdout.contains("skipped    c (`a` failed)"), "{run}");
}

/// After a failure without `--keep-going`, every stage is accounted for:
/// those that needed nothing are up to date, those after the failure are
/// skipped (however far down), and only those that would have run are
/// "not run".
#[test]
fn after_a_failure_every_stage_is_named_and_only_those_that_would_run_are_not_run() {
    let repo = Repo::with_pipeline(
        "stages:\n  a:\n    cmd: test -f go && cat a.in > a.txt\n    deps: [a.in]\n    outs: [a.txt]\n  b:\n    cmd: echo b > b.txt\n    outs: [b.txt]\n  c:\n    cmd: cat c.in > c.txt\n    deps: [c.in]\n    outs: [c.txt]\n  d:\n    cmd: cat a.txt > d.txt\n    deps: [a.txt]\n    outs: [d.txt]\n  e:\n    cmd: cat d.txt > e.txt\n    deps: [d.txt]\n    outs: [e.txt]\n",
        "",
    );
    repo.write("a.in", "1\n");
    repo.write("c.in", "1\n");
    repo.write("go", "");
    let first = repo.pipit(["repro"]);
    assert_eq!(first.code, 0, "{first}");
    fs_err::remove_file(repo.path().join("go")).unwrap();
    // `a` changed and fails; `b` needs nothing; `c` changed; `d` and `e`
    // come after `a`.
    repo.write("a.in", "2\n");
    repo.write("c.in", "2\n");
    let run = repo.pipit(["repro", "-j", "1"]);
    assert_eq!(run.code, 1, "{run}");
    for line in [
        "failed     a",
        "up to date b",
        "not run    c (stopped after a failure",
        "skipped    d (`a` failed)",
        "skipped    e (`a` failed)",
    ] {
        assert!(run.stdout.contains(line), "`{line}` in:\n{run}");
    }
    assert!(!run.stdout.contains("not run    b"), "{run}");
}

#[test]
fn a_plain_command_runs_without_a_shell_and_a_missing_program_fails_as_in_one() {
    let pipeline = "stages:
  pwd:
    cmd: env
    wdir: sub
  plain:
    cmd: cp data.txt copy.txt
    deps:
      - data.txt
    outs:
      - copy.txt
  missing:
    cmd: no-such-program-pipit copy.txt
    deps:
      - copy.txt
    outs:
      - never.txt
";
    let repo = Repo::with_pipeline(pipeline, "");
    repo.write("data.txt", "hello\n");
    repo.write("sub/keep", "");
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 1, "{run}");
    assert_eq!(repo.read("copy.txt"), "hello\n");
    // Started without a shell, as a shell would start it: PWD is its folder.
    let pwd = run.stdout.lines().find_map(|l| l.split_once("│ PWD=").map(|(_, p)| p.trim()));
    assert!(pwd.is_some_and(|p| p.ends_with("/sub")), "{run}");
    assert!(run.stdout.contains("no-such-program-pipit: not found"), "{run}");
    assert!(run.stdout.contains("exited with code 127"), "{run}");
}

/// The processes whose command line is exactly `words`.
#[cfg(target_os = "linux")]
fn processes_running(words: &[&str]) -> Vec<u32> {
    let wanted: Vec<u8> = words.iter().flat_map(|w| w.bytes().chain([0])).collect();
    fs_err::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let cmdline = fs_err::read(entry.path().join("cmdline")).ok()?;
            (cmdline == wanted).then_some(pid)
        })
        .collect()
}

#[cfg(target_os = "linux")]
#[test]
fn a_stage_does_not_outlive_pipit_killed_with_sigkill() {
    let repo = Repo::new();
    // A duration no other test uses: the process is found by its command line.
    repo.write("pipeline.yaml", "stages:\n  wait:\n    cmd: sleep 47.25\n    outs: [never]\n");
    let mut pipit = spawn_quiet(&repo, &["repro"]);
    let started = std::time::Instant::now();
    while processes_running(&["sleep", "47.25"]).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "the stage never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    pipit.kill().unwrap();
    pipit.wait().unwrap();
    let killed = std::time::Instant::now();
    while !processes_running(&["sleep", "47.25"]).is_empty() {
        assert!(killed.elapsed() < Duration::from_secs(10), "the stage outlived pipit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_stage_that_ignores_sigterm_does_not_outlive_pipit_terminated_with_its_group() {
    use std::os::unix::process::CommandExt;
    let repo = Repo::new();
    repo.write(
        "pipeline.yaml",
        "stages:\n  wait:\n    cmd: trap '' TERM; exec sleep 43.75\n    outs: [never]\n",
    );
    // As a terminal or a CI runner does: the signal goes to the whole group.
    let mut pipit = Command::new(assert_cmd::cargo::cargo_bin!("pipit"))
        .arg("repro")
        .current_dir(repo.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while processes_running(&["sleep", "43.75"]).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "the stage never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let group = i32::try_from(pipit.id()).unwrap();
    // SAFETY: sends a signal to the process group this test just made.
    assert_eq!(unsafe { libc::kill(-group, libc::SIGTERM) }, 0);
    pipit.wait().unwrap();
    let terminated = std::time::Instant::now();
    while !processes_running(&["sleep", "43.75"]).is_empty() {
        assert!(terminated.elapsed() < Duration::from_secs(10), "the stage outlived pipit");
        std::thread::sleep(Duration::from_millis(20));
    }
}
