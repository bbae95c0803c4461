//! Remotes: `pipit remote`, `push`, `pull` and `fetch` against a folder and
//! against real servers that `.ci/test` starts on 127.0.0.1: an S3 API
//! (moto's server, `PIPIT_TEST_S3_ENDPOINT`), a plain HTTP cache (nginx
//! taking PUT, `PIPIT_TEST_HTTP_URL`, its files in `PIPIT_TEST_HTTP_ROOT`)
//! and Azure Blob Storage (Azurite, `PIPIT_TEST_AZURE_ENDPOINT`).

use std::path::Path;

use crate::harness::{Repo, Run};

const PIPELINE: &str = "stages:
  prepare:
    cmd: echo run >> .counts/prepare && mkdir -p data && cp input.txt data/a.txt && echo b > data/b.txt
    deps:
      - input.txt
    outs:
      - data
  train:
    cmd: echo run >> .counts/train && (cat data/a.txt; echo depth=${depth}) > model.txt && echo score=1 > score.json
    deps:
      - data
    params:
      - depth
    outs:
      - model.txt
    metrics:
      - score.json:
          cache: false
";

const S3_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", "us-east-1"),
];

/// Azurite's well-known development account.
const AZURE_ENV: &[(&str, &str)] = &[
    ("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1"),
    (
        "AZURE_STORAGE_ACCOUNT_KEY",
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
    ),
];

fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{run}");
    run
}

fn runs(repo: &Repo, stage: &str) -> usize {
    repo.read(&format!(".counts/{stage}")).lines().count()
}

/// A project as a teammate's fresh clone would have it: the committed files
/// of `from` and nothing else.
fn clone_of(from: &Repo) -> Repo {
    let clone = Repo::new();
    let committed = [
        "pipeline.yaml",
        "params.yaml",
        "pipeline.lock",
        "input.txt",
        "score.json",
        ".pipit/config.toml",
    ];
    for file in committed {
        clone.write(file, &from.read(file));
    }
    clone.write(".counts/.keep", "");
    clone
}

fn project() -> Repo {
    let repo = Repo::with_pipeline(PIPELINE, "depth: 3\n");
    repo.write("input.txt", "rows\n");
    repo.write(".counts/.keep", "");
    repo
}

/// Configures the remote `shared` (the default) as a folder.
fn folder_remote(repo: &Repo, folder: &Path) {
    ok(repo.pipit(["remote", "add", "shared", &folder.to_string_lossy(), "--default"]));
}

/// A test server a remote can live on.
#[derive(Clone, Copy)]
enum Server {
    S3,
    Http,
    Azure,
}

impl Server {
    /// The variable `.ci/test` names the server's address in.
    fn variable(self) -> &'static str {
        match self {
            Self::S3 => "PIPIT_TEST_S3_ENDPOINT",
            Self::Http => "PIPIT_TEST_HTTP_URL",
            Self::Azure => "PIPIT_TEST_AZURE_ENDPOINT",
        }
    }

    /// The environment pipit needs to reach the server.
    fn env(self) -> Env<'static> {
        match self {
            Self::S3 => S3_ENV,
            Self::Http => &[],
            Self::Azure => AZURE_ENV,
        }
    }

    /// Configures the remote `shared` (the default) on the server under a
    /// prefix of its own; `None` (the test is skipped) without a server,
    /// unless `PIPIT_TEST_SERVERS_REQUIRED` says there must be one.
    fn remote(self, repo: &Repo, prefix: &str) -> Option<()> {
        let Ok(address) = std::env::var(self.variable()) else {
            assert!(
                std::env::var_os("PIPIT_TEST_SERVERS_REQUIRED").is_none(),
                "{} is not set: run the tests with `.ci/test`",
                self.variable()
            );
            skipped(&format!("no {} server: run the tests with `.ci/test`", self.variable()));
            return None;
        };
        let (url, options): (String, &[(&str, &str)]) = match self {
            Self::S3 => (
                format!("s3://pipit-tests/{prefix}"),
                &[("endpoint", &address), ("allow_http", "true"), ("path_style", "true")],
            ),
            Self::Http => (format!("{address}/{prefix}"), &[("allow_http", "true")]),
            Self::Azure => (
                format!("az://pipit-tests/{prefix}"),
                &[("endpoint", &address), ("allow_http", "true")],
            ),
        };
        ok(repo.pipit(["remote", "add", "shared", &url, "--default"]));
        for (key, value) in options {
            ok(repo.pipit(["remote", "modify", "shared", key, value]));
        }
        Some(())
    }
}

