//! Data that no stage produces, tracked by `pipit add`: the data lives in the
//! cache (and on the remote), and a small record beside it, `PATH.pipit`,
//! which git versions, says which bytes it is:
//!
//! ```yaml
//! path: raw.csv
//! hash: 9f86d081…
//! size: 1048576
//! ```
//!
//! (`nfiles` too for a folder). `path` is the data's name in the record's
//! folder. A stage that depends on PATH sees it as an ordinary dep; `push`,
//! `pull` and `checkout` carry it.

use std::path::{Path, PathBuf};

use crate::lockfile::LockedPath;
use crate::pipeline::{DepPath, Pipeline};

/// The ending of a record's name.
pub const SUFFIX: &str = ".pipit";

/// A record that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TrackedError {
    /// Not a valid record.
    #[error("`{record}` is not a valid `pipit add` record: {reason}")]
    Invalid { record: String, reason: String },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    path: String,
    #[serde(deserialize_with = "crate::hash::deserialize_hash")]
    hash: String,
    size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nfiles: Option<u64>,
}

/// Returns where the record of `relative` (a repository path) lives.
pub fn record_path(root: &Path, relative: &str) -> PathBuf {
    root.join(format!("{relative}{SUFFIX}"))
}

/// Reads the record of the data at `relative`; `None` when there is none.
pub fn read(root: &Path, relative: &str) -> Result<Option<LockedPath>, TrackedError> {
    let record = record_path(root, relative);
    let shown = format!("{relative}{SUFFIX}");
    let text = match fs_err::read_to_string(&record) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let parsed: Record = serde_saphyr::from_str(&text).map_err(|e| TrackedError::Invalid {
        record: shown.clone(),
        reason: e.without_snippet().to_string(),
    })?;
    let name = Path::new(relative).file_name().map(|n| n.to_string_lossy().into_owned());
    if name.as_deref() != Some(parsed.path.as_str()) {
        let reason = format!("it names `{}`, not `{}`", parsed.path, name.unwrap_or_default());
        return Err(TrackedError::Invalid { record: shown, reason });
    }
    Ok(Some(LockedPath {
        path: relative.to_owned(),
        hash: parsed.hash,
        size: parsed.size,
        nfiles: parsed.nfiles,
    }))
}

/// Writes the record of `locked` (whose path is a repository path).
pub fn write(root: &Path, locked: &LockedPath) -> std::io::Result<()> {
    let name = Path::new(&locked.path).file_name().map(|n| n.to_string_lossy().into_owned());
    let record = Record {
        path: name.unwrap_or_default(),
        hash: locked.hash.clone(),
        size: locked.size,
        nfiles: locked.nfiles,
    };
    let text = serde_saphyr::to_string(&record).unwrap_or_default();
    let header = "# pipit add: the data lives in the cache and on the remote; commit this file\n";
    crate::fsutil::write_atomic(
        &record_path(root, &locked.path),
        (header.to_owned() + &text).as_bytes(),
    )
}

/// Returns the records of the deps that no stage produces, for the stages
/// whose indexes `selected` gives (every stage when `None`).
pub fn of_deps(
    pipeline: &Pipeline,
    selected: Option<&std::collections::BTreeSet<usize>>,
) -> Result<Vec<LockedPath>, TrackedError> {
    let produced: std::collections::HashSet<&str> =
        pipeline.stages.iter().flat_map(|s| s.outs.iter().map(|o| o.path.as_str())).collect();
    let mut seen = std::collections::HashSet::new();
    let mut records = Vec::new();
    for (index, stage) in pipeline.stages.iter().enumerate() {
        if selected.is_some_and(|chosen| !chosen.contains(&index)) {
            continue;
        }
        for dep in &stage.deps {
            if let DepPath::Repo(path) = &dep.path
                && !produced.contains(path.as_str())
                && seen.insert(path.as_str())
                && let Some(record) = read(&pipeline.root, path.as_str())?
            {
                records.push(record);
            }
        }
    }
    Ok(records)
}

/// Returns every record in the repository: a walk that skips `.git`,
/// `.cache` and the tracked folders themselves.
pub fn all(root: &Path) -> Result<Vec<LockedPath>, TrackedError> {
    let mut records = Vec::new();
    let mut walk = walkdir::WalkDir::new(root).sort_by_file_name().into_iter();
    while let Some(entry) = walk.next() {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_dir()
            && (name == ".git"
                || name == crate::workspace::DOT_CACHE
                || entry.path().with_file_name(format!("{name}{SUFFIX}")).is_file())
        {
            walk.skip_current_dir();
            continue;
        }
        let Some(data) = name.strip_suffix(SUFFIX).filter(|_| entry.file_type().is_file()) else {
            continue;
        };
        let Ok(relative) =
            entry.path().with_file_name(data).strip_prefix(root).map(Path::to_path_buf)
        else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        if let Some(record) = read(root, &relative)? {
            records.push(record);
        }
    }
    Ok(records)
}
