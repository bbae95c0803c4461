//! The files of a repository and their hashes: hashing deps and outs (files and
//! directories, through the stat cache), committing outs to the cache, and
//! placing cached outs back into the workspace.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cache::{Cache, LinkMode, ObjectError, Stored, remove_path};
use crate::containment::{self, PathError, check_relative};
use crate::fsutil::TempFile;
use crate::hash::{Manifest, ManifestEntry, short};
use crate::lockfile::LockedPath;
use crate::state::{FileInfo, StatCache};
use crate::walk;

/// The folder that holds the cache, the stat cache and the journal.
pub const DOT_CACHE: &str = ".cache";

/// A repository's files, cache and stat cache.
#[derive(Debug)]
pub struct Workspace {
    /// The repository root.
    pub root: PathBuf,
    /// The root with every symbolic link resolved.
    pub canonical_root: PathBuf,
    /// `.cache/` under the root.
    pub dot_cache: PathBuf,
    /// The object store.
    pub cache: Cache,
    /// The stat cache.
    pub state: StatCache,
    /// How outs are placed from the cache.
    pub link: LinkMode,
    /// Directories' digests already computed (see [`Workspace::remember_digests`]),
    /// each with the [`Workspace::changing`] count it was computed at;
    /// `None`: every digest is computed afresh.
    digests: Option<std::sync::Mutex<std::collections::HashMap<PathBuf, (u64, LockedPath)>>>,
    /// How many times something began or ended changing the workspace.
    changes: std::sync::atomic::AtomicU64,
    /// How many changes are under way.
    changing: std::sync::atomic::AtomicUsize,
    /// The bytes held by [`Hashed`] outs not stored yet.
    held: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Something changing the workspace (a stage's run); see [`Workspace::changing`].
pub struct Changing<'w>(&'w Workspace);

impl Changing<'_> {
    /// The count of changes to the workspace so far, this one's start included.
    pub fn mark(&self) -> u64 {
        self.0.changes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Ends this change and remembers `digests`, of directories hashed since
    /// [`Changing::mark`] returned `at` (a stage's outs, once its command
    /// ended), if nothing else began or ended changing the workspace
    /// meanwhile: the stages after it then find them ready.
    pub fn end_remembering(
        self,
        at: u64,
        digests: impl IntoIterator<Item = (PathBuf, LockedPath)>,
    ) {
        let workspace = self.0;
        drop(self);
        let ended = at + 1;
        if let Some(memo) = &workspace.digests
            && workspace.settled() == Some(ended)
            && let Ok(mut memo) = memo.lock()
        {
            memo.extend(digests.into_iter().map(|(path, locked)| (path, (ended, locked))));
        }
    }
}

impl Drop for Changing<'_> {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.0.changes.fetch_add(1, SeqCst);
        self.0.changing.fetch_sub(1, SeqCst);
    }
}

