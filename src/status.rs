//! Whether a stage is up to date, and if not, why.
//!
//! A stage is up to date when its cmd, dep hashes and param values equal the
//! lock's and its outs exist with the locked hashes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::lockfile::{LockEntry, LockedPath};
use crate::pipeline::{DepPath, Stage};
use crate::workspace::Workspace;

/// Why a stage is not up to date.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// The stage is not in the lock file yet.
    NewStage,
    /// The stage is marked `always_changed`.
    AlwaysChanged,
    /// Its commands differ from the locked ones.
    CmdChanged,
    /// A dependency's contents changed.
    DepChanged { path: String },
    /// A dependency does not exist.
    DepMissing { path: String },
    /// A dependency was added to or removed from the stage.
    DepsChanged,
    /// A param's value changed (`None`: absent on that side).
    ParamChanged { key: String, old: Option<serde_json::Value>, new: Option<serde_json::Value> },
    /// An output does not exist.
    OutMissing { path: String },
    /// An output differs from the locked one.
    OutModified { path: String },
    /// An output was added to or removed from the stage.
    OutsChanged,
}

/// The current inputs of a stage, as the lock records them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs {
    /// The hashes of its deps (missing deps are left out).
    pub deps: Vec<LockedPath>,
    /// Its param values per file.
    pub params: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

impl Inputs {
    /// Hashes the deps and collects the params of `stage`.
    pub fn of(stage: &Stage, workspace: &Workspace) -> std::io::Result<(Self, Vec<String>)> {
        Self::of_with(stage, workspace, &|_| None)
    }

    /// Hashes the deps as [`Inputs::of`] does; a dep the workspace lacks is
    /// taken from `elsewhere` when it knows it (an out that `repro --pull`
    /// left on the remote, as the lock records it).
    pub fn of_with(
        stage: &Stage,
        workspace: &Workspace,
        elsewhere: &dyn Fn(&str) -> Option<LockedPath>,
    ) -> std::io::Result<(Self, Vec<String>)> {
        let (inputs, missing, _) = Self::of_but(stage, workspace, elsewhere, &|_| false)?;
        Ok((inputs, missing))
    }

    /// Hashes the deps as [`Inputs::of_with`] does, but for those `later`
    /// says are hashed elsewhere: they are left out, and returned by name
    /// (after the missing deps), for [`Inputs::complete`].
    pub fn of_but(
        stage: &Stage,
        workspace: &Workspace,
        elsewhere: &dyn Fn(&str) -> Option<LockedPath>,
        later: &dyn Fn(&str) -> bool,
    ) -> std::io::Result<(Self, Vec<String>, Vec<String>)> {
        let mut deps = Vec::with_capacity(stage.deps.len());
        let (mut missing, mut left) = (Vec::new(), Vec::new());
        for dep in &stage.deps {
            let (path, name) = match &dep.path {
                DepPath::Repo(path) => (path.to_path(&workspace.root), path.to_string()),
                DepPath::External(path) => (path.clone(), path.display().to_string()),
            };
            if later(&name) {
                left.push(name);
                continue;
            }
            match workspace.digest(&path, &name)?.or_else(|| elsewhere(&name)) {
                Some(locked) => deps.push(locked),
                None => missing.push(name),
            }
        }
        deps.sort();
        Ok((Self { deps, params: params_of(stage) }, missing, left))
    }

    /// Adds the deps left out by [`Inputs::of_but`], hashed since.
    pub fn complete(&mut self, deps: impl IntoIterator<Item = LockedPath>) {
        self.deps.extend(deps);
        self.deps.sort();
    }
}

/// The deps and outs of `stages` in the repository, each once.
pub fn paths_of<'s>(stages: impl Iterator<Item = &'s Stage>, root: &Path) -> Vec<PathBuf> {
    let mut paths = std::collections::BTreeSet::new();
    for stage in stages {
        for dep in &stage.deps {
            if let DepPath::Repo(path) = &dep.path {
                paths.insert(path.to_path(root));
            }
        }
        paths.extend(stage.outs.iter().map(|out| out.path.to_path(root)));
    }
    paths.into_iter().collect()
}

