//! The files of a repository and their hashes: hashing deps and outs (files and
//! directories, through the stat cache), committing outs to the cache, and
//! placing cached outs back into the workspace.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cache::{Cache, LinkMode, remove_path};
use crate::hash::{Manifest, ManifestEntry};
use crate::lockfile::LockedPath;
use crate::state::StatCache;

/// The folder that holds the cache, the stat cache and the journal.
pub const DOT_CACHE: &str = ".cache";

/// A repository's files, cache and stat cache.
#[derive(Debug)]
pub struct Workspace {
    /// The repository root.
    pub root: PathBuf,
    /// `.cache/` under the root.
    pub dot_cache: PathBuf,
    /// The object store.
    pub cache: Cache,
    /// The stat cache.
    pub state: StatCache,
    /// How outs are placed from the cache.
    pub link: LinkMode,
}

/// Why an out could not be placed from the cache.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// An object is missing from the cache.
    #[error("`{path}` is not in the cache (object {hash})")]
    Missing { path: String, hash: String },
    /// An object no longer matches its hash.
    #[error("the cached object {hash} of `{path}` is corrupted")]
    Corrupted { path: String, hash: String },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl Workspace {
    /// Opens the workspace rooted at `root`.
    pub fn open(root: &Path) -> Self {
        let dot_cache = root.join(DOT_CACHE);
        Self {
            root: root.to_path_buf(),
            cache: Cache::new(&dot_cache),
            state: StatCache::load(&dot_cache.join("state")),
            dot_cache,
            link: LinkMode::default(),
        }
    }

    /// Returns the hash of the file or directory at `path` (shown as `name`), or
    /// `None` when nothing is there.
    pub fn digest(&self, path: &Path, name: &str) -> std::io::Result<Option<LockedPath>> {
        match fs_err::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
            Ok(meta) if meta.is_dir() => {
                let manifest = self.manifest(path)?;
                Ok(Some(LockedPath {
                    path: name.into(),
                    hash: manifest.hash(),
                    size: manifest.size(),
                    nfiles: Some(manifest.files.len() as u64),
                }))
            }
            Ok(_) => {
                let info = self.state.file(path)?;
                Ok(Some(LockedPath {
                    path: name.into(),
                    hash: info.hash,
                    size: info.size,
                    nfiles: None,
                }))
            }
        }
    }

    /// Returns the manifest of the directory at `dir`.
    pub fn manifest(&self, dir: &Path) -> std::io::Result<Manifest> {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry.map_err(std::io::Error::other)?;
            if entry.file_type().is_file() {
                files.push(entry.into_path());
            }
        }
        let entries: std::io::Result<Vec<ManifestEntry>> = files
            .par_iter()
            .map(|file| {
                let info = self.state.file(file)?;
                let relative = file.strip_prefix(dir).unwrap_or(file);
                let path = relative.to_string_lossy().replace('\\', "/");
                Ok(ManifestEntry { path, hash: info.hash, size: info.size, exec: info.exec })
            })
            .collect();
        Ok(Manifest::new(entries?))
    }

    /// Hashes the out at `path` and stores it in the cache (its manifest too,
    /// for a directory); `None` when it does not exist.
    pub fn commit(&self, path: &Path, name: &str) -> std::io::Result<Option<LockedPath>> {
        if path.is_dir() {
            let manifest = self.manifest(path)?;
            manifest
                .files
                .par_iter()
                .try_for_each(|file| self.cache.store_file(&path.join(&file.path), &file.hash))?;
            let hash = manifest.hash();
            self.cache.store_bytes(&manifest.to_bytes(), &hash)?;
            return Ok(Some(LockedPath {
                path: name.into(),
                hash,
                size: manifest.size(),
                nfiles: Some(manifest.files.len() as u64),
            }));
        }
        let Some(locked) = self.digest(path, name)? else {
            return Ok(None);
        };
        self.cache.store_file(path, &locked.hash)?;
        Ok(Some(locked))
    }

    /// Returns true when every object `locked` needs is present and intact.
    pub fn is_cached(&self, locked: &LockedPath) -> bool {
        self.objects_of(locked).is_ok()
    }

    /// Returns the objects (hash, relative file, exec) that make up `locked`,
    /// checking each is present and intact.
    fn objects_of(
        &self,
        locked: &LockedPath,
    ) -> Result<Vec<(String, String, bool)>, CheckoutError> {
        let check = |hash: &str| {
            if !self.cache.contains(hash) {
                Err(CheckoutError::Missing { path: locked.path.clone(), hash: hash.into() })
            } else if !self.cache.is_intact(hash, &self.state) {
                Err(CheckoutError::Corrupted { path: locked.path.clone(), hash: hash.into() })
            } else {
                Ok(())
            }
        };
        check(&locked.hash)?;
        if locked.nfiles.is_none() {
            return Ok(vec![(locked.hash.clone(), String::new(), false)]);
        }
        let manifest = Manifest::from_bytes(&self.cache.read(&locked.hash)?).ok_or_else(|| {
            CheckoutError::Corrupted { path: locked.path.clone(), hash: locked.hash.clone() }
        })?;
        manifest.files.iter().try_for_each(|f| check(&f.hash))?;
        Ok(manifest.files.into_iter().map(|f| (f.hash, f.path, f.exec)).collect())
    }

    /// Places `locked` at `path` from the cache, refusing missing or corrupted
    /// objects (nothing is changed then).
    pub fn checkout(&self, locked: &LockedPath, path: &Path) -> Result<(), CheckoutError> {
        let objects = self.objects_of(locked)?;
        if locked.nfiles.is_none() {
            self.cache.place(&locked.hash, path, false, self.link)?;
            return Ok(());
        }
        remove_path(path)?;
        fs_err::create_dir_all(path)?;
        objects.par_iter().try_for_each(|(hash, file, exec)| {
            self.cache.place(hash, &path.join(file), *exec, self.link)
        })?;
        Ok(())
    }

    /// Writes the stat cache back.
    pub fn save_state(&self) -> std::io::Result<()> {
        self.state.save()
    }
}