/// Why an out could not be placed from the cache.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// An object is missing from the cache.
    #[error("`{path}` is not in the cache (object {})", short(hash))]
    Missing { path: String, hash: String },
    /// An object no longer matches its hash.
    #[error("the cached object {} of `{path}` is corrupted", short(hash))]
    Corrupted { path: String, hash: String },
    /// The path, or a path in its manifest, would write outside the repository.
    #[error(transparent)]
    Unsafe(#[from] PathError),
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl CheckoutError {
    fn of_object(path: &str, error: ObjectError) -> Self {
        match error {
            ObjectError::Missing { hash } => Self::Missing { path: path.into(), hash },
            ObjectError::Corrupted { hash, .. } | ObjectError::NotAFile { hash } => {
                Self::Corrupted { path: path.into(), hash }
            }
            ObjectError::Changed => Self::Io(std::io::Error::other(format!(
                "`{path}` changed while it was being cached; run the stage again"
            ))),
            ObjectError::Io(error) => Self::Io(error),
        }
    }
}

/// An out stored in the cache.
#[derive(Clone, Debug, PartialEq)]
pub struct Committed {
    /// Its lock entry.
    pub locked: LockedPath,
    /// Objects that were corrupted in the cache and were replaced by its bytes.
    pub healed: Vec<String>,
}

/// An out hashed, the bytes of the files it holds not stored yet (see
/// [`Workspace::hash_out`]).
#[derive(Debug)]
pub struct Hashed {
    /// Its lock entry.
    pub locked: LockedPath,
    /// Objects already replaced because they were corrupted.
    healed: Vec<String>,
    /// Objects still to write: hash and bytes.
    unstored: Vec<(String, Vec<u8>)>,
    /// The files' bytes it holds, counted in the workspace's total until it
    /// is dropped.
    held: Reserved,
}

/// Bytes counted in the workspace's total of held bytes until dropped.
#[derive(Debug, Default)]
struct Reserved {
    total: std::sync::Arc<std::sync::atomic::AtomicU64>,
    bytes: u64,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.total.fetch_sub(self.bytes, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What became of one file's bytes while its out was hashed.
#[derive(Debug)]
enum Held {
    /// Held for storing later.
    Bytes(Vec<u8>),
    /// Stored; an intact object, or a new one.
    Stored,
    /// Stored, replacing a corrupted object.
    Healed,
}

/// How many bytes [`Workspace::hash_out`] may hold, all outs not stored yet
/// together; the files past that are stored at once.
const HELD_BYTES: u64 = 256 << 20;

impl Workspace {
    /// Opens the workspace rooted at `root`.
    pub fn open(root: &Path) -> Self {
        let dot_cache = root.join(DOT_CACHE);
        Self {
            root: root.to_path_buf(),
            canonical_root: fs_err::canonicalize(root).unwrap_or_else(|_| root.to_path_buf()),
            cache: Cache::new(&dot_cache),
            state: StatCache::load(&dot_cache.join("state")),
            dot_cache,
            link: LinkMode::default(),
            digests: None,
            changes: Default::default(),
            changing: Default::default(),
            held: Default::default(),
        }
    }

    /// Remembers each directory's digest until something changes the
    /// workspace: a directory that is one stage's out and the next one's dep
    /// is walked once (`status`, a `repro` with nothing to run). Whatever
    /// changes files (a stage that runs, is restored or is placed) must hold
    /// a [`Workspace::changing`] guard while it does.
    pub fn remember_digests(mut self) -> Self {
        self.digests = Some(Default::default());
        self
    }

    /// Computes the digests of the directories among `paths` side by side
    /// and remembers them (see [`Workspace::remember_digests`]): stages
    /// checked one after another then find them ready. Errors are left for
    /// the calls that need the digests to meet again.
    pub fn prepare_digests(&self, paths: &[PathBuf]) {
        if self.digests.is_none() {
            return;
        }
        paths.par_iter().for_each(|path| {
            if path.is_dir() {
                let _ = self.digest(path, "");
            }
        });
    }

    /// Marks the workspace as changing until the guard is dropped: the
    /// digests remembered so far are forgotten, and none is remembered
    /// meanwhile.
    pub fn changing(&self) -> Changing<'_> {
        use std::sync::atomic::Ordering::SeqCst;
        self.changing.fetch_add(1, SeqCst);
        self.changes.fetch_add(1, SeqCst);
        Changing(self)
    }

    /// The change count when nothing is changing the workspace.
    fn settled(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::SeqCst;
        let changes = self.changes.load(SeqCst);
        (self.changing.load(SeqCst) == 0).then_some(changes)
    }

    /// Returns the hash of the file or directory at `path` (shown as `name`), or
    /// `None` when nothing is there.
    pub fn digest(&self, path: &Path, name: &str) -> std::io::Result<Option<LockedPath>> {
        match fs_err::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
            Ok(meta) if meta.is_dir() => {
                let before = self.settled();
                if let (Some(now), Some(memo)) = (before, &self.digests)
                    && let Ok(memo) = memo.lock()
                    && let Some((at, known)) = memo.get(path)
                    && *at == now
                {
                    return Ok(Some(LockedPath { path: name.into(), ..known.clone() }));
                }
                let locked = folder_entry(name, &self.manifest(path)?);
                // Only what nothing changed while it was read.
                if let (Some(at), Some(memo)) = (before, &self.digests)
                    && self.settled() == Some(at)
                    && let Ok(mut memo) = memo.lock()
                {
                    memo.insert(path.to_path_buf(), (at, locked.clone()));
                }
                Ok(Some(locked))
            }
            Ok(meta) => {
                let info = self.state.file_with(path, &meta)?;
                Ok(Some(LockedPath {
                    path: name.into(),
                    hash: info.hash,
                    size: info.size,
                    nfiles: None,
                }))
            }
        }
    }

    /// Returns the manifest of the directory at `dir`. Symbolic links are
    /// followed: a link to a file counts as that file's contents, so that a
    /// changed target changes the directory's hash.
    pub fn manifest(&self, dir: &Path) -> std::io::Result<Manifest> {
        // Stat calls are quick: a few dozen to a task, or the threads spend
        // their time handing work around.
        let entries: std::io::Result<Vec<ManifestEntry>> = walk::files_under(dir, &self.root)?
            .par_iter()
            .with_min_len(256)
            .map(|file| {
                let info = self.state.file_with(&file.path, &file.metadata)?;
                Ok(manifest_entry(dir, &file.path, info))
            })
            .collect();
        Ok(Manifest::new(entries?))
    }

    /// Stores the out at `path` in the cache (its manifest too, for a
    /// directory) and returns its lock entry; `None` when it does not exist.
    /// Each file is read once, hashed as it is copied, unless the stat cache
    /// knows its hash; the stat cache then knows it, so the stage that reads
    /// the out next does not hash it again.
    pub fn commit(&self, path: &Path, name: &str) -> Result<Option<Committed>, CheckoutError> {
        self.commit_with(path, name, true)
    }

    /// Stores the out at `path` as [`Workspace::commit`] does, one file
    /// after another on this thread: beside the stages that run.
    pub fn commit_here(&self, path: &Path, name: &str) -> Result<Option<Committed>, CheckoutError> {
        self.commit_with(path, name, false)
    }

    fn commit_with(
        &self,
        path: &Path,
        name: &str,
        side_by_side: bool,
    ) -> Result<Option<Committed>, CheckoutError> {
        // Each file stored as it is read: the bytes of one file are freed
        // before the next is read, where holding them all would grow the
        // heap a file at a time (a system call each).
        match self.hash_out_holding(path, name, false, side_by_side)? {
            Some(hashed) => self.store_with(hashed, name, side_by_side).map(Some),
            None => Ok(None),
        }
    }

    /// Hashes the out at `path` as [`Workspace::commit`] does, but holds the
    /// bytes of its small files (up to [`HELD_BYTES`] in all) for
    /// [`Workspace::store`] instead of writing them to the cache: the stage
    /// after it may start meanwhile. What the stat cache learns is true
    /// whether or not they are stored. `None` when nothing is at `path`.
    pub fn hash_out(&self, path: &Path, name: &str) -> Result<Option<Hashed>, CheckoutError> {
        self.hash_out_holding(path, name, true, true)
    }

    /// Hashes the out at `path` as [`Workspace::hash_out`] does, holding the
    /// bytes of new small files only when `hold`, the files of a directory
    /// read on several threads when `side_by_side`.
    fn hash_out_holding(
        &self,
        path: &Path,
        name: &str,
        hold: bool,
        side_by_side: bool,
    ) -> Result<Option<Hashed>, CheckoutError> {
        let files = if path.is_dir() {
            let files = if hold {
                // New files, most likely (the command that wrote them just
                // ended): whatever is read of each, from the open file.
                walk::found_under(path, &self.root)?
            } else {
                // Known to the stat cache, maybe, and then not opened.
                let files = walk::files_under(path, &self.root)?;
                files.into_iter().map(walk::Found::from).collect()
            };
            let hash = |file: &walk::Found| {
                let (info, held) = self.hash_found(file, name, hold)?;
                Ok((manifest_entry(path, &file.path, info), held))
            };
            let hashed: Vec<Result<(ManifestEntry, Held), CheckoutError>> = if side_by_side {
                // Each file is opened and read: a few are worth handing to
                // another thread (an out of 100 files is read on two).
                files.par_iter().with_min_len(8).map(hash).collect()
            } else {
                files.iter().map(|file| after_waiting_processes(|| hash(file))).collect()
            };
            Some(hashed)
        } else {
            None
        };
        let mut held = Reserved { total: std::sync::Arc::clone(&self.held), bytes: 0 };
        let (mut healed, mut unstored) = (Vec::new(), Vec::new());
        let mut keep = |hash: &str, kept: Held| match kept {
            Held::Bytes(bytes) => {
                held.bytes += bytes.len() as u64;
                unstored.push((hash.to_owned(), bytes));
            }
            Held::Healed => healed.push(hash.to_owned()),
            Held::Stored => {}
        };
        let Some(hashed) = files else {
            let metadata = match fs_err::metadata(path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e.into()),
                Ok(metadata) => metadata,
            };
            let (info, kept) = self.hash_one(path, &metadata, name, (hold, None))?;
            keep(&info.hash, kept);
            let locked =
                LockedPath { path: name.into(), hash: info.hash, size: info.size, nfiles: None };
            return Ok(Some(Hashed { locked, healed, unstored, held }));
        };
        // Every file's bytes are counted in `held` before an error returns,
        // so that dropping it gives them all back.
        let mut entries = Vec::with_capacity(hashed.len());
        let mut failure = None;
        for result in hashed {
            match result {
                Ok((entry, kept)) => {
                    keep(&entry.hash, kept);
                    entries.push(entry);
                }
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        if let Some(error) = failure {
            return Err(error);
        }
        let manifest = Manifest::new(entries);
        let locked = folder_entry(name, &manifest);
        // One write per distinct object (identical files share one).
        unstored.sort_by(|a, b| a.0.cmp(&b.0));
        unstored.dedup_by(|a, b| a.0 == b.0);
        unstored.push((locked.hash.clone(), manifest.to_bytes()));
        Ok(Some(Hashed { locked, healed, unstored, held }))
    }

    /// Writes the objects `hashed` (the out `name`) still holds, side by side.
    pub fn store(&self, hashed: Hashed, name: &str) -> Result<Committed, CheckoutError> {
        self.store_with(hashed, name, true)
    }

    /// Writes the objects `hashed` holds as [`Workspace::store`] does, one
    /// after another on this thread: storing in the background of the
    /// stages that run, whose outs are hashed side by side meanwhile.
    pub fn store_here(&self, hashed: Hashed, name: &str) -> Result<Committed, CheckoutError> {
        self.store_with(hashed, name, false)
    }

    fn store_with(
        &self,
        hashed: Hashed,
        name: &str,
        side_by_side: bool,
    ) -> Result<Committed, CheckoutError> {
        let Hashed { locked, mut healed, unstored, held } = hashed;
        let store = |(hash, bytes): &(String, Vec<u8>)| match self.cache.store_bytes(bytes, hash) {
            Ok(Stored::Healed) => Ok(Some(hash.clone())),
            Ok(_) => Ok(None),
            Err(error) => Err(CheckoutError::of_object(name, error)),
        };
        let stored: Result<Vec<Option<String>>, CheckoutError> = if side_by_side {
            unstored.par_iter().map(store).collect()
        } else {
            unstored.iter().map(|object| after_waiting_processes(|| store(object))).collect()
        };
        drop((unstored, held));
        healed.extend(stored?.into_iter().flatten());
        Ok(Committed { locked, healed })
    }

    /// Hashes the file `found` in the out `name` as [`Workspace::hash_one`]
    /// does, opened first when the walk did not read its metadata: read
    /// from the open file, as are its bytes.
    fn hash_found(
        &self,
        found: &walk::Found,
        name: &str,
        hold: bool,
    ) -> Result<(FileInfo, Held), CheckoutError> {
        if let Some(metadata) = &found.metadata {
            return self.hash_one(&found.path, metadata, name, (hold, None));
        }
        let failed = |error: std::io::Error| CheckoutError::of_object(name, error.into());
        let file = fs_err::File::open(&found.path).map_err(failed)?;
        let metadata = file.metadata().map_err(failed)?;
        self.hash_one(&found.path, &metadata, name, (hold, Some(file)))
    }

    /// Hashes one file of the out `name`, as `metadata` describes it, and
    /// returns what the stat cache knows of it, and its bytes when they are
    /// held for storing later (`hold`, new and small, within
    /// [`HELD_BYTES`]); else the file is stored at once. The bytes held are
    /// read from `opened`, the file opened already, if given.
    fn hash_one(
        &self,
        file: &Path,
        metadata: &std::fs::Metadata,
        name: &str,
        (hold, opened): (bool, Option<fs_err::File>),
    ) -> Result<(FileInfo, Held), CheckoutError> {
        use std::sync::atomic::Ordering::Relaxed;
        let size = metadata.len();
        let small = size < crate::hash::PARALLEL_THRESHOLD;
        let known = self.state.known(file, metadata);
        let hold = hold && small && known.is_none() && {
            let fits = self.held.fetch_add(size, Relaxed) + size <= HELD_BYTES;
            if !fits {
                self.held.fetch_sub(size, Relaxed);
            }
            fits
        };
        if !hold {
            let (info, healed) = self.store_one(file, metadata, known, name)?;
            return Ok((info, if healed { Held::Healed } else { Held::Stored }));
        }
        let failed = |error| CheckoutError::of_object(name, error);
        let read = match opened {
            Some(opened) => self.cache.read_opened(opened, metadata),
            None => self.cache.read_new(file, metadata),
        };
        let (hash, bytes) = match read {
            Ok(read) => read,
            Err(error) => {
                self.held.fetch_sub(size, Relaxed);
                return Err(failed(error));
            }
        };
        // Counted as read from here on, and given back when the out is stored
        // or dropped (see `Reserved`).
        self.held.fetch_sub(size, Relaxed);
        self.held.fetch_add(bytes.len() as u64, Relaxed);
        self.state.learn(file, metadata, &hash);
        let exec = crate::platform::is_executable(metadata);
        Ok((FileInfo { hash, size, exec }, Held::Bytes(bytes)))
    }

    /// Stores one file of the out `name`, as `metadata` describes it, whose
    /// hash the stat cache may know, and returns what the stat cache knows of
    /// it, and whether a corrupted object was replaced.
    fn store_one(
        &self,
        file: &Path,
        metadata: &std::fs::Metadata,
        known: Option<String>,
        name: &str,
    ) -> Result<(FileInfo, bool), CheckoutError> {
        let failed = |error| CheckoutError::of_object(name, error);
        let (hash, stored) = match known {
            Some(hash) => {
                let stored = self.cache.store_file(file, &hash).map_err(failed)?;
                (hash, stored)
            }
            None => self.cache.store_new(file, metadata).map_err(failed)?,
        };
        self.state.learn(file, metadata, &hash);
        let exec = crate::platform::is_executable(metadata);
        Ok((FileInfo { hash, size: metadata.len(), exec }, stored == Stored::Healed))
    }

    /// Returns true when every object `locked` needs is present (a directory's
    /// manifest is read and checked; the files are checked when placed).
    pub fn is_present(&self, locked: &LockedPath) -> bool {
        self.objects_of(locked, true).is_ok()
    }

    /// Returns the objects (hash, relative file, exec) that make up `locked`,
    /// checking that a directory's manifest is present, intact and names
    /// only plain relative paths, and, when `each`, that every file's
    /// object is present (placing a file finds a missing one as well).
    fn objects_of(
        &self,
        locked: &LockedPath,
        each: bool,
    ) -> Result<Vec<(String, String, bool)>, CheckoutError> {
        let present = |hash: &str| {
            if self.cache.contains(hash) {
                Ok(())
            } else {
                Err(CheckoutError::Missing { path: locked.path.clone(), hash: hash.into() })
            }
        };
        present(&locked.hash)?;
        if locked.nfiles.is_none() {
            return Ok(vec![(locked.hash.clone(), String::new(), false)]);
        }
        let bytes = self
            .cache
            .read(&locked.hash)
            .map_err(|error| CheckoutError::of_object(&locked.path, error))?;
        let manifest = Manifest::from_bytes(&bytes).ok_or_else(|| CheckoutError::Corrupted {
            path: locked.path.clone(),
            hash: locked.hash.clone(),
        })?;
        for file in &manifest.files {
            check_relative(&file.path)?;
            if each {
                present(&file.hash)?;
            }
        }
        Ok(manifest.files.into_iter().map(|f| (f.hash, f.path, f.exec)).collect())
    }

    /// Checks that pipit may write or delete `relative` (a repository path):
    /// a plain relative path whose folders do not lead outside the repository.
    pub fn check_writable(&self, relative: &str) -> Result<(), PathError> {
        containment::check_writable(&self.root, &self.canonical_root, relative)
    }

    /// Places `locked` at its path from the cache in the workspace's link mode.
    /// Every placed byte is checked against its hash; on a missing or
    /// corrupted object nothing is changed.
    pub fn checkout(&self, locked: &LockedPath) -> Result<(), CheckoutError> {
        self.checkout_as(locked, self.link)
    }

    /// Places `locked` as [`Workspace::checkout`] does, in `mode` (a `persist`
    /// out, which its stage writes to, is never a hard link to the cache).
    pub fn checkout_as(&self, locked: &LockedPath, mode: LinkMode) -> Result<(), CheckoutError> {
        self.check_writable(&locked.path)?;
        let path = self.root.join(&locked.path);
        // Each file's object is looked at once, as it is placed.
        let objects = self.objects_of(locked, false)?;
        let failed = |error| CheckoutError::of_object(&locked.path, error);
        if locked.nfiles.is_none() {
            return self.cache.place(&locked.hash, &path, false, mode).map_err(failed);
        }
        let temp = TempFile::beside(&path);
        // The folders first, each made once; then the files, each new.
        fs_err::create_dir_all(temp.path())?;
        let folders: std::collections::BTreeSet<&Path> =
            objects.iter().filter_map(|(_, file, _)| Path::new(file).parent()).collect();
        for folder in folders {
            fs_err::create_dir_all(temp.path().join(folder))?;
        }
        objects
            .par_iter()
            .try_for_each(|(hash, file, exec)| {
                self.cache.place_new(hash, &temp.path().join(file), *exec, mode)
            })
            .map_err(failed)?;
        remove_path(&path)?;
        Ok(temp.persist(&path)?)
    }

    /// Writes the stat cache back.
    pub fn save_state(&self) -> std::io::Result<()> {
        self.state.save()
    }
}

/// The lock entry of the folder `name` whose manifest is `manifest`.
fn folder_entry(name: &str, manifest: &Manifest) -> LockedPath {
    LockedPath {
        path: name.into(),
        hash: manifest.hash(),
        size: manifest.size(),
        nfiles: Some(manifest.files.len() as u64),
    }
}

/// Does `work` (one file's, beside the stages that run) once any process
/// waiting for this core has had it. A stage's command starts processes
/// (its shell forks `mkdir`, `awk`…), and the scheduler may put one on the
/// core this thread holds, where it would otherwise wait out this thread's
/// time slice: a chain of 50 stages took 5 % longer. Nothing waits when
/// nothing else runs, and this thread gets its turn again after them.
fn after_waiting_processes<T>(work: impl FnOnce() -> T) -> T {
    std::thread::yield_now();
    work()
}

/// The manifest entry of `file`, inside `dir`.
fn manifest_entry(dir: &Path, file: &Path, info: FileInfo) -> ManifestEntry {
    ManifestEntry { path: name_below(dir, file), hash: info.hash, size: info.size, exec: info.exec }
}

/// The path of `file` below `dir`, its parts joined by `/`. A walk's paths
/// start with the bytes of the folder walked and a separator: those are cut
/// off as bytes, where comparing the two paths part by part took a tenth of
/// a no-op `status`'s time outside the kernel. Any other path is compared
/// part by part.
fn name_below(dir: &Path, file: &Path) -> String {
    let (dir_bytes, file_bytes) =
        (dir.as_os_str().as_encoded_bytes(), file.as_os_str().as_encoded_bytes());
    if cfg!(unix)
        && let Some(rest) = file_bytes.strip_prefix(dir_bytes)
        && let Some(rest) = rest.strip_prefix(b"/")
    {
        return String::from_utf8_lossy(rest).into_owned();
    }
    let relative = file.strip_prefix(dir).unwrap_or(file);
    relative.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_below_a_folder_is_what_comparing_the_paths_part_by_part_gives() {
        for (dir, file) in [
            ("data", "data/a.csv"),
            ("data", "data/sub/b.csv"),
            ("./data", "./data/a"),
            ("/abs/data", "/abs/data/x/y"),
            ("data/", "data/a"),
            ("/", "/a"),
            ("data", "data2/a"),
        ] {
            let (dir, file) = (Path::new(dir), Path::new(file));
            let expected = file.strip_prefix(dir).unwrap_or(file).to_string_lossy().into_owned();
            assert_eq!(name_below(dir, file), expected, "{dir:?} {file:?}");
        }
    }

    #[test]
    fn an_out_hashed_holds_its_bytes_until_stored_or_dropped() {
        use std::sync::atomic::Ordering::Relaxed;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs_err::create_dir_all(&data).unwrap();
        fs_err::write(data.join("a.csv"), "1,2\n").unwrap();
        fs_err::write(data.join("b.csv"), "3,4,5\n").unwrap();
        let workspace = Workspace::open(dir.path());
        let hashed = workspace.hash_out(&data, "data").unwrap().unwrap();
        assert_eq!(workspace.held.load(Relaxed), 10);
        let hash = hashed.locked.hash.clone();
        assert!(!workspace.cache.contains(&hash), "nothing is stored yet");
        let committed = workspace.store(hashed, "data").unwrap();
        assert_eq!(workspace.held.load(Relaxed), 0);
        assert_eq!(committed.locked.hash, hash);
        assert!(workspace.is_present(&committed.locked));
        // Dropped unstored (its stage failed): the bytes are given back.
        fs_err::write(data.join("c.csv"), "6\n").unwrap();
        let again = workspace.hash_out(&data, "data").unwrap().unwrap();
        assert_eq!(workspace.held.load(Relaxed), 2, "a.csv and b.csv are known now");
        drop(again);
        assert_eq!(workspace.held.load(Relaxed), 0);
    }

    #[test]
    fn a_change_ending_alone_leaves_the_digests_of_the_outs_it_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let workspace = Workspace::open(dir.path()).remember_digests();
        let run = |content: &str, meanwhile: &dyn Fn()| {
            let changing = workspace.changing();
            fs_err::create_dir_all(&data).unwrap();
            fs_err::write(data.join("a.csv"), content).unwrap();
            let at = changing.mark();
            let hashed = workspace.hash_out(&data, "data").unwrap().unwrap();
            meanwhile();
            changing.end_remembering(at, [(data.clone(), hashed.locked.clone())]);
            hashed.locked
        };
        let locked = run("1\n", &|| {});
        // Remembered: a file written behind pipit's back goes unseen, as it
        // would after a digest computed by reading the folder.
        fs_err::write(data.join("b.csv"), "2\n").unwrap();
        let remembered = workspace.digest(&data, "data").unwrap().unwrap();
        assert_eq!(remembered.hash, locked.hash);
        assert_eq!(workspace.digest(&data, "dep").unwrap().unwrap().path, "dep");
        // Another change began and ended meanwhile: nothing is remembered.
        fs_err::remove_file(data.join("b.csv")).unwrap();
        let locked = run("3\n", &|| drop(workspace.changing()));
        fs_err::write(data.join("b.csv"), "2\n").unwrap();
        assert_ne!(workspace.digest(&data, "data").unwrap().unwrap().hash, locked.hash);
    }

    #[test]
    fn a_remembered_digest_is_forgotten_once_something_changes_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs_err::create_dir_all(&data).unwrap();
        fs_err::write(data.join("a.csv"), "1\n").unwrap();
        let workspace = Workspace::open(dir.path()).remember_digests();
        let first = workspace.digest(&data, "data").unwrap().unwrap();
        {
            let _changing = workspace.changing();
            fs_err::write(data.join("a.csv"), "2\n").unwrap();
            // Nothing is remembered while a change is under way.
            let during = workspace.digest(&data, "data").unwrap().unwrap();
            assert_ne!(during.hash, first.hash);
        }
        let after = workspace.digest(&data, "data").unwrap().unwrap();
        assert_ne!(after.hash, first.hash);
        assert_eq!(workspace.digest(&data, "other").unwrap().unwrap().path, "other");
        // Without remembering, every digest reads the files again.
        let plain = Workspace::open(dir.path());
        let before = plain.digest(&data, "data").unwrap().unwrap();
        fs_err::write(data.join("b.csv"), "3\n").unwrap();
        assert_ne!(plain.digest(&data, "data").unwrap().unwrap().hash, before.hash);
    }

    #[test]
    fn a_folder_missing_one_object_is_not_placed_and_what_was_there_stays() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs_err::create_dir_all(&data).unwrap();
        for (name, text) in [("a.csv", "1\n"), ("b.csv", "2\n"), ("c.csv", "3\n")] {
            fs_err::write(data.join(name), text).unwrap();
        }
        let workspace = Workspace::open(dir.path());
        let committed = workspace.commit(&data, "data").unwrap().unwrap();
        let lost = crate::hash::hash_bytes(b"2\n");
        workspace.cache.remove(&lost).unwrap();
        assert!(!workspace.is_present(&committed.locked));
        fs_err::write(data.join("a.csv"), "edited\n").unwrap();
        let error = workspace.checkout(&committed.locked).unwrap_err();
        assert!(matches!(&error, CheckoutError::Missing { hash, .. } if *hash == lost), "{error}");
        assert_eq!(fs_err::read_to_string(data.join("a.csv")).unwrap(), "edited\n");
        let names: Vec<_> =
            fs_err::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "no temporary folder is left: {names:?}");
    }
}
