//! The cache heals, nothing escapes the repository, the engine survives what an
//! attacker or a crash leaves behind (issue 11). Each test reproduces one case
//! as it was found and is named after what it guards.

use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::time::{Duration, SystemTime};

use crate::harness::{Repo, Run};

const PIPELINE: &str = "stages:
  train:
    cmd: echo run >> .counts/train && (cat input.txt; echo depth=${depth}) > model.txt
    deps:
      - input.txt
    params:
      - depth
    outs:
      - model.txt
  report:
    cmd: echo run >> .counts/report && mkdir -p report && cp model.txt report/a.txt && echo b > report/b.txt
    deps:
      - model.txt
    outs:
      - report
";

fn repo() -> Repo {
    let repo = Repo::with_pipeline(PIPELINE, "depth: 3\n");
    repo.write("input.txt", "rows\n");
    repo.write(".counts/.keep", "");
    repo
}

fn runs(repo: &Repo, stage: &str) -> usize {
    repo.read(&format!(".counts/{stage}")).lines().count()
}

/// Says why part of a test did not run.
#[expect(clippy::print_stderr, reason = "a skipped check must say so in the test output")]
fn skipped(why: &str) {
    eprintln!("skipped: {why}");
}

/// Joins the lines that miette wrapped, so that a message can be searched whole.
fn unwrapped(text: &str) -> String {
    text.replace("\n  │ ", " ")
}

fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{run}");
    run
}

fn model_hash() -> String {
    blake3::hash(b"rows\ndepth=3\n").to_hex().to_string()
}

/// Flips the object's first byte and puts its mtime back: size and mtime are
/// what a stat cache compares, and both are unchanged.
fn rot_keeping_size_and_mtime(path: &std::path::Path) {
    let meta = fs_err::metadata(path).unwrap();
    let mtime = meta.modified().unwrap();
    let mut bytes = fs_err::read(path).unwrap();
    bytes[0] ^= 0x20;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    fs_err::write(path, &bytes).unwrap();
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
    fs_err::File::options().write(true).open(path).unwrap().set_modified(mtime).unwrap();
    let after = fs_err::metadata(path).unwrap();
    assert_eq!((after.len(), after.modified().unwrap()), (meta.len(), mtime));
}

