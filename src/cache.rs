//! The content-addressed cache: `.cache/objects/ab/cdef…`, one whole,
//! uncompressed, read-only file per BLAKE3 hash.
//!
//! Objects are immutable, so nothing about them is taken on trust: an object is
//! hashed whenever it is stored over, placed or verified, never looked up in
//! the stat cache (bit rot keeps size and mtime). Objects are written as
//! unnamed files linked into place once whole (Linux), else under a temporary
//! name renamed into place (beside the object, or in `.cache/objects/.tmp/`),
//! so a crash never leaves a half-written object under a real hash; they are placed in the
//! workspace by reflink where the file system can, else by copy, so that a
//! user's edit in the workspace never changes a cached object.

use std::path::{Path, PathBuf};

use crate::fsutil::TempFile;
use crate::hash::hash_file;

/// The largest manifest pipit reads (a million files take about 150 MB).
const MAX_MANIFEST_BYTES: u64 = 512 << 20;

/// The object store of one repository.
#[derive(Clone, Debug)]
pub struct Cache {
    objects: PathBuf,
    temporary: PathBuf,
    /// Whether reflinks work here: learnt from the first copy, so that a
    /// file system without them costs no failed attempt (a file created and
    /// deleted) per file after that.
    reflinks: std::sync::Arc<std::sync::atomic::AtomicU8>,
    /// Folders this process has made or found (`.tmp/`, the objects' `ab/`):
    /// not asked for again for every file.
    folders: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<PathBuf>>>,
}

/// From this size on, a file copied into or out of the cache is hashed while
/// it is copied; a smaller one after (a thread of its own costs more than
/// it saves there).
const HASHED_WHILE_COPIED: u64 = 16 << 20;

/// [`Cache::reflinks`] before the first copy.
const REFLINKS_UNKNOWN: u8 = 0;
const REFLINKS_WORK: u8 = 1;
const REFLINKS_FAIL: u8 = 2;

/// How an object is placed in the workspace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LinkMode {
    /// A reflink where the file system supports it, else a copy.
    #[default]
    ReflinkOrCopy,
    /// A read-only hard link to the object.
    Hardlink,
}

/// Why an object cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// No object with this hash.
    #[error("object {hash} is not in the cache")]
    Missing { hash: String },
    /// The object's bytes no longer hash to its name.
    #[error("object {hash} is corrupted (its bytes hash to {actual})")]
    Corrupted { hash: String, actual: String },
    /// Something other than a file sits where the object should be.
    #[error("object {hash} is not a file")]
    NotAFile { hash: String },
    /// The file being stored changed between hashing and copying.
    #[error("the file changed while it was being cached")]
    Changed,
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What storing an object did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The object was new.
    New,
    /// An intact object was already there.
    Present,
    /// A corrupted object (or something else) was there and was replaced.
    Healed,
}

/// The permissions of an object: nobody writes to one.
const READ_ONLY: u32 = 0o444;

impl Cache {
    /// Returns the cache whose objects live under `dot_cache/objects`.
    pub fn new(dot_cache: &Path) -> Self {
        let objects = dot_cache.join("objects");
        // Inside `objects/`, so that a rename into place never crosses file
        // systems, even when `objects/` is a link to another disk.
        Self {
            temporary: objects.join(".tmp"),
            objects,
            reflinks: Default::default(),
            folders: Default::default(),
        }
    }

    /// Copies `from` to the new file `to`, a reflink where the file system
    /// makes them (tried once, then only where it worked), else a copy, and
    /// returns the hash of the bytes `to` holds then: a large file that is
    /// copied is hashed behind the copy (see
    /// [`crate::fsutil::copy_hashing`]).
    fn copy_hashed(&self, from: &Path, to: &Path) -> std::io::Result<String> {
        if !self.reflinked(from, to) {
            if cfg!(unix) && fs_err::metadata(from)?.len() >= HASHED_WHILE_COPIED {
                return crate::fsutil::copy_hashing(from, to);
            }
            fs_err::copy(from, to)?;
        }
        Ok(hash_file(to)?.0)
    }

