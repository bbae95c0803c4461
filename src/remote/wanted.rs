//! What a push or a pull of some stages moves: the outs the lock records for
//! them (`cache: false` ones too, small files such as metrics, so that a
//! run-cache entry can be restored elsewhere), and the run-cache entries of
//! their current runs.

use std::collections::{BTreeMap, BTreeSet};

use crate::lockfile::LockFile;
use crate::pipeline::Pipeline;
use crate::runcache::RunCache;
use crate::workspace::Workspace;

/// The objects and run-cache entries of some stages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// Each out's object (a file's, or a directory's manifest).
    pub objects: BTreeSet<String>,
    /// Which out each object is, for messages.
    pub names: BTreeMap<String, String>,
    /// The run-cache entries whose outs are exactly the lock's.
    pub runs: Vec<String>,
}

/// Returns what the `selected` stages' cached outs and current runs are.
pub fn wanted(
    pipeline: &Pipeline,
    selected: &BTreeSet<usize>,
    lock: &LockFile,
    workspace: &Workspace,
) -> Wanted {
    let mut wanted = Wanted::default();
    let mut current: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for &index in selected {
        let stage = &pipeline.stages[index];
        let Some(entry) = lock.stages.get(&stage.name) else {
            continue;
        };
        let declared: BTreeSet<String> = stage.outs.iter().map(|o| o.path.to_string()).collect();
        for out in entry.outs.iter().filter(|o| declared.contains(&o.path)) {
            wanted.objects.insert(out.hash.clone());
            wanted.names.entry(out.hash.clone()).or_insert_with(|| out.path.clone());
        }
        current.insert(&stage.name, entry.outs.iter().map(|o| o.hash.as_str()).collect());
    }
    for (key, run) in RunCache::new(&workspace.dot_cache).all() {
        let hashes: BTreeSet<&str> = run.outs.iter().map(|o| o.hash.as_str()).collect();
        if current.get(run.stage.as_str()).is_some_and(|locked| *locked == hashes) {
            wanted.runs.push(key);
        }
    }
    wanted
}