/// The environment a scenario runs pipit with.
type Env<'a> = &'a [(&'a str, &'a str)];

/// Runs `scenario` on a repository that `make` returns, sharing a folder.
fn on_folder(make: fn() -> Repo, scenario: fn(&Repo, Env)) {
    let shared = tempfile::tempdir().unwrap();
    let repo = make();
    folder_remote(&repo, shared.path());
    scenario(&repo, &[]);
}

/// Runs `scenario` on a repository that `make` returns, sharing a fresh
/// prefix of the test server `server` (skipped without one).
fn on(server: Server, name: &str, make: fn() -> Repo, scenario: fn(&Repo, Env)) {
    let repo = make();
    if server.remote(&repo, &unique(name)).is_some() {
        scenario(&repo, server.env());
    }
}

#[expect(clippy::print_stderr, reason = "a skipped test must say so in the test output")]
fn skipped(why: &str) {
    eprintln!("skipped: {why}");
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{name}-{}-{nanos}", std::process::id())
}

/// Clone A runs and pushes; a fresh clone B pulls, runs nothing and is up to
/// date; B changes a param and runs only what depends on it, and pushes; A
/// takes B's committed files, pulls, and is up to date.
fn two_clones_share_the_remote(a: &Repo, env: &[(&str, &str)]) {
    ok(a.pipit_env(env, ["repro"]));
    let push = ok(a.pipit_env(env, ["push"]));
    assert!(push.stdout.contains("pushed 5 objects"), "{push}");
    assert!(push.stdout.contains("2 run-cache entries"), "{push}");
    let again = ok(a.pipit_env(env, ["push"]));
    assert!(again.stdout.contains("pushed 0 objects, 0 B"), "{again}");
    assert!(again.stdout.contains("5 already there"), "{again}");

    let b = clone_of(a);
    let pull = ok(b.pipit_env(env, ["pull"]));
    assert!(pull.stdout.contains("fetched 5 objects"), "{pull}");
    assert!(pull.stdout.contains("checked out 2 outputs"), "{pull}");
    assert_eq!(b.read("model.txt"), "rows\ndepth=3\n");
    assert_eq!(b.pipit(["status"]).code, 0, "B is up to date after a pull");
    b.write("params.yaml", "depth: 4\n");
    ok(b.pipit_env(env, ["repro"]));
    assert_eq!((runs(&b, "prepare"), runs(&b, "train")), (0, 1), "only train runs in B");
    ok(b.pipit_env(env, ["push"]));

    a.write("params.yaml", &b.read("params.yaml"));
    a.write("pipeline.lock", &b.read("pipeline.lock"));
    a.write("score.json", &b.read("score.json"));
    ok(a.pipit_env(env, ["pull"]));
    assert_eq!(a.read("model.txt"), "rows\ndepth=4\n");
    let status = a.pipit(["status"]);
    assert_eq!(status.code, 0, "A is up to date: {status}");
}

#[test]
fn two_clones_share_a_folder_remote() {
    on_folder(project, two_clones_share_the_remote);
}

#[test]
fn two_clones_share_an_s3_remote() {
    on(Server::S3, "share", project, two_clones_share_the_remote);
}

#[test]
fn two_clones_share_a_plain_http_remote() {
    on(Server::Http, "share", project, two_clones_share_the_remote);
}

#[test]
fn two_clones_share_an_azure_remote() {
    on(Server::Azure, "share", project, two_clones_share_the_remote);
}