    /// Makes the new file `to` a reflink of `from`, where the file system
    /// makes them; false, and nothing at `to`, where it does not.
    fn reflinked(&self, from: &Path, to: &Path) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        if self.reflinks.load(Relaxed) == REFLINKS_FAIL {
            return false;
        }
        match reflink_copy::reflink(from, to) {
            Ok(()) => {
                self.reflinks.store(REFLINKS_WORK, Relaxed);
                true
            }
            Err(_) => {
                let _ = fs_err::remove_file(to);
                let _ = self.reflinks.compare_exchange(
                    REFLINKS_UNKNOWN,
                    REFLINKS_FAIL,
                    Relaxed,
                    Relaxed,
                );
                false
            }
        }
    }

    /// Returns where the object `hash` lives.
    pub fn object_path(&self, hash: &str) -> PathBuf {
        let (prefix, rest) = hash.split_at(hash.len().min(2));
        self.objects.join(prefix).join(rest)
    }

    /// Returns the folder of temporary files.
    pub fn temporary_dir(&self) -> &Path {
        &self.temporary
    }

    /// Returns true when the object is present (intact or not).
    pub fn contains(&self, hash: &str) -> bool {
        self.regular(hash).is_ok()
    }

    /// Returns the object's path when a regular file is there. An object is a
    /// regular file: a symbolic link, a folder or a FIFO in its place is not
    /// one (and is never followed or read).
    fn regular(&self, hash: &str) -> Result<PathBuf, ObjectError> {
        self.object(hash).map(|(path, _)| path)
    }

    /// The object's path and metadata when a regular file is there (see
    /// [`Cache::regular`]).
    fn object(&self, hash: &str) -> Result<(PathBuf, std::fs::Metadata), ObjectError> {
        if !crate::hash::is_hash(hash) {
            return Err(ObjectError::Missing { hash: hash.into() });
        }
        let path = self.object_path(hash);
        match fs_err::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ObjectError::Missing { hash: hash.into() })
            }
            Err(e) => Err(e.into()),
            Ok(meta) if !meta.is_file() => Err(ObjectError::NotAFile { hash: hash.into() }),
            Ok(meta) => Ok((path, meta)),
        }
    }

    /// Hashes the object and returns an error unless it is present and intact.
    pub fn check(&self, hash: &str) -> Result<(), ObjectError> {
        let actual = hash_file(&self.regular(hash)?)?.0;
        if actual == hash {
            Ok(())
        } else {
            Err(ObjectError::Corrupted { hash: hash.into(), actual })
        }
    }

    /// Stores the file `source`, whose hash is `hash`. An intact object already
    /// there is kept; a corrupted one is replaced. The copy is hashed before it
    /// becomes the object, so a file that changed since it was hashed is refused.
    pub fn store_file(&self, source: &Path, hash: &str) -> Result<Stored, ObjectError> {
        let Some(stored) = self.existing(hash)? else {
            return Ok(Stored::Present);
        };
        let temp = self.temporary(hash)?;
        if self.copy_hashed(source, temp.path()).map_err(|e| annotate(e, source))? != hash {
            return Err(ObjectError::Changed);
        }
        crate::platform::set_mode(temp.path(), READ_ONLY)?;
        self.finish(temp, hash)?;
        Ok(stored)
    }

    /// Stores the file `source`, whose hash is not known yet, and returns its
    /// hash: the hash of the bytes copied (a small file is read once, hashed
    /// and written; a large one is copied and the copy hashed). `before` is
    /// the source's metadata from before: a source whose size or mtime moved
    /// while it was copied is refused.
    pub fn store_new(
        &self,
        source: &Path,
        before: &std::fs::Metadata,
    ) -> Result<(String, Stored), ObjectError> {
        if before.len() < crate::hash::PARALLEL_THRESHOLD {
            let (hash, bytes) = self.read_new(source, before)?;
            let stored = self.store_bytes(&bytes, &hash)?;
            return Ok((hash, stored));
        }
        let temp = self.temporary("new")?;
        let hash = self.copy_hashed(source, temp.path()).map_err(|e| annotate(e, source))?;
        crate::platform::set_mode(temp.path(), READ_ONLY)?;
        unchanged(before, &fs_err::metadata(source)?)?;
        match self.existing(&hash)? {
            None => Ok((hash, Stored::Present)),
            Some(stored) => {
                let stored = self.settle(self.finish(temp, &hash), &hash, stored)?;
                Ok((hash, stored))
            }
        }
    }

    /// Reads the small file `source` whole and returns its hash and bytes, to
    /// be stored later with [`Cache::store_bytes`]; refused as
    /// [`Cache::store_new`] refuses a source that moved while it was read.
    pub fn read_new(
        &self,
        source: &Path,
        before: &std::fs::Metadata,
    ) -> Result<(String, Vec<u8>), ObjectError> {
        self.read_opened(fs_err::File::open(source)?, before)
    }

    /// Reads the small file `file`, open already, as [`Cache::read_new`]
    /// reads one.
    pub fn read_opened(
        &self,
        mut file: fs_err::File,
        before: &std::fs::Metadata,
    ) -> Result<(String, Vec<u8>), ObjectError> {
        let bytes = read_sized(&mut file, before.len())?;
        unchanged(before, &file.metadata()?)?;
        Ok((crate::hash::hash_bytes(&bytes), bytes))
    }

    /// What storing `hash` came to, given how making it the object went:
    /// identical files stored at once, the other one won.
    fn settle(
        &self,
        finished: std::io::Result<()>,
        hash: &str,
        stored: Stored,
    ) -> Result<Stored, ObjectError> {
        match finished {
            Ok(()) => Ok(stored),
            Err(_) if self.check(hash).is_ok() => Ok(Stored::Present),
            Err(error) => Err(error.into()),
        }
    }

    /// Stores `bytes`, whose hash is `hash`, as [`Cache::store_file`] does.
    pub fn store_bytes(&self, bytes: &[u8], hash: &str) -> Result<Stored, ObjectError> {
        if !crate::hash::is_hash(hash) {
            return Err(ObjectError::Missing { hash: hash.into() });
        }
        // Written beside the object: renaming within one folder locks only
        // that folder, where a rename across folders locks the file system.
        let target = self.object_path(hash);
        let (folder, name) = match (target.parent(), target.file_name()) {
            (Some(folder), Some(name)) => (folder, name.to_string_lossy()),
            _ => return Err(ObjectError::Missing { hash: hash.into() }),
        };
        self.make_folder(folder)?;
        let write = || -> Result<TempFile, ObjectError> {
            let temp = TempFile::in_dir(folder, &name);
            crate::platform::write_new(temp.path(), bytes, READ_ONLY)?;
            Ok(temp)
        };
        // Most objects are new: no look first. Unnamed until whole where the
        // file system allows, else under a temporary name renamed into place.
        let new = match crate::platform::write_linked(folder, &target, bytes, READ_ONLY) {
            Some(linked) => linked?,
            None => write()?.persist_new(&target)?,
        };
        if new {
            return Ok(Stored::New);
        }
        let Some(stored) = self.existing(hash)? else {
            return Ok(Stored::Present);
        };
        self.settle(write()?.persist(&target), hash, stored)
    }

    /// Returns a writer that stores the object `hash` from bytes arriving in
    /// pieces (a download): they go to a temporary file and become the object
    /// only if they hash to `hash`.
    pub fn writer(&self, hash: &str) -> Result<ObjectWriter, ObjectError> {
        if !crate::hash::is_hash(hash) {
            return Err(ObjectError::Missing { hash: hash.into() });
        }
        let temp = self.temporary(hash)?;
        let file = fs_err::File::create(temp.path())?;
        Ok(ObjectWriter {
            cache: self.clone(),
            hash: hash.into(),
            temp,
            file,
            hasher: blake3::Hasher::new(),
        })
    }

    /// Returns `None` when an intact object `hash` is already stored, else what
    /// storing it will be (clearing anything in its way).
    fn existing(&self, hash: &str) -> Result<Option<Stored>, ObjectError> {
        match self.check(hash) {
            Ok(()) => Ok(None),
            Err(ObjectError::Missing { .. }) => Ok(Some(Stored::New)),
            Err(ObjectError::Corrupted { .. } | ObjectError::NotAFile { .. }) => {
                remove_path(&self.object_path(hash))?;
                Ok(Some(Stored::Healed))
            }
            Err(error) => Err(error),
        }
    }

    fn temporary(&self, hash: &str) -> std::io::Result<TempFile> {
        self.make_folder(&self.temporary)?;
        Ok(TempFile::in_dir(&self.temporary, hash))
    }

    /// Makes `folder` (and those above it) unless this process already has
    /// (nothing removes one meanwhile: `gc` holds the repository's lock).
    fn make_folder(&self, folder: &Path) -> std::io::Result<()> {
        let known = |folders: &std::collections::HashSet<PathBuf>| folders.contains(folder);
        if self.folders.lock().is_ok_and(|folders| known(&folders)) {
            return Ok(());
        }
        fs_err::create_dir_all(folder)?;
        if let Ok(mut folders) = self.folders.lock() {
            folders.insert(folder.to_path_buf());
        }
        Ok(())
    }

    /// Makes the read-only file `temp` the object `hash`.
    fn finish(&self, temp: TempFile, hash: &str) -> std::io::Result<()> {
        let target = self.object_path(hash);
        let folder = target.parent().unwrap_or(&self.objects).to_path_buf();
        self.make_folder(&folder)?;
        temp.persist(&target)
    }

    /// Reads a small object (a directory manifest) whole and checks its hash;
    /// an object larger than any manifest is refused unread.
    pub fn read(&self, hash: &str) -> Result<Vec<u8>, ObjectError> {
        let bytes = self.read_unchecked(hash)?;
        let actual = crate::hash::hash_bytes(&bytes);
        if actual == hash {
            Ok(bytes)
        } else {
            Err(ObjectError::Corrupted { hash: hash.into(), actual })
        }
    }

    /// Returns the manifest stored as the object `hash`, when it is intact
    /// and one.
    pub fn manifest(&self, hash: &str) -> Option<crate::hash::Manifest> {
        crate::hash::Manifest::from_bytes(&self.read(hash).ok()?)
    }

    /// Reads a small object whole without checking its hash (to salvage what
    /// a damaged manifest still says); refuses one larger than any manifest.
    pub fn read_unchecked(&self, hash: &str) -> Result<Vec<u8>, ObjectError> {
        let path = self.regular(hash)?;
        let size = fs_err::metadata(&path)?.len();
        if size > MAX_MANIFEST_BYTES {
            return Err(ObjectError::Corrupted { hash: hash.into(), actual: "too large".into() });
        }
        Ok(fs_err::read(path)?)
    }

    /// Places the object `hash` at `dest` (replacing what is there), checking
    /// the placed bytes against the hash: a corrupted object is never placed,
    /// and `dest` is left as it was then.
    pub fn place(
        &self,
        hash: &str,
        dest: &Path,
        exec: bool,
        mode: LinkMode,
    ) -> Result<(), ObjectError> {
        if let Some(parent) = dest.parent() {
            fs_err::create_dir_all(parent)?;
        }
        let temp = TempFile::beside(dest);
        self.place_new(hash, temp.path(), exec, mode)?;
        remove_path(dest)?;
        Ok(temp.persist(dest)?)
    }

    /// Writes the object `hash` as the new file `to`, whose folder exists:
    /// a hard link in [`LinkMode::Hardlink`] (never for an executable), else
    /// a copy whose bytes are checked against the hash.
    pub fn place_new(
        &self,
        hash: &str,
        to: &Path,
        exec: bool,
        mode: LinkMode,
    ) -> Result<(), ObjectError> {
        let (object, metadata) = self.object(hash)?;
        if mode == LinkMode::Hardlink && !exec {
            self.check(hash)?;
            if fs_err::hard_link(&object, to).is_ok() {
                return Ok(());
            }
        }
        let mode = if exec { 0o755 } else { 0o644 };
        let actual = if metadata.len() < crate::hash::PARALLEL_THRESHOLD {
            // Read once, and written only if intact.
            let bytes = read_sized(&mut fs_err::File::open(&object)?, metadata.len())?;
            let actual = crate::hash::hash_bytes(&bytes);
            if actual == hash {
                crate::platform::write_new(to, &bytes, mode)?;
            }
            actual
        } else {
            let actual = self.copy_hashed(&object, to).map_err(|e| annotate(e, &object))?;
            crate::platform::set_mode(to, mode)?;
            actual
        };
        if actual != hash {
            let _ = fs_err::remove_file(to);
            return Err(ObjectError::Corrupted { hash: hash.into(), actual });
        }
        Ok(())
    }

    /// Returns the hash of every object in the cache (anything in the object
    /// folders that is not a temporary file).
    pub fn hashes(&self) -> std::io::Result<Vec<String>> {
        let mut hashes = Vec::new();
        let Ok(prefixes) = fs_err::read_dir(&self.objects) else {
            return Ok(hashes);
        };
        for prefix in prefixes {
            let prefix = prefix?;
            if !prefix.file_type()?.is_dir() {
                continue;
            }
            for object in fs_err::read_dir(prefix.path())? {
                let name = object?.file_name().to_string_lossy().into_owned();
                if !name.starts_with('.') {
                    hashes.push(format!("{}{name}", prefix.file_name().to_string_lossy()));
                }
            }
        }
        hashes.sort();
        Ok(hashes)
    }

    /// Returns the folders objects and their temporary files are written in:
    /// `.tmp/` and every object folder (`ab/`) there is (lists `objects/`).
    pub fn folders(&self) -> Vec<PathBuf> {
        let mut folders = vec![self.temporary.clone()];
        if let Ok(prefixes) = fs_err::read_dir(&self.objects) {
            folders.extend(
                prefixes
                    .flatten()
                    .filter(|p| p.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|p| p.path())
                    .filter(|p| *p != self.temporary),
            );
        }
        folders
    }

    /// Deletes an object (nothing for a name that is not a hash).
    pub fn remove(&self, hash: &str) -> std::io::Result<()> {
        if !crate::hash::is_hash(hash) {
            return Ok(());
        }
        remove_path(&self.object_path(hash))
    }
}

