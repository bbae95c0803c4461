//! Experiments: the pipeline run with changed params in a workspace of its
//! own, `.cache/exps/NAME/work/`, so that the user's files and git state are
//! never touched. The workspace is a copy of the files git shows (tracked,
//! and untracked but not ignored: the user's uncommitted changes too); its
//! `.cache/` shares the repository's objects, run cache and runs history
//! through symbolic links, so unchanged stages are restored rather than run,
//! what an experiment makes stays reachable, and its runs join the history.
//! Each has its own lock, so several run at once.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The folder of the experiments, under `.cache/`.
pub const EXPS_DIR: &str = "exps";
/// An experiment's state, in its folder.
const STATE_FILE: &str = "exp.json";
/// An experiment's workspace, in its folder.
const WORK_DIR: &str = "work";
/// Made by whoever runs an experiment, in its folder.
const CLAIM_FILE: &str = "claimed";
/// What an experiment printed when it ran in the background, in its folder.
const OUTPUT_FILE: &str = "output.log";
/// The folders of `.cache/` an experiment's workspace shares.
const SHARED: [&str; 3] = ["objects", "runs", crate::runs::HISTORY_DIR];

/// Where an experiment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl Status {
    /// Its word.
    pub fn word(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
        }
    }
}

/// One experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    pub name: String,
    /// The params it changed, as given: `train.lr=0.2`, `other.yaml:key=1`.
    pub set: Vec<String>,
    /// The git commit its workspace was copied at, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    pub status: Status,
    /// RFC 3339 with milliseconds.
    pub created: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// The process running it, while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
}

impl Experiment {
    /// Whether it is running now: `running`, and its process alive (one
    /// killed mid-run left `running` behind).
    pub fn is_running(&self) -> bool {
        self.status == Status::Running && self.pid.is_some_and(crate::fsutil::process_alive)
    }
}

/// One `-S`: a value for a key of a params file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub file: String,
    pub key: String,
    pub value: String,
}

impl Assignment {
    /// Reads `[FILE:]KEY=VALUE` (the file is `params.yaml` unless named).
    pub fn parse(text: &str) -> Result<Assignment, String> {
        let Some((target, value)) = text.split_once('=') else {
            return Err(format!("`{text}` is not `KEY=VALUE` (e.g. `train.lr=0.2`)"));
        };
        let (file, key) = match target.split_once(':') {
            Some((file, key)) => (file.to_owned(), key.to_owned()),
            None => ("params.yaml".to_owned(), target.to_owned()),
        };
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(format!("`{text}` names no key (e.g. `train.lr=0.2`)"));
        }
        if crate::containment::check_relative(&file).is_err() {
            return Err(format!(
                "`{file}` in `{text}` is not a path inside the repository: name the params \
                 file relative to it (`conf/model.yaml:depth=3`)"
            ));
        }
        Ok(Assignment { file, key, value: value.to_owned() })
    }

    /// Sets the value in the params file under `root`, in place.
    pub fn apply(&self, root: &Path) -> anyhow::Result<()> {
        let path = root.join(&self.file);
        let text = fs_err::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read the params file `{}`: {e}", self.file))?;
        let changed = crate::params_set::set(&text, &self.file, &self.key, &self.value)
            .map_err(anyhow::Error::msg)?;
        crate::fsutil::write_atomic(&path, changed.as_bytes())?;
        Ok(())
    }
}

/// Returns the current time as RFC 3339 in UTC, to the millisecond.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The experiments of the repository whose `.cache/` is `dot_cache`.
pub struct Experiments {
    dir: PathBuf,
}

impl Experiments {
    /// Returns the experiments under `dot_cache`.
    pub fn new(dot_cache: &Path) -> Self {
        Self { dir: dot_cache.join(EXPS_DIR) }
    }