/// The runs history goes with push and pull: A's run reaches B, B's run
/// reaches A, and nothing is sent twice.
fn the_runs_history_travels(a: &Repo, env: Env) {
    let history = |repo: &Repo| -> Vec<String> {
        let show = ok(repo.pipit(["exp", "show", "--json"]));
        let records: Vec<serde_json::Value> =
            serde_json::from_str(&show.stdout).unwrap_or_default();
        records.iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
    };
    ok(a.pipit_env(env, ["repro"]));
    let push = ok(a.pipit_env(env, ["push"]));
    assert!(push.stdout.ends_with("; 1 run records\n"), "{push}");
    let again = ok(a.pipit_env(env, ["push"]));
    assert!(again.stdout.ends_with("; 0 run records\n"), "{again}");
    let b = clone_of(a);
    let pull = ok(b.pipit_env(env, ["pull"]));
    assert!(pull.stdout.contains("; 1 run records"), "{pull}");
    assert_eq!(history(&b), history(a), "A's run is in B's history");
    b.write("params.yaml", "depth: 4\n");
    ok(b.pipit_env(env, ["repro"]));
    let push = ok(b.pipit_env(env, ["push"]));
    assert!(push.stdout.ends_with("; 1 run records\n"), "only B's own run is sent: {push}");
    let pull = ok(a.pipit_env(env, ["fetch"]));
    assert!(pull.stdout.contains("; 1 run records"), "{pull}");
    assert_eq!(history(a).len(), 2);
    let mut both = history(a);
    both.sort();
    let mut theirs = history(&b);
    theirs.sort();
    assert_eq!(both, theirs, "both clones have both runs");
}

#[test]
fn the_runs_history_travels_through_a_folder_remote() {
    on_folder(project, the_runs_history_travels);
}

#[test]
fn the_runs_history_travels_through_an_s3_remote() {
    on(Server::S3, "history", project, the_runs_history_travels);
}

#[test]
fn remotes_are_configured_in_a_committed_file_without_credentials() {
    let repo = project();
    ok(repo.pipit(["remote", "add", "store", "s3://bucket/cache", "--default"]));
    ok(repo.pipit(["remote", "modify", "store", "region", "eu-west-1"]));
    ok(repo.pipit(["remote", "modify", "store", "endpoint", "http://127.0.0.1:9000", "--local"]));
    ok(repo.pipit(["remote", "add", "backup", "../backup"]));
    let list = ok(repo.pipit(["remote", "list"]));
    assert!(list.stdout.contains("backup\t../backup"), "{list}");
    assert!(
        list.stdout.contains(
            "store (default)\ts3://bucket/cache\tendpoint=http://127.0.0.1:9000\tregion=eu-west-1"
        ),
        "{list}"
    );
    let committed = repo.read(".pipit/config.toml");
    assert!(committed.contains("region = \"eu-west-1\"") && !committed.contains("9000"));
    assert!(repo.read(".gitignore").contains("/.pipit/config.local.toml"));
    let secret = repo.pipit(["remote", "modify", "store", "secret_access_key", "hunter2"]);
    assert_eq!(secret.code, 2, "{secret}");
    assert!(secret.stderr.contains("would put a credential in a configuration file"), "{secret}");
    assert!(!repo.read(".pipit/config.toml").contains("hunter2"));
    let unknown = repo.pipit(["remote", "modify", "store", "regoin", "x"]);
    assert!(unknown.stderr.contains("unknown remote key `regoin`"), "{unknown}");
    ok(repo.pipit(["remote", "remove", "store"]));
    let push = repo.pipit(["push"]);
    assert_eq!(push.code, 2, "{push}");
    assert!(push.stderr.contains("no remote given and no default remote"), "{push}");
}

/// A pushes; the object of `model.txt` is corrupted on the remote, whose
/// files are in `folder`; a fresh clone's pull refuses it.
fn a_corrupted_object_is_refused(a: &Repo, env: Env, folder: &Path) {
    ok(a.pipit_env(env, ["repro"]));
    ok(a.pipit_env(env, ["push"]));
    let hash = blake3::hash(b"rows\ndepth=3\n").to_hex().to_string();
    let object = folder.join("objects").join(&hash[..2]).join(&hash[2..]);
    fs_err::write(&object, "rows\ndepth=9\n").unwrap();
    let b = clone_of(a);
    let pull = b.pipit_env(env, ["pull"]);
    assert_ne!(pull.code, 0, "{pull}");
    let short = &hash[..12];
    assert!(
        pull.stderr.contains(&format!("remote `shared` holds a corrupted object {short}")),
        "{pull}"
    );
    assert!(!b.object(&hash).exists(), "a corrupted download is never stored");
    assert!(!b.path().join("model.txt").exists());
    // The run-cache entry points at an object B cannot have: the stage runs.
    ok(b.pipit_env(env, ["repro"]));
    assert_eq!(b.read("model.txt"), "rows\ndepth=3\n");
}

