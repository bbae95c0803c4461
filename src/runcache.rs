//! The run cache (`.cache/runs/`): a stage's input fingerprint (cmd, dep hashes,
//! param values, out paths) → the outs it produced, so that inputs seen before
//! restore their outs instead of running again. When a stage is not
//! deterministic, the newest run wins.
//!
//! As in DVC, a stage that is `always_changed` or has a `persist` out is
//! never remembered nor restored: its outs depend on more than its inputs.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_replacing;
use crate::hash::hash_bytes;
use crate::lockfile::LockedPath;
use crate::pipeline::Stage;
use crate::status::Inputs;

/// The run cache of one repository.
#[derive(Clone, Debug)]
pub struct RunCache {
    dir: PathBuf,
}

/// One remembered run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The stage that ran.
    pub stage: String,
    /// When, in nanoseconds since the Unix epoch (orders runs for `gc`).
    pub created: u128,
    /// What it produced.
    pub outs: Vec<LockedPath>,
}

/// Returns true when runs of `stage` may be remembered and restored.
pub fn applies_to(stage: &Stage) -> bool {
    !stage.always_changed && !stage.outs.iter().any(|o| o.persist)
}

/// Returns the fingerprint of running `stage` on `inputs`.
pub fn key(stage: &Stage, inputs: &Inputs) -> String {
    let mut outs: Vec<&str> = stage.outs.iter().map(|o| o.path.as_str()).collect();
    outs.sort_unstable();
    let deps: Vec<(&str, &str)> =
        inputs.deps.iter().map(|d| (d.path.as_str(), d.hash.as_str())).collect();
    let fingerprint = serde_json::json!({
        "cmd": stage.cmd,
        "deps": deps,
        "params": inputs.params,
        "outs": outs,
    });
    hash_bytes(fingerprint.to_string().as_bytes())
}

impl RunCache {
    /// Returns the run cache under `dot_cache/runs`.
    pub fn new(dot_cache: &Path) -> Self {
        Self { dir: dot_cache.join("runs") }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// Returns where the entry `key` is stored.
    pub fn path_of(&self, key: &str) -> PathBuf {
        self.path(key)
    }

    /// Keeps an entry that arrived from elsewhere (a remote), if it is a run
    /// record whose hashes are hashes and whose paths are plain relative
    /// paths; returns whether it was kept.
    pub fn adopt(&self, key: &str, bytes: &[u8]) -> std::io::Result<bool> {
        let Ok(record) = serde_json::from_slice::<RunRecord>(bytes) else {
            return Ok(false);
        };
        let safe = crate::hash::is_hash(key)
            && record.outs.iter().all(|o| crate::containment::check_relative(&o.path).is_ok());
        if safe {
            write_replacing(&self.path(key), bytes)?;
        }
        Ok(safe)
    }

    /// Returns the run remembered for `key`.
    pub fn get(&self, key: &str) -> Option<RunRecord> {
        serde_json::from_slice(&fs_err::read(self.path(key)).ok()?).ok()
    }

    /// Remembers a run of `stage` that produced `outs`.
    pub fn put(&self, key: &str, stage: &str, outs: Vec<LockedPath>) -> std::io::Result<()> {
        let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let record = RunRecord { stage: stage.into(), created, outs };
        // A cache: an entry lost or emptied by a power cut is a miss.
        write_replacing(&self.path(key), &serde_json::to_vec_pretty(&record).unwrap_or_default())
    }

    /// True when no run is remembered.
    pub fn is_empty(&self) -> bool {
        fs_err::read_dir(&self.dir).map_or(true, |mut entries| entries.next().is_none())
    }

    /// Returns every remembered run with its key.
    pub fn all(&self) -> Vec<(String, RunRecord)> {
        let Ok(entries) = fs_err::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut runs: Vec<(String, RunRecord)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let key = name.strip_suffix(".json")?.to_owned();
                Some((key.clone(), self.get(&key)?))
            })
            .collect();
        runs.sort_by(|a, b| a.0.cmp(&b.0));
        runs
    }

    /// Forgets a run.
    pub fn remove(&self, key: &str) -> std::io::Result<()> {
        fs_err::remove_file(self.path(key))
    }
}
