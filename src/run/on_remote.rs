//! `repro --pull`: outs that the remote holds are fetched only when something
//! needs them. A stage whose inputs match its lock entry but whose outs the
//! workspace lacks is up to date *on the remote*: its outs stay there, and a
//! stage below it reads their hashes from the lock. Only a stage that must
//! run gets the outs it depends on downloaded and placed, and a restore from
//! the run cache downloads the objects it places.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use crate::lockfile::LockedPath;
use crate::pipeline::{DepPath, RepoPath, Stage};
use crate::remote::Remote;
use crate::remote::transfer;
use crate::workspace::Workspace;

/// The remote a `repro --pull` reads, and the outs it left there.
pub struct OnRemote {
    remote: Remote,
    jobs: usize,
    outs: Mutex<BTreeMap<String, LockedPath>>,
}

impl OnRemote {
    /// Returns the view of `remote`, `jobs` transfers at a time.
    pub fn new(remote: Remote, jobs: usize) -> Self {
        Self { remote, jobs, outs: Mutex::new(BTreeMap::new()) }
    }

    /// Returns the out at `path` when it was left on the remote.
    pub fn lookup(&self, path: &str) -> Option<LockedPath> {
        self.outs.lock().ok()?.get(path).cloned()
    }

    /// Leaves `outs` on the remote when every object they need that the
    /// local cache lacks is there; returns whether it did. A directory's
    /// manifest is fetched (it is small) to know its files.
    pub fn leave(&self, workspace: &Workspace, outs: &[LockedPath]) -> bool {
        let manifests: BTreeSet<String> =
            outs.iter().filter(|o| o.nfiles.is_some()).map(|o| o.hash.clone()).collect();
        let fetched = transfer::fetch_exact(workspace, &self.remote, &manifests, self.jobs);
        if !fetched.is_ok_and(|summary| summary.missing.is_empty()) {
            return false;
        }
        let hashes: BTreeSet<String> = outs.iter().map(|o| o.hash.clone()).collect();
        let wanted: BTreeSet<String> = transfer::with_manifest_files(workspace, &hashes)
            .into_iter()
            .filter(|h| !workspace.cache.contains(h))
            .collect();
        // What the local cache holds whole is cheaper to place than to leave.
        if wanted.is_empty() {
            return false;
        }
        let there = transfer::present(&self.remote, &wanted, self.jobs).unwrap_or_default();
        if there.len() != wanted.len() {
            return false;
        }
        if let Ok(mut left) = self.outs.lock() {
            left.extend(outs.iter().map(|o| (o.path.clone(), o.clone())));
        }
        true
    }

    /// Downloads and places the outs left on the remote that `stage`'s deps
    /// are, contain or lie inside, so that the stage can run.
    pub fn materialize_deps(&self, workspace: &Workspace, stage: &Stage) -> Result<(), String> {
        let needed: Vec<LockedPath> = {
            let Ok(left) = self.outs.lock() else { return Ok(()) };
            left.values()
                .filter(|out| {
                    let out_path = RepoPath::from_normalised(&out.path);
                    stage.deps.iter().any(|dep| match &dep.path {
                        DepPath::Repo(dep) => out_path.is_within(dep) || dep.is_within(&out_path),
                        DepPath::External(_) => false,
                    })
                })
                .cloned()
                .collect()
        };
        for out in &needed {
            self.fetch_outs(workspace, std::slice::from_ref(out))?;
            workspace.checkout(out).map_err(|e| e.to_string())?;
            if let Ok(mut left) = self.outs.lock() {
                left.remove(&out.path);
            }
        }
        Ok(())
    }

    /// Downloads the objects of `outs` that the local cache lacks; returns
    /// why not when it cannot.
    pub fn fetch_outs(&self, workspace: &Workspace, outs: &[LockedPath]) -> Result<(), String> {
        let hashes: BTreeSet<String> = outs.iter().map(|o| o.hash.clone()).collect();
        let summary = transfer::pull(workspace, &self.remote, &hashes, false, self.jobs, &|_| {})
            .map_err(|e| e.to_string())?;
        match summary.missing.first() {
            None => Ok(()),
            Some(hash) => Err(format!(
                "object {} is neither in the cache nor on remote `{}`",
                crate::hash::short(hash),
                self.remote.name
            )),
        }
    }
}
