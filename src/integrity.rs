//! `cache verify`: re-hashing every object, finding the objects that the lock
//! or a run-cache entry needs but the cache lacks, and the temporary files a
//! killed pipit left; and repairing what can be repaired (bad objects removed,
//! missing ones stored again from intact workspace files, useless run-cache
//! entries and stale temporary files removed).
//!
//! Never prints: the CLI renders the [`Report`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use rayon::prelude::*;

use crate::cache::ObjectError;
use crate::fsutil::{is_stale_temporary, temporary_owner};
use crate::lockfile::{LockFile, LockedPath};
use crate::runcache::RunCache;
use crate::workspace::Workspace;

/// One thing wrong with the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The object's bytes hash to something else.
    Corrupted { hash: String, actual: String },
    /// A folder (or another non-file) sits where the object should be.
    NotAFile { hash: String },
    /// The object cannot be read.
    Unreadable { hash: String, error: String },
    /// An object that something needs is absent.
    Missing { hash: String, needed_by: Vec<String> },
    /// A temporary file left by a process that no longer runs.
    Leftover { path: PathBuf, pid: u32 },
}

/// What was done about a problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Repair {
    /// A bad object was removed.
    Removed { hash: String },
    /// A missing object was stored again from a workspace file.
    Restored { hash: String, from: String },
    /// A run-cache entry whose objects are gone was forgotten.
    ForgotRun { stage: String },
    /// A leftover temporary file was deleted.
    DeletedTemporary { path: PathBuf },
}

/// The outcome of a verification.
#[derive(Debug, Default)]
pub struct Report {
    /// How many objects were hashed.
    pub checked: usize,
    /// Everything found wrong.
    pub problems: Vec<Problem>,
    /// What `--repair` did.
    pub repairs: Vec<Repair>,
    /// Objects still missing afterwards, with what needs them.
    pub still_missing: Vec<(String, Vec<String>)>,
}

/// Who needs each object: the lock's outs and every run-cache entry's.
struct Needs {
    by_hash: BTreeMap<String, Vec<String>>,
    /// For each object, a workspace file that should hold its bytes.
    sources: BTreeMap<String, String>,
    /// Each run-cache entry's objects.
    runs: Vec<(String, String, BTreeSet<String>)>,
    /// The objects the lock needs.
    in_lock: BTreeSet<String>,
}

impl Needs {
    fn collect(workspace: &Workspace, lock: &LockFile) -> Self {
        let mut needs = Self {
            by_hash: BTreeMap::new(),
            sources: BTreeMap::new(),
            runs: Vec::new(),
            in_lock: BTreeSet::new(),
        };
        for (stage, entry) in &lock.stages {
            for out in &entry.outs {
                let who = format!("`{}` of stage `{stage}`", out.path);
                needs.add_out(workspace, out, &who, true);
            }
        }
        for (key, run) in RunCache::new(&workspace.dot_cache).all() {
            let who = format!("a run-cache entry of stage `{}`", run.stage);
            let mut objects = BTreeSet::new();
            for out in &run.outs {
                objects.extend(needs.add_out(workspace, out, &who, false));
            }
            needs.runs.push((key, run.stage, objects));
        }
        needs
    }

    /// Records the objects of `out` (its manifest's files too) and returns them.
    fn add_out(
        &mut self,
        workspace: &Workspace,
        out: &LockedPath,
        who: &str,
        in_lock: bool,
    ) -> Vec<String> {
        let mut objects = vec![(out.hash.clone(), out.path.clone())];
        if out.nfiles.is_some()
            && let Some(manifest) = workspace.cache.manifest(&out.hash)
        {
            objects.extend(
                manifest.files.into_iter().map(|f| (f.hash, format!("{}/{}", out.path, f.path))),
            );
        }
        for (hash, path) in &objects {
            let list = self.by_hash.entry(hash.clone()).or_default();
            if !list.iter().any(|w| w == who) {
                list.push(who.to_owned());
            }
            if in_lock {
                self.in_lock.insert(hash.clone());
                if crate::containment::check_relative(path).is_ok() {
                    self.sources.entry(hash.clone()).or_insert_with(|| path.clone());
                }
            }
        }
        objects.into_iter().map(|(hash, _)| hash).collect()
    }
}

