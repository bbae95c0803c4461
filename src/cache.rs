//! The content-addressed cache: `.cache/objects/ab/cdef…`, one whole,
//! uncompressed, read-only file per BLAKE3 hash.
//!
//! Objects are written to a temporary name and renamed into place, so a crash
//! never leaves a half-written object under a real hash; they are placed in the
//! workspace by reflink where the file system can, else by copy, so that a
//! user's edit in the workspace never changes a cached object.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::fsutil::temporary_sibling;
use crate::hash::hash_file;
use crate::state::StatCache;

/// The object store of one repository.
#[derive(Clone, Debug)]
pub struct Cache {
    objects: PathBuf,
}

/// How an object is placed in the workspace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LinkMode {
    /// A reflink where the file system supports it, else a copy.
    #[default]
    ReflinkOrCopy,
    /// A read-only hard link to the object.
    Hardlink,
}

impl Cache {
    /// Returns the cache whose objects live under `dot_cache/objects`.
    pub fn new(dot_cache: &Path) -> Self {
        Self { objects: dot_cache.join("objects") }
    }

    /// Returns where the object `hash` lives.
    pub fn object_path(&self, hash: &str) -> PathBuf {
        let (prefix, rest) = hash.split_at(hash.len().min(2));
        self.objects.join(prefix).join(rest)
    }

    /// Returns true when the object is present (intact or not).
    pub fn contains(&self, hash: &str) -> bool {
        self.object_path(hash).is_file()
    }

    /// Stores the file `source`, whose hash is `hash`, unless already present.
    pub fn store_file(&self, source: &Path, hash: &str) -> std::io::Result<()> {
        let target = self.object_path(hash);
        if target.is_file() {
            return Ok(());
        }
        let temp = self.temporary(&target)?;
        reflink_copy::reflink_or_copy(source, &temp).map_err(|e| annotate(e, source))?;
        finish_object(&temp, &target)
    }

    /// Stores `bytes`, whose hash is `hash`, unless already present.
    pub fn store_bytes(&self, bytes: &[u8], hash: &str) -> std::io::Result<()> {
        let target = self.object_path(hash);
        if target.is_file() {
            return Ok(());
        }
        let temp = self.temporary(&target)?;
        fs_err::write(&temp, bytes)?;
        finish_object(&temp, &target)
    }

    fn temporary(&self, target: &Path) -> std::io::Result<PathBuf> {
        fs_err::create_dir_all(target.parent().unwrap_or(&self.objects))?;
        Ok(temporary_sibling(target))
    }

    /// Reads a small object (a directory manifest) whole.
    pub fn read(&self, hash: &str) -> std::io::Result<Vec<u8>> {
        fs_err::read(self.object_path(hash))
    }

    /// Returns true when the object is present and its contents still hash to
    /// `hash` (through the stat cache, so an untouched object is not re-read).
    pub fn is_intact(&self, hash: &str, state: &StatCache) -> bool {
        let path = self.object_path(hash);
        path.is_file() && state.file(&path).is_ok_and(|info| info.hash == hash)
    }

    /// Re-hashes the object from its bytes; true when it is intact.
    pub fn verify(&self, hash: &str) -> std::io::Result<bool> {
        Ok(hash_file(&self.object_path(hash))?.0 == hash)
    }

    /// Places the object `hash` at `dest` (replacing what is there).
    pub fn place(
        &self,
        hash: &str,
        dest: &Path,
        exec: bool,
        mode: LinkMode,
    ) -> std::io::Result<()> {
        let object = self.object_path(hash);
        if let Some(parent) = dest.parent() {
            fs_err::create_dir_all(parent)?;
        }
        remove_path(dest)?;
        match mode {
            LinkMode::Hardlink => fs_err::hard_link(&object, dest),
            LinkMode::ReflinkOrCopy => {
                let temp = temporary_sibling(dest);
                reflink_copy::reflink_or_copy(&object, &temp).map_err(|e| annotate(e, &object))?;
                let mode = if exec { 0o755 } else { 0o644 };
                fs_err::set_permissions(&temp, std::fs::Permissions::from_mode(mode))?;
                fs_err::rename(&temp, dest)
            }
        }
    }

    /// Returns the hash of every object in the cache.
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

    /// Deletes an object.
    pub fn remove(&self, hash: &str) -> std::io::Result<()> {
        remove_path(&self.object_path(hash))
    }
}

fn finish_object(temp: &Path, target: &Path) -> std::io::Result<()> {
    fs_err::set_permissions(temp, std::fs::Permissions::from_mode(0o444))?;
    fs_err::rename(temp, target)
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
    use super::*;

    #[test]
    fn stores_places_and_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(&dir.path().join(".cache"));
        let source = dir.path().join("model.bin");
        fs_err::write(&source, b"weights").unwrap();
        let hash = crate::hash::hash_bytes(b"weights");
        cache.store_file(&source, &hash).unwrap();
        assert_eq!(cache.hashes().unwrap(), std::slice::from_ref(&hash));
        let placed = dir.path().join("out").join("model.bin");
        cache.place(&hash, &placed, false, LinkMode::ReflinkOrCopy).unwrap();
        fs_err::write(&placed, b"edited by the user").unwrap();
        assert!(cache.verify(&hash).unwrap(), "a workspace edit must not reach the cache");
        let object = cache.object_path(&hash);
        fs_err::set_permissions(&object, std::fs::Permissions::from_mode(0o644)).unwrap();
        fs_err::write(&object, b"bit rot").unwrap();
        assert!(!cache.verify(&hash).unwrap());
    }
}
