//! The stat cache (`.cache/state`): (path, inode, size, mtime) → hash, so that an
//! unchanged file is never read twice.
//!
//! A file whose mtime is within two seconds of the moment it was hashed may still
//! be being written (or be rewritten with the same size in the same second): it
//! is not remembered, and is hashed again next time, unless pipit itself has
//! just copied it into the cache, hashing what it copied, and found the file
//! unchanged meanwhile (a stage's out, which the next stage reads as a dep):
//! [`StatCache::learn`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::fsutil::write_atomic;
use crate::hash::hash_file;
use crate::platform::{inode, is_executable};

/// How close to "now" an mtime must be for the file to count as unstable.
const UNSTABLE_NANOS: i128 = 2_000_000_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    inode: u64,
    size: u64,
    mtime: i128,
    hash: String,
}

/// What the stat cache knows of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// BLAKE3 hex of the contents.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether the owner may execute it.
    pub exec: bool,
}

/// The stat cache of one repository.
#[derive(Debug)]
pub struct StatCache {
    path: PathBuf,
    entries: Mutex<HashMap<PathBuf, Entry>>,
    dirty: Mutex<bool>,
}

/// What tells one state of a file from another: (inode, size, mtime).
pub fn stat_key(metadata: &std::fs::Metadata) -> std::io::Result<(u64, u64, i128)> {
    Ok((inode(metadata), metadata.len(), nanos(metadata.modified()?)))
}

fn nanos(time: SystemTime) -> i128 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

impl StatCache {
    /// Loads the stat cache stored at `path` (empty when missing or unreadable).
    pub fn load(path: &Path) -> Self {
        let entries = fs_err::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Vec<(PathBuf, Entry)>>(&bytes).ok())
            .map(|list| list.into_iter().collect())
            .unwrap_or_default();
        Self { path: path.to_path_buf(), entries: Mutex::new(entries), dirty: Mutex::new(false) }
    }

    /// Returns the hash, size and executable bit of the file at `path`, reading
    /// it only when its inode, size or mtime changed since it was last hashed.
    pub fn file(&self, path: &Path) -> std::io::Result<FileInfo> {
        let metadata = fs_err::metadata(path)?;
        let mtime = nanos(metadata.modified()?);
        let (inode, size, exec) = (inode(&metadata), metadata.len(), is_executable(&metadata));
        let known = self.entries.lock().ok().and_then(|entries| entries.get(path).cloned());
        if let Some(entry) = known
            && (entry.inode, entry.size, entry.mtime) == (inode, size, mtime)
        {
            return Ok(FileInfo { hash: entry.hash, size, exec });
        }
        let (hash, size) = hash_file(path)?;
        if nanos(SystemTime::now()) - mtime > UNSTABLE_NANOS {
            self.remember(path.to_path_buf(), Entry { inode, size, mtime, hash: hash.clone() });
        }
        Ok(FileInfo { hash, size, exec })
    }

    /// The hash of `path` if it is known for the state `metadata` describes.
    pub fn known(&self, path: &Path, metadata: &std::fs::Metadata) -> Option<String> {
        let (inode, size, mtime) = stat_key(metadata).ok()?;
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(path)?;
        ((entry.inode, entry.size, entry.mtime) == (inode, size, mtime)).then(|| entry.hash.clone())
    }

    /// Remembers that `path`, in the state `metadata` describes, has `hash`,
    /// however recently it was written: pipit hashed the bytes it copied
    /// from it into the cache and found it in that same state afterwards.
    pub fn learn(&self, path: &Path, metadata: &std::fs::Metadata, hash: &str) {
        if let Ok((inode, size, mtime)) = stat_key(metadata) {
            self.remember(path.to_path_buf(), Entry { inode, size, mtime, hash: hash.to_owned() });
        }
    }

    fn remember(&self, path: PathBuf, entry: Entry) {
        if let (Ok(mut entries), Ok(mut dirty)) = (self.entries.lock(), self.dirty.lock()) {
            entries.insert(path, entry);
            *dirty = true;
        }
    }

    /// Writes the stat cache back if it learnt anything.
    pub fn save(&self) -> std::io::Result<()> {
        let dirty = self.dirty.lock().map(|d| *d).unwrap_or(false);
        if !dirty {
            return Ok(());
        }
        let list: Vec<(PathBuf, Entry)> = match self.entries.lock() {
            Ok(entries) => entries
                .iter()
                .filter(|(p, _)| p.exists())
                .map(|(p, e)| (p.clone(), e.clone()))
                .collect(),
            Err(_) => return Ok(()),
        };
        write_atomic(&self.path, &serde_json::to_vec(&list).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_stable_files_and_notices_changes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.csv");
        fs_err::write(&file, "a,b\n").unwrap();
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        fs_err::File::options().write(true).open(&file).unwrap().set_modified(old).unwrap();
        let cache = StatCache::load(&dir.path().join("state"));
        let first = cache.file(&file).unwrap();
        assert_eq!(first.hash, blake3::hash(b"a,b\n").to_hex().to_string());
        cache.save().unwrap();
        let reloaded = StatCache::load(&dir.path().join("state"));
        assert_eq!(reloaded.entries.lock().unwrap().len(), 1);
        fs_err::write(&file, "a,c\n").unwrap();
        assert_eq!(reloaded.file(&file).unwrap().hash, blake3::hash(b"a,c\n").to_hex().to_string());
    }

    #[test]
    fn a_file_written_just_now_is_not_trusted_unless_learnt() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fresh");
        fs_err::write(&file, "x").unwrap();
        let cache = StatCache::load(&dir.path().join("state"));
        cache.file(&file).unwrap();
        assert!(cache.entries.lock().unwrap().is_empty());
        let metadata = fs_err::metadata(&file).unwrap();
        cache.learn(&file, &metadata, "learnt");
        assert_eq!(cache.known(&file, &metadata).as_deref(), Some("learnt"));
        assert_eq!(cache.file(&file).unwrap().hash, "learnt");
        // Changed since: hashed again.
        fs_err::write(&file, "yz").unwrap();
        assert_eq!(cache.known(&file, &fs_err::metadata(&file).unwrap()), None);
        assert_eq!(cache.file(&file).unwrap().hash, blake3::hash(b"yz").to_hex().to_string());
    }
}
