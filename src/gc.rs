//! Garbage collection: removing objects and run-cache entries that nothing
//! needs. The current lock's outs are always kept; `keep_runs` first drops all
//! but the newest N run-cache entries per stage.

use std::collections::{BTreeMap, BTreeSet};

use crate::hash::Manifest;
use crate::lockfile::{LockFile, LockedPath};
use crate::runcache::RunCache;
use crate::workspace::Workspace;

/// What a collection removed (or would remove).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Objects removed.
    pub objects: Vec<String>,
    /// Bytes freed.
    pub bytes: u64,
    /// Run-cache entries removed.
    pub runs: usize,
    /// Temporary files left by processes that no longer run.
    pub leftovers: Vec<std::path::PathBuf>,
}

/// Removes what neither the locks (the workspace's, and each experiment's)
/// nor a kept run needs; nothing when `dry_run`.
pub fn collect(
    workspace: &Workspace,
    locks: &[LockFile],
    keep_runs: Option<usize>,
    dry_run: bool,
) -> std::io::Result<GcReport> {
    let runs = RunCache::new(&workspace.dot_cache);
    let mut report = GcReport::default();
    let mut per_stage: BTreeMap<String, Vec<(u128, String)>> = BTreeMap::new();
    let all_runs = runs.all();
    for (key, run) in &all_runs {
        per_stage.entry(run.stage.clone()).or_default().push((run.created, key.clone()));
    }
    let mut dropped = BTreeSet::new();
    if let Some(keep) = keep_runs {
        for list in per_stage.values_mut() {
            list.sort_by(|a, b| b.cmp(a));
            dropped.extend(list.iter().skip(keep).map(|(_, key)| key.clone()));
        }
    }
    let mut needed = BTreeSet::new();
    for entry in locks.iter().flat_map(|lock| lock.stages.values()) {
        for out in &entry.outs {
            add_objects(workspace, out, &mut needed)?;
        }
    }
    for (key, run) in &all_runs {
        if !dropped.contains(key) {
            for out in &run.outs {
                add_objects(workspace, out, &mut needed)?;
            }
        }
    }
    for key in &dropped {
        report.runs += 1;
        if !dry_run {
            runs.remove(key)?;
        }
    }
    let mut folders = crate::integrity::lock_holder_folders(workspace);
    folders.extend(workspace.cache.folders());
    report.leftovers = crate::integrity::leftovers(workspace, &folders);
    report.leftovers.sort();
    if !dry_run
        && let Some(error) = crate::integrity::remove_all(&report.leftovers).into_iter().next()
    {
        return Err(error);
    }
    for hash in workspace.cache.hashes()? {
        if needed.contains(&hash) {
            continue;
        }
        report.bytes += fs_err::metadata(workspace.cache.object_path(&hash)).map_or(0, |m| m.len());
        if !dry_run {
            workspace.cache.remove(&hash)?;
        }
        report.objects.push(hash);
    }
    Ok(report)
}

/// Adds the objects an out needs: its file, or its manifest and every file in it.
/// A damaged manifest does not say which file objects it needs: it is parsed
/// as it is when it still parses, and otherwise nothing is collected.
fn add_objects(
    workspace: &Workspace,
    out: &LockedPath,
    needed: &mut BTreeSet<String>,
) -> std::io::Result<()> {
    needed.insert(out.hash.clone());
    if out.nfiles.is_none() {
        return Ok(());
    }
    let bytes = match workspace.cache.read(&out.hash) {
        Ok(bytes) => bytes,
        Err(crate::cache::ObjectError::Missing { .. }) => return Ok(()),
        Err(_) => workspace.cache.read_unchecked(&out.hash).unwrap_or_default(),
    };
    match Manifest::from_bytes(&bytes) {
        Some(manifest) => {
            needed.extend(manifest.files.into_iter().map(|f| f.hash));
            Ok(())
        }
        None => Err(std::io::Error::other(format!(
            "the manifest of `{}` is corrupted, so it is not known which objects it needs: \
             nothing was removed; run `pipit cache verify --repair` or `pipit repro` first",
            out.path
        ))),
    }
}