/// An object being written piece by piece; see [`Cache::writer`]. Dropped
/// unfinished, it leaves nothing behind.
#[derive(Debug)]
pub struct ObjectWriter {
    cache: Cache,
    hash: String,
    temp: TempFile,
    file: fs_err::File,
    hasher: blake3::Hasher,
}

impl ObjectWriter {
    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        self.hasher.update(bytes);
        self.file.write_all(bytes)
    }

    /// Checks the bytes against the hash and makes them the object; a
    /// mismatch is refused and nothing is stored.
    pub fn finish(self) -> Result<(), ObjectError> {
        let actual = self.hasher.finalize().to_hex().to_string();
        if actual != self.hash {
            return Err(ObjectError::Corrupted { hash: self.hash, actual });
        }
        // No fsync: an object torn by a power cut is caught by the hash check
        // on its next use, and thousands of small downloads would wait on it.
        drop(self.file);
        crate::platform::set_mode(self.temp.path(), READ_ONLY)?;
        self.cache.existing(&self.hash)?;
        Ok(self.cache.finish(self.temp, &self.hash)?)
    }
}

/// Refuses a source whose size, mtime or inode moved between `before` and
/// `after`: what was read or copied of it may be a mix of two versions.
fn unchanged(before: &std::fs::Metadata, after: &std::fs::Metadata) -> Result<(), ObjectError> {
    if crate::state::stat_key(before)? == crate::state::stat_key(after)? {
        Ok(())
    } else {
        Err(ObjectError::Changed)
    }
}