#[test]
fn a_corrupted_object_on_a_folder_remote_is_refused_and_named() {
    let shared = tempfile::tempdir().unwrap();
    let a = project();
    folder_remote(&a, shared.path());
    a_corrupted_object_is_refused(&a, &[], shared.path());
}

#[test]
fn a_corrupted_object_on_a_plain_http_remote_is_refused_and_named() {
    let a = project();
    let prefix = unique("corrupt");
    if Server::Http.remote(&a, &prefix).is_none() {
        return;
    }
    let root = std::env::var("PIPIT_TEST_HTTP_ROOT").expect("`.ci/test` names nginx's folder");
    a_corrupted_object_is_refused(&a, &[], &Path::new(&root).join(prefix));
}

#[test]
fn a_read_only_remote_is_never_written() {
    let shared = tempfile::tempdir().unwrap();
    let repo = project();
    folder_remote(&repo, shared.path());
    ok(repo.pipit(["remote", "modify", "shared", "read_only", "true"]));
    ok(repo.pipit(["repro"]));
    let push = repo.pipit(["push"]);
    assert_eq!(push.code, 2, "{push}");
    assert!(push.stderr.contains("remote `shared` is read-only"), "{push}");
    assert_eq!(fs_err::read_dir(shared.path()).unwrap().count(), 0, "nothing was written");
}

#[test]
fn a_run_cache_entry_from_the_remote_that_names_a_path_outside_is_not_kept() {
    let shared = tempfile::tempdir().unwrap();
    let a = project();
    folder_remote(&a, shared.path());
    ok(a.pipit(["repro"]));
    ok(a.pipit(["push"]));
    let runs = shared.path().join("runs");
    let entry = fs_err::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
    let text = fs_err::read_to_string(&entry).unwrap();
    let crafted = text.replacen("\"path\": \"", "\"path\": \"../../", 1);
    fs_err::write(&entry, crafted).unwrap();
    let b = clone_of(&a);
    let pull = ok(b.pipit(["fetch"]));
    assert!(pull.stdout.contains("1 run-cache entries"), "only the honest entry: {pull}");
}

/// Returns how many objects the repository's cache holds.
fn objects(repo: &Repo) -> usize {
    walk_files(&repo.path().join(".cache/objects"))
}

fn walk_files(dir: &Path) -> usize {
    let Ok(entries) = fs_err::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| if e.path().is_dir() { walk_files(&e.path()) } else { 1 })
        .sum()
}

/// A fresh clone runs `repro --pull`: no stage runs and no out is downloaded
/// (only the manifest of the directory out, to know what it holds). After a
/// param change only the stage below it runs, with the outs it reads
/// fetched; `--push` shares the result.
fn repro_pull_fetches_only_what_runs_need(a: &Repo, env: &[(&str, &str)]) {
    ok(a.pipit_env(env, ["repro", "--push"]));
    let b = clone_of(a);
    let run = ok(b.pipit_env(env, ["repro", "--pull"]));
    assert!(run.stdout.contains("everything is up to date (2 stages"), "{run}");
    assert!(run.stdout.contains("the outs of 2 left on the remote"), "{run}");
    assert_eq!((runs(&b, "prepare"), runs(&b, "train")), (0, 0), "{run}");
    assert_eq!(objects(&b), 1, "only the directory's manifest was downloaded");
    assert!(!b.path().join("data").exists() && !b.path().join("model.txt").exists());
    b.write("params.yaml", "depth: 4\n");
    let run = ok(b.pipit_env(env, ["repro", "--pull", "--push"]));
    assert_eq!((runs(&b, "prepare"), runs(&b, "train")), (0, 1), "{run}");
    assert_eq!(b.read("model.txt"), "rows\ndepth=4\n");
    assert!(run.stdout.contains("on remote  prepare"), "{run}");
    assert!(run.stderr.contains("pushed 1 objects"), "the new model: {run}");
    a.write("params.yaml", &b.read("params.yaml"));
    a.write("pipeline.lock", &b.read("pipeline.lock"));
    a.write("score.json", &b.read("score.json"));
    let run = ok(a.pipit_env(env, ["repro", "--pull"]));
    assert_eq!(runs(a, "train"), 1, "A restores B's run instead of running: {run}");
    assert_eq!(a.read("model.txt"), "rows\ndepth=4\n");
    assert_eq!(a.pipit(["status"]).code, 0);
}