    /// The folder of experiment `name`.
    fn folder(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The workspace of experiment `name`.
    pub fn work(&self, name: &str) -> PathBuf {
        self.folder(name).join(WORK_DIR)
    }

    /// Where experiment `name` writes what it prints when run in the background.
    pub fn output(&self, name: &str) -> PathBuf {
        self.folder(name).join(OUTPUT_FILE)
    }

    /// Returns experiment `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<Experiment> {
        let text = fs_err::read_to_string(self.folder(name).join(STATE_FILE)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Every experiment, oldest first.
    pub fn all(&self) -> Vec<Experiment> {
        let Ok(entries) = fs_err::read_dir(&self.dir) else { return Vec::new() };
        let mut found: Vec<Experiment> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| self.get(&entry.file_name().to_string_lossy()))
            .collect();
        found.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.name.cmp(&b.name)));
        found
    }

    /// Claims experiment `name` to run it: true for the one caller that
    /// creates its claim file first (an experiment runs once, even when two
    /// `--run-all` start together).
    pub fn claim(&self, name: &str) -> std::io::Result<bool> {
        match fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(self.folder(name).join(CLAIM_FILE))
        {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Records `experiment`'s state.
    pub fn save(&self, experiment: &Experiment) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(experiment).map_err(std::io::Error::other)?;
        crate::fsutil::write_atomic(
            &self.folder(&experiment.name).join(STATE_FILE),
            text.as_bytes(),
        )
    }

    /// Removes experiment `name` and its workspace (its outs stay in the
    /// cache, its runs in the history).
    pub fn remove(&self, name: &str) -> std::io::Result<()> {
        crate::cache::remove_path(&self.folder(name))
    }

    /// Creates experiment `name`: a copy of the workspace at `root` with
    /// `set` applied, queued.
    pub fn create(
        &self,
        root: &Path,
        dot_cache: &Path,
        name: &str,
        set: &[Assignment],
    ) -> anyhow::Result<Experiment> {
        check_name(name)?;
        if self.folder(name).exists() {
            anyhow::bail!(
                "there is already an experiment `{name}`; choose another name or `pipit exp remove {name}`"
            );
        }
        let work = self.work(name);
        let built = (|| -> anyhow::Result<()> {
            copy_workspace(root, &work)?;
            let cache = work.join(crate::workspace::DOT_CACHE);
            fs_err::create_dir_all(&cache)?;
            for shared in SHARED {
                let target = dot_cache.join(shared);
                fs_err::create_dir_all(&target)?;
                let target = fs_err::canonicalize(&target)?;
                symlink(&target, &cache.join(shared), true)?;
            }
            for assignment in set {
                assignment.apply(&work)?;
            }
            Ok(())
        })();
        if let Err(error) = built {
            let _ = self.remove(name);
            return Err(error);
        }
        let experiment = Experiment {
            name: name.to_owned(),
            set: set.iter().map(|a| format!("{}:{}={}", a.file, a.key, a.value)).collect(),
            base: crate::git::head(root).map(|(rev, _)| rev),
            status: Status::Queued,
            created: now(),
            started: None,
            finished: None,
            pid: None,
        };
        self.save(&experiment)?;
        Ok(experiment)
    }

    /// Returns a name no experiment has: `exp-` and six hex digits.
    pub fn new_name(&self) -> String {
        loop {
            let name = format!("exp-{}", &crate::runs::new_id()[..6]);
            if !self.folder(&name).exists() {
                return name;
            }
        }
    }
}

/// Checks that `name` can name an experiment (and its folder).
fn check_name(name: &str) -> anyhow::Result<()> {
    let fine = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(['.', '-'])
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !fine {
        anyhow::bail!(
            "`{name}` cannot name an experiment: use up to 64 letters, digits, `.`, `_` and `-`, not first `.` or `-`"
        );
    }
    Ok(())
}

/// Copies the files git shows at `root` (tracked, and untracked but not
/// ignored) into `to`.
fn copy_workspace(root: &Path, to: &Path) -> anyhow::Result<()> {
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run `git ls-files`: {e}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "experiments need a git repository: `git ls-files` failed in `{}`: {}",
            root.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    for name in output.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let relative = String::from_utf8_lossy(name).into_owned();
        let from = root.join(&relative);
        // A tracked file the user deleted is left out, as in the workspace.
        let Ok(meta) = fs_err::symlink_metadata(&from) else { continue };
        let dest = to.join(&relative);
        if let Some(parent) = dest.parent() {
            fs_err::create_dir_all(parent)?;
        }
        if meta.file_type().is_symlink() {
            let target = fs_err::read_link(&from)?;
            symlink(&target, &dest, false)?;
        } else if meta.is_file() {
            reflink_copy::reflink_or_copy(&from, &dest)
                .map_err(|e| anyhow::anyhow!("cannot copy `{relative}`: {e}"))?;
        }
    }
    Ok(())
}

/// Makes `link` a symbolic link to `target` (a folder when `dir`).
#[cfg(unix)]
fn symlink(target: &Path, link: &Path, _dir: bool) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

/// Makes `link` a symbolic link to `target` (a folder when `dir`).
#[cfg(windows)]
fn symlink(target: &Path, link: &Path, dir: bool) -> std::io::Result<()> {
    if dir {
        std::os::windows::fs::symlink_dir(target, link)
    } else {
        std::os::windows::fs::symlink_file(target, link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments_name_a_key_of_params_yaml_or_of_another_file() {
        let plain = Assignment::parse("train.lr=0.2").unwrap();
        assert_eq!(
            (plain.file.as_str(), plain.key.as_str(), plain.value.as_str()),
            ("params.yaml", "train.lr", "0.2")
        );
        let other = Assignment::parse("conf/model.yaml:depth=a=b").unwrap();
        assert_eq!(
            (other.file.as_str(), other.key.as_str(), other.value.as_str()),
            ("conf/model.yaml", "depth", "a=b")
        );
        assert!(Assignment::parse("train.lr").unwrap_err().contains("is not `KEY=VALUE`"));
        assert!(Assignment::parse("train..lr=1").unwrap_err().contains("names no key"));
        for outside in ["/etc/params.yaml:a=1", "../params.yaml:a=1"] {
            assert!(
                Assignment::parse(outside).unwrap_err().contains("not a path inside"),
                "{outside}"
            );
        }
    }

    #[test]
    fn names_are_safe_as_folder_names() {
        assert!(check_name("lr-0.2_b").is_ok());
        for bad in ["", "../x", "a/b", ".hidden", "-flag", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