/// Verifies the cache of `workspace` against `lock`; repairs when `repair`.
pub fn verify(workspace: &Workspace, lock: &LockFile, repair: bool) -> std::io::Result<Report> {
    let cache = &workspace.cache;
    let mut report = Report::default();
    let hashes = cache.hashes()?;
    report.checked = hashes.len();
    let mut bad: Vec<Problem> = hashes
        .par_iter()
        .filter_map(|hash| match cache.check(hash) {
            Ok(()) => None,
            Err(ObjectError::Corrupted { hash, actual }) => {
                Some(Problem::Corrupted { hash, actual })
            }
            Err(ObjectError::NotAFile { hash }) => Some(Problem::NotAFile { hash }),
            Err(ObjectError::Missing { .. }) => None,
            Err(error) => {
                Some(Problem::Unreadable { hash: hash.clone(), error: error.to_string() })
            }
        })
        .collect();
    bad.sort_by(|a, b| problem_hash(a).cmp(&problem_hash(b)));
    let present: BTreeSet<&String> = hashes.iter().collect();
    let needs = Needs::collect(workspace, lock);
    let mut absent: BTreeSet<String> = BTreeSet::new();
    for (hash, who) in &needs.by_hash {
        if !present.contains(hash) {
            absent.insert(hash.clone());
            report.problems.push(Problem::Missing { hash: hash.clone(), needed_by: who.clone() });
        }
    }
    let mut folders = lock_holder_folders(workspace);
    folders.extend(cache.folders());
    let mut paths = leftovers(workspace, &folders);
    paths.sort();
    let mut leftovers = Vec::new();
    for path in paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if let (true, Some(pid)) = (is_stale_temporary(&name), temporary_owner(&name)) {
            leftovers.push(Problem::Leftover { path, pid });
        }
    }
    if repair {
        let removable = bad.iter().filter(|p| !matches!(p, Problem::Unreadable { .. }));
        for problem in removable.chain(&leftovers) {
            report.repairs.push(remove_bad(workspace, problem)?);
            if let Some(hash) = problem_hash(problem)
                && needs.by_hash.contains_key(hash)
            {
                absent.insert(hash.to_owned());
            }
        }
        restore_missing(workspace, &needs, &mut absent, &mut report)?;
        forget_broken_runs(workspace, &needs, &absent, &mut report)?;
    }
    report.still_missing = absent
        .into_iter()
        .map(|hash| {
            let who = needs.by_hash.get(&hash).cloned().unwrap_or_default();
            (hash, who)
        })
        .filter(|(hash, _)| !repair || needs.in_lock.contains(hash))
        .collect();
    report.problems.splice(0..0, bad);
    report.problems.extend(leftovers);
    Ok(report)
}

fn problem_hash(problem: &Problem) -> Option<&str> {
    match problem {
        Problem::Corrupted { hash, .. }
        | Problem::NotAFile { hash }
        | Problem::Unreadable { hash, .. }
        | Problem::Missing { hash, .. } => Some(hash),
        Problem::Leftover { .. } => None,
    }
}

fn remove_bad(workspace: &Workspace, problem: &Problem) -> std::io::Result<Repair> {
    match problem {
        Problem::Leftover { path, .. } => {
            crate::cache::remove_path(path)?;
            Ok(Repair::DeletedTemporary { path: path.clone() })
        }
        _ => {
            let hash = problem_hash(problem).unwrap_or_default().to_owned();
            workspace.cache.remove(&hash)?;
            Ok(Repair::Removed { hash })
        }
    }
}

/// Stores missing objects again from workspace files that hold their bytes
/// (hashed afresh, not through the stat cache).
fn restore_missing(
    workspace: &Workspace,
    needs: &Needs,
    absent: &mut BTreeSet<String>,
    report: &mut Report,
) -> std::io::Result<()> {
    for hash in absent.clone() {
        let Some(relative) = needs.sources.get(&hash) else {
            continue;
        };
        let path = workspace.root.join(relative);
        let restored = if path.is_dir() {
            // A folder that cannot be read whole (a broken link) restores nothing.
            workspace.manifest(&path).is_ok_and(|manifest| {
                manifest.hash() == hash
                    && workspace.cache.store_bytes(&manifest.to_bytes(), &hash).is_ok()
            })
        } else {
            // Storing hashes the copy: a file with other bytes is refused.
            path.is_file() && workspace.cache.store_file(&path, &hash).is_ok()
        };
        if restored {
            absent.remove(&hash);
            report.repairs.push(Repair::Restored { hash, from: relative.clone() });
        }
    }
    Ok(())
}

/// Forgets the run-cache entries that can no longer be restored.
fn forget_broken_runs(
    workspace: &Workspace,
    needs: &Needs,
    absent: &BTreeSet<String>,
    report: &mut Report,
) -> std::io::Result<()> {
    let runs = RunCache::new(&workspace.dot_cache);
    for (key, stage, objects) in &needs.runs {
        if objects.iter().any(|hash| absent.contains(hash)) {
            runs.remove(key)?;
            report.repairs.push(Repair::ForgotRun { stage: stage.clone() });
        }
    }
    Ok(())
}

/// Returns the temporary files left by processes that no longer run (a kill
/// -9, a full disk) in the object store's temporary folder, in `.cache/`, and
/// in `folders` (the repository root and the outs' folders, where the lock,
/// `.gitignore` and placed outs are written, and `.cache/runs`).
pub fn leftovers(workspace: &Workspace, folders: &[PathBuf]) -> Vec<PathBuf> {
    let mut all = vec![workspace.cache.temporary_dir().to_path_buf(), workspace.dot_cache.clone()];
    all.extend(folders.iter().cloned());
    all.sort();
    all.dedup();
    all.iter().flat_map(|folder| crate::fsutil::stale_temporaries(folder)).collect()
}

/// Returns the folders where only a process that held the repository lock
/// writes temporary files: worth sweeping when one died holding it.
pub fn lock_holder_folders(workspace: &Workspace) -> Vec<PathBuf> {
    vec![workspace.root.clone(), workspace.dot_cache.join("runs")]
}

/// Deletes `paths` (leftover temporary files), each that can be; returns
/// why the others could not.
pub fn remove_all(paths: &[PathBuf]) -> Vec<std::io::Error> {
    paths.iter().filter_map(|path| crate::cache::remove_path(path).err()).collect()
}