/// Returns a stage's param values per file, a whole-file entry expanded into
/// the file's top-level keys.
pub fn params_of(stage: &Stage) -> BTreeMap<String, BTreeMap<String, serde_json::Value>> {
    let mut params: BTreeMap<String, BTreeMap<String, serde_json::Value>> = BTreeMap::new();
    for dep in &stage.params {
        let file = params.entry(dep.file.to_string()).or_default();
        for (key, value) in &dep.values {
            match (key.as_str(), value) {
                ("", serde_json::Value::Object(map)) => {
                    file.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                _ => {
                    file.insert(key.clone(), value.clone());
                }
            }
        }
    }
    params
}

/// How far [`reasons`] looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    /// Every reason (`status`, `repro --dry-run`).
    Everywhere,
    /// Enough to run the stage: once its inputs say it runs, its folder
    /// outs are not hashed to say whether they changed too (its file outs
    /// are: one edited through a hard link to its object must be found
    /// before the stage runs).
    ToRun,
}

/// Returns why `stage` is out of date against `locked` (empty: up to date),
/// looking as far as `look` says.
pub fn reasons(
    stage: &Stage,
    locked: Option<&LockEntry>,
    (inputs, missing): (&Inputs, &[String]),
    workspace: &Workspace,
    look: Look,
) -> std::io::Result<Vec<Reason>> {
    if stage.frozen {
        return Ok(Vec::new());
    }
    let Some(locked) = locked else {
        return Ok(vec![Reason::NewStage]);
    };
    let mut reasons = Vec::new();
    if stage.always_changed {
        reasons.push(Reason::AlwaysChanged);
    }
    if stage.cmd != locked.cmd {
        reasons.push(Reason::CmdChanged);
    }
    reasons.extend(missing.iter().map(|path| Reason::DepMissing { path: path.clone() }));
    let locked_deps: BTreeMap<&str, &LockedPath> =
        locked.deps.iter().map(|d| (d.path.as_str(), d)).collect();
    for dep in &inputs.deps {
        match locked_deps.get(dep.path.as_str()) {
            Some(old) if old.hash == dep.hash => {}
            Some(_) => reasons.push(Reason::DepChanged { path: dep.path.clone() }),
            None => {}
        }
    }
    if inputs.deps.len() + missing.len() != locked.deps.len()
        || inputs.deps.iter().any(|d| !locked_deps.contains_key(d.path.as_str()))
    {
        reasons.push(Reason::DepsChanged);
    }
    reasons.extend(param_changes(&locked.params, &inputs.params));
    let folders = look == Look::Everywhere || reasons.is_empty();
    reasons.extend(out_changes(stage, locked, workspace, folders)?);
    Ok(reasons)
}

/// Whether `stage` will run whatever its deps and outs hold: new, its
/// command or params changed, or always changed (never when frozen).
pub fn sure_to_run(stage: &Stage, locked: Option<&LockEntry>) -> bool {
    let Some(locked) = locked else {
        return !stage.frozen;
    };
    !stage.frozen
        && (stage.always_changed
            || stage.cmd != locked.cmd
            || !param_changes(&locked.params, &params_of(stage)).is_empty())
}

fn param_changes(
    old: &BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    new: &BTreeMap<String, BTreeMap<String, serde_json::Value>>,
) -> Vec<Reason> {
    let empty = BTreeMap::new();
    let mut changes = Vec::new();
    let files: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for file in files {
        let (before, after) = (old.get(file).unwrap_or(&empty), new.get(file).unwrap_or(&empty));
        let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        for key in keys {
            let (b, a) = (before.get(key), after.get(key));
            if b != a {
                let key = if file == "params.yaml" { key.clone() } else { format!("{file}:{key}") };
                changes.push(Reason::ParamChanged { key, old: b.cloned(), new: a.cloned() });
            }
        }
    }
    changes
}