/// Makes every file old enough for the stat cache to remember it.
fn age(repo: &Repo, relative: &str) {
    let old = SystemTime::now() - Duration::from_secs(60);
    let path = repo.path().join(relative);
    let mode = fs_err::metadata(&path).unwrap().permissions().mode();
    fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    fs_err::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
    fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn bit_rot_that_keeps_size_and_mtime_is_never_placed_and_the_cache_heals() {
    let repo = repo();
    ok(repo.pipit(["repro"]));
    let object = repo.object(&model_hash());
    age(&repo, &format!(".cache/objects/{}/{}", &model_hash()[..2], &model_hash()[2..]));
    // Let pipit see the object once, as a stat cache would remember it.
    fs_err::remove_file(repo.path().join("model.txt")).unwrap();
    ok(repo.pipit(["checkout"]));
    rot_keeping_size_and_mtime(&object);
    fs_err::remove_file(repo.path().join("model.txt")).unwrap();
    let checkout = repo.pipit(["checkout"]);
    assert_eq!(checkout.code, 1, "{checkout}");
    assert!(checkout.stderr.contains("is corrupted"), "{checkout}");
    assert!(!repo.path().join("model.txt").exists(), "a corrupted object was placed");
    ok(repo.pipit(["repro"]));
    assert_eq!(runs(&repo, "train"), 2, "the stage runs again instead of restoring rot");
    assert_eq!(repo.read("model.txt"), "rows\ndepth=3\n");
    let verify = ok(repo.pipit(["cache", "verify"]));
    assert!(verify.stdout.contains("0 bad, 0 missing"), "the cache healed: {verify}");
    fs_err::remove_file(repo.path().join("model.txt")).unwrap();
    ok(repo.pipit(["checkout"]));
    assert_eq!(repo.read("model.txt"), "rows\ndepth=3\n");
}

#[test]
fn a_run_cache_restore_never_places_a_rotten_object() {
    let repo = repo();
    ok(repo.pipit(["repro"]));
    repo.write("params.yaml", "depth: 4\n");
    ok(repo.pipit(["repro"]));
    rot_keeping_size_and_mtime(&repo.object(&model_hash()));
    repo.write("params.yaml", "depth: 3\n");
    let run = ok(repo.pipit(["repro"]));
    assert_eq!(runs(&repo, "train"), 3, "ran instead of restoring: {run}");
    assert!(run.stderr.contains("not restored from the run cache"), "{run}");
    assert_eq!(repo.read("model.txt"), "rows\ndepth=3\n");
    assert!(run.stderr.contains("was corrupted; replaced it"), "{run}");
    ok(repo.pipit(["cache", "verify"]));
}

#[test]
fn cache_verify_names_missing_and_non_file_objects_and_repair_fixes_them() {
    let repo = repo();
    ok(repo.pipit(["repro"]));
    let model = model_hash();
    fs_err::remove_file(repo.object(&model)).unwrap();
    let b_hash = blake3::hash(b"b\n").to_hex().to_string();
    fs_err::remove_file(repo.object(&b_hash)).unwrap();
    fs_err::create_dir_all(repo.object(&b_hash)).unwrap();
    let verify = repo.pipit(["cache", "verify"]);
    assert_eq!(verify.code, 1, "{verify}");
    let missing = verify.stdout.lines().find(|l| l.starts_with("missing:")).unwrap_or_default();
    assert!(missing.starts_with(&format!("missing: object {model}, needed by")), "{verify}");
    assert!(missing.contains("`model.txt` of stage `train`"), "{verify}");
    assert!(verify.stdout.contains(&format!("not a file: object {b_hash}")), "{verify}");
    assert!(verify.stdout.contains("1 bad, 1 missing"), "{verify}");
    let repair = ok(repo.pipit(["cache", "verify", "--repair"]));
    assert!(repair.stdout.contains(&format!("stored object {model} again from `")), "{repair}");
    assert!(repair.stdout.contains(&format!("stored object {b_hash} again from `report/b.txt`")));
    ok(repo.pipit(["cache", "verify"]));
}

#[test]
fn repair_leaves_what_it_cannot_restore_to_the_next_repro() {
    let repo = repo();
    ok(repo.pipit(["repro"]));
    fs_err::remove_file(repo.object(blake3::hash(b"b\n").to_hex().as_ref())).unwrap();
    repo.write("report/b.txt", "edited\n");
    let repair = repo.pipit(["cache", "verify", "--repair"]);
    assert_eq!(repair.code, 1, "{repair}");
    assert!(repair.stdout.contains("still missing 1 objects"), "{repair}");
    ok(repo.pipit(["repro"]));
    assert_eq!(runs(&repo, "report"), 2, "the stage ran again and stored its out");
    ok(repo.pipit(["cache", "verify"]));
}

#[test]
fn a_persist_out_is_never_hard_linked_and_a_write_through_is_detected() {
    let hardlink = [("PIPIT_CACHE_LINK", "hardlink")];
    let pipeline = PIPELINE.replace(
        "    outs:\n      - model.txt",
        "    outs:\n      - model.txt\n      - log.txt:\n          persist: true",
    );
    let pipeline = pipeline.replace(") > model.txt", ") > model.txt && echo line >> log.txt");
    let repo = Repo::with_pipeline(&pipeline, "depth: 3\n");
    repo.write("input.txt", "rows\n");
    repo.write(".counts/.keep", "");
    ok(repo.pipit_env(&hardlink, ["repro"]));
    // Placed from the cache, the out is a link and the persist out a copy.
    fs_err::remove_file(repo.path().join("model.txt")).unwrap();
    fs_err::remove_file(repo.path().join("log.txt")).unwrap();
    ok(repo.pipit_env(&hardlink, ["checkout"]));
    let log = fs_err::metadata(repo.path().join("log.txt")).unwrap();
    assert_eq!(log.nlink(), 1, "a persist out is never linked to the cache");
    let model = fs_err::metadata(repo.path().join("model.txt")).unwrap();
    assert_eq!(model.ino(), fs_err::metadata(repo.object(&model_hash())).unwrap().ino());
    // As root, 0444 does not stop an append: the object changes with the out.
    let mut file = fs_err::File::options().append(true).open(repo.path().join("model.txt"));
    if let Ok(file) = file.as_mut() {
        std::io::Write::write_all(file, b"x\n").unwrap();
    } else {
        skipped("the write-through half: not root, the read-only out refused the write");
        return;
    }
    let run = ok(repo.pipit_env(&hardlink, ["repro"]));
    assert!(run.stderr.contains("was edited through its hard link"), "{run}");
    assert_eq!(repo.read("model.txt"), "rows\ndepth=3\n");
    ok(repo.pipit(["cache", "verify"]));
}

#[test]
fn temporary_files_of_dead_processes_are_cleaned_by_repro_and_gc() {
    let repo = repo();
    ok(repo.pipit(["repro"]));
    let dead = 2_147_483_646u32;
    let alive = std::process::id();
    let object = repo.write(&format!(".cache/objects/ab/.abcdef.{dead}.tmp"), "partial");
    let temp = repo.write(&format!(".cache/objects/.tmp/.abcdef.{dead}-0.tmp"), "partial");
    let state = repo.write(&format!(".cache/.state.{dead}-1.tmp"), "partial");
    let lock = repo.write(&format!(".pipeline.lock.{dead}.tmp"), "partial");
    let beside = repo.write(&format!(".report.{dead}-3.tmp/a.txt"), "partial");
    let beside = beside.parent().unwrap().to_path_buf();
    let kept = repo.write(&format!(".cache/objects/.tmp/.abcdef.{alive}-0.tmp"), "being written");
    let verify = repo.pipit(["cache", "verify"]);
    assert!(verify.stdout.contains(&format!("of pid {dead}, which no longer runs")), "{verify}");
    assert!(verify.stdout.contains("5 leftover temporary files"), "{verify}");
    // Any repro sweeps `.cache`; the root, the outs' folders and the object
    // folders are swept when the repository lock was left by a process that
    // died (kill -9).
    let run = ok(repo.pipit(["repro"]));
    assert!(run.stderr.contains("removed 2 temporary files"), "{run}");
    assert!(!temp.exists() && !state.exists() && lock.exists());
    repo.write(".cache/lock", &dead.to_string());
    let run = ok(repo.pipit(["repro"]));
    assert!(run.stderr.contains("took over the repository lock left by pid"), "{run}");
    assert!(run.stderr.contains("removed 3 temporary files"), "{run}");
    assert!(!lock.exists() && !beside.exists() && !object.exists());
    assert!(kept.exists(), "a live process's temporary file is kept");
    // Without a take-over, the object folders are left for `gc`.
    let object = repo.write(&format!(".cache/objects/cd/.cdef01.{dead}.tmp"), "partial");
    let run = ok(repo.pipit(["repro"]));
    assert!(!run.stderr.contains("temporary files"), "{run}");
    let dry = ok(repo.pipit(["gc", "--dry-run"]));
    assert!(dry.stdout.contains("1 temporary files left by interrupted runs"), "{dry}");
    let gc = ok(repo.pipit(["gc"]));
    assert!(gc.stdout.contains("1 temporary files left by interrupted runs"), "{gc}");
    assert!(!object.exists() && kept.exists());
}

#[test]
fn gc_never_guesses_what_a_damaged_manifest_needs() {
    let repo = repo();
    ok(repo.pipit(["repro"]));
    let lock = repo.read("pipeline.lock");
    let after = lock.split("path: report").nth(1).unwrap();
    let manifest = after.split("hash: ").nth(1).unwrap().split_whitespace().next().unwrap();
    let path = repo.object(manifest);
    fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    fs_err::write(&path, "{\"files\": [tor").unwrap();
    let gc = repo.pipit(["gc"]);
    assert_eq!(gc.code, 2, "{gc}");
    assert!(gc.stderr.contains("the manifest of `report` is corrupted"), "{gc}");
    ok(repo.pipit(["cache", "verify", "--repair"]));
    ok(repo.pipit(["cache", "verify"]));
}

#[test]
fn a_torn_journal_record_is_ignored_and_status_is_clean_after_the_next_repro() {
    let repo = repo();
    ok(repo.pipit(["repro"]));
    repo.write(".cache/journal", "{\"stage\": \"train\", \"entry\": {\"cmd\": \"ec");
    assert_eq!(repo.pipit(["status"]).code, 0, "a torn record changes nothing");
    repo.write("params.yaml", "depth: 5\n");
    ok(repo.pipit(["repro"]));
    let status = repo.pipit(["status"]);
    assert_eq!(status.code, 0, "{status}");
    assert!(repo.read("pipeline.lock").contains("depth: 5"));
}

/// A repository beside a folder outside it, which pipit must never touch.
fn repo_beside_outside(pipeline: &str) -> (Repo, tempfile::TempDir) {
    let outside = tempfile::tempdir().unwrap();
    fs_err::write(outside.path().join("x.txt"), "precious\n").unwrap();
    let repo = Repo::with_pipeline(pipeline, "");
    symlink(outside.path(), repo.path().join("link")).unwrap();
    (repo, outside)
}

#[test]
fn outs_wdirs_and_deps_through_a_symlink_to_outside_are_refused_before_anything_runs() {
    let cases = [
        ("outs:\n      - link/x.txt", "output `link/x.txt`"),
        ("wdir: link\n    outs:\n      - y.txt", "wdir `link`"),
        ("deps:\n      - link/x.txt\n    outs:\n      - y.txt", "dependency `link/x.txt`"),
    ];
    for (keys, what) in cases {
        let pipeline = format!("stages:\n  s:\n    cmd: touch ran; exit 1\n    {keys}\n");
        let (repo, outside) = repo_beside_outside(&pipeline);
        let run = repo.pipit(["repro"]);
        assert_eq!(run.code, 2, "{run}");
        let message = format!("{what} of stage `s` leads through the symbolic link `link`");
        assert!(unwrapped(&run.stderr).contains(&message), "{run}");
        assert!(run.stderr.contains("pipeline.yaml:"), "file:line:col: {run}");
        assert!(!repo.path().join("ran").exists(), "nothing may run");
        assert_eq!(fs_err::read_to_string(outside.path().join("x.txt")).unwrap(), "precious\n");
    }
}

#[test]
fn checkout_never_writes_through_a_retargeted_link() {
    let pipeline =
        "stages:\n  s:\n    cmd: mkdir -p d && echo new > d/x.txt\n    outs:\n      - d/x.txt\n";
    let (repo, outside) = repo_beside_outside(pipeline);
    ok(repo.pipit(["repro"]));
    fs_err::remove_dir_all(repo.path().join("d")).unwrap();
    symlink(outside.path(), repo.path().join("d")).unwrap();
    for command in [["checkout", "--force"], ["repro", "--force"]] {
        let run = repo.pipit(command);
        assert_eq!(run.code, 2, "{run}");
        assert_eq!(fs_err::read_to_string(outside.path().join("x.txt")).unwrap(), "precious\n");
    }
}

/// Stores a manifest in the cache whose one entry is `entry`; returns its hash.
fn crafted_manifest(repo: &Repo, entry: &str) -> String {
    let hash = blake3::hash(b"pwned\n").to_hex().to_string();
    let object = repo.object(&hash);
    fs_err::create_dir_all(object.parent().unwrap()).unwrap();
    fs_err::write(&object, "pwned\n").unwrap();
    let manifest =
        format!(r#"{{"files":[{{"path":"{entry}","hash":"{hash}","size":6,"exec":false}}]}}"#);
    let manifest_hash = blake3::hash(manifest.as_bytes()).to_hex().to_string();
    let object = repo.object(&manifest_hash);
    fs_err::create_dir_all(object.parent().unwrap()).unwrap();
    fs_err::write(object, manifest).unwrap();
    manifest_hash
}

#[test]
fn a_crafted_manifest_entry_is_refused_by_checkout_and_by_a_restore() {
    let pipeline = "stages:\n  s:\n    cmd: echo run >> count && mkdir -p out && echo ok > out/a.txt\n    outs:\n      - out\n";
    let repo = Repo::with_pipeline(pipeline, "");
    ok(repo.pipit(["repro"]));
    let escape = repo.path().parent().unwrap().join("pwned.txt");
    for entry in ["../../pwned.txt", "/tmp/pwned.txt"] {
        let crafted = crafted_manifest(&repo, entry);
        let lock = repo.read("pipeline.lock");
        let old = lock.split("hash: ").nth(1).unwrap().split_whitespace().next().unwrap();
        repo.write("pipeline.lock", &lock.replace(old, &crafted));
        fs_err::remove_dir_all(repo.path().join("out")).unwrap();
        let checkout = repo.pipit(["checkout"]);
        assert_eq!(checkout.code, 1, "{checkout}");
        assert!(checkout.stderr.contains("is not a plain relative path"), "{checkout}");
        assert!(!escape.exists() && !std::path::Path::new("/tmp/pwned.txt").exists());
        // The run cache holds the same entry: a restore must refuse it too.
        let runs = repo.path().join(".cache/runs");
        for run in fs_err::read_dir(&runs).unwrap() {
            let path = run.unwrap().path();
            let text = fs_err::read_to_string(&path).unwrap();
            fs_err::write(&path, text.replace(old, &crafted)).unwrap();
        }
        fs_err::remove_file(repo.path().join("pipeline.lock")).unwrap();
        ok(repo.pipit(["repro"]));
        assert!(!escape.exists() && !std::path::Path::new("/tmp/pwned.txt").exists());
        assert_eq!(repo.read("out/a.txt"), "ok\n");
    }
    assert_eq!(repo.read("count").lines().count(), 3, "each refused restore ran the stage");
}

#[test]
fn outs_may_not_name_pipits_or_gits_own_files() {
    let cases = [
        (".cache/objects", "inside pipit's cache"),
        (".cache", "pipit's cache"),
        (".git", "git's repository data"),
        ("pipeline.yaml", "the pipeline file"),
        ("pipeline.lock", "pipit's lock file"),
        ("params.yaml", "a params file"),
        ("conf", "a folder that holds the params file"),
        ("vars.yaml", "a params file"),
        (".GIT/hooks", "inside git's repository data"),
        ("Params.yaml", "a params file"),
    ];
    for (out, reason) in cases {
        let pipeline = format!(
            "vars:\n  - vars.yaml\nstages:\n  s:\n    cmd: touch ran\n    params:\n      - conf/train.yaml:\n          - lr\n    outs:\n      - {out}\n"
        );
        let repo = Repo::with_pipeline(&pipeline, "seed: 1\n");
        repo.write("conf/train.yaml", "lr: 0.1\n");
        repo.write("vars.yaml", "x: 1\n");
        let run = repo.pipit(["repro"]);
        assert_eq!(run.code, 2, "{out}: {run}");
        assert!(run.stderr.contains(&format!("output `{out}` of stage `s` is {reason}")), "{run}");
        assert!(!repo.path().join("ran").exists());
        assert!(repo.path().join(".git/HEAD").exists(), "git's history is intact");
    }
}

#[test]
fn an_out_through_a_link_into_git_is_refused() {
    let pipeline = "stages:\n  s:\n    cmd: touch ran\n    outs:\n      - gitdir/hooks\n";
    let repo = Repo::with_pipeline(pipeline, "");
    symlink(".git", repo.path().join("gitdir")).unwrap();
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(unwrapped(&run.stderr).contains("leads through the symbolic link `gitdir`"), "{run}");
    assert!(repo.path().join(".git/hooks").exists() && !repo.path().join("ran").exists());
}

#[test]
fn a_symlink_in_a_directory_dep_is_hashed_by_its_target() {
    let pipeline = "stages:\n  s:\n    cmd: cat data/* > all.txt\n    deps:\n      - data\n    outs:\n      - all.txt\n";
    let repo = Repo::with_pipeline(pipeline, "");
    repo.write("data/a.txt", "a\n");
    repo.write("target.txt", "one\n");
    symlink("../target.txt", repo.path().join("data/link.txt")).unwrap();
    ok(repo.pipit(["repro"]));
    assert_eq!(repo.pipit(["status"]).code, 0);
    repo.write("target.txt", "two\n");
    let status = repo.pipit(["status"]);
    assert_eq!(status.code, 1, "{status}");
    assert!(status.stdout.contains("dep changed: data"), "{status}");
    ok(repo.pipit(["repro"]));
    assert_eq!(repo.read("all.txt"), "a\ntwo\n");
}

#[test]
fn a_panicking_worker_fails_its_stage_and_repro_exits_1() {
    let repo = repo();
    let run = repo.pipit_env(&[("PIPIT_TEST_PANIC_IN", "train")], ["repro"]);
    assert_eq!(run.code, 1, "{run}");
    assert!(run.stdout.contains("failed     train: pipit failed internally"), "{run}");
    assert!(run.stdout.contains("failed 1"), "{run}");
    assert_eq!(runs(&repo, "report"), 0);
}

#[test]
fn logs_of_stages_whose_names_differ_after_a_dot_do_not_collide() {
    let pipeline = "stages:\n  s:\n    foreach:\n      - v1.0\n      - v1.1\n    do:\n      cmd: echo ${item} >&2 && echo ${item} > ${item}.txt\n      outs:\n        - ${item}.txt\n";
    let repo = Repo::with_pipeline(pipeline, "");
    ok(repo.pipit(["repro"]));
    assert_eq!(repo.read(".cache/logs/s@v1.0.err"), "v1.0\n");
    assert_eq!(repo.read(".cache/logs/s@v1.1.err"), "v1.1\n");
}

#[test]
fn hostile_sizes_fail_fast_with_one_diagnostic() {
    let axis = (0..1000).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let matrix = format!(
        "stages:\n  s:\n    matrix:\n      a: [{axis}]\n      b: [{axis}]\n    cmd: echo\n"
    );
    let repo = Repo::with_pipeline(&matrix, "");
    let run = repo.pipit(["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("`s` expands to 1000000 stages, more than the limit of 100000"));
    let raised = repo.pipit_env(&[("PIPIT_MAX_STAGES", "10")], ["status"]);
    assert!(raised.stderr.contains("more than the limit of 10"), "{raised}");

    let deep = vec!["a"; 5000].join("/");
    let repo = Repo::with_pipeline(
        &format!("stages:\n  s:\n    cmd: echo\n    outs:\n      - {deep}\n"),
        "",
    );
    let run = repo.pipit(["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("an output of stage `s` is too long"), "{run}");

    let mut bomb = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let refs = vec![format!("*a{}", level - 1); 9].join(", ");
        bomb.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    bomb.push_str("seed: 1\n");
    let pipeline = "stages:\n  s:\n    foreach: [1, 2, 3]\n    do:\n      cmd: echo ${seed}\n      params:\n        - seed\n        - a1\n";
    let repo = Repo::with_pipeline(pipeline, &bomb);
    let run = repo.pipit(["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert_eq!(run.stderr.matches('×').count(), 1, "one error, not one per reference: {run}");
    assert!(run.stderr.contains("alias bomb"), "{run}");
}

#[test]
fn a_pipeline_that_is_not_utf8_or_is_a_folder_says_so() {
    let repo = Repo::new();
    fs_err::write(repo.path().join("pipeline.yaml"), b"stages:\n  s:\n    cmd: caf\xe9\n").unwrap();
    let run = repo.pipit(["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("`pipeline.yaml` is not UTF-8 (line 3, column 13)"), "{run}");

    let repo = Repo::new();
    fs_err::create_dir_all(repo.path().join("pipeline.yaml")).unwrap();
    let run = repo.pipit(["status"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("cannot read `pipeline.yaml`: is a directory"), "{run}");
}

/// A small tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`3m`); `None` when this process may not.
    fn mount(size: &str) -> Option<Self> {
        // SAFETY: geteuid only reads the process's user id.
        if unsafe { libc::geteuid() } != 0 {
            return None;
        }
        let dir = tempfile::tempdir().ok()?;
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .ok()?;
        status.success().then_some(Self { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_fails_the_stage_with_exit_1_and_the_next_repro_succeeds() {
    let Some(disk) = SmallDisk::mount("3m") else {
        skipped("mounting a small tmpfs needs root");
        return;
    };
    let repo = Repo::new_in(disk.dir.path());
    repo.write("pipeline.yaml", "stages:\n  big:\n    cmd: head -c 1200000 /dev/zero | tr '\\0' x > big.bin\n    outs:\n      - big.bin\n");
    let filler = repo.path().join("filler");
    fs_err::write(&filler, vec![0u8; 1_100_000]).unwrap();
    let run = repo.pipit(["repro"]);
    assert_eq!(run.code, 1, "a stage that could not complete: {run}");
    assert!(run.stdout.contains("No space left on device"), "{run}");
    let leftovers: Vec<_> = fs_err::read_dir(repo.path().join(".cache/tmp"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "temporary files leaked: {leftovers:?}");
    fs_err::remove_file(&filler).unwrap();
    ok(repo.pipit(["repro"]));
    assert_eq!(repo.pipit(["status"]).code, 0);
    ok(repo.pipit(["cache", "verify"]));
}

#[test]
fn a_lock_hash_that_is_not_a_hash_never_names_a_file() {
    let repo = repo();
    ok(repo.pipit(["repro"]));
    let lock = repo.read("pipeline.lock");
    repo.write("pipeline.lock", &lock.replace(&model_hash(), "../../../../../etc/hostname"));
    for command in [vec!["checkout", "--force"], vec!["repro"], vec!["cache", "verify"]] {
        let run = repo.pipit(&command);
        assert_eq!(run.code, 2, "{command:?}: {run}");
        assert!(run.stderr.contains("is not a BLAKE3 hash"), "{run}");
    }
}