#[test]
fn repro_pull_fetches_only_what_runs_need_from_a_folder() {
    on_folder(project, repro_pull_fetches_only_what_runs_need);
}

#[test]
fn repro_pull_fetches_only_what_runs_need_from_s3() {
    on(Server::S3, "repro-pull", project, repro_pull_fetches_only_what_runs_need);
}

/// Runs `pipit ARGS` in `repo` and kills it with SIGKILL after `delay`.
fn killed(repo: &Repo, env: &[(&str, &str)], args: &[&str], delay: std::time::Duration) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("pipit"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}

/// kill -9 during a push and during a pull leaves no partial object under a
/// final name on either side, and the next push or pull completes.
fn kill_9_during_transfers_leaves_nothing_half_written(a: &Repo, env: &[(&str, &str)]) {
    ok(a.pipit(["repro"]));
    for delay in [30, 120, 400] {
        killed(a, env, &["push", "-j", "2"], std::time::Duration::from_millis(delay));
    }
    ok(a.pipit_env(env, ["push"]));
    let b = Repo::new();
    for file in ["pipeline.yaml", "pipeline.lock", ".pipit/config.toml"] {
        b.write(file, &a.read(file));
    }
    for delay in [30, 120, 400] {
        killed(&b, env, &["pull", "-j", "2"], std::time::Duration::from_millis(delay));
        let verify = b.pipit(["cache", "verify"]);
        assert!(verify.stdout.contains("0 bad"), "no partial object in the cache: {verify}");
    }
    // (A killed pull may have finished already: what counts is the result.)
    ok(b.pipit_env(env, ["pull"]));
    for out in ["big.bin", "small1.bin", "small8.bin"] {
        let (theirs, ours) = (a.path().join(out), b.path().join(out));
        assert!(fs_err::read(theirs).unwrap() == fs_err::read(ours).unwrap(), "{out} differs");
    }
    assert_eq!(b.pipit(["status"]).code, 0);
    let verify = ok(b.pipit(["cache", "verify", "--repair"]));
    assert!(verify.stdout.contains("0 bad, 0 missing"), "{verify}");
}

/// One 100 MB out (uploaded in parts to S3) and eight small ones.
const BIG_PIPELINE: &str = "stages:\n  big:\n    cmd: head -c 100000000 /dev/urandom > big.bin && for i in 1 2 3 4 5 6 7 8; do head -c 100000 /dev/urandom > small$i.bin; done\n    outs:\n      - big.bin\n      - small1.bin\n      - small2.bin\n      - small3.bin\n      - small4.bin\n      - small5.bin\n      - small6.bin\n      - small7.bin\n      - small8.bin\n";

#[test]
fn kill_9_during_a_folder_push_or_pull_leaves_nothing_half_written() {
    on_folder(
        || Repo::with_pipeline(BIG_PIPELINE, ""),
        kill_9_during_transfers_leaves_nothing_half_written,
    );
}

#[test]
fn kill_9_during_an_s3_push_or_pull_leaves_nothing_half_written() {
    on(
        Server::S3,
        "kill",
        || Repo::with_pipeline(BIG_PIPELINE, ""),
        kill_9_during_transfers_leaves_nothing_half_written,
    );
}