/// The changes of `stage`'s outs against `locked`, its folders' only when
/// `folders`.
fn out_changes(
    stage: &Stage,
    locked: &LockEntry,
    workspace: &Workspace,
    folders: bool,
) -> std::io::Result<Vec<Reason>> {
    let mut changes = Vec::new();
    let locked_outs: BTreeMap<&str, &LockedPath> =
        locked.outs.iter().map(|o| (o.path.as_str(), o)).collect();
    for out in &stage.outs {
        let name = out.path.to_string();
        let Some(old) = locked_outs.get(name.as_str()) else {
            continue;
        };
        if old.nfiles.is_some() && !folders {
            continue;
        }
        match workspace.digest(&out.path.to_path(&workspace.root), &name)? {
            None => changes.push(Reason::OutMissing { path: name }),
            Some(now) if now.hash != old.hash => changes.push(Reason::OutModified { path: name }),
            Some(_) => {}
        }
    }
    if stage.outs.len() != locked.outs.len()
        || stage.outs.iter().any(|o| !locked_outs.contains_key(o.path.as_str()))
    {
        changes.push(Reason::OutsChanged);
    }
    Ok(changes)
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value =
            |v: &Option<serde_json::Value>| v.as_ref().map_or("(none)".into(), |v| v.to_string());
        match self {
            Reason::NewStage => f.write_str("new stage"),
            Reason::AlwaysChanged => f.write_str("always changed"),
            Reason::CmdChanged => f.write_str("cmd changed"),
            Reason::DepChanged { path } => write!(f, "dep changed: {path}"),
            Reason::DepMissing { path } => write!(f, "dep missing: {path}"),
            Reason::DepsChanged => f.write_str("deps changed"),
            Reason::ParamChanged { key, old, new } => {
                write!(f, "param changed: {key} {} → {}", value(old), value(new))
            }
            Reason::OutMissing { path } => write!(f, "out missing: {path}"),
            Reason::OutModified { path } => write!(f, "out modified: {path}"),
            Reason::OutsChanged => f.write_str("outs changed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{parse, source::SourceFile};

    fn stages(pipeline: &str) -> Vec<Stage> {
        let dir = tempfile::tempdir().unwrap();
        fs_err::write(dir.path().join("params.yaml"), "lr: 0.1\n").unwrap();
        let file =
            SourceFile::new("pipeline.yaml", dir.path().join("pipeline.yaml"), pipeline.into());
        parse(dir.path(), &file).unwrap()
    }

    #[test]
    fn a_stage_is_sure_to_run_when_new_or_its_command_or_params_changed() {
        let train = &stages("stages:\n  train:\n    cmd: fit\n    params: [lr]\n")[0];
        let locked = LockEntry {
            cmd: train.cmd.clone(),
            deps: Vec::new(),
            params: params_of(train),
            outs: Vec::new(),
        };
        assert!(sure_to_run(train, None));
        assert!(!sure_to_run(train, Some(&locked)));
        let other_cmd = LockEntry { cmd: vec!["fit --fast".into()], ..locked.clone() };
        assert!(sure_to_run(train, Some(&other_cmd)));
        let mut other_params = locked.clone();
        other_params.params.values_mut().for_each(|p| {
            p.insert("lr".into(), serde_json::json!(0.2));
        });
        assert!(sure_to_run(train, Some(&other_params)));
        let frozen = &stages("stages:\n  train:\n    cmd: fit\n    frozen: true\n")[0];
        assert!(!sure_to_run(frozen, None));
    }

    #[test]
    fn looking_to_run_leaves_folder_outs_unhashed_once_the_stage_runs_anyway() {
        let dir = tempfile::tempdir().unwrap();
        let workspace = Workspace::open(dir.path());
        fs_err::create_dir_all(dir.path().join("model")).unwrap();
        fs_err::write(dir.path().join("model/weights"), "w").unwrap();
        fs_err::write(dir.path().join("report.txt"), "r").unwrap();
        let pipeline =
            "stages:\n  train:\n    cmd: fit\n    params: [lr]\n    outs: [model, report.txt]\n";
        let train = &stages(pipeline)[0];
        let stale = |path: &str, nfiles| LockedPath {
            path: path.into(),
            hash: "0".repeat(64),
            size: 1,
            nfiles,
        };
        let locked = LockEntry {
            cmd: train.cmd.clone(),
            deps: Vec::new(),
            params: params_of(train),
            outs: vec![stale("model", Some(1)), stale("report.txt", None)],
        };
        let inputs = Inputs { deps: Vec::new(), params: params_of(train) };
        let modified = |path: &str| Reason::OutModified { path: path.into() };
        let all =
            reasons(train, Some(&locked), (&inputs, &[]), &workspace, Look::Everywhere).unwrap();
        assert_eq!(all, [modified("model"), modified("report.txt")]);
        assert_eq!(
            reasons(train, Some(&locked), (&inputs, &[]), &workspace, Look::ToRun).unwrap(),
            all
        );
        let mut changed = locked.clone();
        changed.params.values_mut().for_each(|p| {
            p.insert("lr".into(), serde_json::json!(0.2));
        });
        let all =
            reasons(train, Some(&changed), (&inputs, &[]), &workspace, Look::Everywhere).unwrap();
        assert_eq!(all.len(), 3, "{all:?}");
        let to_run =
            reasons(train, Some(&changed), (&inputs, &[]), &workspace, Look::ToRun).unwrap();
        assert!(
            matches!(to_run[..], [Reason::ParamChanged { .. }, Reason::OutModified { ref path }] if path == "report.txt"),
            "{to_run:?}"
        );
    }
}
