//! A temporary git repository and a way to run the real `pipit` binary in it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A scratch repository that is deleted when dropped.
pub struct Repo {
    dir: TempDir,
}

/// What a run of `pipit` did.
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Repo {
    /// Returns an empty git repository.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("pipit-test").tempdir().expect("tempdir");
        let status = Command::new("git").args(["init", "-q"]).current_dir(dir.path()).status();
        assert!(status.expect("git runs").success(), "git init failed");
        Self { dir }
    }

    /// Returns an empty git repository in a new folder under `parent`.
    pub fn new_in(parent: &Path) -> Self {
        let dir =
            tempfile::Builder::new().prefix("pipit-test").tempdir_in(parent).expect("tempdir");
        let status = Command::new("git").args(["init", "-q"]).current_dir(dir.path()).status();
        assert!(status.expect("git runs").success(), "git init failed");
        Self { dir }
    }

    /// Returns a repository holding `pipeline.yaml` (and `params.yaml` if not empty).
    pub fn with_pipeline(pipeline: &str, params: &str) -> Self {
        let repo = Self::new();
        repo.write("pipeline.yaml", pipeline);
        if !params.is_empty() {
            repo.write("params.yaml", params);
        }
        repo
    }

    /// Commits everything git does not ignore, with `message`.
    pub fn commit(&self, message: &str) {
        let git = |args: &[&str]| {
            let status = Command::new("git")
                .args(["-c", "user.name=pipit", "-c", "user.email=pipit@example.invalid"])
                .args(args)
                .current_dir(self.dir.path())
                .status();
            assert!(status.expect("git runs").success(), "git {args:?} failed");
        };
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", message]);
    }

    /// Returns the repository's root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file, creating its folders.
    pub fn write(&self, relative: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).expect("create folders");
        }
        fs_err::write(&path, contents).expect("write file");
        path
    }

    /// Runs `pipit` with `args` at the repository root.
    pub fn pipit<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.pipit_in(".", args)
    }

    /// Runs `pipit` with `args` in a folder of the repository.
    pub fn pipit_in<I, S>(&self, folder: &str, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = self.command(folder);
        command.args(args);
        self.finish(command)
    }

    /// Returns a `pipit` command in `folder` with a pinned terminal.
    fn command(&self, folder: &str) -> Command {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin!("pipit"));
        command
            .current_dir(self.dir.path().join(folder))
            .env("NO_COLOR", "1")
            .env("COLUMNS", "80")
            .env_remove("CLICOLOR_FORCE");
        command
    }

    /// Runs `command` and returns what it did, with the repository's path
    /// replaced by `[REPO]`.
    fn finish(&self, mut command: Command) -> Run {
        let output = command.output().expect("pipit runs");
        let root = self.dir.path().to_string_lossy().into_owned();
        let clean = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&root, "[REPO]");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: clean(&output.stdout),
            stderr: clean(&output.stderr),
        }
    }
}

impl fmt::Display for Run {
    /// Formats the run for a snapshot: exit code, stdout, stderr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "exit: {}", self.code)?;
        writeln!(f, "--- stdout")?;
        f.write_str(&self.stdout)?;
        writeln!(f, "--- stderr")?;
        f.write_str(&self.stderr)
    }
}

/// Returns the demo pipeline and params of the repository root.
pub fn demo() -> (String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |name: &str| fs_err::read_to_string(root.join(name)).expect("demo file");
    (read("pipeline.yaml"), read("params.yaml"))
}

/// Generates churn data (`raw.csv`) in `repo` and prepares it into `prepared/`.
pub fn prepare_churn(repo: &Repo, rows: &str, seed: &str) {
    prepare_generated(repo, ("churn", "Churn"), &["--rows", rows, "--seed", seed]);
}

/// Generates a classification data set (`raw.csv`) with `generate`'s
/// arguments and prepares it into `prepared/`.
pub fn prepare_generated(repo: &Repo, (dataset, target): (&str, &str), generate: &[&str]) {
    let mut args = vec!["stage", "generate", "--dataset", dataset, "--out", "raw.csv"];
    args.extend_from_slice(generate);
    let run = repo.pipit(args);
    assert_eq!(run.code, 0, "{run}");
    let run = repo.pipit([
        "stage",
        "prepare",
        "--data",
        "raw.csv",
        "--target",
        target,
        "--task",
        "classification",
        "--out-dir",
        "prepared",
    ]);
    assert_eq!(run.code, 0, "{run}");
}

/// Runs `pipit stage train` on the churn data [`prepare_churn`] wrote, with
/// `extra` arguments (hyperparameters, a gate, where to write).
pub fn train_churn(repo: &Repo, model: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "stage",
        "train",
        "--train",
        "prepared/train.csv",
        "--test",
        "prepared/test.csv",
        "--target",
        "Churn",
        "--task",
        "classification",
        "--model",
        model,
    ];
    args.extend_from_slice(extra);
    repo.pipit(args)
}

/// A repository with prepared churn data and a forest trained on it,
/// registered as v1 and current for `churn`.
pub fn registered_churn() -> Repo {
    let repo = Repo::with_pipeline("stages: {}\n", "");
    prepare_churn(&repo, "400", "3");
    train_and_register(&repo, "forest", &[]);
    repo
}

/// Trains `model` on the prepared churn data (any F1 passes the gate) into
/// `models/MODEL.model` and registers it for `churn` with `extra` arguments.
pub fn train_and_register(repo: &Repo, model: &str, extra: &[&str]) {
    let (model_out, metrics_out) =
        (format!("models/{model}.model"), format!("metrics/{model}.json"));
    let outputs =
        ["--gate-threshold", "0", "--model-out", &model_out, "--metrics-out", &metrics_out];
    let run = train_churn(repo, model, &outputs);
    assert_eq!(run.code, 0, "{run}");
    let mut args = vec!["model", "register", "--dataset", "churn", "--model", &model_out];
    args.extend(["--metrics", &metrics_out]);
    args.extend_from_slice(extra);
    let run = repo.pipit(args);
    assert_eq!(run.code, 0, "{run}");
}

impl Repo {
    /// Runs `pipit` with `args` at the repository root, with extra environment
    /// variables.
    pub fn pipit_env<I, S>(&self, env: &[(&str, &str)], args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = self.command(".");
        command.args(args).envs(env.iter().copied());
        self.finish(command)
    }

    /// Returns the path of the cached object `hash`.
    pub fn object(&self, hash: &str) -> PathBuf {
        self.dir.path().join(".cache/objects").join(&hash[..2]).join(&hash[2..])
    }

    /// Reads a file of the repository ("" when it is absent).
    pub fn read(&self, relative: &str) -> String {
        fs_err::read_to_string(self.dir.path().join(relative)).unwrap_or_default()
    }
}