#[test]
fn run_cache_entries_signed_with_another_key_are_ignored() {
    let shared = tempfile::tempdir().unwrap();
    let a = project();
    folder_remote(&a, shared.path());
    let team = [("PIPIT_RUN_CACHE_KEY", "team secret")];
    ok(a.pipit_env(&team, ["repro", "--push"]));
    let fresh = || {
        let repo = clone_of(&a);
        fs_err::remove_file(repo.path().join("pipeline.lock")).unwrap();
        repo
    };
    let trusted = fresh();
    let run = ok(trusted.pipit_env(&team, ["repro", "--pull"]));
    assert_eq!((runs(&trusted, "prepare"), runs(&trusted, "train")), (0, 0), "{run}");
    assert!(run.stdout.contains("restored from run cache 2"), "{run}");
    let fork = fresh();
    let run = ok(fork.pipit_env(&[("PIPIT_RUN_CACHE_KEY", "guess")], ["repro", "--pull"]));
    assert!(run.stderr.contains("ignored 2 run-cache entries of remote `shared`"), "{run}");
    assert_eq!((runs(&fork, "prepare"), runs(&fork, "train")), (1, 1), "{run}");
    // An entry pushed without the key is never trusted by those who set it.
    let unsigned = project();
    folder_remote(&unsigned, shared.path());
    unsigned.write("input.txt", "other rows\n");
    ok(unsigned.pipit(["repro", "--push"]));
    let checker = clone_of(&unsigned);
    fs_err::remove_file(checker.path().join("pipeline.lock")).unwrap();
    let run = ok(checker.pipit_env(&team, ["repro", "--pull"]));
    assert!(run.stderr.contains("ignored 2 run-cache entries"), "{run}");
    assert_eq!(runs(&checker, "prepare"), 1, "{run}");
}

/// `pipit add` of a folder of 1,000 files that a stage reads: pushed, then
/// pulled into a fresh clone, and `repro --pull` there downloads nothing.
fn added_data_travels_with_the_project(a: &Repo, env: &[(&str, &str)]) {
    for i in 0..1000 {
        a.write(&format!("raw/{i:04}.txt"), &format!("row {i}\n"));
    }
    let add = ok(a.pipit(["add", "raw"]));
    assert!(add.stdout.contains("added `raw` (1000 files"), "{add}");
    assert!(add.stdout.contains("commit `raw.pipit`"), "{add}");
    assert!(a.read(".gitignore").lines().any(|l| l == "/raw"), "{}", a.read(".gitignore"));
    let record = a.read("raw.pipit");
    assert!(record.contains("path: raw") && record.contains("nfiles: 1000"), "{record}");
    ok(a.pipit(["repro"]));
    assert_eq!(a.read("count.txt").trim(), "1000");
    let push = ok(a.pipit_env(env, ["push"]));
    assert!(push.stdout.contains("pushed 1002 objects"), "{push}");

    let clone = |a: &Repo| {
        let b = Repo::new();
        for file in ["pipeline.yaml", "pipeline.lock", "raw.pipit", ".pipit/config.toml"] {
            b.write(file, &a.read(file));
        }
        b
    };
    let b = clone(a);
    let pull = ok(b.pipit_env(env, ["pull"]));
    assert!(pull.stdout.contains("checked out 2 outputs"), "{pull}");
    assert_eq!(fs_err::read_dir(b.path().join("raw")).unwrap().count(), 1000);
    assert_eq!(b.read("raw/0999.txt"), "row 999\n");
    assert_eq!(b.pipit(["status"]).code, 0);

    let c = clone(a);
    let run = ok(c.pipit_env(env, ["repro", "--pull"]));
    assert!(run.stdout.contains("on remote  count"), "{run}");
    assert!(!c.path().join("raw").exists(), "nothing needed the data: {run}");
    assert_eq!(objects(&c), 1, "only the folder's manifest was downloaded");
}

const COUNT_PIPELINE: &str = "stages:\n  count:\n    cmd: ls raw | wc -l > count.txt\n    deps:\n      - raw\n    outs:\n      - count.txt\n";

#[test]
fn added_data_travels_through_a_folder_remote() {
    on_folder(|| Repo::with_pipeline(COUNT_PIPELINE, ""), added_data_travels_with_the_project);
}

#[test]
fn added_data_travels_through_an_s3_remote() {
    on(
        Server::S3,
        "add",
        || Repo::with_pipeline(COUNT_PIPELINE, ""),
        added_data_travels_with_the_project,
    );
}

#[test]
fn added_data_travels_through_a_plain_http_remote_that_cannot_list() {
    on(
        Server::Http,
        "add",
        || Repo::with_pipeline(COUNT_PIPELINE, ""),
        added_data_travels_with_the_project,
    );
}

#[test]
fn added_data_travels_through_an_azure_remote() {
    on(
        Server::Azure,
        "add",
        || Repo::with_pipeline(COUNT_PIPELINE, ""),
        added_data_travels_with_the_project,
    );
}

