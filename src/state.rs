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
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::fsutil::write_replacing;
use crate::hash::hash_file;
use crate::platform::{inode, is_executable};

/// How close to "now" an mtime must be for the file to count as unstable.
const UNSTABLE_NANOS: i128 = 2_000_000_000;

#[derive(Debug)]
struct Entry {
    inode: u64,
    size: u64,
    mtime: i128,
    /// BLAKE3 of the contents.
    hash: [u8; 32],
    /// Looked at in this run (so the file exists): not checked on saving.
    seen: AtomicBool,
}

impl Entry {
    fn new((inode, size, mtime): (u64, u64, i128), hash: [u8; 32], seen: bool) -> Self {
        Self { inode, size, mtime, hash, seen: AtomicBool::new(seen) }
    }
}

/// An entry as an earlier pipit wrote it, in JSON.
#[derive(Deserialize)]
struct JsonEntry {
    inode: u64,
    size: u64,
    mtime: i128,
    hash: String,
}

/// Paths as bytes, hashed quickly: `Path`'s own hash and equality walk its
/// components, which costs more than the lookup itself.
type Entries = HashMap<Box<[u8]>, Entry, foldhash::fast::RandomState>;

fn key(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
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
    entries: RwLock<Entries>,
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
                None => decode_json(&bytes),
            })
            .unwrap_or_default();
        Self { path: path.to_path_buf(), entries: RwLock::new(entries), dirty: Mutex::new(false) }
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
        if nanos(SystemTime::now()) - mtime > UNSTABLE_NANOS
            && let Some(bytes) = hex_bytes(&hash)
        {
            self.remember(path, Entry::new((inode, size, mtime), bytes, true));
        }
        Ok(FileInfo { hash, size, exec })
    }

    /// The hash of `path` if it is known for the state `metadata` describes.
    pub fn known(&self, path: &Path, metadata: &std::fs::Metadata) -> Option<String> {
        self.lookup(path, stat_key(metadata).ok()?)
    }

    /// The hash remembered for `path` in the state `key` (inode, size,
    /// mtime) describes.
    fn lookup(&self, path: &Path, stat: (u64, u64, i128)) -> Option<String> {
        let entries = self.entries.read().ok()?;
        let entry = entries.get(key(path))?;
        entry.seen.store(true, Relaxed);
        ((entry.inode, entry.size, entry.mtime) == stat)
            .then(|| blake3::Hash::from_bytes(entry.hash).to_hex().to_string())
    }

    /// Remembers that `path`, in the state `metadata` describes, has `hash`,
    /// however recently it was written: pipit hashed the bytes it copied
    /// from it into the cache and found it in that same state afterwards.
    pub fn learn(&self, path: &Path, metadata: &std::fs::Metadata, hash: &str) {
        if let (Ok(stat), Some(bytes)) = (stat_key(metadata), hex_bytes(hash)) {
            self.remember(path, Entry::new(stat, bytes, true));
        }
    }

    fn remember(&self, path: &Path, entry: Entry) {
        if let (Ok(mut entries), Ok(mut dirty)) = (self.entries.write(), self.dirty.lock()) {
            entries.insert(key(path).into(), entry);
            *dirty = true;
        }
    }

    /// Writes the stat cache back if it learnt anything: replaced whole, not
    /// flushed to disk. A cache: one a power cut leaves empty or unreadable
    /// is read as empty, and files are hashed again.
    pub fn save(&self) -> std::io::Result<()> {
        let dirty = self.dirty.lock().map(|d| *d).unwrap_or(false);
        if !dirty {
            return Ok(());
        }
        let bytes = match self.entries.read() {
            // Files looked at in this run exist; the others are checked.
            Ok(entries) => encode(entries.iter().filter_map(|(path, entry)| {
                let path = std::str::from_utf8(path).ok()?;
                (entry.seen.load(Relaxed) || Path::new(path).exists()).then_some((path, entry))
            })),
            Err(_) => return Ok(()),
        };
        write_replacing(&self.path, &bytes)
    }
}

/// How the stat cache's file starts; then, for each file, its path's length
/// (u32) and UTF-8 bytes, inode and size (u64), mtime in nanoseconds (i128),
/// all little-endian, and the 32 bytes of its hash.
const MAGIC: &[u8] = b"pipit-state 1\n";

