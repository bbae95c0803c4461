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
    /// Looked at in this run (so the file exists): not checked on saving.
    #[serde(skip)]
    seen: bool,
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
            .and_then(|bytes| match bytes.strip_prefix(MAGIC) {
                Some(binary) => decode(binary),
                // Written by an earlier pipit: read once, then kept in binary.
                None => serde_json::from_slice::<Vec<(PathBuf, Entry)>>(&bytes).ok(),
            })
            .map(|list| list.into_iter().collect())
            .unwrap_or_default();
        Self { path: path.to_path_buf(), entries: Mutex::new(entries), dirty: Mutex::new(false) }
    }

    /// Returns the hash, size and executable bit of the file at `path`, reading
    /// it only when its inode, size or mtime changed since it was last hashed.
    pub fn file(&self, path: &Path) -> std::io::Result<FileInfo> {
        self.file_with(path, &fs_err::metadata(path)?)
    }

    /// As [`StatCache::file`], with the file's metadata already at hand.
    pub fn file_with(
        &self,
        path: &Path,
        metadata: &std::fs::Metadata,
    ) -> std::io::Result<FileInfo> {
        let (inode, size, mtime) = stat_key(metadata)?;
        let exec = is_executable(metadata);
        if let Some(hash) = self.lookup(path, (inode, size, mtime)) {
            return Ok(FileInfo { hash, size, exec });
        }
        let (hash, size) = hash_file(path)?;
        if nanos(SystemTime::now()) - mtime > UNSTABLE_NANOS {
            self.remember(
                path.to_path_buf(),
                Entry { inode, size, mtime, hash: hash.clone(), seen: true },
            );
        }
        Ok(FileInfo { hash, size, exec })
    }

    /// The hash of `path` if it is known for the state `metadata` describes.
    pub fn known(&self, path: &Path, metadata: &std::fs::Metadata) -> Option<String> {
        self.lookup(path, stat_key(metadata).ok()?)
    }

    /// The hash remembered for `path` in the state `key` (inode, size,
    /// mtime) describes.
    fn lookup(&self, path: &Path, key: (u64, u64, i128)) -> Option<String> {
        let mut entries = self.entries.lock().ok()?;
        let entry = entries.get_mut(path)?;
        entry.seen = true;
        ((entry.inode, entry.size, entry.mtime) == key).then(|| entry.hash.clone())
    }

    /// Remembers that `path`, in the state `metadata` describes, has `hash`,
    /// however recently it was written: pipit hashed the bytes it copied
    /// from it into the cache and found it in that same state afterwards.
    pub fn learn(&self, path: &Path, metadata: &std::fs::Metadata, hash: &str) {
        if let Ok((inode, size, mtime)) = stat_key(metadata) {
            self.remember(
                path.to_path_buf(),
                Entry { inode, size, mtime, hash: hash.to_owned(), seen: true },
            );
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
        let bytes = match self.entries.lock() {
            // Files looked at in this run exist; the others are checked.
            Ok(entries) => encode(entries.iter().filter(|(p, e)| e.seen || p.exists())),
            Err(_) => return Ok(()),
        };
        write_atomic(&self.path, &bytes)
    }
}

/// How the stat cache's file starts; then, for each file, its path's length
/// (u32) and UTF-8 bytes, inode and size (u64), mtime in nanoseconds (i128),
/// all little-endian, and the 32 bytes of its hash.
const MAGIC: &[u8] = b"pipit-state 1\n";

fn encode<'a>(entries: impl Iterator<Item = (&'a PathBuf, &'a Entry)>) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    for (path, entry) in entries {
        let (Some(path), Some(hash)) = (path.to_str(), hex_bytes(&entry.hash)) else {
            continue;
        };
        let Ok(length) = u32::try_from(path.len()) else { continue };
        bytes.extend_from_slice(&length.to_le_bytes());
        bytes.extend_from_slice(path.as_bytes());
        bytes.extend_from_slice(&entry.inode.to_le_bytes());
        bytes.extend_from_slice(&entry.size.to_le_bytes());
        bytes.extend_from_slice(&entry.mtime.to_le_bytes());
        bytes.extend_from_slice(&hash);
    }
    bytes
}

/// Reads what [`encode`] wrote; `None` when it is cut short or garbled.
fn decode(mut bytes: &[u8]) -> Option<Vec<(PathBuf, Entry)>> {
    fn take<'b>(bytes: &mut &'b [u8], n: usize) -> Option<&'b [u8]> {
        let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = rest;
        Some(head)
    }
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let length = u32::from_le_bytes(take(&mut bytes, 4)?.try_into().ok()?) as usize;
        let path = std::str::from_utf8(take(&mut bytes, length)?).ok()?;
        let inode = u64::from_le_bytes(take(&mut bytes, 8)?.try_into().ok()?);
        let size = u64::from_le_bytes(take(&mut bytes, 8)?.try_into().ok()?);
        let mtime = i128::from_le_bytes(take(&mut bytes, 16)?.try_into().ok()?);
        let hash = blake3::Hash::from_bytes(take(&mut bytes, 32)?.try_into().ok()?);
        let entry = Entry { inode, size, mtime, hash: hash.to_hex().to_string(), seen: false };
        entries.push((PathBuf::from(path), entry));
    }
    Some(entries)
}

/// The 32 bytes a BLAKE3 hex string spells.
fn hex_bytes(hex: &str) -> Option<[u8; 32]> {
    blake3::Hash::from_hex(hex).ok().map(|hash| *hash.as_bytes())
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
    fn the_binary_file_reads_back_and_a_json_one_from_before_is_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let (state, file) = (dir.path().join("state"), dir.path().join("é data.csv"));
        fs_err::write(&file, "a,b\n").unwrap();
        let cache = StatCache::load(&state);
        let metadata = fs_err::metadata(&file).unwrap();
        let hash = blake3::hash(b"a,b\n").to_hex().to_string();
        cache.learn(&file, &metadata, &hash);
        cache.save().unwrap();
        assert!(fs_err::read(&state).unwrap().starts_with(MAGIC));
        let reloaded = StatCache::load(&state);
        assert_eq!(reloaded.known(&file, &metadata), Some(hash.clone()));
        // A file gone since is dropped when saving.
        let gone = dir.path().join("gone");
        fs_err::write(&gone, "x").unwrap();
        let gone_metadata = fs_err::metadata(&gone).unwrap();
        reloaded.learn(&gone, &gone_metadata, &hash);
        reloaded.save().unwrap();
        fs_err::remove_file(&gone).unwrap();
        let again = StatCache::load(&state);
        assert_eq!(again.entries.lock().unwrap().len(), 2);
        again.learn(&file, &metadata, &hash);
        again.save().unwrap();
        assert_eq!(StatCache::load(&state).entries.lock().unwrap().len(), 1);
        // What an earlier pipit wrote.
        let (inode, size, mtime) = stat_key(&metadata).unwrap();
        let json = serde_json::json!([[file, {"inode": inode, "size": size, "mtime": mtime, "hash": hash}]]);
        fs_err::write(&state, serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(StatCache::load(&state).known(&file, &metadata), Some(hash));
        // A file cut short is an empty cache, not an error.
        let bytes = encode(std::iter::once((
            &file,
            &Entry {
                inode,
                size,
                mtime,
                hash: blake3::hash(b"").to_hex().to_string(),
                seen: false,
            },
        )));
        fs_err::write(&state, &bytes[..bytes.len() - 3]).unwrap();
        assert!(StatCache::load(&state).entries.lock().unwrap().is_empty());
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