/// Reads `file`, of `size` bytes as last seen: one buffer of that size, and
/// no read past it (whoever needs to know that the file did not grow since
/// compares its size, as [`Cache::store_new`] does).
fn read_sized(file: &mut fs_err::File, size: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = vec![0; usize::try_from(size).unwrap_or(0)];
    let mut filled = 0;
    while filled < bytes.len() {
        match file.read(&mut bytes[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}

fn annotate(error: std::io::Error, path: &Path) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("failed to copy `{}`: {error}", path.display()))
}

/// Removes a file, a symlink or a whole directory; nothing when absent.
pub fn remove_path(path: &Path) -> std::io::Result<()> {
    match fs_err::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs_err::remove_dir_all(path),
        Ok(_) => fs_err::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn rot(path: &Path, bytes: &[u8]) {
        fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
        fs_err::write(path, bytes).unwrap();
    }

    #[test]
    fn stores_places_and_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(&dir.path().join(".cache"));
        let source = dir.path().join("model.bin");
        fs_err::write(&source, b"weights").unwrap();
        let hash = crate::hash::hash_bytes(b"weights");
        assert_eq!(cache.store_file(&source, &hash).unwrap(), Stored::New);
        assert_eq!(cache.hashes().unwrap(), std::slice::from_ref(&hash));
        let placed = dir.path().join("out").join("model.bin");
        cache.place(&hash, &placed, false, LinkMode::ReflinkOrCopy).unwrap();
        fs_err::write(&placed, b"edited by the user").unwrap();
        assert!(cache.check(&hash).is_ok(), "a workspace edit must not reach the cache");
        rot(&cache.object_path(&hash), b"wrights");
        assert!(matches!(cache.check(&hash), Err(ObjectError::Corrupted { .. })));
    }

    #[test]
    fn a_corrupted_object_is_never_placed_and_is_healed_by_the_next_store() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(&dir.path().join(".cache"));
        let hash = crate::hash::hash_bytes(b"good");
        cache.store_bytes(b"good", &hash).unwrap();
        rot(&cache.object_path(&hash), b"bad!");
        let dest = dir.path().join("out");
        fs_err::write(&dest, "previous").unwrap();
        for mode in [LinkMode::ReflinkOrCopy, LinkMode::Hardlink] {
            let error = cache.place(&hash, &dest, false, mode).unwrap_err();
            assert!(matches!(error, ObjectError::Corrupted { .. }), "{error}");
            assert_eq!(fs_err::read_to_string(&dest).unwrap(), "previous");
        }
        assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 2, "no temporary left");
        assert_eq!(cache.store_bytes(b"good", &hash).unwrap(), Stored::Healed);
        assert_eq!(cache.store_bytes(b"good", &hash).unwrap(), Stored::Present);
        cache.place(&hash, &dest, false, LinkMode::ReflinkOrCopy).unwrap();
        assert_eq!(fs_err::read_to_string(&dest).unwrap(), "good");
    }

    #[test]
    fn a_directory_or_a_link_in_place_of_an_object_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(&dir.path().join(".cache"));
        let hash = crate::hash::hash_bytes(b"x");
        fs_err::create_dir_all(cache.object_path(&hash)).unwrap();
        assert!(matches!(cache.check(&hash), Err(ObjectError::NotAFile { .. })));
        assert_eq!(cache.store_bytes(b"x", &hash).unwrap(), Stored::Healed);
        assert!(cache.check(&hash).is_ok());
        let target = dir.path().join("x");
        fs_err::write(&target, "x").unwrap();
        remove_path(&cache.object_path(&hash)).unwrap();
        std::os::unix::fs::symlink(&target, cache.object_path(&hash)).unwrap();
        assert!(matches!(cache.check(&hash), Err(ObjectError::NotAFile { .. })));
        assert_eq!(cache.store_bytes(b"x", &hash).unwrap(), Stored::Healed);
        assert_eq!(fs_err::read_to_string(&target).unwrap(), "x", "the link's target is untouched");
    }

    #[test]
    fn a_large_file_is_stored_and_placed_hashed_as_it_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(&dir.path().join(".cache"));
        // Past the size hashed while copied, and not a whole number of pieces.
        let bytes: Vec<u8> =
            (0..HASHED_WHILE_COPIED + 12_345).map(|i| (i * 7 % 251) as u8).collect();
        let source = dir.path().join("big.bin");
        fs_err::write(&source, &bytes).unwrap();
        let before = fs_err::metadata(&source).unwrap();
        let (hash, stored) = cache.store_new(&source, &before).unwrap();
        assert_eq!(
            (hash.as_str(), stored),
            (crate::hash::hash_bytes(&bytes).as_str(), Stored::New)
        );
        let placed = dir.path().join("placed.bin");
        cache.place(&hash, &placed, false, LinkMode::ReflinkOrCopy).unwrap();
        assert!(fs_err::read(&placed).unwrap() == bytes);
        // A known hash that the file no longer has is refused.
        let other = crate::hash::hash_bytes(b"something else");
        assert!(matches!(cache.store_file(&source, &other), Err(ObjectError::Changed)));
        // A large object that rotted is never placed.
        let mut rotten = bytes.clone();
        rotten[HASHED_WHILE_COPIED as usize] ^= 1;
        rot(&cache.object_path(&hash), &rotten);
        fs_err::write(&placed, "previous").unwrap();
        let error = cache.place(&hash, &placed, false, LinkMode::ReflinkOrCopy).unwrap_err();
        assert!(matches!(error, ObjectError::Corrupted { .. }), "{error}");
        assert_eq!(fs_err::read_to_string(&placed).unwrap(), "previous");
    }
}