fn encode<'a>(entries: impl Iterator<Item = (&'a str, &'a Entry)>) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    for (path, entry) in entries {
        let Ok(length) = u32::try_from(path.len()) else { continue };
        bytes.extend_from_slice(&length.to_le_bytes());
        bytes.extend_from_slice(path.as_bytes());
        bytes.extend_from_slice(&entry.inode.to_le_bytes());
        bytes.extend_from_slice(&entry.size.to_le_bytes());
        bytes.extend_from_slice(&entry.mtime.to_le_bytes());
        bytes.extend_from_slice(&entry.hash);
    }
    bytes
}

/// Reads what [`encode`] wrote; `None` when it is cut short or garbled.
fn decode(mut bytes: &[u8]) -> Option<Entries> {
    fn take<'b>(bytes: &mut &'b [u8], n: usize) -> Option<&'b [u8]> {
        let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
        *bytes = rest;
        Some(head)
    }
    let mut entries = Entries::with_capacity_and_hasher(bytes.len() / 128, Default::default());
    while !bytes.is_empty() {
        let length = u32::from_le_bytes(take(&mut bytes, 4)?.try_into().ok()?) as usize;
        let path = take(&mut bytes, length)?;
        std::str::from_utf8(path).ok()?;
        let inode = u64::from_le_bytes(take(&mut bytes, 8)?.try_into().ok()?);
        let size = u64::from_le_bytes(take(&mut bytes, 8)?.try_into().ok()?);
        let mtime = i128::from_le_bytes(take(&mut bytes, 16)?.try_into().ok()?);
        let hash = take(&mut bytes, 32)?.try_into().ok()?;
        entries.insert(path.into(), Entry::new((inode, size, mtime), hash, false));
    }
    Some(entries)
}

/// Reads the JSON an earlier pipit wrote; `None` when it is not that.
fn decode_json(bytes: &[u8]) -> Option<Entries> {
    let list: Vec<(PathBuf, JsonEntry)> = serde_json::from_slice(bytes).ok()?;
    Some(
        list.into_iter()
            .filter_map(|(path, e)| {
                let entry = Entry::new((e.inode, e.size, e.mtime), hex_bytes(&e.hash)?, false);
                Some((key(&path).into(), entry))
            })
            .collect(),
    )
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
        assert_eq!(reloaded.entries.read().unwrap().len(), 1);
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
        assert_eq!(again.entries.read().unwrap().len(), 2);
        again.learn(&file, &metadata, &hash);
        again.save().unwrap();
        assert_eq!(StatCache::load(&state).entries.read().unwrap().len(), 1);
        // What an earlier pipit wrote.
        let (inode, size, mtime) = stat_key(&metadata).unwrap();
        let json = serde_json::json!([[file, {"inode": inode, "size": size, "mtime": mtime, "hash": hash}]]);
        fs_err::write(&state, serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(StatCache::load(&state).known(&file, &metadata), Some(hash));
        // A file cut short is an empty cache, not an error.
        let entry = Entry::new((inode, size, mtime), *blake3::hash(b"").as_bytes(), false);
        let bytes = encode(std::iter::once((file.to_str().unwrap(), &entry)));
        fs_err::write(&state, &bytes[..bytes.len() - 3]).unwrap();
        assert!(StatCache::load(&state).entries.read().unwrap().is_empty());
    }

    #[test]
    fn a_file_written_just_now_is_not_trusted_unless_learnt() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fresh");
        fs_err::write(&file, "x").unwrap();
        let cache = StatCache::load(&dir.path().join("state"));
        cache.file(&file).unwrap();
        assert!(cache.entries.read().unwrap().is_empty());
        let metadata = fs_err::metadata(&file).unwrap();
        // Not the hash of `x`: only what is learnt is trusted, not the file.
        let learnt = blake3::hash(b"learnt").to_hex().to_string();
        cache.learn(&file, &metadata, &learnt);
        assert_eq!(cache.known(&file, &metadata), Some(learnt.clone()));
        assert_eq!(cache.file(&file).unwrap().hash, learnt);
        // Changed since: hashed again.
        fs_err::write(&file, "yz").unwrap();
        assert_eq!(cache.known(&file, &fs_err::metadata(&file).unwrap()), None);
        assert_eq!(cache.file(&file).unwrap().hash, blake3::hash(b"yz").to_hex().to_string());
    }
}