#[test]
fn tracked_data_can_be_named_as_a_target() {
    let shared = tempfile::tempdir().unwrap();
    let a = Repo::with_pipeline(COUNT_PIPELINE, "");
    folder_remote(&a, shared.path());
    a.write("raw/1.txt", "one\n");
    a.write("labels.csv", "id,label\n");
    ok(a.pipit(["add", "raw", "labels.csv"]));
    ok(a.pipit(["repro"]));
    ok(a.pipit(["push", "labels.csv"]));
    assert_eq!(walk_files(&shared.path().join("objects")), 1, "only the named file");
    ok(a.pipit(["push"]));
    let b = Repo::new();
    for file in
        ["pipeline.yaml", "pipeline.lock", "raw.pipit", "labels.csv.pipit", ".pipit/config.toml"]
    {
        b.write(file, &a.read(file));
    }
    let pull = ok(b.pipit(["pull", "labels.csv.pipit"]));
    assert!(pull.stdout.contains("fetched 1 objects"), "{pull}");
    assert_eq!(b.read("labels.csv"), "id,label\n");
    assert!(!b.path().join("raw").exists() && !b.path().join("count.txt").exists(), "{pull}");
    ok(b.pipit(["fetch", "raw"]));
    ok(b.pipit(["checkout", "raw/"]));
    assert_eq!(b.read("raw/1.txt"), "one\n");
    assert!(!b.path().join("count.txt").exists(), "no stage was named");
    let wrong = b.pipit(["pull", "raw/1.txt"]);
    assert_eq!(wrong.code, 2, "a file inside tracked data is not a target: {wrong}");
}

#[test]
fn add_refuses_a_stage_output_and_a_path_outside() {
    let a = Repo::with_pipeline(COUNT_PIPELINE, "");
    a.write("count.txt", "3\n");
    let run = a.pipit(["add", "count.txt"]);
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("`count.txt` is an output of stage `count`"), "{run}");
    let run = a.pipit(["add", "../elsewhere"]);
    assert!(run.stderr.contains("is not inside the repository"), "{run}");
    let run = a.pipit(["add", "missing.csv"]);
    assert!(run.stderr.contains("`missing.csv` does not exist"), "{run}");
}

#[test]
fn status_remote_says_what_the_remote_holds_without_downloading() {
    let shared = tempfile::tempdir().unwrap();
    let a = project();
    folder_remote(&a, shared.path());
    ok(a.pipit(["repro", "--push"]));
    let b = clone_of(&a);
    let status = b.pipit(["status", "--remote"]);
    assert_eq!(status.code, 1, "outs are missing in B: {status}");
    assert!(
        status.stdout.contains(
            "prepare: the remote has a run for these inputs: restored; its outs are on the remote"
        ),
        "{status}"
    );
    b.write("params.yaml", "depth: 7\n");
    let status = b.pipit(["status", "--remote"]);
    assert!(
        status.stdout.contains("train: no run for these inputs on the remote: runs"),
        "{status}"
    );
    assert!(status.stdout.contains("param changed: depth 3 → 7"), "{status}");
    assert_eq!(objects(&b), 0, "status downloads nothing");
}

#[test]
fn s3_credentials_come_from_an_aws_profile_too() {
    let shared = project();
    if Server::S3.remote(&shared, &unique("profile")).is_none() {
        return;
    }
    let aws = tempfile::tempdir().unwrap();
    let credentials = aws.path().join("credentials");
    fs_err::write(&credentials, "[ci]\naws_access_key_id = test\naws_secret_access_key = test\n")
        .unwrap();
    let config = aws.path().join("config");
    fs_err::write(&config, "[profile ci]\nregion = us-east-1\n").unwrap();
    let credentials = credentials.to_string_lossy().into_owned();
    let config = config.to_string_lossy().into_owned();
    let env = [
        ("AWS_PROFILE", "ci"),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.as_str()),
        ("AWS_CONFIG_FILE", config.as_str()),
    ];
    ok(shared.pipit(["repro"]));
    let push = ok(shared.pipit_env(&env, ["push"]));
    assert!(push.stdout.contains("pushed 5 objects"), "{push}");
}
